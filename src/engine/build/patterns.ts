/**
 * Path patterns as Docker reads them: Go's filepath.Match (COPY/ADD wildcards) and
 * moby/patternmatcher (.dockerignore, `COPY --exclude`): `*` and `?` stop at `/`, `**`
 * crosses directories, `[a-z]` / `[^a-z]` classes, `\` escapes, `!` exceptions where a later
 * pattern wins, and a pattern that matches a directory matches everything below it.
 */

export class BadPatternError extends Error {
  constructor() {
    super('syntax error in pattern')
  }
}

/** Go's path.Clean for slash-separated paths. */
export function cleanPath(p: string): string {
  if (p === '') return '.'
  const rooted = p.startsWith('/')
  const out: string[] = []
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop()
      else if (!rooted) out.push('..')
      continue
    }
    out.push(part)
  }
  const joined = out.join('/')
  if (rooted) return `/${joined}`
  return joined === '' ? '.' : joined
}

// ---------------------------------------------------------------------------------------
// filepath.Match

/** Does `chars[i..]` start a character class that matches `c`? Returns [matched, next index]. */
function matchClass(chars: string[], i: number, c: string): [boolean, number] {
  // chars[i] is just after '['
  let negated = false
  if (chars[i] === '^') {
    negated = true
    i++
  }
  let matched = false
  let n = 0
  for (;;) {
    if (i >= chars.length) throw new BadPatternError()
    if (chars[i] === ']' && n > 0) {
      i++
      break
    }
    let lo: string
    ;[lo, i] = classChar(chars, i)
    let hi = lo
    if (chars[i] === '-') {
      ;[hi, i] = classChar(chars, i + 1)
    }
    if (lo <= c && c <= hi) matched = true
    n++
  }
  return [matched !== negated, i]
}

function classChar(chars: string[], i: number): [string, number] {
  const c = chars[i]
  if (c === undefined || c === '-' || c === ']') throw new BadPatternError()
  if (c === '\\') {
    if (i + 1 >= chars.length) throw new BadPatternError()
    return [chars[i + 1], i + 2]
  }
  return [c, i + 1]
}

/** Skip a class without matching (syntax check). */
function skipClass(chars: string[], i: number): number {
  return matchClass(chars, i, '\u0000')[1]
}

/**
 * Go's filepath.Match: the whole `name` against `pattern`; `*`/`?` never match `/`.
 * Throws BadPatternError for a malformed pattern (as Go reports ErrBadPattern).
 */
export function filepathMatch(pattern: string, name: string): boolean {
  const p = [...pattern]
  const s = [...name]
  const memo = new Map<string, boolean>()
  const go = (pi: number, si: number): boolean => {
    const key = `${pi},${si}`
    const cached = memo.get(key)
    if (cached !== undefined) return cached
    let result: boolean
    if (pi === p.length) result = si === s.length
    else {
      const c = p[pi]
      if (c === '*') {
        let k = pi
        while (p[k] === '*') k++
        result = false
        for (let j = si; ; j++) {
          if (go(k, j)) {
            result = true
            break
          }
          if (j >= s.length || s[j] === '/') break
        }
      } else if (si >= s.length) {
        result = false
        // still check the syntax of the rest
        checkRest(p, pi)
      } else if (c === '?') result = s[si] !== '/' && go(pi + 1, si + 1)
      else if (c === '[') {
        const [m, next] = matchClass(p, pi + 1, s[si])
        result = m && s[si] !== '/' && go(next, si + 1)
      } else if (c === '\\') {
        if (pi + 1 >= p.length) throw new BadPatternError()
        result = p[pi + 1] === s[si] && go(pi + 2, si + 1)
      } else result = c === s[si] && go(pi + 1, si + 1)
    }
    memo.set(key, result)
    return result
  }
  checkRest(p, 0)
  return go(0, 0)
}

/** Throw BadPatternError when the pattern is malformed anywhere from `i`. */
function checkRest(p: string[], i: number): void {
  while (i < p.length) {
    if (p[i] === '[') i = skipClass(p, i + 1)
    else if (p[i] === '\\') {
      if (i + 1 >= p.length) throw new BadPatternError()
      i += 2
    } else i++
  }
}

/** Does the path contain `*`, `?` or `[` (not escaped)? */
export function hasWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '\\') i++
    else if (name[i] === '*' || name[i] === '?' || name[i] === '[') return true
  }
  return false
}

// ---------------------------------------------------------------------------------------
// patternmatcher

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp'

const REGEX_SPECIAL = new Set(['.', '+', '(', ')', '|', '{', '}', '$'])

