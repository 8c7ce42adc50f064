import {Args} from '@oclif/core'

import {FlagSpec, splitArgv} from '../../cli/argv.js'
import {COMPOSE_FLAG_TABLE, ComposeCommand, globalsFromParsed, loadOptions} from '../../cli/compose.js'
import {Engine} from '../../engine/engine.js'
import {NcxError, UsageError} from '../../engine/errors.js'
import {execInContainer} from '../../engine/container/exec.js'
import {stateOf} from '../../engine/container/lifecycle.js'
import {numberOf, projectContainers} from '../../engine/compose/containers.js'
import {loadProject} from '../../engine/compose/loader.js'
import {resolveEnvEntry} from '../../engine/spec/env.js'
import {loadNative} from '../../native/index.js'
import {oclifFlags} from '../run.js'

const EXEC_TABLE: FlagSpec[] = [
  {name: 'detach', char: 'd', kind: 'boolean', description: 'Detached mode: Run command in the background'},
  {name: 'env', char: 'e', kind: 'multiple', description: 'Set environment variables'},
  {name: 'index', kind: 'string', description: 'Index of the container if service has multiple replicas'},
  {name: 'no-TTY', char: 'T', kind: 'boolean', description: 'Disable pseudo-TTY allocation. By default `docker compose exec` allocates a TTY.'},
  {name: 'interactive', char: 'i', kind: 'boolean', description: 'Keep STDIN open even if not attached (default true)'},
  {name: 'tty', char: 't', kind: 'boolean', description: 'Allocate a pseudo-TTY (default when stdin is a terminal)'},
  {name: 'privileged', kind: 'boolean', description: 'Give extended privileges to the process'},
  {name: 'user', char: 'u', kind: 'string', description: 'Run the command as this user'},
  {name: 'workdir', char: 'w', kind: 'string', description: 'Path to workdir directory for this command'},
  ...COMPOSE_FLAG_TABLE,
]

export default class Exec extends ComposeCommand<typeof Exec> {
  static summary = 'Execute a command in a running container'
  static usage = 'compose exec [OPTIONS] SERVICE COMMAND [ARGS...]'
  static strict = false
  static parsesOwnArgv = true
  static args = {service: Args.string({description: 'Service name', required: true})}
  static flags = oclifFlags(EXEC_TABLE)

  async run(): Promise<void> {
    const {flags, positionals} = splitArgv(this.argv, EXEC_TABLE)
    const [service, ...command] = positionals
    if (!service || command.length === 0) throw new UsageError('"compose exec" requires at least 2 arguments', 'usage: ncx compose exec [OPTIONS] SERVICE COMMAND [ARGS...]')
    const project = loadProject(loadOptions(globalsFromParsed(flags), (m) => this.warnLine(m)))
    if (!(service in project.services)) throw new NcxError(`service ${JSON.stringify(service)} is not running`, {exitCode: 1})
    const engine = new Engine({dataRoot: flags.root as string | undefined, onWarning: (m) => this.warnLine(m)})
    const index = flags.index === undefined ? undefined : Number(flags.index)
    const running = projectContainers(engine, project.name, {service}).filter((r) => stateOf(engine, r).status === 'running')
    const record = index === undefined ? running[0] : running.find((r) => numberOf(r) === index)
    if (!record) throw new NcxError(`service ${JSON.stringify(service)} is not running`, {exitCode: 1})
    const stdinTty = loadNative().isatty(0)
    const code = await execInContainer(engine, record, {
      command,
      interactive: flags.detach !== true,
      tty: flags['no-TTY'] === true ? false : flags.tty === true || stdinTty,
      detach: flags.detach === true,
      env: ((flags.env as string[] | undefined) ?? []).map((e) => resolveEnvEntry(e, process.env)).filter((e): e is string => e !== undefined),
      workdir: flags.workdir as string | undefined,
      user: flags.user as string | undefined,
      privileged: flags.privileged === true,
    })
    if (code !== 0) this.exit(code)
  }
}
