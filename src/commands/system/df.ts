import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {commandText, statusText} from '../../cli/containers.js'
import {humanDuration, humanSize, renderList} from '../../cli/output.js'
import {withSpinner} from '../../cli/style.js'
import {compileTemplate} from '../../cli/template.js'
import {DiskUsage, UsageSummary, diskUsage, summarize} from '../../engine/df.js'
import {familiarRepository, parseReference} from '../../engine/image/reference.js'

/** Docker's RECLAIMABLE cell: size, and the integer percentage when there is anything at all. */
export function reclaimableText(reclaimable: number, total: number): string {
  return total > 0 ? `${humanSize(reclaimable)} (${Math.floor((reclaimable * 100) / total)}%)` : humanSize(reclaimable)
}

/** A summary row with Docker's `--format` field names (all strings, as Docker prints them). */
function row(s: UsageSummary): Record<string, string> {
  return {Type: s.Type, TotalCount: String(s.TotalCount), Active: String(s.Active), Size: humanSize(s.Size), Reclaimable: s.Type === 'Build Cache' ? humanSize(s.Reclaimable) : reclaimableText(s.Reclaimable, s.Size)}
}

export default class Df extends BaseCommand<typeof Df> {
  static summary = 'Show ncx disk usage'
  static description = 'Images count each unpacked layer once; an image is active while a container uses it; RECLAIMABLE is what system prune -a --volumes would free.'
  static examples = ['ncx system df', 'ncx system df -v', "ncx system df --format '{{.Type}}: {{.Reclaimable}}'", 'ncx system df --format json']
  static flags = {
    verbose: Flags.boolean({char: 'v', description: 'Show detailed information on space usage', helpGroup: 'OUTPUT'}),
    format: Flags.string({description: "Format output: 'table', 'json', or a Go template such as '{{.Type}} {{.Size}}'", helpGroup: 'OUTPUT'}),
  }

