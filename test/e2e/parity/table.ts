/**
 * The shape of the parity table (cases.ts) and how an outcome is judged against a case.
 * A case states Docker's behaviour for one command line: the exit code, stdout (exact text,
 * a pattern, or a check of its shape) and the gist of stderr, with where that expectation
 * comes from (docker/cli's source, Docker's documentation, or a measured dockerd).
 */
import {Outcome} from './driver.js'

/** Exact text (stdout), a substring (stderr), a pattern, or a check that returns what is wrong. */
export type Matcher = string | RegExp | ((text: string) => string | undefined)

export interface Case {
  /** What it checks; the test's title. */
  title: string
  /** The command's area (run, ps, logs, …), for the report. */
  area: string
  /** A bash script: `ncx` is the CLI under test, `$W` a scratch directory, `$IMG` the test images. */
  sh: string
  /** Run first; must exit 0. */
  setup?: string
  /** Run afterwards whatever happened (its outcome is ignored). */
  cleanup?: string
  input?: string
  exit: number
  stdout?: Matcher
  stderr?: Matcher
  /** Where Docker's behaviour comes from. */
  source: string
  /** ncx does not match Docker here yet: why. The case then has to keep failing (else drop this). */
  known?: string
  /** The reference engine here cannot run this case: why (the reference run skips it). */
  referenceSkip?: string
  timeout?: number
}

/** The empty stream, exactly (stderr matchers are substrings otherwise). */
export const EMPTY = (text: string) => (text === '' ? undefined : `expected nothing, got ${JSON.stringify(text.slice(0, 300))}`)

/** One JSON document per line, each with exactly these keys (Docker's `--format json` field sets). */
export function jsonLinesWithKeys(keys: string[], opts: {min?: number} = {}): (text: string) => string | undefined {
  return (text) => {
    const lines = text.split('\n').filter(Boolean)
    if (lines.length < (opts.min ?? 1)) return `expected at least ${opts.min ?? 1} JSON line(s), got ${lines.length}`
    for (const line of lines) {
      let doc: Record<string, unknown>
      try {
        doc = JSON.parse(line) as Record<string, unknown>
      } catch {
        return `not JSON: ${line.slice(0, 200)}`
      }
      const got = Object.keys(doc).sort()
      const want = [...keys].sort()
      const missing = want.filter((k) => !got.includes(k))
      const extra = got.filter((k) => !want.includes(k))
      if (missing.length > 0 || extra.length > 0) return `keys differ: missing [${missing.join(', ')}], extra [${extra.join(', ')}]`
    }
    return undefined
  }
}

/** A JSON document that has (at least) these dotted paths. */
export function jsonHas(paths: string[]): (text: string) => string | undefined {
  return (text) => {
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch {
      return `not JSON: ${text.slice(0, 200)}`
    }
    const missing = paths.filter((p) => {
      let cur: unknown = doc
      for (const part of p.split('.')) {
        if (cur === null || typeof cur !== 'object' || !(part in (cur as object))) return true
        cur = (cur as Record<string, unknown>)[part]
      }
      return false
    })
    return missing.length > 0 ? `missing ${missing.join(', ')}` : undefined
  }
}

function check(stream: 'stdout' | 'stderr', matcher: Matcher | undefined, text: string): string | undefined {
  if (matcher === undefined) return undefined
  if (typeof matcher === 'function') {
    const problem = matcher(text)
    return problem === undefined ? undefined : `${stream}: ${problem}`
  }
  if (matcher instanceof RegExp) return matcher.test(text) ? undefined : `${stream} does not match ${matcher}: ${JSON.stringify(text.slice(0, 400))}`
  if (stream === 'stdout') return text === matcher ? undefined : `stdout: expected ${JSON.stringify(matcher)}, got ${JSON.stringify(text.slice(0, 400))}`
  return text.includes(matcher) ? undefined : `stderr lacks ${JSON.stringify(matcher)}: ${JSON.stringify(text.slice(0, 400))}`
}

/** What differs between an outcome and the case's expectation (empty: it behaves as Docker). */
export function judge(c: Case, r: Outcome): string[] {
  const problems: string[] = []
  if (r.code !== c.exit) problems.push(`exit code ${r.code}, expected ${c.exit}${r.stderr ? ` (stderr: ${JSON.stringify(r.stderr.slice(0, 300))})` : ''}`)
  for (const p of [check('stdout', c.stdout, r.stdout), check('stderr', c.stderr, r.stderr)]) if (p) problems.push(p)
  return problems
}
