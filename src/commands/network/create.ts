import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {UsageError} from '../../engine/errors.js'
import {createNetwork} from '../../engine/network/networks.js'

export default class NetworkCreate extends BaseCommand<typeof NetworkCreate> {
  static summary = 'Create a network'
  static args = {name: Args.string({description: 'Network name', required: true})}
  static flags = {
    driver: Flags.string({char: 'd', description: 'Driver to manage the network (only bridge)', default: 'bridge'}),
    subnet: Flags.string({description: 'Subnet in CIDR format, e.g. 10.89.5.0/24'}),
    gateway: Flags.string({description: 'IPv4 gateway for the subnet'}),
    internal: Flags.boolean({description: 'Restrict external access to the network'}),
    label: Flags.string({multiple: true, description: 'Set metadata on a network (KEY=VALUE)'}),
  }

  async run(): Promise<void> {
    if (this.flags.driver !== 'bridge') throw new UsageError(`plugin ${JSON.stringify(this.flags.driver)} not found`, 'ncx has the bridge driver only')
    if (this.flags.gateway && !this.flags.subnet) throw new UsageError('--gateway needs --subnet')
    const labels: Record<string, string> = {}
    for (const l of this.flags.label ?? []) {
      const eq = l.indexOf('=')
      labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1)
    }
    const net = createNetwork(this.engine(), {name: this.args.name, subnet: this.flags.subnet, gateway: this.flags.gateway, internal: this.flags.internal, labels})
    this.log(net.id)
  }
}
