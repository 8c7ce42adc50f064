/**
 * `builder prune` (and the build cache part of `system prune` / `system df`): cache records
 * and `RUN --mount=type=cache` directories. Without `all`, records whose layer some image
 * uses are kept and cache mounts stay; `until` keeps what was used since then. The layers
 * and blobs no record, image or container needs any more are then collected.
 */
import {rmSync} from 'node:fs'

import {Engine} from '../engine.js'
import {collectGarbage} from '../image/remove.js'
import {joinArgs} from '../rootless/session.js'
import {runtimeSync} from '../runtime.js'
import {BuildCache} from './cache.js'

export interface BuildCachePruneOptions {
  all: boolean
  /** Only what was last used before this time (ms since the epoch). */
  until?: number
}

export interface BuildCacheUsage {
  records: number
  mounts: number
  /** Bytes of layers only the cache holds, plus cache mounts. */
  size: number
  /** Bytes of cache layers an image also uses. */
  shared: number
  items: Array<{id: string; type: 'regular' | 'exec.cachemount'; description: string; size: number; shared: boolean; created: string; lastUsed: string}>
}

export function buildCacheUsage(engine: Engine, measureMounts = true): BuildCacheUsage {
  const cache = new BuildCache(engine)
  const imageLayers = new Set(engine.images.list().flatMap((i) => i.layers.map((l) => l.diffId)))
  const items: BuildCacheUsage['items'] = []
  let size = 0
  let shared = 0
  const counted = new Set<string>()
  for (const r of cache.list()) {
    const n = engine.snapshots.size(r.layer.diffId) ?? r.layer.size
    const isShared = imageLayers.has(r.layer.diffId)
    items.push({id: r.key.slice(0, 25), type: 'regular', description: r.description, size: n, shared: isShared, created: r.created, lastUsed: r.lastUsed})
    if (counted.has(r.layer.diffId)) continue
    counted.add(r.layer.diffId)
    if (isShared) shared += n
    else size += n
  }
  const mounts = cache.mounts()
  const mountSizes = measureMounts && mounts.length > 0 ? mountDu(engine, mounts.map((m) => m.dir)) : mounts.map(() => 0)
  for (const [i, m] of mounts.entries()) {
    items.push({id: m.dir.split('/').pop()!.slice(0, 25), type: 'exec.cachemount', description: `mount / from exec ${m.id}`, size: mountSizes[i], shared: false, created: m.created, lastUsed: m.lastUsed})
    size += mountSizes[i]
  }
  return {records: cache.list().length, mounts: mounts.length, size, shared, items}
}

/** Cache mounts hold files of any owner: measured inside the user namespace. */
function mountDu(engine: Engine, dirs: string[]): number[] {
  try {
    return JSON.parse(runtimeSync(['du', ...joinArgs(engine.session()), ...dirs])) as number[]
  } catch {
    return dirs.map(() => 0)
  }
}

export interface BuildCachePruneReport {
  deleted: string[]
  reclaimed: number
}

export function pruneBuildCache(engine: Engine, o: BuildCachePruneOptions): BuildCachePruneReport {
  const cache = new BuildCache(engine)
  const imageLayers = new Set(engine.images.list().flatMap((i) => i.layers.map((l) => l.diffId)))
  const deleted: string[] = []
  let reclaimed = 0
  const old = (t: string) => o.until === undefined || Date.parse(t) < o.until
  const doomedLayers = new Map<string, number>()
  for (const r of cache.list()) {
    if (!old(r.lastUsed)) continue
    if (!o.all && imageLayers.has(r.layer.diffId)) continue
    if (!cache.removeStep(r.key)) continue // a build is making this step again now
    deleted.push(r.key.slice(0, 25))
    if (!imageLayers.has(r.layer.diffId)) doomedLayers.set(r.layer.diffId, engine.snapshots.size(r.layer.diffId) ?? r.layer.size)
  }
  if (o.all) {
    const mounts = cache.mounts().filter((m) => old(m.lastUsed))
    if (mounts.length > 0) engine.snapshots.removeTree(mounts.map((m) => m.dir))
    for (const m of mounts) {
      rmSync(`${m.dir}.json`, {force: true})
      rmSync(`${m.dir}.lock`, {force: true})
      deleted.push(m.dir.split('/').pop()!.slice(0, 25))
    }
  }
  if (deleted.length > 0) {
    const before = engine.usedLayers()
    collectGarbage(engine)
    for (const [d, n] of doomedLayers) if (!before.has(d)) reclaimed += n
  }
  return {deleted, reclaimed}
}
