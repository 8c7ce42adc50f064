import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {goTimeString, lazyField, renderList, withLabelMethod} from '../../cli/output.js'
import {FilterableNetwork, matchesNetworkFilters, parseNetworkFilters} from '../../engine/network/filter.js'
import {DEFAULT_NETWORK, PREDEFINED_NETWORKS, listNetworks} from '../../engine/network/networks.js'

/** One `network ls` row, with Docker's field names for `--format` (docker/cli formatter/network.go). */
interface NetworkRow {
  ID: string
  Name: string
  Driver: string
  Scope: string
  IPv4: string
  IPv6: string
  Internal: string
  Labels: string
  CreatedAt: string
}

export default class NetworkLs extends BaseCommand<typeof NetworkLs> {
  static summary = 'List networks'
  static aliases = ['network:list']
  static flags = {
    filter: Flags.string({char: 'f', multiple: true, description: "Provide filter values (e.g. 'driver=bridge'): driver, id, label, name, scope, type=custom|builtin, dangling"}),
    quiet: Flags.boolean({char: 'q', description: 'Only display network IDs'}),
    'no-trunc': Flags.boolean({description: 'Do not truncate the output'}),
    format: Flags.string({description: "Format output: 'table', 'json', or a Go template such as '{{.Name}}'"}),
  }

  async run(): Promise<void> {
    const noTrunc = this.flags['no-trunc']
    const filters = parseNetworkFilters(this.flags.filter ?? [])
    const engine = this.engine()
    const records = listNetworks(engine)
    const bridgeCreated = records.find((n) => n.name === DEFAULT_NETWORK)?.created ?? new Date(0).toISOString()
    const all: Array<FilterableNetwork & {created: string; internal: boolean}> = [
      ...records.map((n) => ({id: n.id, name: n.name, driver: n.driver, labels: n.labels, builtin: n.name === DEFAULT_NETWORK, containers: Object.keys(n.allocations).length, created: n.created, internal: n.internal})),
      ...PREDEFINED_NETWORKS.map((n) => ({id: n.id, name: n.name, driver: n.driver, labels: {}, builtin: true, containers: 0, created: bridgeCreated, internal: false})),
    ].sort((a, b) => a.name.localeCompare(b.name))
    const rows: NetworkRow[] = all
      .filter((n) => matchesNetworkFilters(n, filters))
      .map((n) =>
        lazyField(withLabelMethod(
          {
            ID: noTrunc ? n.id : n.id.slice(0, 12),
            Name: n.name,
            Driver: n.driver,
            Scope: 'local',
            IPv4: String(n.driver === 'bridge'),
            IPv6: 'false',
            Internal: String(n.internal),
            Labels: Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(','),
            CreatedAt: '',
          },
          n.labels,
        ), 'CreatedAt', () => goTimeString(new Date(n.created))),
      )
    if (this.flags.quiet) {
      if (rows.length > 0) this.log(rows.map((r) => r.ID).join('\n'))
      return
    }
    const columns = [
      {header: 'NETWORK ID', value: (r: NetworkRow) => r.ID},
      {header: 'NAME', value: (r: NetworkRow) => r.Name},
      {header: 'DRIVER', value: (r: NetworkRow) => r.Driver},
      {header: 'SCOPE', value: (r: NetworkRow) => r.Scope},
    ]
    process.stdout.write(renderList(rows, columns, this.flags.format, (r) => r))
  }
}
