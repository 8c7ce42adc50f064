/**
 * The part of Go's text/template that `--format` uses in practice, with Docker's function
 * set (docker/cli templates/templates.go):
 *
 *   fields           {{.Field}}  {{.A.B}}  {{$}}  {{$v.Name}}  {{(index .L 0).Name}}
 *   pipelines        {{.Name | upper}}  {{.Args | join ","}}
 *   control          {{if .X}}…{{else if .Y}}…{{else}}…{{end}}  {{range .List}}…{{else}}…{{end}}
 *                    {{range $k, $v := .Map}}…{{end}}  {{with .X}}…{{end}}  {{- trims -}}
 *   Docker functions json, split, join, title, lower, upper, pad, truncate
 *   Go builtins      index, len, print, printf (%s %d %v %q), println, eq, ne, lt, le, gt, ge, and, or, not
 *
 * `\t` and `\n` escapes become tabs and newlines; a leading `table` prints a header row
 * built from the field names (Docker's header names where they differ).
 */
import {UsageError} from '../engine/errors.js'

type Value = unknown

const fail = (message: string) => new UsageError(`template: ${message}`)

// ---------------------------------------------------------------------------------------
// Values as Go prints and tests them

function show(v: Value): string {
  if (v === undefined || v === null) return '<no value>'
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`
  // Go prints maps with their keys sorted.
  if (typeof v === 'object') return `map[${Object.entries(v as Record<string, Value>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => `${k}:${show(x)}`).join(' ')}]`
  return String(v)
}

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false
  if (Array.isArray(v)) return v.length > 0
  if (typeof v === 'object') return Object.keys(v as object).length > 0
  return true
}

/**
 * Fields of Docker's documents that are Go maps (user data: labels, options, per-network
 * entries …): a missing key there is `<no value>`. Everywhere else a field is a Go struct
 * field, and a missing one is an error, as Docker's templates say ("can't evaluate field X").
 */
const MAP_FIELDS = new Set(['Labels', 'Options', 'Attributes', 'Annotations', 'Networks', 'Ports', 'ExposedPorts', 'Volumes', 'PortBindings', 'Data', 'Sysctls', 'DriverOpts', 'Containers', 'Status', 'Tmpfs', 'StorageOpt', 'Peers', 'Plugins', 'RegistryConfig', 'IndexConfigs', 'Runtimes'])

function field(cur: Value, name: string, parents: string[] = [], strict = false): Value {
  if (cur === null || typeof cur !== 'object') {
    if (strict && cur !== undefined && cur !== null) throw fail(`can't evaluate field ${name} in type ${typeof cur === 'number' ? 'int' : typeof cur}`)
    return undefined
  }
  const record = cur as Record<string, Value>
  if (strict && !Array.isArray(cur) && !(name in record)) {
    const parent = parents[parents.length - 1]
    const inMap = parent !== undefined && (MAP_FIELDS.has(parent) || (parent === 'Config' && parents[parents.length - 2] === 'LogConfig'))
    if (!inMap) throw fail(`executing "" at <.${[...parents, name].join('.')}>: can't evaluate field ${name}`)
  }
  return record[name]
}

// ---------------------------------------------------------------------------------------
// Functions

