/**
 * The Dockerfile parser: bytes → one node per instruction, with Docker's rules for parser
 * directives (`# syntax=`, `# escape=`, `# check=` before anything else), comments, line
 * continuations (the escape token at the end of a line; comment and empty lines inside a
 * continued instruction are skipped), heredocs (`<<EOF`, `<<-EOF`, quoted delimiters) and the
 * per-instruction argument forms (JSON exec form, whitespace lists, KEY=VALUE pairs).
 * Hand-written after BuildKit's frontend/dockerfile/parser (see docs/build.md for why).
 */
import {ShellLex, ShellSyntaxError} from './shell.js'

export interface Heredoc {
  name: string
  fileDescriptor: number
  /** Variables are expanded in the content (the delimiter was not quoted). */
  expand: boolean
  /** `<<-`: leading tabs are stripped. */
  chomp: boolean
  content: string
}

export interface Node {
  /** The instruction as written (`run`, `RUN`). */
  command: string
  /** Arguments after flag extraction, in the instruction's own form (see `parseArgs`). */
  args: string[]
  /** `ONBUILD`: the trigger instruction. */
  sub?: Node
  /** `--flag=value` words before the arguments. */
  flags: string[]
  /** The exec (JSON array) form was used. */
  json: boolean
  heredocs: Heredoc[]
  /** The instruction's text, continuation lines joined. */
  original: string
  startLine: number
  endLine: number
}

export interface Directive {
  name: string
  value: string
  line: number
}

export interface ParseResult {
  nodes: Node[]
  escapeToken: string
  directives: Directive[]
  warnings: Array<{message: string; line: number}>
}

/** A syntax error at a line of the Dockerfile (1-based). */
export class DockerfileSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly endLine = line,
  ) {
    super(message)
    this.name = 'DockerfileSyntaxError'
  }
}

const DIRECTIVES = new Set(['syntax', 'escape', 'check'])
const HEREDOC_COMMANDS = new Set(['add', 'copy', 'run'])
const HEREDOC_RE = /^(\d*)<<(-?)\s*([^<]*)$/
const WHITESPACE = /[\t\v\f\r ]+/

/** Reads the directives at the top of the file (`# key=value`, each at most once). */
class DirectiveReader {
  private done = false
  private readonly seen = new Set<string>()

  read(line: string, lineNo: number): Directive | undefined {
    if (this.done) return undefined
    if (!line.startsWith('#')) {
      this.done = true
      return undefined
    }
    const m = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/.exec(line.slice(1).replace(/^\s+/, ''))
    if (!m || !DIRECTIVES.has(m[1].toLowerCase())) {
      this.done = true
      return undefined
    }
    const name = m[1].toLowerCase()
    if (this.seen.has(name)) throw new DockerfileSyntaxError(`only one ${name} parser directive can be used`, lineNo)
    this.seen.add(name)
    return {name, value: m[2], line: lineNo}
  }
}

/** Splits `# directive` state from line handling; holds the escape token. */
class LineRules {
  escape = '\\'
  private continuation = LineRules.continuationRegex('\\')

  static continuationRegex(token: string): RegExp {
    const t = token === '\\' ? '\\\\' : token
    return new RegExp(`([^${t}])${t}[ \\t]*$|^${t}[ \\t]*$`)
  }

  setEscape(value: string, line: number): void {
    if (value !== '`' && value !== '\\') throw new DockerfileSyntaxError(`invalid escape token '${value}' does not match \` or \\`, line)
    this.escape = value
    this.continuation = LineRules.continuationRegex(value)
  }

  /** The line without its continuation token, and whether the instruction ends here. */
  trimContinuation(line: string): [string, boolean] {
    if (this.continuation.test(line)) return [line.replace(this.continuation, '$1'), false]
    return [line, true]
  }
}

const trimNewline = (s: string) => s.replace(/[\r\n]+$/, '')
const trimLeadingSpace = (s: string) => s.replace(/^\s+/, '')
const isComment = (s: string) => trimLeadingSpace(s).startsWith('#')

