import {Flags} from '@oclif/core'

import {ComposeCommand} from '../../cli/compose.js'
import {humanDuration, humanSize, renderList} from '../../cli/output.js'
import {familiarRepository, parseReference} from '../../engine/image/reference.js'

interface Row {
  ContainerName: string
  Repository: string
  Tag: string
  ID: string
  Size: string
  Created: string
}

export default class Images extends ComposeCommand<typeof Images> {
  static summary = 'List images used by the created containers'
  static strict = false
  static flags = {
    quiet: Flags.boolean({char: 'q', description: 'Only display IDs'}),
    format: Flags.string({description: 'Format the output. Values: [table | json]'}),
  }

  async run(): Promise<void> {
    const {name} = this.projectOrName()
    const engine = this.engine()
    const now = Date.now()
    const records = this.serviceContainers(engine, name)
    if (this.flags.quiet) {
      for (const id of new Set(records.map((r) => r.imageId.replace(/^sha256:/, '').slice(0, 12)))) this.log(id)
      return
    }
    const rows: Row[] = records.map((r) => {
      const ref = parseReference(r.image)
      const img = engine.images.list().find((i) => i.id === r.imageId)
      const size = img ? img.layers.reduce((n, l) => n + (l.size ?? 0), 0) : 0
      return {
        ContainerName: r.name,
        Repository: familiarRepository(ref),
        Tag: ref.tag ?? 'latest',
        ID: r.imageId.replace(/^sha256:/, '').slice(0, 12),
        Size: humanSize(size),
        Created: img?.created ? `${humanDuration(now - Date.parse(img.created))} ago` : '',
      }
    })
    process.stdout.write(renderList(rows, [
      {header: 'CONTAINER', value: (r: Row) => r.ContainerName},
      {header: 'REPOSITORY', value: (r: Row) => r.Repository},
      {header: 'TAG', value: (r: Row) => r.Tag},
      {header: 'IMAGE ID', value: (r: Row) => r.ID},
      {header: 'SIZE', value: (r: Row) => r.Size},
    ], this.flags.format, (r) => r))
  }
}
