/**
 * `ncx system check [--repair] [--force] [--quick] [--max AGE]` (podman's `system check`):
 * finds what a crash, a killed helper or a full disk can leave in the store, and repairs it.
 *
 * The scan reads without locks and only reports. A repair takes the lock the store's own
 * writers take for that part (containers, networks, volumes, gc) and looks again under it,
 * so it never removes something a concurrent ncx is making: a half-made container is only
 * removed when its creator is dead; blobs, layers and partial downloads only under the
 * exclusive GC lock (pulls, loads, imports and commits hold it shared while they write).
 *
 * What is found is data (the CLI renders it); `doctor` runs the scan without `repair`.
 */
import {createHash} from 'node:crypto'
import {createReadStream, existsSync, readdirSync, statSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'

import {loadNative} from '../native/index.js'
import {BuildCache, CacheRecord} from './build/cache.js'
import {buildLeftovers} from './build/workdirs.js'
import {removeContainer} from './container/lifecycle.js'
import {reapAbandoned} from './container/run.js'
import {Engine} from './engine.js'
import {collectGarbage} from './image/remove.js'
import {ImageRecord} from './image/types.js'
import {bridgeReport, loadNetworks, mutateNetworks, repairBridges} from './network/networks.js'
import {releaseContainer} from './network/attach.js'
import {LAYER_WORK} from './snapshot/store.js'
import {layout} from './store/paths.js'

export type ProblemKind =
  | 'container-half-made'
  | 'container-removal-leftover'
  | 'container-damaged'
  | 'address-stale'
  | 'volume-removal-leftover'
  | 'volume-without-record'
  | 'image-damaged'
  | 'blob-corrupt'
  | 'blob-unreferenced'
  | 'layer-unreferenced'
  | 'layer-incomplete'
  | 'layer-temporary'
  | 'download-partial'
  | 'lock-stale'
  | 'bridge-not-whole'
  | 'build-leftover'
  | 'build-cache-broken'

/** What `--repair` needs to fix a problem: nothing more, or `--force` too (containers are removed). */
export type RepairMode = 'repair' | 'force'

export interface StoreProblem {
  kind: ProblemKind
  /** The object concerned: an ID, a name or a path under the data root. */
  object: string
  /** The full ID, digest or path (under the data root; absolute for the runtime directory) the repair works on. */
  ref: string
  /** What is wrong, for humans. */
  detail: string
  /** Bytes it holds on disk, where that is known. */
  size?: number
  repair: RepairMode
  /** Set by a repairing run: true when fixed, else why not. */
  repaired?: boolean
  error?: string
}

export interface CheckOptions {
  repair: boolean
  /** With `repair`: also remove containers that use a damaged image or whose layers are gone. */
  force: boolean
  /** Skip re-hashing every blob (the slow part). */
  quick: boolean
}

export interface CheckReport {
  problems: StoreProblem[]
  /** Parts of the check that did not run, and why. */
  skipped: string[]
  /** What was looked at. */
  counted: {containers: number; images: number; blobs: number; layers: number; volumes: number; networks: number}
}

const HEX64 = /^[a-f0-9]{64}$/

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size
  } catch {
    return undefined
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return `sha256:${hash.digest('hex')}`
}

/** Blobs an image needs: its config, manifest and layer blobs. */
function imageBlobs(image: ImageRecord): string[] {
  return [image.id, image.manifestDigest, ...image.layers.map((l) => l.digest)]
}

/** Take the GC lock exclusively if nobody holds it (a pull, load, import or commit holds it shared). */
function tryGcLock(engine: Engine): number | null {
  return loadNative().tryLockFile(layout.lock(engine.paths, 'gc'), true)
}

/**
 * Everything the scan finds. Blobs, layers and partial downloads are judged unreferenced
 * only while the GC lock is free: what a running pull, load or commit writes is not yet
 * referenced, and is not garbage.
 */
