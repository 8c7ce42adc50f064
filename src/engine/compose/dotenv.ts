/**
 * Compose's `.env` / `--env-file` / `env_file:` format (compose-go's dotenv): `KEY=VALUE`,
 * `export KEY=VALUE`, `KEY: VALUE`, single quotes (literal), double quotes (escapes,
 * interpolation, may span lines), unquoted values with ` #` comments cut and `$VAR`
 * interpolated from earlier entries and the lookup. A bare `KEY` takes the lookup's value.
 */
import {ComposeError} from './errors.js'
import {InterpolationError, Lookup, interpolate} from './interpolate.js'

export function parseDotenv(text: string, file: string, lookup: Lookup = () => undefined): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>()
  const vars: Lookup = (name) => (out.has(name) ? out.get(name) : lookup(name))
  const lines = text.replace(/\r\n?/g, '\n').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1
    let line = lines[i].replace(/^\s+/, '')
    if (line === '' || line.startsWith('#')) continue
    line = line.replace(/^export\s+/, '')
    const m = /^([^=:\s]+)\s*(?:([=:])\s*)?(.*)$/.exec(line)
    if (!m) throw new ComposeError(`unexpected character in variable name ${JSON.stringify(line)}`, {file, line: lineNo})
    const [, key, sep, rawRest] = m
    if (!/^[\w.\-[\]]+$/.test(key)) throw new ComposeError(`unexpected character in variable name ${JSON.stringify(key)}`, {file, line: lineNo})
    if (!sep) {
      if (rawRest.trim() !== '' && !rawRest.trim().startsWith('#')) throw new ComposeError(`unexpected character in variable name ${JSON.stringify(line)}`, {file, line: lineNo})
      out.set(key, lookup(key))
      continue
    }
    let rest = rawRest
    const q = rest[0]
    let value: string
    try {
      if (q === "'" || q === '"') {
        // A quoted value may continue on the following lines.
        let body = rest.slice(1)
        let end = closingQuote(body, q)
        while (end < 0 && i + 1 < lines.length) {
          body += '\n' + lines[++i]
          end = closingQuote(body, q)
        }
        if (end < 0) throw new ComposeError(`unterminated quoted value for ${key}`, {file, line: lineNo})
        const inner = body.slice(0, end)
        value = q === "'" ? inner : interpolate(unescape(inner), vars)
      } else {
        const hash = rest.search(/\s#/)
        if (hash >= 0) rest = rest.slice(0, hash)
        value = interpolate(rest.trim(), vars)
      }
    } catch (error) {
      if (error instanceof InterpolationError) throw new ComposeError(error.message, {file, line: lineNo})
      throw error
    }
    out.set(key, value)
  }
  return out
}

function closingQuote(body: string, q: string): number {
  for (let i = 0; i < body.length; i++) {
    if (q === '"' && body[i] === '\\') {
      i++
      continue
    }
    if (body[i] === q) return i
  }
  return -1
}

function unescape(s: string): string {
  return s.replace(/\\([\\"nrt$])/g, (_, c: string) => ({n: '\n', r: '\r', t: '\t'})[c] ?? (c === '$' ? '$$' : c))
}
