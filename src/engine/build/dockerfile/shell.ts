/**
 * Docker's word processing for Dockerfile arguments: quotes, the escape token, and variable
 * substitution (`$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR:+x}`, `${VAR-x}`, `${VAR+x}`,
 * `${VAR?msg}`, `${VAR#pat}`, `${VAR%pat}`, `${VAR/pat/repl}`), with the rules of BuildKit's
 * shell lexer: single quotes are literal, `\` in double quotes escapes only `"`, `$` and
 * itself, positional and special parameters are never set, and words are split only on
 * whitespace that came from the text or from an unquoted substitution.
 */

export type EnvLookup = (name: string) => string | undefined

export interface LexOptions {
  /** Keep quote characters in the result (heredoc detection, RUN display). */
  rawQuotes?: boolean
  /** Keep escape characters in the result. */
  rawEscapes?: boolean
  /** Leave references to unset variables as written (`$X`, `${X:-y}`). */
  skipUnsetEnv?: boolean
  /** Treat quotes as ordinary characters (heredoc bodies). */
  skipProcessQuotes?: boolean
}

export class ShellSyntaxError extends Error {}

export interface WordResult {
  result: string
  words: string[]
  /** Variables the text referred to that were set / unset. */
  matched: Set<string>
  unmatched: Set<string>
}

const EOF = ''
const isSpace = (ch: string) => /^\s$/u.test(ch)
const isDigit = (ch: string) => /^\p{Nd}$/u.test(ch)
const isLetter = (ch: string) => /^\p{L}$/u.test(ch)
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0'])

/** Collects words: whitespace splits only where the caller says it is not quoted. */
class Words {
  private buf = ''
  private inWord = false
  readonly words: string[] = []

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.buf.length > 0) {
        this.words.push(this.buf)
        this.buf = ''
        this.inWord = false
      }
    } else this.addRaw(ch)
  }

  addRaw(s: string): void {
    this.buf += s
    this.inWord = true
  }

  addString(s: string): void {
    for (const ch of s) this.addChar(ch)
  }

  done(): string[] {
    if (this.buf.length > 0) {
      this.words.push(this.buf)
      this.buf = ''
      this.inWord = false
    }
    return this.words
  }
}

class Scanner {
  private readonly chars: string[]
  private pos = 0

  constructor(text: string) {
    this.chars = [...text]
  }

  peek(): string {
    return this.pos < this.chars.length ? this.chars[this.pos] : EOF
  }

  next(): string {
    return this.pos < this.chars.length ? this.chars[this.pos++] : EOF
  }
}

/** A shell-like pattern (`*`, `?`, `\` escapes; no brackets) as a regular expression. */
function patternRegex(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  let out = anchored ? '^' : ''
  const chars = [...pattern]
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]
    if (ch === '*') out += greedy ? '.*' : '.*?'
    else if (ch === '?') out += '.'
    else if (ch === '\\') {
      // `\}` and `\/` inside ${} are escapes of the substitution, not of the pattern.
      if (chars[i + 1] === '}' || chars[i + 1] === '/') continue
      const next = chars[++i]
      if (next !== '*' && next !== '?' && next !== '\\') throw new ShellSyntaxError(`invalid escape '\\${next ?? ''}'`)
      out += `\\${next}`
    } else out += ch.replace(/[[\]{}.+()|^$]/, (c) => `\\${c}`)
  }
  return new RegExp(out, 'su')
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = patternRegex(pattern, greedy, true).exec(value)
  return m ? value.slice(m[0].length) : value
}

/** Reverse a pattern keeping `\x` escapes in front of what they escape. */
function reversePattern(pattern: string): string {
  const chars = [...pattern]
  const out: string[] = []
  for (let i = 0; i < chars.length; ) {
    if (chars[i] === '\\' && i !== chars.length - 1) {
      out.unshift(chars[i + 1])
      out.unshift('\\')
      i += 2
    } else out.unshift(chars[i++])
  }
  return out.join('')
}

const reverse = (s: string) => [...s].reverse().join('')

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverse(trimPrefix(reversePattern(pattern), reverse(value), greedy))
}

/** One pass over a text (BuildKit's shellWord). */
class WordProcessor {
  private readonly scanner: Scanner
  readonly matched = new Set<string>()
  readonly unmatched = new Set<string>()
  private rawEscapes: boolean

  constructor(
    text: string,
    private readonly env: EnvLookup,
    private readonly escapeToken: string,
    private readonly opts: LexOptions,
  ) {
    this.scanner = new Scanner(text)
    this.rawEscapes = opts.rawEscapes ?? false
  }

