import {Args} from '@oclif/core'

import {BaseCommand} from '../cli/base.js'
import {NcxError} from '../engine/errors.js'
import {stateOf} from '../engine/container/lifecycle.js'
import {readContainerNetwork} from '../engine/network/attach.js'
import {hostAddress} from '../engine/network/networks.js'

export default class Port extends BaseCommand<typeof Port> {
  static summary = 'List port mappings or a specific mapping for the container'
  static aliases = ['container:port']
  static args = {
    container: Args.string({description: 'Container name or ID', required: true}),
    port: Args.string({description: 'PRIVATE_PORT[/PROTO]'}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    const record = engine.containers.resolve(this.args.container)
    const running = stateOf(engine, record).status === 'running'
    const att = readContainerNetwork(engine, record.id)
    const ports = running ? (att?.ports ?? []) : []
    const want = this.args.port
    if (want !== undefined) {
      const [num, proto = 'tcp'] = want.split('/')
      const hits = ports.filter((p) => String(p.containerPort) === num && p.proto === proto)
      if (hits.length === 0) throw new NcxError(`No public port '${num}/${proto}' published for ${record.name}`, {exitCode: 1})
      this.log(hits.map((p) => hostAddress(p)).join('\n'))
      return
    }
    if (ports.length > 0) this.log(ports.map((p) => `${p.containerPort}/${p.proto} -> ${hostAddress(p)}`).join('\n'))
  }
}