function goPrintf(format: string, args: Value[]): string {
  let i = 0
  return format.replace(/%([-+ #0]*\d*(?:\.\d+)?)([sdvqtf%])/g, (_m, flags: string, verb: string) => {
    if (verb === '%') return '%'
    const a = args[i++]
    let s: string
    if (verb === 'q') s = JSON.stringify(show(a))
    else if (verb === 'd') s = String(Math.trunc(Number(a)))
    else if (verb === 'f') s = Number(a).toFixed(/\.(\d+)/.exec(flags)?.[1] ? Number(/\.(\d+)/.exec(flags)![1]) : 6)
    else s = show(a)
    const width = Number(/(\d+)/.exec(flags.replace(/\.\d+/, ''))?.[1] ?? 0)
    return flags.includes('-') ? s.padEnd(width) : s.padStart(width)
  })
}

function compare(op: string, a: Value, b: Value): boolean {
  if (op === 'eq') return a === b || (typeof a === 'number' && typeof b === 'number' && a === b)
  if (op === 'ne') return a !== b
  const x = a as number | string
  const y = b as number | string
  if (typeof x !== typeof y) throw fail(`incompatible types for comparison: ${show(a)} and ${show(b)}`)
  return op === 'lt' ? x < y : op === 'le' ? x <= y : op === 'gt' ? x > y : x >= y
}

const FUNCTIONS: Record<string, (args: Value[]) => Value> = {
  json: ([v]) => JSON.stringify(v === undefined ? null : v),
  split: ([s, sep]) => show(s).split(String(sep)),
  join: ([list, sep]) => (Array.isArray(list) ? list.map(show).join(String(sep ?? '')) : show(list)),
  title: ([s]) => show(s).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, p: string, c: string) => p + c.toUpperCase()),
  lower: ([s]) => show(s).toLowerCase(),
  upper: ([s]) => show(s).toUpperCase(),
  // Docker: n spaces before and m after.
  pad: ([s, before, after]) => `${' '.repeat(Number(before))}${show(s)}${' '.repeat(Number(after))}`,
  // Docker: the first n characters (runes), the whole string when shorter.
  truncate: ([s, n]) => [...show(s)].slice(0, Number(n)).join(''),
  index: ([obj, ...keys]) => {
    let cur = obj
    for (const k of keys) {
      if (Array.isArray(cur)) {
        const i = Number(k)
        if (!Number.isInteger(i) || i < 0 || i >= cur.length) throw fail(`index out of range: ${show(k)}`)
        cur = cur[i]
      } else cur = field(cur, String(k))
    }
    return cur
  },
  len: ([v]) => {
    if (typeof v === 'string' || Array.isArray(v)) return v.length
    if (v && typeof v === 'object') return Object.keys(v).length
    throw fail(`len of ${show(v)}`)
  },
  print: (args) => args.map(show).join(''),
  println: (args) => args.map(show).join(' ') + '\n',
  printf: ([f, ...rest]) => goPrintf(String(f), rest),
  not: ([v]) => !truthy(v),
  and: (args) => args.find((a) => !truthy(a)) ?? args[args.length - 1],
  or: (args) => args.find((a) => truthy(a)) ?? args[args.length - 1],
  eq: ([a, ...bs]) => bs.some((b) => compare('eq', a, b)),
  ne: ([a, b]) => compare('ne', a, b),
  lt: ([a, b]) => compare('lt', a, b),
  le: ([a, b]) => compare('le', a, b),
  gt: ([a, b]) => compare('gt', a, b),
  ge: ([a, b]) => compare('ge', a, b),
}

export const TEMPLATE_FUNCTIONS = Object.keys(FUNCTIONS)

// ---------------------------------------------------------------------------------------
// Parsing: text and actions → a tree

type Term = {kind: 'field'; base: 'dot' | string; path: string[]} | {kind: 'literal'; value: Value} | {kind: 'ident'; name: string} | {kind: 'paren'; pipe: Pipeline; path: string[]}
type Command = Term[]
interface Pipeline {
  decl: string[]
  commands: Command[]
}
type Node =
  | {kind: 'text'; text: string}
  | {kind: 'action'; pipe: Pipeline}
  | {kind: 'if' | 'with'; branches: Array<{pipe: Pipeline; body: Node[]}>; otherwise: Node[]}
  | {kind: 'range'; pipe: Pipeline; body: Node[]; otherwise: Node[]}

function lexAction(src: string): string[] {
  const tokens: string[] = []
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)'|\(|\)|\||:=|=|,|-?\d+(?:\.\d+)?(?![\w.])|\$[\w]*(?:\.[\w]+)*|(?:\.[\w]+)+|\.|[A-Za-z_][\w]*(?:\.[\w]+)*)\s*/y
  let i = 0
  while (i < src.length) {
    if (/^\s*$/.test(src.slice(i))) break
    re.lastIndex = i
    const m = re.exec(src)
    if (!m) throw fail(`unexpected ${JSON.stringify(src.slice(i).trim().split(/\s/)[0])} in ${JSON.stringify(`{{${src}}}`)}`)
    tokens.push(m[1])
    i = re.lastIndex
  }
  return tokens
}

