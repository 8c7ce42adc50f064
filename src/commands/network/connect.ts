import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {connectContainer} from '../../engine/network/attach.js'

export default class NetworkConnect extends BaseCommand<typeof NetworkConnect> {
  static summary = 'Connect a container to a network'
  static description = 'A running container gets the new interface (eth1, …) at once; a stopped one when it starts. Members of the network learn its name and aliases in /etc/hosts.'
  static args = {
    network: Args.string({description: 'Network name or ID', required: true}),
    container: Args.string({description: 'Container name or ID', required: true}),
  }
  static flags = {
    alias: Flags.string({multiple: true, multipleNonGreedy: true, description: 'Add a network-scoped alias for the container'}),
    ip: Flags.string({description: 'IPv4 address (e.g., 10.89.0.10)'}),
  }

  async run(): Promise<void> {
    connectContainer(this.engine(), this.args.network, this.args.container, {aliases: this.flags.alias, ip: this.flags.ip})
  }
}
