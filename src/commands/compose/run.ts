import {Args} from '@oclif/core'
import {randomBytes} from 'node:crypto'

import {FlagSpec, splitArgv} from '../../cli/argv.js'
import {COMPOSE_FLAG_TABLE, ComposeCommand, globalsFromParsed, loadOptions, progressPrinter, pullerFor} from '../../cli/compose.js'
import {Engine} from '../../engine/engine.js'
import {UsageError} from '../../engine/errors.js'
import {runCreated} from '../../engine/container/run.js'
import {createContainer} from '../../engine/container/run.js'
import {startContainer} from '../../engine/container/lifecycle.js'
import {loadProject} from '../../engine/compose/loader.js'
import {parsePortShort, shellSplit} from '../../engine/compose/schema.js'
import {optionsFor, prepare, up} from '../../engine/compose/up.js'
import {hostOptions} from '../../cli/compose-host.js'
import {builderFor} from '../../cli/compose-build.js'
import {resolveEnvEntry} from '../../engine/spec/env.js'
import {parseVolumeFlag} from '../../engine/volume/spec.js'
import {loadNative} from '../../native/index.js'
import {oclifFlags} from '../run.js'

const RUN_TABLE: FlagSpec[] = [
  {name: 'detach', char: 'd', kind: 'boolean', description: 'Run container in background and print container ID'},
  {name: 'rm', kind: 'boolean', description: 'Automatically remove the container when it exits'},
  {name: 'env', char: 'e', kind: 'multiple', description: 'Set environment variables'},
  {name: 'volume', char: 'v', kind: 'multiple', description: 'Bind mount a volume'},
  {name: 'publish', char: 'p', kind: 'multiple', description: "Publish a container's port(s) to the host"},
  {name: 'service-ports', kind: 'boolean', description: "Run command with all service's ports enabled and mapped to the host"},
  {name: 'no-deps', kind: 'boolean', description: "Don't start linked services"},
  {name: 'entrypoint', kind: 'string', description: 'Override the entrypoint of the image'},
  {name: 'user', char: 'u', kind: 'string', description: 'Run as specified username or uid'},
  {name: 'workdir', char: 'w', kind: 'string', description: 'Working directory inside the container'},
  {name: 'name', kind: 'string', description: 'Assign a name to the container'},
  {name: 'no-TTY', char: 'T', kind: 'boolean', description: 'Disable pseudo-TTY allocation (default: auto-detected)'},
  {name: 'interactive', char: 'i', kind: 'boolean', description: 'Keep STDIN open even if not attached (default true)'},
  {name: 'label', char: 'l', kind: 'multiple', description: 'Add or override a label'},
  {name: 'quiet-pull', kind: 'boolean', description: 'Pull without printing progress information'},
  ...COMPOSE_FLAG_TABLE,
]

export default class Run extends ComposeCommand<typeof Run> {
  static summary = 'Run a one-off command on a service'
  static usage = 'compose run [OPTIONS] SERVICE [COMMAND] [ARGS...]'
  static strict = false
  static parsesOwnArgv = true
  static args = {service: Args.string({description: 'Service name', required: true})}
  static flags = oclifFlags(RUN_TABLE)

  async run(): Promise<void> {
    const {flags, positionals} = splitArgv(this.argv, RUN_TABLE)
    const [service, ...command] = positionals
    if (!service) throw new UsageError('"compose run" requires at least 1 argument', 'usage: ncx compose run [OPTIONS] SERVICE [COMMAND] [ARGS...]')
    const warn = (m: string) => this.warnLine(m)
    const project = loadProject({...loadOptions(globalsFromParsed(flags), warn), enable: [service]})
    const svc = project.services[service]
    if (!svc) throw new UsageError(`no such service: ${service}`)
    const engine = new Engine({dataRoot: flags.root as string | undefined, onWarning: warn})
    const deps = Object.keys(svc.depends_on ?? {})
    if (!flags['no-deps'] && deps.length > 0) {
      await up(engine, project, {services: deps, pullImage: pullerFor(engine), buildImage: builderFor(engine), onEvent: progressPrinter(), onWarning: warn, extraOptions: hostOptions})
    }
    {
      await prepare(engine, project, [service], {pullImage: pullerFor(engine), buildImage: builderFor(engine), onWarning: warn, onEvent: progressPrinter()})
    }
    // The one-off container: the service's configuration with run's overrides.
    const over = {...svc}
    if (command.length > 0) over.command = command
    if (flags.entrypoint !== undefined) over.entrypoint = shellSplit({file: '', baseDir: '', line: () => undefined}, ['entrypoint'], flags.entrypoint as string)
    if (flags.user !== undefined) over.user = flags.user as string
    if (flags.workdir !== undefined) over.working_dir = flags.workdir as string
    const env = {...over.environment}
    for (const e of (flags.env as string[] | undefined) ?? []) {
      const r = resolveEnvEntry(e, process.env)
      if (r !== undefined) env[r.slice(0, r.indexOf('='))] = r.slice(r.indexOf('=') + 1)
    }
    over.environment = env
    over.labels = {...over.labels}
    for (const l of (flags.label as string[] | undefined) ?? []) over.labels[l.split('=')[0]] = l.slice(l.indexOf('=') + 1)
    delete over.container_name
    const name = (flags.name as string | undefined) ?? `${project.name}-${service}-run-${randomBytes(6).toString('hex')}`
    const options = optionsFor(engine, {...project, services: {...project.services, [service]: over}}, service, {number: 1, oneoff: true, name}, hostOptions, over)
    const publish = ((flags.publish as string[] | undefined) ?? []).flatMap((p) => parsePortShort({file: '', baseDir: '', line: () => undefined}, ['publish'], p))
    if (flags['service-ports'] && svc.ports) publish.push(...svc.ports)
    if (publish.length > 0) options.publish = publish.map((p) => ({proto: p.protocol, hostIp: p.host_ip ?? '0.0.0.0', hostPort: p.published ? Number(p.published) : 0, containerPort: p.target}))
    const stdinTty = loadNative().isatty(0)
    options.tty = flags['no-TTY'] === true ? false : (svc.tty ?? stdinTty)
    options.interactive = flags.detach !== true && (flags.interactive === true || stdinTty || svc.stdin_open === true)
    options.rm = flags.rm === true
    const extra = ((flags.volume as string[] | undefined) ?? []).map((v) => parseVolumeFlag(v, process.cwd()))
    if (extra.length > 0) options.mounts = [...(options.mounts ?? []).filter((m) => !extra.some((e) => e.target === m.target)), ...extra]
    if (flags.detach === true) {
      const {container} = createContainer(engine, options)
      startContainer(engine, container)
      process.stdout.write(`${container.name}\n`)
      return
    }
    options.detach = false
    const {container, lowerDirs} = createContainer(engine, options)
    const result = await runCreated(engine, container, lowerDirs)
    if (result.exitCode !== 0) this.exit(result.exitCode)
  }
}
