import {Flags} from '@oclif/core'

import {ComposeCommand} from '../../cli/compose.js'
import {killContainer} from '../../engine/container/lifecycle.js'

export default class Kill extends ComposeCommand<typeof Kill> {
  static summary = 'Force stop service containers'
  static strict = false
  static flags = {
    signal: Flags.string({char: 's', description: 'SIGNAL to send to the container', default: 'SIGKILL'}),
    'remove-orphans': Flags.boolean({description: 'Remove containers for services not defined in the Compose file'}),
  }

  async run(): Promise<void> {
    await this.eachRunning((engine, r) => killContainer(engine, r, this.flags.signal), 'Killed')
  }
}
