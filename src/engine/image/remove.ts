import {Engine} from '../engine.js'
import {buildCacheReferences} from '../build/cache.js'
import {pruneLayerLinks} from '../snapshot/links.js'

export interface ImageRemoval {
  untagged: string[]
  /** Image IDs deleted. */
  deleted: string[]
}

/**
 * `rmi`: untag or delete, then drop what nothing references any more — manifest,
 * config and layer blobs, and unpacked layers no image or container uses.
 */
export function removeImages(engine: Engine, nameOrId: string, options: {force: boolean}): ImageRemoval {
  const containers = engine.containers.list()
  const result = engine.images.remove(nameOrId, {
    force: options.force,
    inUse: (image) => containers.find((c) => c.imageId === image.id)?.id,
  })
  if (result.deleted.length > 0) collectGarbage(engine)
  return {untagged: result.untagged, deleted: result.deleted.map((i) => i.id)}
}

/**
 * Remove blobs and snapshots nothing references, and what killed commands left in tmp/.
 * Partial downloads are kept a day for a pull to resume.
 */
export function collectGarbage(engine: Engine): {blobs: string[]; snapshots: string[]} {
  return engine.collecting(() => {
    const images = engine.images.list()
    const keepBlobs = new Set<string>()
    for (const image of images) {
      keepBlobs.add(image.id)
      keepBlobs.add(image.manifestDigest)
      for (const l of image.layers) keepBlobs.add(l.digest)
    }
    for (const d of buildCacheReferences(engine).blobs) keepBlobs.add(d)
    const blobs = engine.content.list().filter((d) => !keepBlobs.has(d))
    for (const d of blobs) engine.content.remove(d)
    const snapshots = engine.snapshots.prune(engine.usedLayers())
    pruneLayerLinks(engine)
    engine.content.pruneTemporary(24 * 3600 * 1000)
    return {blobs, snapshots}
  })
}
