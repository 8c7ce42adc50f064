/**
 * What every `ncx compose` command shares: the global compose flags (-f, -p, --profile,
 * --env-file, --project-directory), loading the project, progress lines and log prefixes.
 */
import {Command, Flags} from '@oclif/core'

import {Engine} from '../engine/engine.js'
import {LoadOptions, loadProject} from '../engine/compose/loader.js'
import {ComposeEvent} from '../engine/compose/up.js'
import {Project} from '../engine/compose/types.js'
import {ComposeError} from '../engine/compose/errors.js'
import {projectContainers, serviceOf} from '../engine/compose/containers.js'
import {ContainerRecord} from '../engine/container/store.js'
import {stateOf} from '../engine/container/lifecycle.js'
import {FlagSpec, ParsedFlags} from './argv.js'
import {BaseCommand} from './base.js'
import {ensureImage} from './pull-policy.js'
import {ink} from './style.js'

export const composeFlags = {
  file: Flags.string({char: 'f', description: 'Compose configuration files', multiple: true, helpGroup: 'COMPOSE'}),
  'project-name': Flags.string({char: 'p', description: 'Project name', helpGroup: 'COMPOSE'}),
  profile: Flags.string({description: 'Specify a profile to enable', multiple: true, helpGroup: 'COMPOSE'}),
  'env-file': Flags.string({description: 'Specify an alternate environment file', multiple: true, helpGroup: 'COMPOSE'}),
  'project-directory': Flags.string({description: 'Specify an alternate working directory (default: the path of the first Compose file)', helpGroup: 'COMPOSE'}),
  ansi: Flags.string({description: 'Control when to print ANSI control characters', options: ['never', 'always', 'auto'], helpGroup: 'COMPOSE'}),
  progress: Flags.string({description: 'Set type of progress output', options: ['auto', 'tty', 'plain', 'quiet'], helpGroup: 'COMPOSE'}),
}

/** For commands whose own -f means something else (logs -f = follow): --file only. */
export const composeFlagsLongFile = {...composeFlags, file: Flags.string({description: 'Compose configuration files', multiple: true, helpGroup: 'COMPOSE'})}

/** The same flags for commands that split their own argv (exec, run). */
export const COMPOSE_FLAG_TABLE: FlagSpec[] = [
  {name: 'file', char: 'f', kind: 'multiple', description: 'Compose configuration files'},
  {name: 'project-name', char: 'p', kind: 'string', description: 'Project name'},
  {name: 'profile', kind: 'multiple', description: 'Specify a profile to enable'},
  {name: 'env-file', kind: 'multiple', description: 'Specify an alternate environment file'},
  {name: 'project-directory', kind: 'string', description: 'Specify an alternate working directory'},
  {name: 'ansi', kind: 'string', options: ['never', 'always', 'auto'], description: 'Control when to print ANSI control characters'},
  {name: 'progress', kind: 'string', options: ['auto', 'tty', 'plain', 'quiet'], description: 'Set type of progress output'},
  {name: 'root', aliases: ['data-root'], kind: 'string', description: 'Directory for images and containers (env NCX_ROOT)'},
  {name: 'debug', kind: 'boolean', description: 'Print stack traces and runtime details on errors'},
]

export interface ComposeGlobals {
  file?: string[]
  'project-name'?: string
  profile?: string[]
  'env-file'?: string[]
  'project-directory'?: string
}

export function loadOptions(g: ComposeGlobals, warn: (m: string) => void): LoadOptions {
  return {files: g.file, projectName: g['project-name'], profiles: g.profile, envFiles: g['env-file'], projectDirectory: g['project-directory'], onWarning: warn}
}

export function globalsFromParsed(flags: ParsedFlags): ComposeGlobals {
  setDisplay(flags.ansi as string | undefined, flags.progress as string | undefined)
  return {
    file: flags.file as string[] | undefined,
    'project-name': flags['project-name'] as string | undefined,
    profile: flags.profile as string[] | undefined,
    'env-file': flags['env-file'] as string[] | undefined,
    'project-directory': flags['project-directory'] as string | undefined,
  }
}