/** Lines with their endings kept (heredoc bodies keep theirs). */
function splitLines(text: string): string[] {
  const lines: string[] = []
  let start = 0
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', start)) {
    lines.push(text.slice(start, i + 1))
    start = i + 1
  }
  if (start < text.length) lines.push(text.slice(start))
  return lines
}

export function parseDockerfile(input: string): ParseResult {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input
  const lines = splitLines(text)
  const rules = new LineRules()
  const reader = new DirectiveReader()
  const directives: Directive[] = []
  const warnings: ParseResult['warnings'] = []
  const nodes: Node[] = []
  let i = 0

  /** The next raw line, with directive handling (only before anything else). */
  const processLine = (raw: string, lineNo: number, stripLeft: boolean): string => {
    let line = trimNewline(raw)
    if (stripLeft) line = trimLeadingSpace(line)
    const d = reader.read(line, lineNo)
    if (d) {
      directives.push(d)
      if (d.name === 'escape') rules.setEscape(d.value, lineNo)
    }
    return isComment(line) ? '' : line
  }

  while (i < lines.length) {
    const startLine = i + 1
    let [line, ended] = rules.trimContinuation(processLine(lines[i++], startLine, true))
    if (ended && line.length === 0) continue
    let joined = line
    let emptyContinuation = false
    while (!ended && i < lines.length) {
      const raw = lines[i]
      const next = processLine(raw, i + 1, false)
      i++
      if (isComment(raw)) continue
      if (trimLeadingSpace(trimNewline(next)).length === 0) {
        emptyContinuation = true
        continue
      }
      ;[line, ended] = rules.trimContinuation(next)
      joined += line
    }
    const endOfInstruction = i
    if (emptyContinuation) warnings.push({message: `Empty continuation line found in: ${joined}`, line: endOfInstruction})
    let node: Node
    try {
      node = nodeFromLine(joined, rules.escape)
    } catch (error) {
      if (error instanceof DockerfileSyntaxError) throw new DockerfileSyntaxError(error.message, startLine, endOfInstruction)
      throw new DockerfileSyntaxError((error as Error).message, startLine, endOfInstruction)
    }
    node.startLine = startLine
    node.endLine = endOfInstruction
    if (canContainHeredoc(node) && joined.includes('<<')) {
      let docs: Heredoc[]
      try {
        docs = heredocsFromLine(joined)
      } catch (error) {
        throw new DockerfileSyntaxError((error as Error).message, startLine, endOfInstruction)
      }
      for (const doc of docs) {
        let terminated = false
        let content = doc.content
        while (i < lines.length) {
          const raw = lines[i++]
          let candidate = trimNewline(raw)
          if (doc.chomp) candidate = candidate.replace(/^\t+/, '')
          if (candidate === doc.name) {
            terminated = true
            break
          }
          content += raw
        }
        if (!terminated) throw new DockerfileSyntaxError('unterminated heredoc', startLine, i)
        doc.content = content
        node.heredocs.push(doc)
      }
      node.endLine = i
      if (node.sub) node.sub.heredocs = node.heredocs
    }
    nodes.push(node)
  }
  if (nodes.length === 0) throw new DockerfileSyntaxError('file with no instructions', Math.max(lines.length, 1))
  return {nodes, escapeToken: rules.escape, directives, warnings}
}

function canContainHeredoc(node: Node): boolean {
  const target = node.command.toLowerCase() === 'onbuild' && node.sub ? node.sub : node
  return HEREDOC_COMMANDS.has(target.command.toLowerCase()) && !target.json
}

/** `<<EOF` words in an instruction, in order. */
export function heredocsFromLine(line: string): Heredoc[] {
  let words: string[]
  try {
    words = new ShellLex('\\', {rawQuotes: true, rawEscapes: true, skipUnsetEnv: true}).processWords(line, () => undefined)
  } catch {
    words = []
  }
  const docs: Heredoc[] = []
  for (const w of words) {
    const doc = parseHeredoc(w)
    if (doc) docs.push(doc)
  }
  return docs
}