function parsePipeline(tokens: string[], src: string): Pipeline {
  let pos = 0
  const decl: string[] = []
  // `$x :=` or `$k, $v :=`
  const assign = tokens.findIndex((t) => t === ':=' || t === '=')
  if (assign > 0) {
    for (const t of tokens.slice(0, assign)) if (t !== ',') decl.push(t)
    if (decl.some((d) => !d.startsWith('$'))) throw fail(`bad variable declaration in {{${src}}}`)
    pos = assign + 1
  }
  const parseTerm = (): Term => {
    const t = tokens[pos++]
    if (t === undefined) throw fail(`missing value in {{${src}}}`)
    if (t === '(') {
      let depth = 1
      const start = pos
      while (pos < tokens.length && depth > 0) {
        if (tokens[pos] === '(') depth++
        if (tokens[pos] === ')') depth--
        pos++
      }
      if (depth !== 0) throw fail(`unclosed left paren in {{${src}}}`)
      const inner = parsePipeline(tokens.slice(start, pos - 1), src)
      // `(index .L 0).Name`: a field chain glued to the paren.
      const path: string[] = []
      while (tokens[pos]?.startsWith('.') && tokens[pos] !== '.') path.push(...tokens[pos++].slice(1).split('.'))
      return {kind: 'paren', pipe: inner, path}
    }
    if (t.startsWith('"')) return {kind: 'literal', value: JSON.parse(t) as string}
    if (t.startsWith('`')) return {kind: 'literal', value: t.slice(1, -1)}
    if (t.startsWith("'")) return {kind: 'literal', value: t.charCodeAt(1)}
    if (/^-?\d/.test(t)) return {kind: 'literal', value: Number(t)}
    if (t === 'true' || t === 'false') return {kind: 'literal', value: t === 'true'}
    if (t === 'nil') return {kind: 'literal', value: null}
    if (t === '.') return {kind: 'field', base: 'dot', path: []}
    if (t.startsWith('.')) return {kind: 'field', base: 'dot', path: t.slice(1).split('.')}
    if (t.startsWith('$')) {
      const [name, ...path] = t.split('.')
      return {kind: 'field', base: name, path}
    }
    if (t === ')' || t === '|' || t === ',') throw fail(`unexpected ${JSON.stringify(t)} in {{${src}}}`)
    return {kind: 'ident', name: t}
  }
  const commands: Command[] = []
  let cmd: Command = []
  while (pos < tokens.length) {
    if (tokens[pos] === '|') {
      if (cmd.length === 0) throw fail(`missing command before | in {{${src}}}`)
      commands.push(cmd)
      cmd = []
      pos++
      continue
    }
    cmd.push(parseTerm())
  }
  if (cmd.length === 0) throw fail(`empty command in {{${src}}}`)
  commands.push(cmd)
  for (const c of commands) for (const t of c) if (t.kind === 'ident' && !(t.name in FUNCTIONS)) throw fail(`function ${JSON.stringify(t.name)} not defined`)
  return {decl, commands}
}

interface Piece {
  text?: string
  action?: string
}

function pieces(body: string, format: string): Piece[] {
  const out: Piece[] = []
  let i = 0
  while (i < body.length) {
    const open = body.indexOf('{{', i)
    if (open < 0) {
      out.push({text: body.slice(i)})
      break
    }
    const close = body.indexOf('}}', open + 2)
    if (close < 0) throw new UsageError(`template: unclosed action in ${JSON.stringify(format)}`)
    let text = body.slice(i, open)
    let action = body.slice(open + 2, close)
    if (action.startsWith('- ') || action === '-') {
      text = text.replace(/\s+$/, '')
      action = action.slice(1)
    }
    let next = close + 2
    if (action.endsWith(' -')) {
      action = action.slice(0, -1)
      const rest = body.slice(next)
      next += rest.length - rest.replace(/^\s+/, '').length
    }
    if (text) out.push({text})
    out.push({action: action.trim()})
    i = next
  }
  return out
}