/** `--ansi` and `--progress`, for the whole invocation. */
const display: {ansi: string; progress: string} = {ansi: 'auto', progress: 'auto'}

export function setDisplay(ansi: string | undefined, progress: string | undefined): void {
  display.ansi = ansi ?? 'auto'
  display.progress = progress ?? 'auto'
}

/** Colour on this stream: `--ansi always|never`, else a TTY without NO_COLOR. */
export function useColor(stream: NodeJS.WriteStream): boolean {
  if (display.ansi !== 'auto') return display.ansi === 'always'
  return Boolean(stream.isTTY) && !process.env.NO_COLOR
}

/** Docker Compose's progress lines on stderr: ` ✔ Container p-web-1  Started` (plain without a TTY). */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): (e: ComposeEvent) => void {
  if (display.progress === 'quiet') return () => {}
  const tty = display.progress === 'plain' ? false : display.progress === 'tty' || useColor(stream)
  const green = ink(tty).green
  return (e) => {
    if (tty) {
      const mark = e.done ? green('✔') : ' '
      stream.write(` ${mark} ${e.kind} ${e.name}  ${e.done ? green(e.status) : e.status}\n`)
    } else stream.write(` ${e.kind} ${e.name}  ${e.status}\n`)
  }
}

const COLORS = ['cyan', 'yellow', 'green', 'magenta', 'blue', 'red', 'cyanBright', 'yellowBright', 'greenBright', 'magentaBright', 'blueBright'] as const

/** `name  | ` prefixes padded to the longest name, coloured per container on a TTY. */
export function logPrefixer(names: string[], color: boolean): (name: string) => string {
  const width = Math.max(0, ...names.map((n) => n.length))
  const c = ink(color)
  const colorOf = new Map(names.map((n, i) => [n, c[COLORS[i % COLORS.length]]]))
  return (name) => {
    const text = `${name.padEnd(width)}  | `
    return color ? (colorOf.get(name) ?? c.white)(text) : text
  }
}

/** Pull with the same output as `ncx pull` (stderr). */
export function pullerFor(engine: Engine): (image: string, platform?: string) => Promise<void> {
  return (image, platform) => ensureImage(engine, image, 'always', (line) => process.stderr.write(line), platform)
}

export abstract class ComposeCommand<T extends typeof Command> extends BaseCommand<T> {
  static baseFlags = {...BaseCommand.baseFlags, ...composeFlags}

  protected globals(): ComposeGlobals {
    const f = this.flags as unknown as {ansi?: string; progress?: string}
    setDisplay(f.ansi, f.progress)
    return this.flags as unknown as ComposeGlobals
  }

  /** The project; `enable` names services targeted on the command line (enabled whatever their profiles). */
  protected project(enable?: string[], more: Partial<LoadOptions> = {}): Project {
    return loadProject({...loadOptions(this.globals(), (m) => this.warnLine(m)), ...(enable?.length ? {enable} : {}), ...more})
  }

  /** The project's containers of the services named on the command line (every service when none is). */
  protected serviceContainers(engine: Engine, project: string, options: {oneoff?: boolean} = {}): ContainerRecord[] {
    return projectContainers(engine, project, options).filter((r) => this.positionals.length === 0 || this.positionals.includes(serviceOf(r)))
  }

  /** `act` on each running container of the selected services, reported as Compose does (` Container NAME  Done`). */
  protected async eachRunning(act: (engine: Engine, record: ContainerRecord) => Promise<void> | void, done: string): Promise<void> {
    const {name} = this.projectOrName()
    const engine = this.engine()
    for (const r of this.serviceContainers(engine, name)) {
      if (stateOf(engine, r).status !== 'running') continue
      await act(engine, r)
      process.stderr.write(` Container ${r.name}  ${done}\n`)
    }
  }

  /** The project name, from the files when there are any, else -p (label-only commands such as down/ps). */
  protected projectOrName(): {name: string; project?: Project} {
    try {
      const project = this.project()
      return {name: project.name, project}
    } catch (error) {
      const p = this.globals()['project-name']
      if (p && error instanceof ComposeError && /no configuration file provided/.test(error.message)) return {name: p}
      throw error
    }
  }
}
