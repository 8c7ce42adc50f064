/**
 * The subset of Go's text/template that `--format` uses in practice:
 * `{{.Field}}`, `{{.A.B}}`, `{{json .}}`, `{{json .Field}}`, `{{lower .X}}`, `{{upper .X}}`,
 * `{{index .Labels "k"}}`, `{{join .List ","}}`, `{{len .List}}`, and `\t` / `\n` escapes; a leading
 * `table` prints a header row built from the field names.
 */
import {UsageError} from '../engine/errors.js'

type Value = unknown

function lookupPath(data: Value, path: string): Value {
  if (path === '.') return data
  let cur: Value = data
  for (const key of path.replace(/^\./, '').split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, Value>)[key]
  }
  return cur
}

function show(v: Value): string {
  if (v === undefined || v === null) return '<no value>'
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`
  // Go prints maps with their keys sorted.
  if (typeof v === 'object') return `map[${Object.entries(v as Record<string, Value>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => `${k}:${show(x)}`).join(' ')}]`
  return String(v)
}

function tokenize(expr: string): string[] {
  return expr.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []
}

function evalArg(token: string, data: Value): Value {
  if (token.startsWith('"')) return JSON.parse(token) as string
  if (token.startsWith('.')) return lookupPath(data, token)
  if (/^-?\d+$/.test(token)) return Number(token)
  throw new UsageError(`template: unexpected ${JSON.stringify(token)}`)
}

function evalExpr(expr: string, data: Value): string {
  const tokens = tokenize(expr.trim())
  if (tokens.length === 0) return ''
  const [head, ...rest] = tokens
  if (head.startsWith('.') || head.startsWith('"')) return show(evalArg(head, data))
  const args = rest.map((t) => evalArg(t, data))
  switch (head) {
    case 'json':
      return JSON.stringify(args[0] ?? null)
    case 'lower':
      return show(args[0]).toLowerCase()
    case 'upper':
      return show(args[0]).toUpperCase()
    case 'title':
      return show(args[0]).replace(/\b\w/g, (c) => c.toUpperCase())
    case 'index': {
      const [obj, key] = args
      return show(obj && typeof obj === 'object' ? (obj as Record<string, Value>)[String(key)] : undefined)
    }
    case 'join':
      return Array.isArray(args[0]) ? (args[0] as Value[]).map(show).join(String(args[1] ?? '')) : show(args[0])
    case 'len': {
      const v = args[0]
      if (typeof v === 'string' || Array.isArray(v)) return String(v.length)
      if (v && typeof v === 'object') return String(Object.keys(v).length)
      throw new UsageError(`template: len of ${show(v)}`)
    }
    case 'truncate': {
      const s = show(args[0])
      return s.slice(0, Number(args[1]))
    }
    default:
      throw new UsageError(`template: function ${JSON.stringify(head)} not defined`, 'supported: json, lower, upper, title, index, join, len, truncate')
  }
}

export interface CompiledTemplate {
  table: boolean
  header: string
  render: (data: Value) => string
}

/** `headers` names the table columns of fields that differ from the image list's (history's `ID` is `IMAGE`). */
export function compileTemplate(format: string, headers: Record<string, string> = {}): CompiledTemplate {
  let body = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n')
  const table = /^table(\s|$)/.test(body)
  if (table) body = body.replace(/^table\s*/, '')
  const parts = body.split(/(\{\{.*?\}\})/s)
  for (const p of parts) if (p.startsWith('{{') && !p.endsWith('}}')) throw new UsageError(`template: unclosed action in ${JSON.stringify(format)}`)
  if (/\{\{(?![^}]*\}\})/.test(body)) throw new UsageError(`template: unclosed action in ${JSON.stringify(format)}`)
  const render = (data: Value) => parts.map((p) => (p.startsWith('{{') ? evalExpr(p.slice(2, -2), data) : p)).join('')
  const header = parts
    .map((p) => {
      if (!p.startsWith('{{')) return p
      const field = /\.(\w+)\s*$/.exec(p.slice(2, -2).trim())
      return field ? (headers[field[1]] ?? headerName(field[1])) : ''
    })
    .join('')
  return {table, header, render}
}

const HEADERS: Record<string, string> = {ID: 'IMAGE ID', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Repository: 'REPOSITORY', Tag: 'TAG', Size: 'SIZE', Digest: 'DIGEST'}

function headerName(field: string): string {
  return HEADERS[field] ?? field.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase()
}