/** A heredoc word (`<<EOF`, `<<-"EOF"`, `3<<EOF`), or undefined. */
export function parseHeredoc(word: string): Heredoc | undefined {
  const m = HEREDOC_RE.exec(word)
  if (!m || m[3].length === 0) return undefined
  const lex = new ShellLex('\\', {skipUnsetEnv: true})
  const none = () => undefined
  let words: string[]
  let raw: string[]
  try {
    words = lex.processWords(m[3], none)
    if (words.length !== 1) return undefined
    raw = lex.with({rawQuotes: true}).processWords(m[3], none)
  } catch (error) {
    if (error instanceof ShellSyntaxError) throw error
    return undefined
  }
  if (raw.length !== words.length) throw new Error(`internal lexing of heredoc produced inconsistent results: ${m[3]}`)
  const quotes = (s: string) => (s.match(/['"]/g) ?? []).length
  return {name: words[0], fileDescriptor: Number(m[1] || '0'), chomp: m[2] === '-', expand: quotes(words[0]) === quotes(raw[0]), content: ''}
}

/** `<<-` heredoc content: leading tabs of every line removed. */
export function chompHeredoc(content: string): string {
  return content.replace(/^\t+/gm, '')
}

/** Split `CMD --flags args` and dispatch to the instruction's argument parser. */
function nodeFromLine(line: string, escape: string): Node {
  const trimmed = line.trim()
  const split = trimmed.split(WHITESPACE)
  const command = split[0]
  const rest = trimmed.length > command.length ? trimmed.slice(command.length).replace(WHITESPACE, '') : ''
  let flags: string[] = []
  let args = ''
  if (rest.length > 0 || split.length > 1) {
    ;[args, flags] = extractFlags(rest, escape)
    args = args.trim()
  }
  const node: Node = {command, args: [], flags, json: false, heredocs: [], original: line, startLine: 0, endLine: 0}
  parseArgs(node, args, escape)
  return node
}

/** The leading `--name[=value]` words (quotes and escapes processed), and the rest. */
function extractFlags(line: string, escape: string): [string, string[]] {
  const words: string[] = []
  let word = ''
  let phase: 'spaces' | 'word' | 'quote' = 'spaces'
  let quote = ''
  let blankOK = false
  for (let pos = 0; pos <= line.length; pos++) {
    const ch = pos < line.length ? line[pos] : ''
    if (phase === 'spaces') {
      if (pos === line.length) break
      if (/\s/.test(ch)) continue
      if (ch !== '-' || pos + 1 === line.length || line[pos + 1] !== '-') return [line.slice(pos), words]
      phase = 'word'
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOK || word.length > 0)) words.push(word)
      break
    }
    if (phase === 'word') {
      if (/\s/.test(ch)) {
        phase = 'spaces'
        if (word === '--') return [line.slice(pos), words]
        if (blankOK || word.length > 0) words.push(word)
        word = ''
        blankOK = false
        continue
      }
      if (ch === "'" || ch === '"') {
        quote = ch
        blankOK = true
        phase = 'quote'
        continue
      }
      let c = ch
      if (c === escape) {
        if (pos + 1 === line.length) continue
        c = line[++pos]
      }
      word += c
      continue
    }
    // in a quote
    if (ch === quote) {
      phase = 'word'
      continue
    }
    let c = ch
    if (c === escape) {
      if (pos + 1 === line.length) {
        phase = 'word'
        continue
      }
      c = line[++pos]
    }
    word += c
  }
  return ['', words]
}

/** Words with quotes kept (removed later by the shell lexer), as ENV/LABEL/ARG read them. */
export function parseWords(rest: string, escape: string): string[] {
  const words: string[] = []
  const chars = [...rest]
  let word = ''
  let phase: 'spaces' | 'word' | 'quote' = 'spaces'
  let quote = ''
  let blankOK = false
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = pos < chars.length ? chars[pos] : ''
    if (phase === 'spaces') {
      if (pos === chars.length) break
      if (/\s/u.test(ch)) continue
      phase = 'word'
    }
    if (pos === chars.length) {
      if (blankOK || word.length > 0) words.push(word)
      break
    }
    if (phase === 'word') {
      if (/\s/u.test(ch)) {
        phase = 'spaces'
        if (blankOK || word.length > 0) words.push(word)
        word = ''
        blankOK = false
        continue
      }
      if (ch === "'" || ch === '"') {
        quote = ch
        blankOK = true
        phase = 'quote'
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue
        word += ch
        ch = chars[++pos]
      }
      word += ch
      continue
    }
    if (ch === quote) phase = 'word'
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word'
        continue
      }
      word += ch
      ch = chars[++pos]
    }
    word += ch
  }
  return words
}

