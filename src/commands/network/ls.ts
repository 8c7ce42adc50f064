import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {renderList} from '../../cli/output.js'
import {listNetworks} from '../../engine/network/networks.js'

interface NetworkRow {
  ID: string
  Name: string
  Driver: string
  Scope: string
  Subnet: string
  Internal: string
  Labels: string
  CreatedAt: string
}

export default class NetworkLs extends BaseCommand<typeof NetworkLs> {
  static summary = 'List networks'
  static aliases = ['network:list']
  static flags = {
    quiet: Flags.boolean({char: 'q', description: 'Only display network IDs'}),
    'no-trunc': Flags.boolean({description: 'Do not truncate the output'}),
    format: Flags.string({description: "Format output: 'table', 'json', or a Go template such as '{{.Name}}'"}),
  }

  async run(): Promise<void> {
    const noTrunc = this.flags['no-trunc']
    const rows: NetworkRow[] = listNetworks(this.engine()).map((n) => ({
      ID: noTrunc ? n.id : n.id.slice(0, 12),
      Name: n.name,
      Driver: n.driver,
      Scope: 'local',
      Subnet: n.subnet,
      Internal: String(n.internal),
      Labels: Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(','),
      CreatedAt: n.created,
    }))
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
