/**
 * `system prune`: stopped containers, unused networks, dangling (or, with `all`, unused)
 * images, then the blobs and layers nothing references. `--filter until=…` and
 * `label=…` / `label!=…` narrow it as in Docker; images carry no labels in ncx's index,
 * so a label filter keeps every image (nothing is deleted that could not be checked).
 */
import {Engine} from './engine.js'
import {UsageError} from './errors.js'
import {treeSize} from './df.js'
import {PruneReport, pruneImages} from './image/prune.js'
import {pruneContainers, removeContainer, stateOf} from './container/lifecycle.js'
import {pruneNetworks} from './network/networks.js'
import {pruneBuildCache} from './build/prune.js'

export interface PruneFilter {
  /** Only things created before this time (ms since the epoch). */
  until?: number
  labels: Array<{key: string; value?: string; negate: boolean}>
}

const DURATION = /^(?:(\d+(?:\.\d+)?)(h|m|s|ms))+$/

/** `until=` takes a Unix timestamp, an RFC 3339 date, or a Go duration back from `now` (`24h`, `1h30m`). */
export function parseUntil(value: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000
  if (DURATION.test(value)) {
    let ms = 0
    for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) ms += Number(n) * {h: 3_600_000, m: 60_000, s: 1000, ms: 1}[unit as 'h' | 'm' | 's' | 'ms']
    return now - ms
  }
  const t = Date.parse(value)
  if (Number.isNaN(t)) throw new UsageError(`invalid until filter ${JSON.stringify(value)}`, 'use a timestamp (1700000000), a date (2024-01-02T15:04:05Z) or a duration (24h)')
  return t
}

export function parsePruneFilters(values: readonly string[], now = Date.now()): PruneFilter {
  const filter: PruneFilter = {labels: []}
  for (const v of values) {
    const m = /^(until|label!?)=(.*)$/.exec(v)
    if (!m) throw new UsageError(`invalid filter ${JSON.stringify(v)}`, 'system prune filters: until=<timestamp|duration>, label=<key>[=<value>], label!=<key>[=<value>]')
    if (m[1] === 'until') filter.until = parseUntil(m[2], now)
    else {
      const i = m[2].indexOf('=')
      filter.labels.push({key: i < 0 ? m[2] : m[2].slice(0, i), ...(i < 0 ? {} : {value: m[2].slice(i + 1)}), negate: m[1] === 'label!'})
    }
  }
  return filter
}

/** Whether a thing created at `created` with `labels` passes the filter. */
export function matchesPrune(f: PruneFilter, created: string | undefined, labels: Record<string, string> | undefined): boolean {
  if (f.until !== undefined) {
    const t = created ? Date.parse(created) : NaN
    if (Number.isNaN(t) || t >= f.until) return false
  }
  for (const l of f.labels) {
    if (labels === undefined) return false
    const has = l.key in labels && (l.value === undefined || labels[l.key] === l.value)
    if (has === l.negate) return false
  }
  return true
}

export interface SystemPruneOptions {
  all: boolean
  /** Also anonymous volumes no container uses. */
  volumes?: boolean
  filter: PruneFilter
}

/** The volume store's prune (src/engine/volume/store.ts, `engine.volumes`) where it exists. */
export interface SystemPruneReport {
  containers: string[]
  networks: string[]
  images: PruneReport
  volumes: string[]
  /** Build cache records (and, with `all`, cache mounts) removed. */
  buildCache: string[]
  spaceReclaimed: number
}

/** `container prune` narrowed by a filter: stopped containers that match it. */
async function pruneMatching(engine: Engine, filter: PruneFilter): Promise<string[]> {
  const removed: string[] = []
  for (const record of engine.containers.list()) {
    const s = stateOf(engine, record)
    if (s.status === 'running' || s.status === 'restarting' || !matchesPrune(filter, record.created, record.config?.labels ?? {})) continue
    await removeContainer(engine, record, {force: false})
    removed.push(record.id)
  }
  return removed
}

export async function systemPrune(engine: Engine, o: SystemPruneOptions): Promise<SystemPruneReport> {
  const sizes = new Map(engine.containers.list().map((c) => [c.id, treeSize(`${engine.containers.dir(c.id)}/upper`)]))
  const containers = o.filter.until === undefined && o.filter.labels.length === 0 ? await pruneContainers(engine) : await pruneMatching(engine, o.filter)
  const networks = pruneNetworks(engine, (n) => matchesPrune(o.filter, n.created, n.labels))
  const images = pruneImages(engine, {all: o.all, match: (i) => matchesPrune(o.filter, i.created, o.filter.labels.length > 0 ? undefined : {})})
  const containerSpace = containers.reduce((a, id) => a + (sizes.get(id) ?? 0), 0)
  let volumes: {removed: string[]; reclaimed: number} = {removed: [], reclaimed: 0}
  if (o.volumes) {
    const label = o.filter.labels.map((l) => `${l.key}${l.value === undefined ? '' : `=${l.value}`}`)
    // The volume store filters by label=…, not label!=…: with a negated label no volume is pruned.
    if (!o.filter.labels.some((l) => l.negate) && o.filter.until === undefined) volumes = engine.volumes.prune({label})
  }
  // Unused build cache, as `docker system prune` removes it (label filters do not apply to it).
  const cache = o.filter.labels.length === 0 ? pruneBuildCache(engine, {all: o.all, ...(o.filter.until !== undefined ? {until: o.filter.until} : {})}) : {deleted: [], reclaimed: 0}
  return {containers, networks, images, volumes: volumes.removed, buildCache: cache.deleted, spaceReclaimed: containerSpace + images.spaceReclaimed + volumes.reclaimed + cache.reclaimed}
}
