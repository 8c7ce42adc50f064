/**
 * Merging compose models (the Compose Specification's merge rules): mappings merge key by
 * key, scalars and command-like sequences are replaced, ports/volumes/secrets merge by
 * their identity, other sequences append without duplicates. `!reset` removes a value,
 * `!override` replaces it whole.
 */
import {OVERRIDE_KEY, RESET, isObj} from './schema.js'

type Obj = Record<string, unknown>

/** Sequences that replace instead of appending. */
const REPLACED = new Set(['command', 'entrypoint', 'test', 'profiles'])

/** Sequences merged by an identity (later entries replace earlier ones with the same key). */
const KEYED: Record<string, (x: Obj) => string> = {
  ports: (p) => `${p.host_ip ?? ''}:${p.published ?? ''}:${p.target}/${p.protocol}`,
  volumes: (v) => String(v.target),
  secrets: (s) => String(s.target ?? s.source),
  configs: (s) => String(s.target ?? s.source),
  env_file: (e) => String(e.path),
}

function unwrap(v: unknown): unknown {
  return isObj(v) && OVERRIDE_KEY in v ? v[OVERRIDE_KEY] : v
}

/** Strip markers from a value that is not merged with anything. */
export function clean(v: unknown): unknown {
  if (v === RESET) return undefined
  v = unwrap(v)
  if (Array.isArray(v)) return v.map(clean)
  if (isObj(v)) {
    const out: Obj = {}
    for (const [k, x] of Object.entries(v)) {
      const c = clean(x)
      if (c !== undefined) out[k] = c
    }
    return out
  }
  return v
}

export function mergeValue(key: string, base: unknown, over: unknown): unknown {
  if (over === RESET) return undefined
  if (isObj(over) && OVERRIDE_KEY in over) return clean(over[OVERRIDE_KEY])
  if (base === undefined || base === null) return clean(over)
  if (over === null || over === undefined) return over === null && !isObj(base) && !Array.isArray(base) ? null : base
  if (Array.isArray(base) && Array.isArray(over)) {
    if (REPLACED.has(key)) return clean(over)
    const keyOf = KEYED[key]
    if (keyOf) {
      // An entry left as written (uninterpolated `"${PORT}:80"`) is its own identity.
      const id = (x: unknown) => (isObj(x) ? keyOf(x) : JSON.stringify(x))
      const merged = new Map<string, unknown>()
      for (const x of base) merged.set(id(x), x)
      for (const x of over.map(clean)) merged.set(id(x), x)
      return [...merged.values()]
    }
    const out = [...base]
    const seen = new Set(base.map((y) => JSON.stringify(y)))
    for (const x of over.map(clean)) {
      const key = JSON.stringify(x)
      if (seen.has(key)) continue
      seen.add(key)
      out.push(x)
    }
    return out
  }
  if (isObj(base) && isObj(over)) return mergeObjects(base, over)
  return clean(over)
}

export function mergeObjects(base: Obj, over: Obj): Obj {
  const out: Obj = {...base}
  for (const [k, v] of Object.entries(over)) {
    const m = mergeValue(k, base[k], v)
    if (m === undefined) delete out[k]
    else out[k] = m
  }
  return out
}
