/**
 * New layers made by a build: a work area under `snapshots/.tmp-…` (an upper directory and
 * overlay's work directory), turned into a layer by the runtime (`build-layer`: mount-point
 * stubs pruned, the upper directory written as an OCI layer tar), whose bytes go into the
 * content store; the upper directory itself then becomes the layer's snapshot (it is the
 * same tree the tar describes), so nothing is unpacked twice. A killed build leaves only a
 * `.tmp-…-<pid>b` directory, which the next build, garbage collection and `system check
 * --repair` remove (snapshot/store.ts LAYER_WORK).
 */
import {randomBytes} from 'node:crypto'
import {existsSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Readable} from 'node:stream'

import {runtimeStreaming} from '../container/files.js'
import {topmostFirst} from '../container/rootfs.js'
import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {LayerRecord, MediaType} from '../image/types.js'
import {joinArgs} from '../rootless/session.js'
import {makeDirWithMode, withLock} from '../store/files.js'
import {layout} from '../store/paths.js'
import {shortLayerPath} from '../snapshot/links.js'

export interface LayerWork {
  /** `snapshots/.tmp-<hex16>-<pid>b`: becomes `snapshots/<diff-id hex>`. */
  dir: string
  upper: string
  work: string
}

export function newLayerWork(engine: Engine): LayerWork {
  // The pid tells a killed build's (LAYER_WORK); GC never sees a live one (this build holds the GC lock shared).
  const dir = join(layout.snapshots(engine.paths), `.tmp-${randomBytes(8).toString('hex')}-${process.pid}b`)
  const upper = join(dir, 'fs')
  const work = join(dir, 'work')
  makeDirWithMode(dir, 0o700)
  // The upper directory's root is the merged root a RUN sees: 0755 whatever ncx's umask.
  makeDirWithMode(upper, 0o755)
  makeDirWithMode(work, 0o700)
  return {dir, upper, work}
}

export function discardLayerWork(engine: Engine, work: LayerWork): void {
  if (existsSync(work.dir)) engine.snapshots.removeTree([work.dir])
}

/** Overlay lower directories for `layers` (bottom first), topmost first, as short links. */
export function lowerDirs(engine: Engine, layers: readonly LayerRecord[]): string[] {
  return topmostFirst(layers.map((l) => shortLayerPath(engine, l.diffId)))
}

export function xattrPrefix(engine: Engine): string {
  return engine.session().rootless ? 'user.' : 'trusted.'
}

/** The overlay mount data for writing into `work` on top of `lowers`. */
export function overlayMountData(engine: Engine, lowers: string[], work: LayerWork, emptyDir: string): string {
  const lower = lowers.length > 0 ? lowers.join(':') : emptyDir
  const data = `lowerdir=${lower},upperdir=${work.upper},workdir=${work.work}`
  if (data.length > 4000) {
    throw new NcxError(`the image has too many layers (${lowers.length}) for one overlay mount`, {hint: 'merge RUN instructions (RUN a && b) to make fewer layers'})
  }
  return engine.session().rootless ? `${data},userxattr` : data
}

/** A read-only overlay of `lowers` (at least one). */
export function readOnlyOverlayData(engine: Engine, lowers: string[], emptyDir: string): string {
  // overlayfs wants two lower layers when there is no upper one.
  const list = lowers.length >= 2 ? lowers : [...lowers, emptyDir, emptyDir].slice(0, 2)
  const data = `lowerdir=${list.join(':')}`
  return engine.session().rootless ? `${data},userxattr` : data
}

/**
 * Turn the work area into a layer: stubs pruned, the tar streamed into the content store
 * (uncompressed: its digest is the diff-id), then the upper directory renamed to the
 * layer's snapshot. The caller holds the GC lock shared (`engine.adding`).
 */
export async function commitLayer(engine: Engine, work: LayerWork, o: {stubs: string[]; lowers: string[]}): Promise<LayerRecord> {
  const session = engine.session()
  const args = ['build-layer', ...joinArgs(session), '--upper', work.upper, '--work', work.work, '--xattr-prefix', xattrPrefix(engine)]
  if (o.stubs.length > 0) args.push('--stubs', o.stubs.join(','), ...o.lowers)
  let blob: {digest: string; size: number} | undefined
  try {
    await runtimeStreaming(args, async (out) => {
      blob = await engine.content.ingest(out as unknown as Readable, undefined, 'build layer')
    })
  } catch (error) {
    discardLayerWork(engine, work)
    throw error
  }
  if (!blob) throw new NcxError('the layer was not written')
  const {digest, size} = blob
  const hex = digest.slice(7)
  withLock(layout.lock(engine.paths, `snapshot-${hex.slice(0, 16)}`), () => {
    if (engine.snapshots.has(digest)) {
      // The same layer already exists (an identical step of a parallel build).
      discardLayerWork(engine, work)
      return
    }
    writeFileSync(join(work.dir, 'size'), String(size))
    renameSync(work.dir, layout.snapshot(engine.paths, digest))
  })
  return {digest, diffId: digest, size, mediaType: MediaType.ociLayer}
}
