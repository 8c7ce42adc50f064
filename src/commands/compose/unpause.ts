import {ComposeCommand} from '../../cli/compose.js'
import {NcxError} from '../../engine/errors.js'

export default class Unpause extends ComposeCommand<typeof Unpause> {
  static summary = 'Unpause services (not available yet: ncx has no cgroup freezer support)'
  static strict = false

  async run(): Promise<void> {
    this.projectOrName()
    throw new NcxError('compose unpause is not supported yet: ncx containers cannot be paused (no cgroup freezer support yet)', {hint: 'stop and start the services instead'})
  }
}