function parse(format: string, body: string): Node[] {
  const list = pieces(body, format)
  let pos = 0
  const block = (ends: string[]): {nodes: Node[]; end: string} => {
    const nodes: Node[] = []
    while (pos < list.length) {
      const p = list[pos++]
      if (p.text !== undefined) {
        nodes.push({kind: 'text', text: p.text})
        continue
      }
      const a = p.action!
      if (a.startsWith('/*')) continue // a comment
      const word = /^(\w+)/.exec(a)?.[1]
      if (word === 'end' || word === 'else') {
        if (!ends.includes(word)) throw fail(`unexpected {{${a}}} in ${JSON.stringify(format)}`)
        pos--
        return {nodes, end: word}
      }
      if (word === 'if' || word === 'with' || word === 'range') {
        const first = parsePipeline(lexAction(a.slice(word.length)), a)
        const body1 = block(['end', 'else'])
        if (word === 'range') {
          let otherwise: Node[] = []
          if (list[pos++].action === 'else') otherwise = closeBlock()
          nodes.push({kind: 'range', pipe: first, body: body1.nodes, otherwise})
          continue
        }
        const branches = [{pipe: first, body: body1.nodes}]
        let otherwise: Node[] = []
        let end = list[pos++].action!
        while (end !== 'end') {
          // `else`, or `else if PIPE`
          const m = /^else\s+(if|with)\s+(.*)$/s.exec(end)
          if (m) {
            const branch = block(['end', 'else'])
            branches.push({pipe: parsePipeline(lexAction(m[2]), end), body: branch.nodes})
            end = list[pos++].action!
          } else {
            otherwise = closeBlock()
            end = 'end'
          }
        }
        nodes.push({kind: word, branches, otherwise})
        continue
      }
      nodes.push({kind: 'action', pipe: parsePipeline(lexAction(a), a)})
    }
    if (ends.length > 0) throw fail(`unexpected EOF: missing {{end}} in ${JSON.stringify(format)}`)
    return {nodes, end: ''}
  }
  const closeBlock = (): Node[] => {
    const b = block(['end'])
    pos++ // the {{end}}
    return b.nodes
  }
  return block([]).nodes
}

// ---------------------------------------------------------------------------------------
// Execution

interface Scope {
  dot: Value
  vars: Map<string, Value>
  /** Missing fields of documents are errors (Docker's Go structs). */
  strict: boolean
  /** The dot is the document itself (not what `range`/`with` moved it to). */
  dotIsRoot: boolean
}

function evalTerm(t: Term, s: Scope, piped: Value[] = []): Value {
  switch (t.kind) {
    case 'literal':
      return t.value
    case 'field': {
      let cur: Value
      // The dot's own fields are checked where the dot is a known document ($ and variables
      // may hold anything a range produced).
      const strict = s.strict && (t.base === 'dot' ? s.dotIsRoot : t.base === '$')
      if (t.base === 'dot') cur = s.dot
      else {
        if (!s.vars.has(t.base)) throw fail(`undefined variable: ${t.base}`)
        cur = s.vars.get(t.base)
      }
      t.path.forEach((k, i) => (cur = field(cur, k, t.path.slice(0, i), strict)))
      return cur
    }
    case 'paren': {
      let cur = evalPipeline(t.pipe, s)
      for (const k of t.path) cur = field(cur, k)
      return cur
    }
    case 'ident':
      return FUNCTIONS[t.name](piped)
  }
}

