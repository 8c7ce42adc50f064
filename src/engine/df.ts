/**
 * `system df`: what the store holds and what could be reclaimed, with Docker's accounting:
 * image sizes count each unpacked layer once (shared layers are not double-counted);
 * an image is active when a container uses it; a container's size is its writable layer;
 * a volume is active while a container's record mounts it; the build cache is its records'
 * layers no image uses, plus RUN cache mounts (src/engine/build/prune.ts).
 * Partial downloads kept for resuming a pull count in the Images row, as reclaimable: no
 * image uses them, and image prune removes them.
 */
import {lstatSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import {Engine} from './engine.js'
import {ContainerState, containerState} from './container/state.js'
import {BuildCacheUsage, buildCacheUsage} from './build/prune.js'

/** Bytes in a tree (a writable layer, a volume); unreadable parts count as nothing. */
export function treeSize(dir: string): number {
  let total = 0
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return 0
  }
  for (const name of entries) {
    try {
      const st = lstatSync(join(dir, name))
      total += st.isDirectory() ? treeSize(join(dir, name)) : st.size
    } catch {
      // vanished
    }
  }
  return total
}

export interface ImageUsage {
  id: string
  names: string[]
  created?: string
  /** All its layers. */
  size: number
  /** Layers another image also has. */
  sharedSize: number
  uniqueSize: number
  containers: number
  /** Its layers' diff-ids. */
  layers: string[]
}

export interface ContainerUsage {
  id: string
  name: string
  image: string
  command: string
  created: string
  state: ContainerState
  running: boolean
  /** The writable layer. */
  size: number
}

export interface VolumeUsage {
  name: string
  links: number
  size: number
}

export interface DiskUsage {
  images: ImageUsage[]
  containers: ContainerUsage[]
  volumes: VolumeUsage[]
  /** Sum over distinct layers. */
  layersSize: number
  /** diff-id → unpacked size. */
  layerSizes: Map<string, number>
  buildCache?: BuildCacheUsage
  /** Interrupted downloads kept in tmp/ to resume (blob digest and bytes so far). */
  partials: Array<{digest: string; size: number}>
}

/** One row of the summary table (Docker's `system df` without -v). */
export interface UsageSummary {
  Type: 'Images' | 'Containers' | 'Local Volumes' | 'Build Cache'
  TotalCount: number
  Active: number
  Size: number
  Reclaimable: number
}

interface MountRef {
  Type?: string
  Name?: string
}

export function diskUsage(engine: Engine): DiskUsage {
  const images = engine.images.list()
  const containers = engine.containers.list()
  const layerSize = (diffId: string, fallback: number) => engine.snapshots.size(diffId) ?? fallback
  const holders = new Map<string, number>()
  for (const i of images) for (const l of new Set(i.layers.map((x) => x.diffId))) holders.set(l, (holders.get(l) ?? 0) + 1)
  const layerSizes = new Map<string, number>()
  for (const i of images) for (const l of i.layers) if (!layerSizes.has(l.diffId)) layerSizes.set(l.diffId, layerSize(l.diffId, l.size))
  const imageUsage: ImageUsage[] = images.map((i) => {
    const ids = [...new Set(i.layers.map((l) => l.diffId))]
    const size = ids.reduce((a, d) => a + (layerSizes.get(d) ?? 0), 0)
    const shared = ids.filter((d) => (holders.get(d) ?? 0) > 1).reduce((a, d) => a + (layerSizes.get(d) ?? 0), 0)
    return {id: i.id, names: i.names, created: i.created, size, sharedSize: shared, uniqueSize: size - shared, containers: containers.filter((c) => c.imageId === i.id).length, layers: ids}
  })
  const containerUsage: ContainerUsage[] = containers.map((c) => {
    const s = containerState(engine.containers, c)
    const argv = [...(c.config?.entrypoint ?? []), ...(c.config?.cmd ?? c.args)]
    return {
      id: c.id,
      name: c.name,
      image: c.image,
      command: argv.join(' '),
      created: c.created,
      state: s,
      running: s.status === 'running' || s.status === 'restarting',
      size: treeSize(join(engine.containers.dir(c.id), 'upper')),
    }
  })
  // Volumes are measured by the volume store inside the user namespace, where files of every owner are readable.
  const volumeUsage = engine.volumes.listWithSizes().map((v) => ({name: v.name, links: v.links, size: v.size}))
  const partials = engine.content.partials().map((p) => ({digest: p.digest, size: p.size}))
  return {images: imageUsage, containers: containerUsage, volumes: volumeUsage, layersSize: [...layerSizes.values()].reduce((a, b) => a + b, 0), layerSizes, partials, buildCache: buildCacheUsage(engine)}
}

/** The four rows of `system df`. */
export function summarize(u: DiskUsage): UsageSummary[] {
  // Reclaimable image space: the layers no active image has (a shared layer of an active image stays).
  const active = u.images.filter((i) => i.containers > 0)
  const kept = new Set(active.flatMap((i) => i.layers))
  const partial = u.partials.reduce((a, p) => a + p.size, 0)
  const imagesReclaimable = [...u.layerSizes].filter(([d]) => !kept.has(d)).reduce((a, [, n]) => a + n, 0) + partial
  return [
    {Type: 'Images', TotalCount: u.images.length, Active: active.length, Size: u.layersSize + partial, Reclaimable: imagesReclaimable},
    {
      Type: 'Containers',
      TotalCount: u.containers.length,
      Active: u.containers.filter((c) => c.running).length,
      Size: u.containers.reduce((a, c) => a + c.size, 0),
      Reclaimable: u.containers.filter((c) => !c.running).reduce((a, c) => a + c.size, 0),
    },
    {
      Type: 'Local Volumes',
      TotalCount: u.volumes.length,
      Active: u.volumes.filter((v) => v.links > 0).length,
      Size: u.volumes.reduce((a, v) => a + v.size, 0),
      Reclaimable: u.volumes.filter((v) => v.links === 0).reduce((a, v) => a + v.size, 0),
    },
    {Type: 'Build Cache', TotalCount: (u.buildCache?.records ?? 0) + (u.buildCache?.mounts ?? 0), Active: 0, Size: (u.buildCache?.size ?? 0) + (u.buildCache?.shared ?? 0), Reclaimable: u.buildCache?.size ?? 0},
  ]
}