interface Pattern {
  text: string
  exclusion: boolean
  type: MatchType
  regexp?: RegExp
}

function compilePattern(text: string): Pick<Pattern, 'type' | 'regexp'> {
  let re = '^'
  let type: MatchType = 'exact'
  const chars = [...text]
  for (let i = 0; i < chars.length; i++) {
    const start = i
    const ch = chars[i]
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++
        if (chars[i + 1] === '/') i++
        if (i + 1 >= chars.length) {
          if (type === 'exact') type = 'prefix'
          else {
            re += '.*'
            type = 'regexp'
          }
        } else {
          re += '(.*/)?'
          type = 'regexp'
        }
        // `**` at the very start: a suffix match
        if (start === 0) type = 'suffix'
      } else {
        re += '[^/]*'
        type = 'regexp'
      }
    } else if (ch === '?') {
      re += '[^/]'
      type = 'regexp'
    } else if (REGEX_SPECIAL.has(ch)) re += `\\${ch}`
    else if (ch === '\\') {
      if (i + 1 < chars.length) {
        const next = chars[++i]
        re += /[A-Za-z0-9]/.test(next) ? next : `\\${next}`
        type = 'regexp'
      } else re += '\\\\'
    } else if (ch === '[' || ch === ']') {
      re += ch
      type = 'regexp'
    } else re += ch
  }
  if (type === 'regexp') return {type, regexp: new RegExp(`${re}$`, 'su')}
  return {type}
}

function patternMatches(p: Pattern, path: string): boolean {
  switch (p.type) {
    case 'exact':
      return path === p.text
    case 'prefix':
      return path.startsWith(p.text.slice(0, -2))
    case 'suffix': {
      const suffix = p.text.slice(2)
      if (path.endsWith(suffix)) return true
      return suffix.startsWith('/') && path === suffix.slice(1)
    }
    case 'regexp':
      return p.regexp!.test(path)
  }
}

/** Per-pattern results for a directory, passed down to its children. */
export type MatchInfo = boolean[] | undefined

/** moby/patternmatcher: ordered patterns, `!` exceptions, parents' matches inherited. */
export class PatternMatcher {
  readonly patterns: Pattern[] = []
  readonly exclusions: boolean

  constructor(patterns: readonly string[]) {
    let exclusions = false
    for (let raw of patterns) {
      raw = raw.trim()
      if (raw === '') continue
      let text = cleanPath(raw)
      let exclusion = false
      if (text.startsWith('!')) {
        if (text.length === 1) throw new Error('illegal exclusion pattern: "!"')
        exclusion = true
        text = text.slice(1)
        exclusions = true
      }
      try {
        filepathMatch(text, '.')
      } catch {
        throw new Error(`syntax error in pattern ${JSON.stringify(raw)}`)
      }
      this.patterns.push({text, exclusion, ...compilePattern(text)})
    }
    this.exclusions = exclusions
  }

  get empty(): boolean {
    return this.patterns.length === 0
  }

  /** Whether `path` (slash-separated, relative) matches, considering its parents' results. */
  matches(path: string, parent: MatchInfo = undefined): {matched: boolean; info: boolean[]} {
    let matched = false
    const info: boolean[] = []
    for (const [i, p] of this.patterns.entries()) {
      let match = parent ? parent[i] : false
      if (!match) {
        if (p.exclusion !== matched) {
          info.push(false)
          continue
        }
        match = patternMatches(p, path)
        if (!match && !parent) {
          const dirs = path.split('/').slice(0, -1)
          for (let j = 1; j <= dirs.length && !match; j++) match = patternMatches(p, dirs.slice(0, j).join('/'))
        }
      }
      info.push(match)
      if (match) matched = !p.exclusion
    }
    return {matched, info}
  }

  /** Whether `path` is matched, parents included (no walk state needed). */
  matchesPath(path: string): boolean {
    return this.matches(path).matched
  }
}

/**
 * A `.dockerignore` file → patterns: `#` comment lines skipped, whitespace trimmed, paths
 * cleaned, a leading `/` removed (the `!` kept in front).
 */
export function readIgnoreFile(text: string): string[] {
  const out: string[] = []
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  for (const line of lines) {
    if (line.startsWith('#')) continue
    let pattern = line.trim()
    if (pattern === '') continue
    const invert = pattern.startsWith('!')
    if (invert) pattern = pattern.slice(1).trim()
    if (pattern.length > 0) {
      pattern = cleanPath(pattern)
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1)
    }
    out.push(invert ? `!${pattern}` : pattern)
  }
  return out
}
