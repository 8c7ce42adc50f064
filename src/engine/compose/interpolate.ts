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

/** A variable a compose file refers to, as `config --variables` lists it (compose-go's fields). */
export interface ComposeVariable {
  Name: string
  /** `${VAR:-d}` / `${VAR-d}`: d, as written (unexpanded). */
  DefaultValue: string
  /** `${VAR:+x}` / `${VAR+x}`: x, as written. */
  PresenceValue: string
  /** `${VAR:?err}` / `${VAR?err}`. */
  Required: boolean
}

/**
 * The variables one string refers to, without substituting anything: nested references in
 * defaults, alternatives and error messages count too; `$$` is a literal. Malformed
 * references are skipped here (interpolation reports them).
 */
export function variablesIn(text: string): ComposeVariable[] {
  const found: ComposeVariable[] = []
  const add = (Name: string, op = '', arg = '') => {
    found.push({Name, DefaultValue: op === ':-' || op === '-' ? arg : '', PresenceValue: op === ':+' || op === '+' ? arg : '', Required: op === ':?' || op === '?'})
    if (arg) found.push(...variablesIn(arg))
  }
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '$') continue
    const next = text[i + 1]
    if (next === '$') {
      i++
      continue
    }
    if (next === '{') {
      const end = closingBrace(text, i + 2)
      if (end < 0) break
      const body = text.slice(i + 2, end)
      const m = NAME.exec(body)
      if (m) {
        const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(body.slice(m[0].length))
        add(m[0], op?.[0], op ? body.slice(m[0].length + op[0].length) : '')
      }
      i = end
      continue
    }
    const m = NAME.exec(text.slice(i + 1))
    if (m) {
      add(m[0])
      i += m[0].length
    }
  }
  return found
}

/** Every variable in a parsed tree (values only), merged as compose-go does: required if any use is, first default and alternative kept. */
export function collectVariables(tree: unknown, into = new Map<string, ComposeVariable>()): Map<string, ComposeVariable> {
  if (typeof tree === 'string') {
    for (const v of variablesIn(tree)) {
      const seen = into.get(v.Name)
      if (!seen) into.set(v.Name, v)
      else into.set(v.Name, {Name: v.Name, Required: seen.Required || v.Required, DefaultValue: seen.DefaultValue || v.DefaultValue, PresenceValue: seen.PresenceValue || v.PresenceValue})
    }
  } else if (Array.isArray(tree)) for (const x of tree) collectVariables(x, into)
  else if (tree !== null && typeof tree === 'object') for (const x of Object.values(tree)) collectVariables(x, into)
  return into
}
