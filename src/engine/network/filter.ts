/**
 * `network ls --filter` as moby's network filters: driver, id, label, name, scope, type
 * (custom or builtin), dangling. Values of one key are alternatives (OR), different keys
 * must all hold (AND); label filters must all hold. name and id are unanchored regular
 * expressions (moby's filters.Args.Match).
 */
import {UsageError} from '../errors.js'

/** What a filter looks at, for any network (a bridge network or a predefined one). */
export interface FilterableNetwork {
  id: string
  name: string
  driver: string
  labels: Record<string, string>
  /** bridge, host, none. */
  builtin: boolean
  /** Containers attached. */
  containers: number
}

const KEYS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling']

export function parseNetworkFilters(args: readonly string[]): Map<string, string[]> {
  const filters = new Map<string, string[]>()
  for (const arg of args) {
    const eq = arg.indexOf('=')
    if (eq <= 0) throw new UsageError(`bad format of filter (expected name=value): ${arg}`)
    const [key, value] = [arg.slice(0, eq), arg.slice(eq + 1)]
    if (!KEYS.includes(key)) throw new UsageError(`Invalid filter '${key}'`, `network filters: ${KEYS.join(', ')}`)
    if (key === 'type' && value !== 'custom' && value !== 'builtin') throw new UsageError(`invalid filter: 'type'='${value}'`, 'use type=custom or type=builtin')
    if (key === 'dangling' && !['true', 'false', '1', '0'].includes(value.toLowerCase())) throw new UsageError(`Invalid filter 'dangling=${value}'`, 'use dangling=true or dangling=false')
    filters.set(key, [...(filters.get(key) ?? []), value])
  }
  return filters
}

function regexMatch(pattern: string, text: string): boolean {
  try {
    return new RegExp(pattern).test(text)
  } catch {
    return text.includes(pattern)
  }
}

export function matchesNetworkFilters(n: FilterableNetwork, filters: Map<string, string[]>): boolean {
  for (const [key, values] of filters) {
    if (key === 'label') {
      const ok = values.every((v) => {
        const eq = v.indexOf('=')
        return eq < 0 ? v in n.labels : n.labels[v.slice(0, eq)] === v.slice(eq + 1)
      })
      if (!ok) return false
      continue
    }
    const ok = values.some((v) => {
      switch (key) {
        case 'driver':
          return n.driver === v
        case 'id':
          return regexMatch(v, n.id)
        case 'name':
          return regexMatch(v, n.name)
        case 'scope':
          return v === 'local'
        case 'type':
          return (v === 'builtin') === n.builtin
        case 'dangling': {
          // moby: dangling=true is the custom networks no container uses; false the others.
          const dangling = !n.builtin && n.containers === 0
          return dangling === (v.toLowerCase() === 'true' || v === '1')
        }
        default:
          return false
      }
    })
    if (!ok) return false
  }
  return true
}
