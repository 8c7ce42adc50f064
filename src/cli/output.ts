import {NcxError} from '../engine/errors.js'
import {compileTemplate} from './template.js'

export interface Column<T> {
  header: string
  value: (row: T) => string
}

/** Docker's table layout: Go's tabwriter with minwidth 10 and padding 3. */
export function renderTable<T>(rows: T[], columns: Column<T>[]): string {
  return alignCells([columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => c.value(r)))])
}

function alignCells(cells: string[][]): string {
  const n = Math.max(...cells.map((c) => c.length))
  const widths = Array.from({length: n}, (_, i) => Math.max(10, Math.max(...cells.map((c) => (c[i] ?? '').length)) + 3))
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('').trimEnd()).join('\n') + '\n'
}

/** Render `rows` by `--format`: undefined/`table` → the default table; `json` → one JSON object a line; else a template. */
export function renderList<T>(rows: T[], columns: Column<T>[], format: string | undefined, toData: (row: T) => object, headers?: Record<string, string>): string {
  if (format === undefined || format === '' || format === 'table') return renderTable(rows, columns)
  if (format === 'json') return rows.map((r) => JSON.stringify(toData(r)) + '\n').join('')
  const tpl = compileTemplate(format, headers)
  const lines = rows.map((r) => tpl.render(toData(r)))
  if (tpl.table) return alignCells([tpl.header, ...lines].map((l) => l.split('\t')))
  return lines.map((l) => l + '\n').join('')
}

/**
 * `inspect` of named objects: Docker's 4-space JSON array (or one `--format` template line per
 * object) of those found, and the messages for those not found, which the command reports after
 * printing (exit 1, as Docker).
 */
export function renderInspect(names: string[], lookup: (name: string) => object, format: string | undefined): {text: string; errors: string[]} {
  const docs: object[] = []
  const errors: string[] = []
  for (const name of names) {
    try {
      docs.push(lookup(name))
    } catch (error) {
      if (!(error instanceof NcxError)) throw error
      errors.push(error.message)
    }
  }
  if (format === undefined || format === '' || format === 'json') return {text: JSON.stringify(docs, null, 4) + '\n', errors}
  const tpl = compileTemplate(format)
  return {text: docs.map((d) => tpl.render(d) + '\n').join(''), errors}
}

/** "2 hours ago", as Docker's go-units HumanDuration prints it. */
export function humanDuration(ms: number): string {
  // Seconds and minutes are truncated, hours rounded, exactly as go-units does.
  const s = Math.floor(ms / 1000)
  if (s < 1) return 'Less than a second'
  if (s === 1) return '1 second'
  if (s < 60) return `${s} seconds`
  const m = Math.floor(ms / 60_000)
  if (m === 1) return 'About a minute'
  if (m < 60) return `${m} minutes`
  const h = Math.floor(ms / 3_600_000 + 0.5)
  if (h === 1) return 'About an hour'
  if (h < 48) return `${h} hours`
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`
  return `${Math.floor(Math.floor(ms / 3_600_000) / 24 / 365)} years`
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

/**
 * A time as Go's time.Time.String() prints it in the local zone (`2026-12-04 09:44:55 +0000
 * UTC`): the CreatedAt of Docker's `ps` and `images`.
 */
export function goTimeString(date: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  const off = -date.getTimezoneOffset()
  const sign = off < 0 ? '-' : '+'
  const offset = `${sign}${pad(Math.floor(Math.abs(off) / 60))}${pad(Math.abs(off) % 60)}`
  // Go prints the zone's abbreviation, or the offset again where the zone has none.
  const short = new Intl.DateTimeFormat('en-US', {timeZoneName: 'short'}).formatToParts(date).find((p) => p.type === 'timeZoneName')?.value ?? ''
  const zone = off === 0 && /^(UTC|GMT)$/.test(short) ? 'UTC' : /^[A-Z]{3,5}$/.test(short) ? short : offset
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${offset} ${zone}`
}

/**
 * `row[key]` computed when first read: a getter in the key's own place, so JSON, templates and
 * spreads see a value in the same key order. For the CreatedAt columns: goTimeString's zone
 * name costs ICU's time-zone set-up (a good part of a `ps`), and the default tables never
 * show them.
 */
export function lazyField<T extends object, K extends keyof T>(row: T, key: K, compute: () => T[K]): T {
  let cached: {value: T[K]} | undefined
  Object.defineProperty(row, key, {get: () => (cached ??= {value: compute()}).value, enumerable: true, configurable: true})
  return row
}

/** A row with Docker's `Label` method (`{{.Label "k"}}`: the value, or empty), invisible to JSON. */
export function withLabelMethod<T extends object>(row: T, labels: Record<string, string>): T {
  return Object.defineProperty(row, 'Label', {value: (key: string) => labels[key] ?? '', enumerable: false})
}