async function scan(engine: Engine, options: Pick<CheckOptions, 'quick'>): Promise<CheckReport> {
  const problems: StoreProblem[] = []
  const skipped: string[] = []
  const add = (p: StoreProblem) => problems.push(p)
  const containersDir = layout.containers(engine.paths)
  const containers = engine.containers.list()
  const images = engine.images.list()

  // Containers: half-made ones (their creator was killed), removals cut short, and those whose layers are gone.
  for (const id of engine.containers.listAbandoned()) {
    add({kind: 'container-half-made', object: id.slice(0, 12), ref: id, detail: 'its create or run was killed before the container was whole', repair: 'repair'})
  }
  for (const name of entries(containersDir).filter((n) => n.startsWith('.rm-'))) {
    add({kind: 'container-removal-leftover', object: name.slice(4, 16), ref: join('containers', name), detail: 'the removal of this container was interrupted', repair: 'repair'})
  }
  for (const c of containers) {
    const missing = c.layers.filter((d) => !engine.snapshots.has(d))
    if (missing.length === 0) continue
    const recoverable = missing.every((d) => images.some((i) => i.layers.some((l) => l.diffId === d && engine.content.has(l.digest))))
    add({
      kind: 'container-damaged',
      object: `${c.id.slice(0, 12)} (${c.name})`,
      ref: c.id,
      detail: `${missing.length} of its unpacked layers ${missing.length === 1 ? 'is' : 'are'} gone${recoverable ? ' (they can be unpacked again from their blobs)' : ' and cannot be rebuilt: it cannot start again'}`,
      repair: recoverable ? 'repair' : 'force',
    })
  }

  // Addresses held for containers that no longer exist.
  const networks = loadNetworks(engine)
  for (const net of Object.values(networks.networks)) {
    for (const [ip, id] of Object.entries(net.allocations)) {
      if (!existsSync(engine.containers.dir(id))) {
        add({kind: 'address-stale', object: `${ip} (${net.name})`, ref: id, detail: `held for container ${id.slice(0, 12)}, which no longer exists`, repair: 'repair'})
      }
    }
  }

  // Bridges of the live network namespace a killed setup or removal left not whole.
  const why = {interrupted: 'its setup or removal was interrupted', missing: 'recorded, but its link is gone', unrecorded: 'its link exists but was never recorded', orphaned: 'its network was removed'}
  for (const b of bridgeReport(engine)?.problems ?? []) {
    add({kind: 'bridge-not-whole', object: `${b.bridge}${b.network ? ` (${b.network})` : ''}`, ref: b.bridge, detail: why[b.kind], repair: 'repair'})
  }

  // Volumes: removals cut short, and directories a killed create left without a record.
  const volumesDir = engine.volumes.root()
  for (const name of entries(volumesDir)) {
    if (name.startsWith('.rm-')) {
      add({kind: 'volume-removal-leftover', object: name, ref: join('volumes', name), detail: 'the removal of this volume was interrupted', repair: 'repair'})
    } else if (!existsSync(join(volumesDir, name, 'volume.json'))) {
      const empty = entries(join(volumesDir, name, '_data')).length === 0
      add({
        kind: 'volume-without-record',
        object: name,
        ref: name,
        detail: empty ? 'a volume create was killed before its record was written (it is empty: removed on repair)' : 'a volume directory without its record (volume.json); it holds data (recorded again on repair)',
        repair: 'repair',
      })
    }
  }

  // Blobs whose content is not their digest (not with --quick: every blob is read).
  const blobs = engine.content.list()
  const corrupt = new Set<string>()
  if (options.quick) skipped.push('blob contents were not verified (--quick)')
  else {
    for (const digest of blobs) {
      let actual: string
      try {
        actual = await hashFile(engine.content.path(digest))
      } catch {
        continue // removed meanwhile
      }
      if (actual === digest) continue
      corrupt.add(digest)
      add({kind: 'blob-corrupt', object: digest.slice(7, 19), ref: digest, detail: `its content hashes to ${actual.slice(7, 19)}…`, size: sizeOf(engine.content.path(digest)), repair: 'repair'})
    }
  }

  // Images whose blobs are missing or corrupt: they cannot be saved, pushed or (without their layers) run.
  const present = new Set(blobs.filter((d) => !corrupt.has(d)))
  for (const image of images) {
    const missing = imageBlobs(image).filter((d) => !present.has(d))
    if (missing.length === 0) continue
    const user = containers.find((c) => c.imageId === image.id)
    add({
      kind: 'image-damaged',
      object: `${image.id.slice(7, 19)}${image.names[0] ? ` (${image.names[0]})` : ''}`,
      ref: image.id,
      detail: `${missing.length} of its blobs ${missing.length === 1 ? 'is' : 'are'} missing or corrupt (${missing.map((d) => d.slice(7, 19)).join(', ')})${user ? `; container ${user.name} uses it` : ''}`,
      repair: user ? 'force' : 'repair',
    })
  }

  // Build cache records whose layer is gone (its blob or its unpacked tree): a build would take
  // them for misses, but they keep the rest of that layer from being collected.
  const records = new BuildCache(engine).list()
  const healthy: CacheRecord[] = []
  for (const r of records) {
    const lost = [...(present.has(r.layer.digest) ? [] : ['blob']), ...(engine.snapshots.has(r.layer.diffId) ? [] : ['unpacked layer'])]
    if (lost.length === 0) healthy.push(r)
    else add({kind: 'build-cache-broken', object: r.key.slice(0, 12), ref: r.key, detail: `the build cache record of "${r.description.slice(0, 60)}" lost its layer's ${lost.join(' and ')} (the step runs again on the next build)`, repair: 'repair'})
  }

  // What builds killed mid-way left (work directories, mount points, secret files; their layer work areas are judged below with the other temporary layers).
  for (const l of buildLeftovers(engine).filter((x) => !x.layerWork)) {
    const under = l.path.startsWith(`${engine.paths.data}/`)
    add({kind: 'build-leftover', object: l.path.split('/').pop()!, ref: under ? l.path.slice(engine.paths.data.length + 1) : l.path, detail: `left by a build (pid ${l.pid}) that was killed`, repair: 'repair'})
  }

  // Unpacked layers without their file tree.
  const snapshotsDir = layout.snapshots(engine.paths)
  const snapshotNames = entries(snapshotsDir)
  for (const name of snapshotNames.filter((n) => HEX64.test(n))) {
    if (!existsSync(join(snapshotsDir, name, 'fs'))) {
      add({kind: 'layer-incomplete', object: name.slice(0, 12), ref: `sha256:${name}`, detail: 'an unpacked layer without its file tree (unpacked again on repair when an image needs it)', repair: 'repair'})
    }
  }

  // What nothing references: judged under the GC lock, so nothing being written is taken for garbage.
  const fd = existsSync(engine.paths.data) ? tryGcLock(engine) : null
  if (fd === null && existsSync(engine.paths.data)) {
    skipped.push('unreferenced blobs and layers and partial downloads were not judged: a pull, load, import or commit is running')
  } else {
    try {
      // Images and the build cache's whole records keep their blobs and layers.
      const keepBlobs = new Set([...images.flatMap(imageBlobs), ...healthy.map((r) => r.layer.digest)])
      for (const digest of blobs) {
        if (keepBlobs.has(digest) || corrupt.has(digest)) continue
        add({kind: 'blob-unreferenced', object: digest.slice(7, 19), ref: digest, detail: 'no image uses this blob', size: sizeOf(engine.content.path(digest)), repair: 'repair'})
      }
      const used = new Set([...images.flatMap((i) => i.layers.map((l) => l.diffId)), ...containers.flatMap((c) => c.layers), ...healthy.map((r) => r.layer.diffId)])
      for (const name of snapshotNames) {
        if (HEX64.test(name) && !used.has(`sha256:${name}`)) {
          add({kind: 'layer-unreferenced', object: name.slice(0, 12), ref: `sha256:${name}`, detail: 'no image or container uses this unpacked layer', size: engine.snapshots.size(`sha256:${name}`), repair: 'repair'})
        } else if (LAYER_WORK.test(name)) {
          // (its builder would hold the GC lock: this build was killed)
          add({kind: 'layer-temporary', object: name, ref: join('snapshots', name), detail: 'a build was killed before this layer was complete', repair: 'repair'})
        } else if (name.startsWith('.tmp-')) {
          const held = loadNative().tryLockFile(layout.lock(engine.paths, `snapshot-${name.slice(5, 21)}`), true)
          if (held === null) continue // an unpack is writing it
          loadNative().unlockFile(held)
          add({kind: 'layer-temporary', object: name, ref: join('snapshots', name), detail: 'an unpack was killed before the layer was complete', repair: 'repair'})
        }
      }
      const tmpDir = layout.tmp(engine.paths)
      for (const name of entries(tmpDir)) {
        const what = name.startsWith('partial-') ? 'a partial download kept for a pull to resume' : name.startsWith('ingest-') ? 'a blob being stored when its load, import or pull was killed' : undefined
        if (what) add({kind: 'download-partial', object: name, ref: join('tmp', name), detail: what, size: sizeOf(join(tmpDir, name)), repair: 'repair'})
      }
    } finally {
      if (fd !== null) loadNative().unlockFile(fd)
    }
  }

  // Lock files of layers long gone (one is made per layer ever unpacked), and of build steps
  // whose cache record is gone (one per step ever built; a build making the step holds it).
  const prefixes = new Set(snapshotNames.filter((n) => !LAYER_WORK.test(n)).map((n) => (n.startsWith('.tmp-') ? n.slice(5, 21) : n.slice(0, 16))))
  const steps = new Set(records.map((r) => r.key.slice(0, 16)))
  for (const name of entries(join(engine.paths.data, 'locks'))) {
    const m = /^snapshot-([a-f0-9]{16})\.lock$/.exec(name)
    if (m && !prefixes.has(m[1])) add({kind: 'lock-stale', object: name, ref: join('locks', name), detail: 'the lock file of a layer that is gone', repair: 'repair'})
    const b = /^build-([a-f0-9]{16})\.lock$/.exec(name)
    if (b && !steps.has(b[1])) {
      const held = loadNative().tryLockFile(join(engine.paths.data, 'locks', name), true)
      if (held === null) continue // a build is making that step
      loadNative().unlockFile(held)
      add({kind: 'lock-stale', object: name, ref: join('locks', name), detail: 'the lock file of a build step no cache record holds', repair: 'repair'})
    }
  }

  return {
    problems,
    skipped,
    counted: {
      containers: containers.length,
      images: images.length,
      blobs: blobs.length,
      layers: snapshotNames.filter((n) => HEX64.test(n)).length,
      volumes: entries(volumesDir).filter((n) => !n.startsWith('.rm-')).length,
      networks: Object.keys(networks.networks).length,
    },
  }
}

