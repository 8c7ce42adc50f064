/**
 * `images --filter`: Docker's image filters. Values of one key are alternatives (OR),
 * different keys must all hold (AND).
 */
import {UsageError} from '../errors.js'
import {familiarName, familiarRepository, formatReference, parseReference, repositoryName} from './reference.js'
import {ImageRecord} from './types.js'

export interface ImageFilters {
  dangling?: boolean
  /** Go `path.Match` patterns against the familiar name (`busybox:latest` or `busybox`). */
  reference: string[]
  before?: string
  since?: string
  /** `key` or `key=value`. */
  label: Array<{key: string; value?: string}>
}

const KEYS = ['dangling', 'reference', 'before', 'since', 'label']

export function parseImageFilters(args: readonly string[]): ImageFilters {
  const filters: ImageFilters = {reference: [], label: []}
  for (const arg of args) {
    const eq = arg.indexOf('=')
    if (eq <= 0) throw new UsageError(`bad format of filter (expected name=value): ${JSON.stringify(arg)}`)
    const key = arg.slice(0, eq).trim().toLowerCase()
    const value = arg.slice(eq + 1)
    if (!KEYS.includes(key)) throw new UsageError(`Invalid filter '${key}'`, `image filters: ${KEYS.join(', ')}`)
    switch (key) {
      case 'dangling': {
        const v = value.toLowerCase()
        if (v !== 'true' && v !== 'false' && v !== '1' && v !== '0') throw new UsageError(`Invalid filter 'dangling=${value}'`, 'use dangling=true or dangling=false')
        filters.dangling = v === 'true' || v === '1'
        break
      }
      case 'reference':
        matchPath(value, '') // reject a malformed pattern up front
        filters.reference.push(value)
        break
      case 'before':
        filters.before = value
        break
      case 'since':
        filters.since = value
        break
      case 'label': {
        const i = value.indexOf('=')
        filters.label.push(i < 0 ? {key: value} : {key: value.slice(0, i), value: value.slice(i + 1)})
        break
      }
    }
  }
  return filters
}

/** Go's `path.Match`: `*` and `?` stop at `/`, `[a-z]` / `[^a-z]` classes, `\` escapes. */
export function matchPath(pattern: string, name: string): boolean {
  const bad = () => new UsageError(`invalid reference pattern ${JSON.stringify(pattern)}: syntax error in pattern`)
  const esc = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '\\') {
      if (++i >= pattern.length) throw bad()
      re += esc(pattern[i])
    } else if (c === '[') {
      let j = i + 1
      let negate = false
      if (pattern[j] === '^') {
        negate = true
        j++
      }
      let cls = ''
      const char = () => {
        if (j >= pattern.length || pattern[j] === '-' || pattern[j] === ']') throw bad()
        if (pattern[j] === '\\') j++
        if (j >= pattern.length) throw bad()
        return pattern[j++]
      }
      do {
        const lo = char()
        cls += esc(lo)
        if (pattern[j] === '-') {
          j++
          const hi = char()
          if (hi < lo) throw bad()
          cls += `-${esc(hi)}`
        }
        if (j >= pattern.length) throw bad()
      } while (pattern[j] !== ']')
      re += negate ? `[^${cls}]` : `[${cls}]`
      i = j
    } else re += esc(c)
  }
  return new RegExp(`^${re}$`, 's').test(name)
}

/** Whether `name` (fully qualified) matches a reference pattern, the way Docker's FamiliarMatch does (and on the full name too). */
function referenceMatches(pattern: string, name: string): boolean {
  const ref = parseReference(name)
  return [familiarName(ref), familiarRepository(ref), formatReference(ref), repositoryName(ref)].some((candidate) => matchPath(pattern, candidate))
}

export interface FilterContext {
  /** Resolve `before=` / `since=` (throws when there is no such image). */
  resolve: (nameOrId: string) => ImageRecord
  /** The image's config labels. */
  labels: (image: ImageRecord) => Record<string, string>
}

const createdMs = (image: ImageRecord) => {
  const t = image.created ? Date.parse(image.created) : NaN
  return Number.isNaN(t) ? 0 : t
}

/**
 * Apply `filters`; with `reference`, each image keeps only the names that match (and an
 * image with none is left out), as Docker lists only the matching tags.
 */
export function filterImages(images: ImageRecord[], filters: ImageFilters, context: FilterContext): ImageRecord[] {
  const before = filters.before === undefined ? undefined : createdMs(context.resolve(filters.before))
  const since = filters.since === undefined ? undefined : createdMs(context.resolve(filters.since))
  const out: ImageRecord[] = []
  for (const image of images) {
    if (filters.dangling !== undefined && (image.names.length === 0) !== filters.dangling) continue
    if (before !== undefined && !(createdMs(image) < before)) continue
    if (since !== undefined && !(createdMs(image) > since)) continue
    if (filters.label.length > 0) {
      const labels = context.labels(image)
      if (!filters.label.every(({key, value}) => key in labels && (value === undefined || labels[key] === value))) continue
    }
    if (filters.reference.length > 0) {
      const names = image.names.filter((n) => filters.reference.some((p) => referenceMatches(p, n)))
      if (names.length === 0) continue
      out.push({...image, names})
      continue
    }
    out.push(image)
  }
  return out
}
