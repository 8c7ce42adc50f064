import {Command, Flags, Interfaces} from '@oclif/core'

import {Engine} from '../engine/engine.js'
import {FlagSpec, docker2oclif} from './argv.js'
import {invalidFlagValue, renderError} from './errors.js'
import {checkArgCount} from './usage.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

type OclifFlag = {name?: string; type: 'boolean' | 'option'; char?: string; aliases?: string[]; charAliases?: string[]; multiple?: boolean; allowNo?: boolean; description?: string}

/** An oclif flag table as the table Docker's flag syntax is read with (argv.ts). */
function flagSpecs(flags: Record<string, OclifFlag>): FlagSpec[] {
  return Object.entries(flags).flatMap(([name, f]) => {
    const kind = f.type === 'boolean' ? 'boolean' : f.multiple ? 'multiple' : 'string'
    const spec: FlagSpec = {name, kind, description: f.description ?? '', ...(f.char ? {char: f.char} : {}), ...(f.aliases ? {aliases: f.aliases} : {}), ...(f.allowNo ? {allowNo: true} : {})}
    // A second shorthand (`charAliases`) is its own entry with the same name.
    return [spec, ...(f.charAliases ?? []).map((c) => ({...spec, char: c, aliases: undefined}))]
  })
}

/**
 * Every ncx command: global flags, Docker's flag syntax and argument counts, one engine per
 * invocation, and errors mapped to one clear line plus Docker's exit codes (errors.ts).
 * Subclasses parse, call the engine once, render.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static baseFlags = {
    root: Flags.string({description: 'Directory for images and containers', env: 'NCX_ROOT', aliases: ['data-root'], helpGroup: 'GLOBAL'}),
    debug: Flags.boolean({description: 'Print stack traces on errors', helpGroup: 'GLOBAL'}),
  }

  /** Commands whose argv tail belongs to the container parse argv themselves. */
  static parsesOwnArgv = false
  /**
   * Flags end at this many positionals; the rest are arguments (cobra's SetInterspersed(false):
   * `top CONTAINER -o pid,comm`). Default: flags anywhere.
   */
  static flagsEndAfter?: number

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  /** Every positional, for commands taking a variable number (`rmi A B C`). */
  protected positionals: string[] = []
  // (NCX_DEBUG=1: `ncx --debug COMMAND`, see bin/run.cjs)
  private debugOn = process.argv.includes('--debug') || process.env.NCX_DEBUG === '1'
  private cachedEngine?: Engine

  protected engine(): Engine {
    this.cachedEngine ??= new Engine({dataRoot: this.flags.root, onWarning: (m) => this.warnLine(m)})
    return this.cachedEngine
  }

  /** Docker prints warnings as `WARNING: …` on stderr. */
  protected warnLine(message: string): void {
    process.stderr.write(`WARNING: ${message}\n`)
  }

  /**
   * The command as typed: an alias such as `rm`, or `container:rm` (oclif's `id` is always
   * the command's own id). Docker's messages name the command as typed; `inspect` and
   * `container inspect` differ.
   */
  protected invokedAs(): string {
    const ctor = this.ctor as typeof BaseCommand
    const names = [ctor.id, ...(ctor.aliases ?? [])]
    const words = process.argv.slice(2, 4)
    const two = words.join(':')
    if (names.includes(two)) return two
    if (words[0] !== undefined && names.includes(words[0])) return words[0]
    return ctor.id
  }

  /** Docker's argument-count error (cli/required.go) when `count` positionals do not fit the command. */
  protected checkArgs(count: number): void {
    const ctor = this.ctor as typeof BaseCommand
    const wrongCount = checkArgCount({id: ctor.id, summary: ctor.summary, strict: ctor.strict, args: ctor.args}, this.invokedAs(), count)
    if (wrongCount) throw wrongCount
  }

  override async init(): Promise<void> {
    await super.init()
    const ctor = this.ctor as typeof BaseCommand
    if (ctor.parsesOwnArgv) return
    const table = {...ctor.baseFlags, ...ctor.flags} as unknown as Record<string, OclifFlag>
    // Compose keeps oclif's own reading (its subcommands pass argv on to services).
    const docker = !this.invokedAs().startsWith('compose')
    const read = docker ? docker2oclif(this.argv, flagSpecs(table), ctor.flagsEndAfter) : undefined
    if (read) {
      this.checkArgs(read.positionals.length)
    }
    let parsed
    try {
      parsed = await this.parse({flags: ctor.flags, baseFlags: ctor.baseFlags, args: withoutStdin(ctor.args), strict: docker ? false : ctor.strict}, read?.argv ?? this.argv)
    } catch (error) {
      throw read ? flagValueError(error, read.values, table) : error
    }
    const {flags, args, argv} = parsed
    this.positionals = read ? read.positionals : (argv as string[])
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    this.debugOn = Boolean(this.flags.debug) || process.env.NCX_DEBUG === '1'
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    if (err.oclif?.exit !== undefined && err.constructor.name === 'ExitError') throw err
    const {text, exitCode} = renderError(err, this.debugOn, {command: this.invokedAs()})
    process.stderr.write(text + '\n')
    return this.exit(exitCode)
  }
}

/**
 * The arguments as oclif should read them: never from stdin. oclif fills a missing argument
 * from piped stdin (`echo x | ncx images` listed the images named x); Docker never does.
 */
function withoutStdin<A extends Record<string, object> | undefined>(args: A): A {
  if (!args) return args
  return Object.fromEntries(Object.entries(args).map(([name, arg]) => [name, {...arg, ignoreStdin: true}])) as A
}

/** oclif's complaint about a flag's value, as Docker words it (`invalid argument "abc" for "-n, --last" flag: …`). */
function flagValueError(error: unknown, values: Map<string, string>, table: Record<string, OclifFlag>): unknown {
  const message = (error as {message?: string})?.message ?? ''
  const integer = /Expected an integer but received: (.*)/.exec(message)
  const option = /Expected --([\w-]+)=(.*) to be one of: (.*)/.exec(message)
  const value = integer?.[1] ?? option?.[2]
  const name = option?.[1] ?? (value === undefined ? undefined : values.get(value))
  if (value === undefined || name === undefined) return error
  const flag = {name, char: table[name]?.char}
  if (integer) return invalidFlagValue(value, flag, `strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`)
  return invalidFlagValue(value, flag, `must be one of ${option![3]}`)
}

