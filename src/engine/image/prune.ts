import {Engine} from '../engine.js'
import {familiarName, parseReference} from './reference.js'
import {collectGarbage} from './remove.js'
import {ImageRecord} from './types.js'

/** One pruned image, in the order Docker reports it: its names untagged, then its ID deleted. */
export interface PrunedImage {
  untagged: string[]
  deleted: string
}

export interface PruneReport {
  images: PrunedImage[]
  /** Uncompressed size of the unpacked layers that nothing uses any more, and of the partial downloads removed. */
  spaceReclaimed: number
}

/**
 * `image prune`: remove dangling images (no name), or with `all` every image no container
 * uses, then collect the blobs and unpacked layers nothing references, and the partial
 * downloads kept for resuming (nothing references those either). Images are chosen and
 * removed under the images lock, with the containers listed under it too, so an image
 * tagged, or taken by a new container (see createContainer), meanwhile is not taken.
 */
export function pruneImages(engine: Engine, options: {all: boolean; match?: (image: ImageRecord) => boolean}): PruneReport {
  const removed = engine.images.update((images) => {
    const used = new Set(engine.containers.list().map((c) => c.imageId))
    const doomed = images.filter((i) => !used.has(i.id) && (options.all || i.names.length === 0) && (options.match?.(i) ?? true))
    for (const image of doomed) images.splice(images.indexOf(image), 1)
    return doomed
  })
  // Nothing to untag: still reclaim what failed loads and commands left unreferenced, and the
  // partial downloads kept for resuming.
  if (removed.length === 0) return {images: [], spaceReclaimed: collectGarbage(engine, {partialAgeMs: 0}).freed}
  const stillUsed = engine.usedLayers()
  const freed = new Map<string, number>()
  for (const image of removed) {
    for (const l of image.layers) {
      if (!stillUsed.has(l.diffId) && !freed.has(l.diffId)) freed.set(l.diffId, engine.snapshots.size(l.diffId) ?? l.size)
    }
  }
  const partials = engine.content.partials().reduce((a, p) => a + p.size, 0)
  collectGarbage(engine, {partialAgeMs: 0})
  return {
    images: removed.map((i) => ({untagged: i.names.map((n) => familiarName(parseReference(n))), deleted: i.id})),
    spaceReclaimed: [...freed.values()].reduce((a, b) => a + b, 0) + partials,
  }
}