  async run(): Promise<void> {
    const usage = await withSpinner('Measuring disk usage', () => diskUsage(this.engine()))
    const {format, verbose} = this.flags
    if (verbose && (format === undefined || format === 'table')) return void process.stdout.write(this.verbose(usage))
    if (verbose && format === 'json') return this.log(JSON.stringify(this.verboseData(usage)))
    if (verbose && format) return this.log(compileTemplate(format).render(this.verboseData(usage)))
    const rows = summarize(usage).map(row)
    process.stdout.write(
      renderList(
        rows,
        [
          {header: 'TYPE', value: (r) => r.Type},
          {header: 'TOTAL', value: (r) => r.TotalCount},
          {header: 'ACTIVE', value: (r) => r.Active},
          {header: 'SIZE', value: (r) => r.Size},
          {header: 'RECLAIMABLE', value: (r) => r.Reclaimable},
        ],
        format,
        (r) => r,
        {TotalCount: 'TOTAL', Type: 'TYPE', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE'},
      ),
    )
  }

  /** `-v --format json`: Docker's shape (Images, Containers, Volumes, BuildCache). */
  private verboseData(u: DiskUsage): object {
    return {
      LayersSize: u.layersSize,
      Images: u.images.map((i) => ({Id: i.id, RepoTags: i.names, Created: i.created, Size: i.size, SharedSize: i.sharedSize, UniqueSize: i.uniqueSize, Containers: i.containers})),
      Containers: u.containers.map((c) => ({Id: c.id, Names: [c.name], Image: c.image, Command: c.command, Created: c.created, State: c.state.status, SizeRw: c.size})),
      Volumes: u.volumes.map((v) => ({Name: v.name, Links: v.links, Size: v.size})),
      BuildCache: (u.buildCache?.items ?? []).map((b) => ({ID: b.id, Type: b.type, Description: b.description, InUse: false, Shared: b.shared, Size: b.size, CreatedAt: b.created, LastUsedAt: b.lastUsed, UsageCount: 1})),
      // Not in Docker's shape: interrupted downloads kept to resume a pull (counted in the Images row).
      PartialDownloads: u.partials.map((p) => ({Digest: p.digest, Size: p.size})),
    }
  }

  private verbose(u: DiskUsage): string {
    const now = Date.now()
    const imageRows = u.images.flatMap((i) => {
      const base = {id: i.id.slice(7, 19), created: i.created ? `${humanDuration(now - Date.parse(i.created))} ago` : 'N/A', size: humanSize(i.size), shared: humanSize(i.sharedSize), unique: humanSize(i.uniqueSize), containers: String(i.containers)}
      if (i.names.length === 0) return [{...base, repo: '<none>', tag: '<none>'}]
      return i.names.map((n) => {
        const ref = parseReference(n)
        return {...base, repo: familiarRepository(ref), tag: ref.tag ?? '<none>'}
      })
    })
    type IR = (typeof imageRows)[number]
    const images = renderList<IR>(imageRows, [
      {header: 'REPOSITORY', value: (r) => r.repo},
      {header: 'TAG', value: (r) => r.tag},
      {header: 'IMAGE ID', value: (r) => r.id},
      {header: 'CREATED', value: (r) => r.created},
      {header: 'SIZE', value: (r) => r.size},
      {header: 'SHARED SIZE', value: (r) => r.shared},
      {header: 'UNIQUE SIZE', value: (r) => r.unique},
      {header: 'CONTAINERS', value: (r) => r.containers},
    ], undefined, (r) => r)
    type CR = DiskUsage['containers'][number]
    const containers = renderList<CR>(u.containers, [
      {header: 'CONTAINER ID', value: (c) => c.id.slice(0, 12)},
      {header: 'IMAGE', value: (c) => c.image},
      {header: 'COMMAND', value: (c) => commandText(c.command.split(' '), false)},
      {header: 'LOCAL VOLUMES', value: () => '0'},
      {header: 'SIZE', value: (c) => humanSize(c.size)},
      {header: 'CREATED', value: (c) => `${humanDuration(now - Date.parse(c.created))} ago`},
      {header: 'STATUS', value: (c) => statusText(c.state, now)},
      {header: 'NAMES', value: (c) => c.name},
    ], undefined, (c) => c)
    type VR = DiskUsage['volumes'][number]
    const volumes = renderList<VR>(u.volumes, [
      {header: 'VOLUME NAME', value: (v) => v.name},
      {header: 'LINKS', value: (v) => String(v.links)},
      {header: 'SIZE', value: (v) => humanSize(v.size)},
    ], undefined, (v) => v)
    type BR = NonNullable<DiskUsage['buildCache']>['items'][number]
    const cache = renderList<BR>(u.buildCache?.items ?? [], [
      {header: 'CACHE ID', value: (b) => b.id},
      {header: 'CACHE TYPE', value: (b) => b.type},
      {header: 'SIZE', value: (b) => humanSize(b.size)},
      {header: 'CREATED', value: (b) => `${humanDuration(now - Date.parse(b.created))} ago`},
      {header: 'LAST USED', value: (b) => `${humanDuration(now - Date.parse(b.lastUsed))} ago`},
      {header: 'USAGE', value: () => '1'},
      {header: 'SHARED', value: (b) => String(b.shared)},
    ], undefined, (b) => b)
    const cacheSize = (u.buildCache?.size ?? 0) + (u.buildCache?.shared ?? 0)
    const partialTotal = u.partials.reduce((a, p) => a + p.size, 0)
    const partials =
      u.partials.length === 0
        ? []
        : [
            `Partial downloads: ${humanSize(partialTotal)} (kept to resume a pull; "ncx image prune" removes them)`,
            '',
            renderList(u.partials, [
              {header: 'BLOB', value: (p) => p.digest.slice(7, 19)},
              {header: 'SIZE', value: (p) => humanSize(p.size)},
            ], undefined, (p) => p),
          ]
    return ['Images space usage:', '', images, ...partials, 'Containers space usage:', '', containers, 'Local Volumes space usage:', '', volumes, `Build cache usage: ${humanSize(cacheSize)}`, '', cache].join('\n')
  }
}
