/**
 * `--cache-to type=local,dest=DIR` / `--cache-from type=local,src=DIR`: build cache records
 * and their layer blobs in a directory (`ncx-cache.json` + `blobs/sha256/<hex>`), so a CI
 * job can carry its cache between machines. The format is ncx's own (BuildKit's local cache
 * layout is not read or written).
 */
import {chmodSync, copyFileSync, createReadStream, existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {UsageError} from '../errors.js'
import {makeDirWithMode, writeFileAtomic} from '../store/files.js'
import {callersUmaskValue} from '../store/private.js'
import {BuildCache, CacheRecord} from './cache.js'

interface CacheFile {
  version: 1
  records: CacheRecord[]
}

function readCacheFile(dir: string): CacheFile {
  try {
    const f = JSON.parse(readFileSync(join(dir, 'ncx-cache.json'), 'utf8')) as CacheFile
    return Array.isArray(f.records) ? f : {version: 1, records: []}
  } catch {
    return {version: 1, records: []}
  }
}

export class CacheImporter {
  private readonly records = new Map<string, {dir: string; rec: CacheRecord}>()

  constructor(
    private readonly engine: Engine,
    dirs: string[],
  ) {
    for (const dir of dirs) {
      if (!existsSync(dir)) continue
      for (const rec of readCacheFile(dir).records) if (!this.records.has(rec.key)) this.records.set(rec.key, {dir, rec})
    }
  }

  /** A record from an imported cache, its layer brought into the store. */
  async lookup(key: string, cache: BuildCache): Promise<CacheRecord | undefined> {
    const found = this.records.get(key)
    if (!found) return undefined
    const {dir, rec} = found
    const blob = join(dir, 'blobs', 'sha256', rec.layer.digest.slice(7))
    if (!existsSync(blob)) return undefined
    if (!this.engine.content.has(rec.layer.digest)) await this.engine.content.ingest(createReadStream(blob), {digest: rec.layer.digest, size: rec.layer.size}, `cache layer ${rec.layer.digest}`)
    this.engine.snapshots.ensure(rec.layer.diffId, this.engine.content.path(rec.layer.digest))
    return cache.store(key, rec.description, rec.layer, rec.created)
  }
}

/** Write the records of `keys` (and their blobs) into `dest`, merged with what is there. */
export function exportCache(engine: Engine, dest: string, keys: string[]): void {
  const cache = new BuildCache(engine)
  // The user's directory (a CI cache): the caller's umask, not ncx's 077.
  const umask = callersUmaskValue()
  makeDirWithMode(join(dest, 'blobs', 'sha256'), 0o777 & ~umask, 0o777 & ~umask)
  const file = readCacheFile(dest)
  const byKey = new Map(file.records.map((r) => [r.key, r]))
  for (const key of keys) {
    const rec = cache.lookup(key)
    if (!rec) continue
    const blob = join(dest, 'blobs', 'sha256', rec.layer.digest.slice(7))
    if (!existsSync(blob)) {
      copyFileSync(engine.content.path(rec.layer.digest), blob)
      chmodSync(blob, 0o666 & ~umask)
    }
    byKey.set(key, rec)
  }
  writeFileAtomic(join(dest, 'ncx-cache.json'), JSON.stringify({version: 1, records: [...byKey.values()]}, null, 2) + '\n', 0o666 & ~umask)
}

/** `type=local,src=DIR` / `type=local,dest=DIR[,mode=max]`. */
export function parseCacheSpec(text: string, key: 'src' | 'dest'): {type: string; src: string; dest: string} {
  const fields: Record<string, string> = {}
  for (const f of text.split(',')) {
    const i = f.indexOf('=')
    if (i < 0) fields.ref = f
    else fields[f.slice(0, i)] = f.slice(i + 1)
  }
  const type = fields.type ?? (fields.ref ? 'registry' : 'local')
  if (type !== 'local') throw new UsageError(`cache ${key === 'src' ? 'import' : 'export'} type ${JSON.stringify(type)} is not supported by ncx`, `use type=local,${key}=DIR`)
  const path = fields[key]
  if (!path) throw new UsageError(`type=local cache needs ${key}=DIR`)
  return {type, src: path, dest: path}
}
