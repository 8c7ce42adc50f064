/**
 * The build cache: one record per step that made a layer, keyed by the step's digest
 * (parent key + instruction + resolved inputs + digests of what COPY/ADD read), and the
 * directories of `RUN --mount=type=cache`. Records are written atomically only once their
 * layer's blob and snapshot are in place, so a killed build leaves nothing half-recorded;
 * another ncx process building the same step waits on the step's lock and then reuses it.
 * Layers and blobs a record names are kept by garbage collection (see image/remove.ts).
 */
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import type {Engine} from '../engine.js'
import {makeDirWithMode, readJson, tryWithLock, writeFileAtomic, writeJson} from '../store/files.js'
import {StorePaths, layout} from '../store/paths.js'
import type {LayerRecord} from '../image/types.js'

export interface CacheRecord {
  key: string
  /** What made it, as the progress shows it (`RUN npm ci`). */
  description: string
  created: string
  lastUsed: string
  layer: LayerRecord
}

export interface CacheMountRecord {
  id: string
  created: string
  lastUsed: string
}

export const buildLayout = {
  root: (p: StorePaths) => join(p.data, 'build'),
  records: (p: StorePaths) => join(p.data, 'build', 'cache'),
  record: (p: StorePaths, key: string) => join(p.data, 'build', 'cache', `${key}.json`),
  mounts: (p: StorePaths) => join(p.data, 'build', 'mounts'),
  hashes: (p: StorePaths) => join(p.data, 'build', 'hashes'),
  runs: (p: StorePaths) => join(p.data, 'build', 'runs'),
}

/** A step's cache key: the sha256 of its inputs (hex). */
export function cacheKey(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex')
}

export class BuildCache {
  constructor(private readonly engine: Engine) {}

  private get paths(): StorePaths {
    return this.engine.paths
  }

  /** The record for `key` whose layer is still complete in the store. */
  lookup(key: string): CacheRecord | undefined {
    const rec = readJson<CacheRecord | undefined>(buildLayout.record(this.paths, key), undefined)
    if (!rec || !rec.layer) return undefined
    if (!this.engine.content.has(rec.layer.digest) || !this.engine.snapshots.has(rec.layer.diffId)) return undefined
    // Last use matters for `builder prune --filter until=`: kept roughly (once a minute).
    if (Date.now() - Date.parse(rec.lastUsed) > 60_000) {
      try {
        writeJson(buildLayout.record(this.paths, key), {...rec, lastUsed: new Date().toISOString()}, false)
      } catch {
        // read-only store: the record still serves
      }
    }
    return rec
  }

  store(key: string, description: string, layer: LayerRecord, created: string): CacheRecord {
    const now = new Date().toISOString()
    const rec: CacheRecord = {key, description, created, lastUsed: now, layer}
    mkdirSync(buildLayout.records(this.paths), {recursive: true, mode: 0o700})
    writeFileAtomic(buildLayout.record(this.paths, key), JSON.stringify(rec, null, 2) + '\n', 0o600)
    return rec
  }

  list(): CacheRecord[] {
    const dir = buildLayout.records(this.paths)
    if (!existsSync(dir)) return []
    const out: CacheRecord[] = []
    for (const n of readdirSync(dir)) {
      if (!n.endsWith('.json')) continue
      try {
        out.push(JSON.parse(readFileSync(join(dir, n), 'utf8')) as CacheRecord)
      } catch {
        // a torn record cannot exist (atomic writes); anything else unreadable is skipped
      }
    }
    return out
  }

  /** The lock a build holds while it makes the step `key` (parallel builds make a step once). */
  static stepLock(paths: StorePaths, key: string): string {
    return layout.lock(paths, `build-${key.slice(0, 16)}`)
  }

  /**
   * Remove the record of `key` (if `when` says so, looked at under the step's lock) and its
   * step lock file, unless a build is making that step now (then false is returned). A locker that opened the file before the unlink
   * opens it again (lock_file in ncx-napi checks), so unlinking a held lock is safe.
   */
  removeStep(key: string, when: (r: CacheRecord | undefined) => boolean = () => true): boolean {
    const path = BuildCache.stepLock(this.paths, key)
    return (
      tryWithLock(path, () => {
        if (!when(this.read(key))) return
        this.remove(key)
        rmSync(path, {force: true})
      }) !== undefined
    )
  }

  /** The record for `key` as stored (whole or not). */
  read(key: string): CacheRecord | undefined {
    return readJson<CacheRecord | undefined>(buildLayout.record(this.paths, key), undefined)
  }

  remove(key: string): void {
    rmSync(buildLayout.record(this.paths, key), {force: true})
  }

  /** The directory of a cache mount (`id`, else the target path), created on first use. */
  mountDir(id: string): {dir: string; created: boolean} {
    const name = createHash('sha256').update(id).digest('hex').slice(0, 32)
    const base = buildLayout.mounts(this.paths)
    const dir = join(base, name)
    const meta = `${dir}.json`
    const now = new Date().toISOString()
    let created = false
    if (!existsSync(dir)) {
      mkdirSync(base, {recursive: true, mode: 0o700})
      const tmp = `${dir}.tmp-${process.pid}`
      makeDirWithMode(tmp, 0o755) // BuildKit's default mode of a cache mount (RUN as any user can use it)
      try {
        renameSync(tmp, dir)
        created = true
      } catch {
        rmSync(tmp, {recursive: true, force: true})
      }
    }
    const rec = readJson<CacheMountRecord | undefined>(meta, undefined)
    writeJson(meta, {id, created: rec?.created ?? now, lastUsed: now} satisfies CacheMountRecord, false)
    return {dir, created}
  }

  mounts(): Array<CacheMountRecord & {dir: string}> {
    const base = buildLayout.mounts(this.paths)
    if (!existsSync(base)) return []
    return readdirSync(base)
      .filter((n) => n.endsWith('.json'))
      .map((n) => ({...readJson<CacheMountRecord>(join(base, n), {id: n, created: '', lastUsed: ''}), dir: join(base, n.slice(0, -5))}))
  }

  /** Blobs and layers the cache holds (kept by garbage collection). */
  references(): {blobs: Set<string>; layers: Set<string>} {
    const blobs = new Set<string>()
    const layers = new Set<string>()
    for (const r of this.list()) {
      blobs.add(r.layer.digest)
      layers.add(r.layer.diffId)
    }
    return {blobs, layers}
  }
}

/** What GC must keep for the build cache (an empty set when there is no cache). */
export function buildCacheReferences(engine: Engine): {blobs: Set<string>; layers: Set<string>} {
  return new BuildCache(engine).references()
}



