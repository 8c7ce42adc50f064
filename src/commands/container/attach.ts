import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {FlagSpec, splitArgv} from '../../cli/argv.js'
import {GLOBAL_FLAGS} from '../../cli/run-flags.js'
import {DEFAULT_DETACH_KEYS, attachContainer, parseDetachKeys} from '../../engine/container/attach.js'
import {Engine} from '../../engine/engine.js'
import {oclifFlags} from '../run.js'

const ATTACH_FLAGS: FlagSpec[] = [
  {name: 'detach-keys', kind: 'string', description: 'Override the key sequence for detaching a container (default ctrl-p,ctrl-q)'},
  {name: 'no-stdin', kind: 'boolean', description: 'Do not attach STDIN'},
  {name: 'sig-proxy', kind: 'boolean', description: 'Proxy all received signals to the process (default true; not with a terminal)'},
  ...GLOBAL_FLAGS,
]

export default class Attach extends BaseCommand<typeof Attach> {
  static summary = "Attach local standard input, output, and error streams to a running container"
  static description = 'Detach with the detach keys (ctrl-p,ctrl-q by default): the container keeps running.'
  static usage = 'attach [OPTIONS] CONTAINER'
  static aliases = ['attach']
  static strict = false
  // Docker's `--sig-proxy=false` needs the run-style parser.
  static parsesOwnArgv = true
  static args = {container: Args.string({description: 'Container name or ID', required: true})}
  static flags = oclifFlags(ATTACH_FLAGS)

  async run(): Promise<void> {
    const {flags, positionals} = splitArgv(this.argv, ATTACH_FLAGS, Number.POSITIVE_INFINITY)
    this.checkArgs(positionals.length)
    const engine = new Engine({dataRoot: flags.root as string | undefined, onWarning: (m) => this.warnLine(m)})
    const record = engine.containers.resolve(positionals[0])
    const detachKeys = parseDetachKeys((flags['detach-keys'] as string | undefined) ?? DEFAULT_DETACH_KEYS)
    // Stdin goes to the container only when it keeps one open (-i).
    const stdin = flags['no-stdin'] !== true && record.options.interactive
    const outcome = await attachContainer(engine, record, {stdin, detachKeys, sigProxy: flags['sig-proxy'] !== false})
    if (!outcome.detached && outcome.exitCode) this.exit(outcome.exitCode)
  }
}
