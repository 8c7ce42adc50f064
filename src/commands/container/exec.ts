import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {EXEC_FLAGS, executeExec} from '../../cli/run-flags.js'
import {oclifFlags} from '../run.js'

export default class Exec extends BaseCommand<typeof Exec> {
  static summary = 'Execute a command in a running container'
  static description = "The command joins the container's namespaces (user, mount, PID, UTS, IPC, network) and runs with its user, capabilities and environment."
  static usage = 'exec [OPTIONS] CONTAINER COMMAND [ARG...]'
  static aliases = ['exec']
  static strict = false
  static parsesOwnArgv = true
  static args = {container: Args.string({description: 'Container name or ID', required: true})}
  static flags = oclifFlags(EXEC_FLAGS)
  static examples = ['ncx exec web cat /etc/hostname', 'ncx exec -it web sh', 'ncx exec -d -e K=V -w /tmp -u 1000 web touch x']

  async run(): Promise<void> {
    const code = await executeExec(this.argv, (m) => this.warnLine(m))
    if (code !== 0) this.exit(code)
  }
}