class NotJsonError extends Error {}

/** The exec form: a JSON array of strings (an array of anything else is an error). */
function parseJsonArgs(rest: string): string[] {
  const text = rest.replace(/^\s+/, '')
  if (!text.startsWith('[')) throw new NotJsonError('not a JSON array')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new NotJsonError('not valid JSON')
  }
  if (!Array.isArray(value)) throw new NotJsonError('not a JSON array')
  if (!value.every((v) => typeof v === 'string')) throw new DockerfileSyntaxError('when using JSON array syntax, arrays must be comprised of strings only', 0)
  return value as string[]
}

const splitWhitespace = (rest: string) => (rest === '' ? [] : rest.split(WHITESPACE))

function maybeJson(node: Node, rest: string): void {
  if (rest === '') return
  try {
    node.args = parseJsonArgs(rest)
    node.json = true
  } catch (error) {
    if (!(error instanceof NotJsonError)) throw error
    node.args = [rest]
  }
}

function maybeJsonToList(node: Node, rest: string): void {
  try {
    node.args = parseJsonArgs(rest)
    node.json = true
  } catch (error) {
    if (!(error instanceof NotJsonError)) throw error
    node.args = splitWhitespace(rest)
  }
}

/** ENV / LABEL: `KEY value` (legacy) or `K=V …`; args are [key, value, separator] triples. */
function nameValues(node: Node, rest: string, escape: string, what: string): void {
  const words = parseWords(rest, escape)
  if (words.length === 0) return
  if (!words[0].includes('=')) {
    const parts = rest.split(WHITESPACE)
    if (parts.length < 2) throw new DockerfileSyntaxError(`${what} must have two arguments`, 0)
    const key = parts[0]
    const value = rest.slice(rest.indexOf(key) + key.length).replace(WHITESPACE, '')
    node.args = [key, value, '']
    return
  }
  for (const w of words) {
    if (!w.includes('=')) throw new DockerfileSyntaxError(`Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`, 0)
    const i = w.indexOf('=')
    node.args.push(w.slice(0, i), w.slice(i + 1), '=')
  }
}

function parseArgs(node: Node, rest: string, escape: string): void {
  switch (node.command.toLowerCase()) {
    case 'add':
    case 'copy':
    case 'volume':
      return maybeJsonToList(node, rest)
    case 'cmd':
    case 'entrypoint':
    case 'run':
    case 'shell':
      return maybeJson(node, rest)
    case 'arg':
      node.args = parseWords(rest, escape)
      return
    case 'env':
      return nameValues(node, rest, escape, 'ENV')
    case 'label':
      return nameValues(node, rest, escape, 'LABEL')
    case 'expose':
    case 'from':
      node.args = splitWhitespace(rest)
      return
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      if (rest !== '') node.args = [rest]
      return
    case 'healthcheck': {
      const m = /^(\S+)\s*/.exec(rest)
      if (!m) return
      const sub: Node = {...node, args: [], json: false}
      maybeJson(sub, rest.slice(m[0].length))
      node.args = [m[1], ...sub.args]
      node.json = sub.json
      return
    }
    case 'onbuild': {
      if (rest === '') return
      const sub = nodeFromLine(rest, escape)
      node.sub = sub
      node.args = [sub.command, ...sub.args]
      return
    }
    default:
      // Unknown instructions are reported when the instructions are read.
      return
  }
}

// Exposed for the instruction reader (heredoc summaries in names).
export {ShellSyntaxError}