function evalCommand(cmd: Command, s: Scope, piped: Value | typeof NONE): Value {
  const [head, ...rest] = cmd
  const args = rest.map((t) => evalTerm(t, s))
  if (piped !== NONE) args.push(piped)
  if (head.kind === 'ident') return FUNCTIONS[head.name](args)
  const value = evalTerm(head, s)
  // A method of the row (`{{.Label "com.example.k"}}`), called with its arguments as Go does.
  if (typeof value === 'function') {
    if (args.length !== value.length) throw fail(`wrong number of args: want ${value.length} got ${args.length}`)
    return (value as (...a: Value[]) => Value)(...args)
  }
  if (args.length > 0) throw fail(`can't give argument to non-function ${show(value)}`)
  return value
}

const NONE = Symbol('none')

function evalPipeline(p: Pipeline, s: Scope): Value {
  let v: Value | typeof NONE = NONE
  for (const c of p.commands) v = evalCommand(c, s, v)
  if (p.decl.length === 1) s.vars.set(p.decl[0], v)
  return v
}

function exec(nodes: Node[], s: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        out.push(n.text)
        break
      case 'action': {
        const v = evalPipeline(n.pipe, s)
        if (n.pipe.decl.length === 0) out.push(show(v))
        break
      }
      case 'if':
      case 'with': {
        const hit = n.branches.find((b) => truthy(evalPipeline(b.pipe, s)))
        if (hit) {
          const v = evalPipeline(hit.pipe, s)
          exec(hit.body, n.kind === 'with' ? {dot: v, vars: s.vars, strict: s.strict, dotIsRoot: false} : s, out)
        } else exec(n.otherwise, s, out)
        break
      }
      case 'range': {
        const saved = n.pipe.decl
        const v = evalPipeline({decl: [], commands: n.pipe.commands}, s)
        const entries: Array<[Value, Value]> = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : v && typeof v === 'object'
            ? Object.keys(v).sort().map((k) => [k, (v as Record<string, Value>)[k]])
            : typeof v === 'number'
              ? Array.from({length: v}, (_, i) => [i, i])
              : v === undefined || v === null
                ? []
                : (() => {
                    throw fail(`range can't iterate over ${show(v)}`)
                  })()
        if (entries.length === 0) {
          exec(n.otherwise, s, out)
          break
        }
        for (const [k, x] of entries) {
          const vars = new Map(s.vars)
          if (saved.length === 1) vars.set(saved[0], x)
          if (saved.length === 2) {
            vars.set(saved[0], k)
            vars.set(saved[1], x)
          }
          exec(n.body, {dot: x, vars, strict: s.strict, dotIsRoot: false}, out)
        }
        break
      }
    }
  }
}

// ---------------------------------------------------------------------------------------

export interface CompiledTemplate {
  table: boolean
  header: string
  render: (data: Value) => string
}

/**
 * `headers` names the table columns of fields that differ from the image list's (history's
 * `ID` is `IMAGE`). `strict` (the default): a field the document does not have is an error,
 * as in Docker, where the document is a Go struct; `<no value>` otherwise.
 */
export function compileTemplate(format: string, headers: Record<string, string> = {}, options: {strict?: boolean} = {}): CompiledTemplate {
  let body = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n')
  const table = /^table(\s|$)/.test(body)
  if (table) body = body.replace(/^table\s*/, '')
  const tree = parse(format, body)
  const render = (data: Value) => {
    const out: string[] = []
    exec(tree, {dot: data, vars: new Map([['$', data]]), strict: options.strict ?? true, dotIsRoot: true}, out)
    return out.join('')
  }
  // Docker renders the header from the same template with each field replaced by its column name.
  const header = pieces(body, format)
    .map((p) => {
      if (p.text !== undefined) return p.text
      const a = p.action!
      if (/^(end|else|if|range|with)\b/.test(a)) return ''
      const f = /\.(\w+)\s*\)?\s*(?:\|.*)?$/.exec(a) ?? /\.(\w+)/.exec(a)
      return f ? (headers[f[1]] ?? headerName(f[1])) : ''
    })
    .join('')
  return {table, header, render}
}

const HEADERS: Record<string, string> = {ID: 'IMAGE ID', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Repository: 'REPOSITORY', Tag: 'TAG', Size: 'SIZE', Digest: 'DIGEST'}

function headerName(field: string): string {
  return HEADERS[field] ?? field.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase()
}
