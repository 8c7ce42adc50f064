import {containerState} from '../container/state.js'
import {Engine} from '../engine.js'
import {buildCacheReferences} from '../build/cache.js'
import {pruneLayerLinks} from '../snapshot/links.js'
import {NoSpaceError, sizeText} from '../store/space.js'

export interface ImageRemoval {
  untagged: string[]
  /** Image IDs deleted. */
  deleted: string[]
}

/**
 * `rmi`: untag or delete, then drop what nothing references any more — manifest,
 * config and layer blobs, and unpacked layers no image or container uses. The containers
 * are looked at under the images lock, where a new container takes its image (see
 * createContainer): one that is running, or being made by a `run`, keeps the image.
 */
export function removeImages(engine: Engine, nameOrId: string, options: {force: boolean}): ImageRemoval {
  const result = engine.images.remove(nameOrId, {
    force: options.force,
    inUse: (image) => {
      const users = engine.containers.list().filter((c) => c.imageId === image.id)
      const running = users.find((c) => {
        const s = containerState(engine.containers, c).status
        return s === 'running' || s === 'restarting' || engine.containers.beingCreated(c.id)
      })
      return running ? {id: running.id, running: true} : users[0] ? {id: users[0].id, running: false} : undefined
    },
  })
  if (result.deleted.length > 0) collectGarbage(engine)
  return {untagged: result.untagged, deleted: result.deleted.map((i) => i.id)}
}

/** Partial downloads are kept this long for a pull to resume (prune and a full disk drop them sooner). */
const PARTIAL_KEEP_MS = 24 * 3600 * 1000

interface Collected {
  blobs: string[]
  snapshots: string[]
  /** Bytes of the blobs removed. */
  blobBytes: number
  /** Bytes of blobs and tmp/ files removed (snapshots are measured by their callers). */
  freed: number
}

/** The collection itself; the caller holds the GC lock exclusive. */
function collect(engine: Engine, partialAgeMs: number): Collected {
  const images = engine.images.list()
  const keepBlobs = new Set<string>()
  for (const image of images) {
    keepBlobs.add(image.id)
    keepBlobs.add(image.manifestDigest)
    for (const l of image.layers) keepBlobs.add(l.digest)
  }
  // The build cache's records keep their layers (a cached step is reused, not rebuilt).
  for (const d of buildCacheReferences(engine).blobs) keepBlobs.add(d)
  const blobs = engine.content.list().filter((d) => !keepBlobs.has(d))
  let blobBytes = 0
  for (const d of blobs) {
    blobBytes += engine.content.size(d)
    engine.content.remove(d)
  }
  const snapshots = engine.snapshots.prune(engine.usedLayers())
  pruneLayerLinks(engine)
  const freed = blobBytes + engine.content.pruneTemporary(partialAgeMs)
  return {blobs, snapshots, blobBytes, freed}
}

/**
 * Remove blobs and snapshots nothing references, and what killed commands left in tmp/.
 * Partial downloads are kept `partialAgeMs` (a day by default; prune: 0) for a pull to resume.
 */
export function collectGarbage(engine: Engine, options: {partialAgeMs?: number; wait?: boolean} = {}): Collected {
  const run = () => collect(engine, options.partialAgeMs ?? PARTIAL_KEEP_MS)
  // Without `wait`: nothing when a pull, load or commit is writing now (the next collection does it).
  if (options.wait === false) return engine.tryCollecting(run)?.value ?? {blobs: [], snapshots: [], blobBytes: 0, freed: 0}
  return engine.collecting(run)
}

/**
 * A pull, load or import failed on a full disk: give back what nothing uses before the error
 * reaches the user, or the next (even smaller) one fails too. Partial downloads no pull is
 * writing go (resuming is worth nothing without room to finish), and, when no other command is
 * adding content, whatever the failed one stored that no image references. Returns the error
 * to throw, its hint saying what was freed.
 */
export function reclaimAfterNoSpace(engine: Engine, error: unknown): unknown {
  let freed = 0
  try {
    freed += engine.content.dropPartials()
    freed += engine.tryCollecting(() => collect(engine, 0))?.value.freed ?? 0
  } catch {
    // best effort: the full disk is the error to report
  }
  if (freed === 0 || !(error instanceof NoSpaceError)) return error
  return new NoSpaceError(error.path, error.message, `ncx removed ${sizeText(freed)} there that nothing used (partial downloads, blobs and layers of no image); ${error.hint}`, error.cause)
}
