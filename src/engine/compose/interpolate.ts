/**
 * Compose's variable interpolation (compose-go's template package): `$VAR`, `${VAR}`,
 * `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`, `${VAR?err}`, `${VAR:+alt}`,
 * `${VAR+alt}`, `$$` for a literal `$`. Defaults and alternatives may themselves contain
 * substitutions. Values only, never keys.
 */
export type Lookup = (name: string) => string | undefined

export class InterpolationError extends Error {}

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/

/** Substitute in one string; `onUnset` hears of each variable that was unset and had no default. */
export function interpolate(text: string, lookup: Lookup, onUnset: (name: string) => void = () => {}): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const c = text[i]
    if (c !== '$') {
      out += c
      i++
      continue
    }
    const next = text[i + 1]
    if (next === '$') {
      out += '$'
      i += 2
      continue
    }
    if (next === '{') {
      const end = closingBrace(text, i + 2)
      if (end < 0) throw invalid(text)
      out += braced(text.slice(i + 2, end), lookup, onUnset, text)
      i = end + 1
      continue
    }
    const m = NAME.exec(text.slice(i + 1))
    if (!m) {
      // A lone `$` (end of text, before a space or a digit) is Compose's "invalid interpolation".
      throw invalid(text)
    }
    const v = lookup(m[0])
    if (v === undefined) onUnset(m[0])
    out += v ?? ''
    i += 1 + m[0].length
  }
  return out
}

function invalid(text: string): InterpolationError {
  return new InterpolationError(`invalid interpolation format for ${JSON.stringify(text)}; you may need to escape any $ with another $`)
}

/** Index of the `}` closing a `${` whose body starts at `from` (nested `${…}` allowed). */
function closingBrace(text: string, from: number): number {
  let depth = 1
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '$') {
      i++
      continue
    }
    if (text[i] === '$' && text[i + 1] === '{') {
      depth++
      i++
    } else if (text[i] === '}') {
      depth--
      if (depth === 0) return i
    }
  }
  return -1
}

function braced(body: string, lookup: Lookup, onUnset: (name: string) => void, whole: string): string {
  const m = NAME.exec(body)
  if (!m) throw invalid(whole)
  const name = m[0]
  const rest = body.slice(name.length)
  const value = lookup(name)
  if (rest === '') {
    if (value === undefined) onUnset(name)
    return value ?? ''
  }
  const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest)
  if (!op) throw invalid(whole)
  const arg = rest.slice(op[0].length)
  const sub = () => interpolate(arg, lookup, onUnset)
  const setNonEmpty = value !== undefined && value !== ''
  switch (op[0]) {
    case ':-':
      return setNonEmpty ? value : sub()
    case '-':
      return value !== undefined ? value : sub()
    case ':?':
      if (!setNonEmpty) throw new InterpolationError(`required variable ${name} is missing a value${arg ? `: ${sub()}` : ''}`)
      return value
    case '?':
      if (value === undefined) throw new InterpolationError(`required variable ${name} is missing a value${arg ? `: ${sub()}` : ''}`)
      return value
    case ':+':
      return setNonEmpty ? sub() : ''
    default:
      return value !== undefined ? sub() : ''
  }
}
