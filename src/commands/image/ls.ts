import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {goTimeString, humanDuration, humanSize, lazyField, renderList} from '../../cli/output.js'
import {filterImages, parseImageFilters} from '../../engine/image/filter.js'
import {repoDigest} from '../../engine/image/inspect.js'
import {familiarRepository, parseReference} from '../../engine/image/reference.js'
import {ImageConfig, ImageRecord} from '../../engine/image/types.js'

/** One `images` row, with Docker's field names for `--format`. */
interface ImageRow {
  ID: string
  Repository: string
  Tag: string
  Digest: string
  CreatedSince: string
  CreatedAt: string
  Size: string
  full: ImageRecord
}

function rows(images: ImageRecord[], noTrunc: boolean, now: number): ImageRow[] {
  const out: ImageRow[] = []
  for (const image of images) {
    const created = image.created ? Date.parse(image.created) : NaN
    const base = {
      ID: noTrunc ? image.id : image.id.slice(7, 19),
      Digest: image.repoDigests === undefined ? image.manifestDigest : (image.repoDigests[0]?.split('@')[1] ?? '<none>'),
      CreatedSince: Number.isNaN(created) ? 'N/A' : `${humanDuration(now - created)} ago`,
      CreatedAt: '', // (lazyField below)
      Size: humanSize(image.size),
      full: image,
    }
    const first = out.length
    if (image.names.length === 0) out.push({...base, Repository: '<none>', Tag: '<none>'})
    for (const name of image.names) {
      const ref = parseReference(name)
      out.push({...base, Repository: familiarRepository(ref), Tag: ref.tag ?? '<none>', Digest: repoDigest(image, ref) ?? '<none>'})
    }
    for (const row of out.slice(first)) lazyField(row, 'CreatedAt', () => (Number.isNaN(created) ? '' : goTimeString(new Date(created))))
  }
  return out
}

export default class ImageLs extends BaseCommand<typeof ImageLs> {
  static summary = 'List images'
  static aliases = ['images', 'image:list']
  static args = {repository: Args.string({description: 'Only images of this repository'})}
  static flags = {
    // ncx keeps no intermediate images: -a lists the same images (`rmi $(images -aq)` works).
    all: Flags.boolean({char: 'a', description: 'Show all images (default hides intermediate images)'}),
    quiet: Flags.boolean({char: 'q', description: 'Only show image IDs'}),
    'no-trunc': Flags.boolean({description: "Don't truncate output"}),
    digests: Flags.boolean({description: 'Show digests'}),
    format: Flags.string({description: "Format output: 'table', 'json', or a Go template such as '{{.Repository}}:{{.Tag}}'"}),
    filter: Flags.string({
      char: 'f',
      multiple: true,
      description: 'Filter output based on conditions provided: dangling=true|false, reference=PATTERN, before=IMAGE, since=IMAGE, label=KEY[=VALUE]',
    }),
  }

  async run(): Promise<void> {
    const {quiet, format, digests} = this.flags
    const engine = this.engine()
    let images = engine.images.list()
    if (this.args.repository) {
      const want = parseReference(this.args.repository)
      const repo = `${want.domain}/${want.path}`
      // (a registry's port is no tag: `localhost:5000/ns/name` lists every tag)
      const lastPart = this.args.repository.slice(this.args.repository.lastIndexOf('/') + 1)
      const tagGiven = lastPart.includes(':') && !lastPart.endsWith(':')
      // As in Docker, only that repository's tags are listed, not the image's other names.
      const match = (n: string) => n.startsWith(`${repo}:`) && (!tagGiven || n === `${repo}:${want.tag}`)
      images = images.map((i) => ({...i, names: i.names.filter(match)})).filter((i) => i.names.length > 0)
    }
    if (this.flags.filter?.length) {
      images = filterImages(images, parseImageFilters(this.flags.filter), {
        resolve: (name) => engine.images.resolve(name),
        labels: (image) => engine.content.readJson<ImageConfig>(image.id, 'image config').config?.Labels ?? {},
      })
    }
    images.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''))
    const list = rows(images, this.flags['no-trunc'], Date.now())
    if (quiet) {
      const ids = [...new Set(list.map((r) => r.ID))]
      if (ids.length > 0) this.log(ids.join('\n'))
      return
    }
    const columns = [
      {header: 'REPOSITORY', value: (r: ImageRow) => r.Repository},
      {header: 'TAG', value: (r: ImageRow) => r.Tag},
      ...(digests ? [{header: 'DIGEST', value: (r: ImageRow) => r.Digest}] : []),
      {header: 'IMAGE ID', value: (r: ImageRow) => r.ID},
      {header: 'CREATED', value: (r: ImageRow) => r.CreatedSince},
      {header: 'SIZE', value: (r: ImageRow) => r.Size},
    ]
    // Docker's fields, with what it computes only for `system df` as N/A.
    const toData = ({full: _full, ...rest}: ImageRow) => ({Containers: 'N/A', ...rest, SharedSize: 'N/A', UniqueSize: 'N/A', VirtualSize: rest.Size})
    process.stdout.write(renderList(list, columns, format, toData))
  }
}