  private getEnv(name: string): string | undefined {
    const v = this.env(name)
    if (v === undefined) this.unmatched.add(name)
    else this.matched.add(name)
    return v
  }

  /** Process until `stop` (consumed) or the end; returns the text and its words. */
  processStopOn(stop: string, rawEscapes: boolean): {text: string; words: string[]} {
    const saved = this.rawEscapes
    this.rawEscapes = rawEscapes
    try {
      let result = ''
      const words = new Words()
      while (this.scanner.peek() !== EOF) {
        const ch = this.scanner.peek()
        if (stop !== EOF && ch === stop) {
          this.scanner.next()
          return {text: result, words: words.done()}
        }
        if (ch === '$') {
          const v = this.processDollar()
          result += v
          words.addString(v)
        } else if (ch === '<') {
          const v = this.processPossibleHeredoc()
          result += v
          words.addRaw(v)
        } else if (!this.opts.skipProcessQuotes && (ch === "'" || ch === '"')) {
          const v = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote()
          result += v
          words.addRaw(v)
        } else {
          let c = this.scanner.next()
          if (c === this.escapeToken) {
            if (this.rawEscapes) {
              words.addRaw(c)
              result += c
            }
            c = this.scanner.next()
            if (c === EOF) break
            words.addRaw(c)
          } else words.addChar(c)
          result += c
        }
      }
      if (stop !== EOF) throw new ShellSyntaxError(`unexpected end of statement while looking for matching ${stop}`)
      return {text: result, words: words.done()}
    } finally {
      this.rawEscapes = saved
    }
  }

  private processSingleQuote(): string {
    let result = ''
    const open = this.scanner.next()
    if (this.opts.rawQuotes) result += open
    for (;;) {
      const ch = this.scanner.next()
      if (ch === EOF) throw new ShellSyntaxError('unexpected end of statement while looking for matching single-quote')
      if (ch === "'") {
        if (this.opts.rawQuotes) result += ch
        return result
      }
      result += ch
    }
  }

  private processDoubleQuote(): string {
    let result = ''
    const open = this.scanner.next()
    if (this.opts.rawQuotes) result += open
    for (;;) {
      const peek = this.scanner.peek()
      if (peek === EOF) throw new ShellSyntaxError('unexpected end of statement while looking for matching double-quote')
      if (peek === '"') {
        const ch = this.scanner.next()
        if (this.opts.rawQuotes) result += ch
        return result
      }
      if (peek === '$') {
        result += this.processDollar()
        continue
      }
      let ch = this.scanner.next()
      if (ch === this.escapeToken) {
        if (this.rawEscapes) result += ch
        const after = this.scanner.peek()
        if (after === EOF) continue // a trailing escape is dropped
        if (after === '"' || after === '$' || after === this.escapeToken) ch = this.scanner.next()
      }
      result += ch
    }
  }

  private processName(): string {
    let name = ''
    while (this.scanner.peek() !== EOF) {
      const ch = this.scanner.peek()
      if (name.length === 0 && isDigit(ch)) {
        while (this.scanner.peek() !== EOF && isDigit(this.scanner.peek())) name += this.scanner.next()
        return name
      }
      if (name.length === 0 && SPECIAL_PARAMS.has(ch)) return this.scanner.next()
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break
      name += this.scanner.next()
    }
    return name
  }

