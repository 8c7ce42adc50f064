import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {Column, humanDuration, humanSize, renderList, renderTable} from '../../cli/output.js'
import {compileTemplate} from '../../cli/template.js'
import {HistoryEntry, imageHistory} from '../../engine/image/inspect.js'

/** One `history` row, with Docker's field names for `--format`. */
export interface HistoryRow {
  ID: string
  CreatedSince: string
  CreatedAt: string
  CreatedBy: string
  Size: string
  Comment: string
}

/** Go's `time.Format(time.RFC3339)` of a Unix time, in local time as Docker prints it. */
export function rfc3339(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000)
  const offset = -d.getTimezoneOffset()
  const pad = (n: number) => String(Math.abs(n)).padStart(2, '0')
  const zone = offset === 0 ? 'Z' : `${offset > 0 ? '+' : '-'}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${zone}`
}

/** Docker's formatter.Ellipsis: at most `max` characters, the last one `…`. */
function ellipsis(s: string, max: number): string {
  const chars = [...s]
  return chars.length <= max ? s : chars.slice(0, max - 1).join('') + '…'
}

/** Docker prints no age for dates before 2000 (unset ones included). */
const EPOCH_2000 = Date.UTC(2000, 0, 1)

export function historyRows(entries: HistoryEntry[], options: {human: boolean; trunc: boolean; now: number}): HistoryRow[] {
  return entries.map((e) => {
    const parsed = e.created ? Date.parse(e.created) : NaN
    const created = Number.isNaN(parsed) ? 0 : parsed
    const createdAt = rfc3339(created)
    let since = createdAt
    if (options.human) since = created <= EPOCH_2000 ? '' : `${humanDuration(options.now - created)} ago`
    const createdBy = e.createdBy.replaceAll('\t', ' ')
    return {
      ID: options.trunc && e.id.startsWith('sha256:') ? e.id.slice(7, 19) : e.id,
      CreatedSince: since,
      CreatedAt: createdAt,
      CreatedBy: options.trunc ? ellipsis(createdBy, 45) : createdBy,
      Size: options.human ? humanSize(e.size) : String(e.size),
      Comment: e.comment,
    }
  })
}

const HEADERS = {ID: 'IMAGE', CreatedBy: 'CREATED BY', Comment: 'COMMENT'}

export default class ImageHistory extends BaseCommand<typeof ImageHistory> {
  static summary = 'Show the history of an image'
  static aliases = ['history']
  static args = {image: Args.string({description: 'Image name or ID', required: true})}
  static flags = {
    human: Flags.boolean({char: 'H', description: 'Print sizes and dates in human readable format', default: true, allowNo: true}),
    quiet: Flags.boolean({char: 'q', description: 'Only show image IDs'}),
    'no-trunc': Flags.boolean({description: "Don't truncate output"}),
    format: Flags.string({description: "Format output: 'table', 'json', or a Go template such as '{{.ID}} {{.CreatedBy}}'"}),
  }

  override async init(): Promise<void> {
    // Docker's boolean flags take `-H=false` / `--human=false`; oclif spells it `--no-human`.
    this.argv = this.argv.map((a) => {
      const m = /^(?:-H|--human)=(.*)$/.exec(a)
      if (!m) return a
      if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(m[1])) return '--no-human'
      if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(m[1])) return '--human'
      return a
    })
    await super.init()
  }

  async run(): Promise<void> {
    const {human, quiet, format} = this.flags
    const engine = this.engine()
    const entries = imageHistory(engine, engine.images.resolve(this.args.image))
    const rows = historyRows(entries, {human, trunc: !this.flags['no-trunc'], now: Date.now()})
    const isDefault = format === undefined || format === '' || format === 'table'
    if (isDefault && quiet) {
      process.stdout.write(rows.map((r) => r.ID + '\n').join(''))
      return
    }
    // Docker encodes the row as a map: keys sorted.
    const data = (r: HistoryRow) => ({Comment: r.Comment, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy, CreatedSince: r.CreatedSince, ID: r.ID, Size: r.Size})
    if (!isDefault && /^table\s/.test(format!)) {
      // A custom table: Docker's history headers (IMAGE, CREATED BY, COMMENT) differ from the image list's.
      const tpl = compileTemplate(format!, HEADERS)
      const headers = tpl.header.split('\t')
      const cells = rows.map((r) => tpl.render(data(r)).split('\t'))
      process.stdout.write(renderTable(cells, headers.map((header, i) => ({header, value: (c: string[]) => c[i] ?? ''}))))
      return
    }
    const columns: Column<HistoryRow>[] = [
      {header: 'IMAGE', value: (r) => r.ID},
      {header: human ? 'CREATED' : 'CREATED AT', value: (r) => (human ? r.CreatedSince : r.CreatedAt)},
      {header: 'CREATED BY', value: (r) => r.CreatedBy},
      {header: 'SIZE', value: (r) => r.Size},
      {header: 'COMMENT', value: (r) => r.Comment},
    ]
    process.stdout.write(renderList(rows, columns, format, data))
  }
}
