import {Args, Flags} from '@oclif/core'

import {ComposeCommand} from '../../cli/compose.js'
import {NcxError} from '../../engine/errors.js'
import {readContainerNetwork} from '../../engine/network/attach.js'
import {hostAddress} from '../../engine/network/networks.js'
import {numberOf, projectContainers} from '../../engine/compose/containers.js'

export default class Port extends ComposeCommand<typeof Port> {
  static summary = 'Print the public port for a port binding'
  static args = {service: Args.string({required: true}), port: Args.string({required: true})}
  static flags = {
    protocol: Flags.string({description: 'tcp or udp', default: 'tcp'}),
    index: Flags.integer({description: 'Index of the container if service has multiple replicas', default: 1}),
  }

  async run(): Promise<void> {
    const {name} = this.projectOrName()
    const engine = this.engine()
    const r = projectContainers(engine, name, {service: this.args.service}).find((x) => numberOf(x) === this.flags.index)
    if (!r) throw new NcxError(`service "${this.args.service}" is not running`, {exitCode: 1})
    const port = Number(this.args.port)
    const bound = readContainerNetwork(engine, r.id)?.ports?.find((p) => p.containerPort === port && p.proto === this.flags.protocol)
    if (!bound) throw new NcxError(`no port ${port}/${this.flags.protocol} for container ${r.name}`, {exitCode: 1})
    this.log(hostAddress(bound))
  }
}
