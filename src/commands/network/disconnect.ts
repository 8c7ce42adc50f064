import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {disconnectContainer} from '../../engine/network/attach.js'

export default class NetworkDisconnect extends BaseCommand<typeof NetworkDisconnect> {
  static summary = 'Disconnect a container from a network'
  static args = {
    network: Args.string({description: 'Network name or ID', required: true}),
    container: Args.string({description: 'Container name or ID', required: true}),
  }
  static flags = {
    force: Flags.boolean({char: 'f', description: 'Force the container to disconnect from a network (also when the container no longer exists)'}),
  }

  async run(): Promise<void> {
    disconnectContainer(this.engine(), this.args.network, this.args.container, this.flags.force)
  }
}
