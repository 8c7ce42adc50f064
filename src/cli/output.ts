import {compileTemplate} from './template.js'

export interface Column<T> {
  header: string
  value: (row: T) => string
}

/** Docker's table layout: columns padded to the widest cell plus three spaces. */
export function renderTable<T>(rows: T[], columns: Column<T>[]): string {
  const cells = [columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => c.value(r)))]
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => row[i].length)))
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] + 3))).join('').trimEnd()).join('\n') + '\n'
}

/** Render `rows` by `--format`: undefined/`table` → the default table; `json` → one JSON object a line; else a template. */
export function renderList<T>(rows: T[], columns: Column<T>[], format: string | undefined, toData: (row: T) => object): string {
  if (format === undefined || format === '' || format === 'table') return renderTable(rows, columns)
  if (format === 'json') return rows.map((r) => JSON.stringify(toData(r)) + '\n').join('')
  const tpl = compileTemplate(format)
  const lines = rows.map((r) => tpl.render(toData(r)))
  if (tpl.table) return alignTabs([tpl.header, ...lines])
  return lines.map((l) => l + '\n').join('')
}

/** Go's tabwriter as Docker uses it: tab-separated cells padded to columns. */
function alignTabs(lines: string[]): string {
  const split = lines.map((l) => l.split('\t'))
  const n = Math.max(...split.map((c) => c.length))
  const widths = Array.from({length: n}, (_, i) => Math.max(...split.map((c) => (c[i] ?? '').length)))
  return split.map((cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] + 3))).join('').trimEnd()).join('\n') + '\n'
}

/** "2 hours ago", as Docker's go-units HumanDuration prints it. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 1) return 'Less than a second'
  if (s === 1) return '1 second'
  if (s < 60) return `${s} seconds`
  const m = Math.round(s / 60)
  if (m === 1) return 'About a minute'
  if (m < 60) return `${m} minutes`
  const h = Math.round(s / 3600)
  if (h === 1) return 'About an hour'
  if (h < 48) return `${h} hours`
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`
  return `${Math.floor(h / 24 / 365)} years`
}

/** "4.26MB", as Docker's go-units HumanSize prints it (decimal units, 3 significant digits). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']
  let v = bytes
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${Number(v.toPrecision(3))}${units[i]}`
}