/** Remove a lock file nobody holds. It is taken first, and a locker that opened it before the unlink re-opens a fresh one (lock_file in ncx-napi checks). */
function removeLockFile(path: string): boolean {
  const native = loadNative()
  const fd = native.tryLockFile(path, true)
  if (fd === null) return false
  try {
    unlinkSync(path)
    return true
  } finally {
    native.unlockFile(fd)
  }
}

/** Repair what the scan found, each part under the lock its writers take, looking again under it. */
async function repair(engine: Engine, report: CheckReport, options: CheckOptions): Promise<void> {
  const of = (kind: ProblemKind) => report.problems.filter((p) => p.kind === kind && p.repaired === undefined)
  const settle = (p: StoreProblem, fn: () => void) => {
    if (p.repair === 'force' && !options.force) {
      p.repaired = false
      p.error = 'needs --force (the containers that use it are removed)'
      return
    }
    try {
      fn()
      p.repaired = true
    } catch (error) {
      p.repaired = false
      p.error = (error as Error).message
    }
  }
  const gone = (path: string) => {
    if (existsSync(path)) throw new Error('still there')
  }

  // Half-made containers go the way the next create takes them: under the containers lock, the creator checked again.
  if (of('container-half-made').length > 0) reapAbandoned(engine)
  for (const p of of('container-half-made')) settle(p, () => gone(engine.containers.dir(p.ref)))
  for (const p of of('container-removal-leftover')) {
    settle(p, () => {
      const id = p.ref.slice('containers/.rm-'.length)
      engine.snapshots.removeTree([join(engine.paths.data, p.ref)])
      if (HEX64.test(id)) {
        releaseContainer(engine, id)
        engine.volumes.removeAnonymousOf(id)
      }
    })
  }
  // The networks file drops addresses of missing containers whenever it is rewritten under its lock.
  if (of('address-stale').length > 0) mutateNetworks(engine, () => undefined)
  for (const p of of('address-stale')) {
    settle(p, () => {
      if (Object.values(loadNetworks(engine).networks).some((n) => Object.values(n.allocations).includes(p.ref))) throw new Error('still allocated')
    })
  }

  if (of('bridge-not-whole').length > 0) {
    let failure: Error | undefined
    try {
      repairBridges(engine)
    } catch (error) {
      failure = error as Error
    }
    const left = new Set((bridgeReport(engine)?.problems ?? []).map((b) => b.bridge))
    for (const p of of('bridge-not-whole')) {
      settle(p, () => {
        if (failure) throw failure
        if (left.has(p.ref)) throw new Error('still not whole')
      })
    }
  }

  for (const p of of('volume-removal-leftover')) settle(p, () => engine.volumes.locked(() => engine.snapshots.removeTree([join(engine.paths.data, p.ref)])))
  for (const p of of('volume-without-record')) {
    settle(p, () =>
      engine.volumes.locked(() => {
        const dir = engine.volumes.dir(p.ref)
        if (existsSync(join(dir, 'volume.json'))) return // recorded meanwhile
        if (entries(join(dir, '_data')).length === 0) engine.snapshots.removeTree([dir])
        else engine.volumes.adopt(p.ref)
      }),
    )
  }

  // Containers whose layers are gone: unpacked again from their blobs, or (--force) removed.
  for (const p of of('container-damaged').filter((x) => x.repair === 'repair')) {
    settle(p, () => {
      const c = engine.containers.find(p.ref)
      if (!c) return
      for (const d of c.layers.filter((l) => !engine.snapshots.has(l))) {
        const layer = engine.images.list().flatMap((i) => i.layers).find((l) => l.diffId === d && engine.content.has(l.digest))
        if (!layer) throw new Error(`layer ${d.slice(7, 19)} has no blob left to unpack it from`)
        engine.snapshots.ensure(d, engine.content.path(layer.digest))
      }
    })
  }
  // With --force: containers that cannot start, and those using a damaged image, are removed first.
  if (options.force) {
    const damaged = new Set(report.problems.filter((p) => p.kind === 'image-damaged').map((p) => p.ref))
    const doomed = new Set([...report.problems.filter((p) => p.kind === 'container-damaged' && p.repair === 'force').map((p) => p.ref)])
    for (const c of engine.containers.list()) if (damaged.has(c.imageId)) doomed.add(c.id)
    for (const id of doomed) {
      const c = engine.containers.find(id)
      if (c) await removeContainer(engine, c, {force: true}).catch(() => undefined)
    }
  }
  for (const p of of('container-damaged')) {
    settle(p, () => {
      if (engine.containers.find(p.ref)) throw new Error('the container could not be removed')
    })
  }
  for (const p of of('image-damaged')) {
    settle(p, () => {
      const removed = engine.images.update((images) => {
        const i = images.findIndex((x) => x.id === p.ref)
        if (i < 0) return false
        const user = engine.containers.list().find((c) => c.imageId === p.ref)
        if (user) throw new Error(`container ${user.name} uses it`)
        images.splice(i, 1)
        return true
      })
      if (removed) engine.images.recordEvent('delete', p.ref, p.ref)
    })
  }

  // Killed builds' work areas: removed while their builder is still gone (a pid seen again is left alone).
  if (of('build-leftover').length > 0) {
    const abs = (ref: string) => (ref.startsWith('/') ? ref : join(engine.paths.data, ref))
    const dead = new Set(buildLeftovers(engine).map((l) => l.path))
    let failure: Error | undefined
    try {
      engine.snapshots.removeTree(of('build-leftover').map((p) => abs(p.ref)).filter((x) => dead.has(x)))
    } catch (error) {
      failure = error as Error
    }
    for (const p of of('build-leftover')) {
      settle(p, () => {
        if (failure) throw failure
        if (existsSync(abs(p.ref))) throw new Error(dead.has(abs(p.ref)) ? 'still there' : 'its builder is running')
      })
    }
  }
  // Broken cache records (and their step locks) go under the step's lock, looked at again there.
  const cache = new BuildCache(engine)
  const corruptBlobs = new Set(report.problems.filter((q) => q.kind === 'blob-corrupt').map((q) => q.ref))
  const broken = (r: CacheRecord | undefined) => r !== undefined && (!engine.content.has(r.layer.digest) || corruptBlobs.has(r.layer.digest) || !engine.snapshots.has(r.layer.diffId))
  for (const p of of('build-cache-broken')) {
    settle(p, () => {
      if (!cache.removeStep(p.ref, broken)) throw new Error('a build is making this step')
    })
  }

  // Corrupt blobs and incomplete layers, then everything nothing references, under the exclusive GC lock.
  for (const p of of('blob-corrupt')) settle(p, () => engine.collecting(() => engine.content.remove(p.ref)))
  for (const p of of('layer-incomplete')) settle(p, () => engine.collecting(() => engine.snapshots.removeTree([layout.snapshot(engine.paths, p.ref)])))
  const garbage: ProblemKind[] = ['blob-unreferenced', 'layer-unreferenced', 'layer-temporary', 'download-partial']
  if (garbage.some((k) => of(k).length > 0) || report.problems.some((p) => (p.kind === 'image-damaged' || p.kind === 'build-cache-broken') && p.repaired)) {
    let failure: Error | undefined
    try {
      collectGarbage(engine, {partialAgeMs: 0})
    } catch (error) {
      failure = error as Error
    }
    for (const p of garbage.flatMap(of)) {
      settle(p, () => {
        if (failure) throw failure
        if (p.kind === 'blob-unreferenced' && engine.content.has(p.ref)) throw new Error('in use again')
        if (p.kind === 'layer-unreferenced' && existsSync(layout.snapshot(engine.paths, p.ref))) throw new Error('in use again')
        if (p.kind !== 'blob-unreferenced' && p.kind !== 'layer-unreferenced') gone(join(engine.paths.data, p.ref))
      })
    }
  }
  // Layers an image needs whose incomplete copy was removed: unpacked again.
  for (const p of report.problems.filter((x) => x.kind === 'layer-incomplete' && x.repaired)) {
    const layer = engine.images.list().flatMap((i) => i.layers).find((l) => l.diffId === p.ref && engine.content.has(l.digest))
    if (layer) settle(p, () => void engine.snapshots.ensure(layer.diffId, engine.content.path(layer.digest)))
  }
  for (const p of of('lock-stale')) {
    settle(p, () => {
      if (!removeLockFile(join(engine.paths.data, p.ref))) throw new Error('in use')
    })
  }
}

/** Run the check; with `repair`, fix what can be fixed and say what could not. */
export async function checkStore(engine: Engine, options: CheckOptions): Promise<CheckReport> {
  const report = await scan(engine, options)
  if (options.repair) await repair(engine, report, options)
  return report
}