  private processDollar(): string {
    this.scanner.next()
    if (this.scanner.peek() !== '{') {
      const name = this.processName()
      if (name === '') return '$'
      const value = this.getEnv(name)
      if (value === undefined && this.opts.skipUnsetEnv) return `$${name}`
      return value ?? ''
    }
    this.scanner.next()
    const first = this.scanner.peek()
    if (first === EOF) throw new ShellSyntaxError("syntax error: missing '}'")
    if (first === '{' || first === '}' || first === ':') throw new ShellSyntaxError('syntax error: bad substitution')
    const name = this.processName()
    let ch = this.scanner.next()
    let modifier = ch
    switch (ch) {
      case '}': {
        const value = this.getEnv(name)
        if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}}`
        return value ?? ''
      }
      case ':':
      case '+':
      case '-':
      case '?':
      case '#':
      case '%': {
        const nullIsUnset = ch === ':'
        if (nullIsUnset) {
          ch = this.scanner.next()
          modifier += ch
        }
        const rawEscapes = ch === '#' || ch === '%'
        if (nullIsUnset && rawEscapes) throw new ShellSyntaxError(`unsupported modifier (${modifier}) in substitution`)
        let word: string
        try {
          word = this.processStopOn('}', rawEscapes).text
        } catch (error) {
          if (this.scanner.peek() === EOF) throw new ShellSyntaxError("syntax error: missing '}'")
          throw error
        }
        const value = this.getEnv(name)
        if (this.opts.skipUnsetEnv && value === undefined) return `\${${name}${modifier}${word}}`
        const set = value !== undefined
        switch (ch) {
          case '-':
            return !set || (nullIsUnset && value === '') ? word : value!
          case '+':
            return !set || (nullIsUnset && value === '') ? '' : word
          case '?':
            if (!set) throw new ShellSyntaxError(`${name}: ${word || 'is not allowed to be unset'}`)
            if (nullIsUnset && value === '') throw new ShellSyntaxError(`${name}: ${word || 'is not allowed to be empty'}`)
            return value!
          case '#':
          case '%': {
            const greedy = word.startsWith(ch)
            const pattern = greedy ? word.slice(1) : word
            return ch === '%' ? trimSuffix(pattern, value ?? '', greedy) : trimPrefix(pattern, value ?? '', greedy)
          }
          default:
            throw new ShellSyntaxError(`unsupported modifier (${modifier}) in substitution`)
        }
      }
      case '/': {
        const all = this.scanner.peek() === '/'
        if (all) this.scanner.next()
        let pattern: string
        let replacement: string
        try {
          pattern = this.processStopOn('/', true).text
        } catch (error) {
          if (this.scanner.peek() === EOF) throw new ShellSyntaxError("syntax error: missing '/' in ${}")
          throw error
        }
        try {
          replacement = this.processStopOn('}', true).text
        } catch (error) {
          if (this.scanner.peek() === EOF) throw new ShellSyntaxError("syntax error: missing '}'")
          throw error
        }
        const value = this.getEnv(name)
        if (this.opts.skipUnsetEnv && value === undefined) return `\${${name}/${pattern}/${replacement}}`
        let re: RegExp
        try {
          re = patternRegex(pattern, true, false)
        } catch (error) {
          throw new ShellSyntaxError(`invalid pattern (${pattern}) in substitution: ${(error as Error).message}`)
        }
        const v = value ?? ''
        if (all) return v.replace(new RegExp(re.source, 'gsu'), () => replacement)
        const m = re.exec(v)
        return m ? v.slice(0, m.index) + replacement + v.slice(m.index + m[0].length) : v
      }
      default:
        throw new ShellSyntaxError(`unsupported modifier (${modifier}) in substitution`)
    }
  }

  private processPossibleHeredoc(): string {
    this.scanner.next()
    if (this.scanner.peek() !== '<') return '<'
    this.scanner.next()
    let space = ''
    while (this.scanner.peek() === ' ' || this.scanner.peek() === '\t' || this.scanner.peek() === '\r') space += this.scanner.next()
    return `<<${space}`
  }
}

/** The lexer for one Dockerfile (its escape token). */
export class ShellLex {
  constructor(
    readonly escapeToken: string = '\\',
    readonly options: LexOptions = {},
  ) {}

  with(options: LexOptions): ShellLex {
    return new ShellLex(this.escapeToken, {...this.options, ...options})
  }

  process(text: string, env: EnvLookup): WordResult {
    const p = new WordProcessor(text, env, this.escapeToken, this.options)
    try {
      const {text: result, words} = p.processStopOn(EOF, this.options.rawEscapes ?? false)
      return {result, words, matched: p.matched, unmatched: p.unmatched}
    } catch (error) {
      if (error instanceof ShellSyntaxError) throw new ShellSyntaxError(`failed to process ${JSON.stringify(text)}: ${error.message}`)
      throw error
    }
  }

  /** One word: quotes removed, variables substituted, whitespace kept. */
  processWord(text: string, env: EnvLookup): string {
    return this.process(text, env).result
  }

  /** Words split on unquoted whitespace, after substitution. */
  processWords(text: string, env: EnvLookup): string[] {
    return this.process(text, env).words
  }
}

/** An env lookup over `KEY=VALUE` lines (the last one of a key wins, as in a map). */
export function envLookup(...lists: Array<readonly string[]>): EnvLookup {
  const map = new Map<string, string>()
  for (const list of lists) {
    for (const kv of list) {
      const i = kv.indexOf('=')
      if (i < 0) map.set(kv, '')
      else map.set(kv.slice(0, i), kv.slice(i + 1))
    }
  }
  return (name) => map.get(name)
}
