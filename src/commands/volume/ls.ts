import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {renderList, withLabelMethod} from '../../cli/output.js'
import {parseVolumeFilters} from '../../engine/volume/store.js'

interface VolumeRow {
  Name: string
  Driver: string
  Scope: string
  Mountpoint: string
  Labels: string
  Links: string
  Size: string
  Availability: string
  Group: string
  Status: string
}

export default class VolumeLs extends BaseCommand<typeof VolumeLs> {
  static summary = 'List volumes'
  static aliases = ['volume:list']
  static flags = {
    quiet: Flags.boolean({char: 'q', description: 'Only display volume names'}),
    filter: Flags.string({char: 'f', multiple: true, multipleNonGreedy: true, description: 'Provide filter values (name=, label=KEY[=VALUE], dangling=true|false, driver=local)'}),
    format: Flags.string({description: "Format output: 'table', 'json', or a Go template such as '{{.Name}}'"}),
  }

  async run(): Promise<void> {
    const filters = parseVolumeFilters(this.flags.filter ?? [])
    const volumes = this.engine()
      .volumes.list(filters)
      .sort((a, b) => a.name.localeCompare(b.name))
    const rows: VolumeRow[] = volumes
      .map((v) => ({
        Name: v.name,
        Driver: v.driver,
        Scope: 'local',
        Mountpoint: v.mountpoint,
        Labels: Object.entries(v.labels).map(([k, val]) => `${k}=${val}`).join(','),
        Links: 'N/A',
        Size: 'N/A',
        // (cluster volumes' fields, docker 28: N/A for local ones)
        Availability: 'N/A',
        Group: 'N/A',
        Status: 'N/A',
      }))
      .map((row, i) => withLabelMethod(row, volumes[i].labels))
    if (this.flags.quiet) {
      if (rows.length > 0) this.log(rows.map((r) => r.Name).join('\n'))
      return
    }
    const columns = [
      {header: 'DRIVER', value: (r: VolumeRow) => r.Driver},
      {header: 'VOLUME NAME', value: (r: VolumeRow) => r.Name},
    ]
    process.stdout.write(renderList(rows, columns, this.flags.format, (r) => r))
  }
}
