/**
 * A container's root filesystem: an overlay of the image's unpacked layers (the snapshot
 * driver's short links) under the container's own upper directory, or, with the copy driver,
 * the layers materialized into rootfs/ once.
 */
import {readdirSync} from 'node:fs'
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {joinArgs} from '../rootless/session.js'
import {keepIdLowerDirs} from '../rootless/keepid.js'
import {runtimeSync} from '../runtime.js'
import {shortLayerPath} from '../snapshot/links.js'
import {ContainerRecord} from './store.js'

/** The unpacked image layers of a container, topmost first (overlay's lowerdir order). */
export function containerLowerDirs(engine: Engine, container: ContainerRecord): string[] {
  if (container.options.userns === 'keep-id') return keepIdLowerDirs(engine, container.layers)
  return topmostFirst(container.layers.map((d) => shortLayerPath(engine, d)))
}

/**
 * Layer directories (bottom first) as overlay's lowerdir list, topmost first, by their short
 * links (snapshot/links.ts: images of more than ~35 layers fit overlay's mount data). A layer that
 * appears twice (two steps that changed nothing give the same empty layer) is listed once,
 * at its topmost place: overlayfs refuses a directory twice (ELOOP), and the upper copy
 * of a layer overrides everything the lower one did.
 */
export function topmostFirst(dirs: readonly string[]): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (let i = dirs.length - 1; i >= 0; i--) {
    if (seen.has(dirs[i])) continue
    seen.add(dirs[i])
    out.push(dirs[i])
  }
  return out
}

/**
 * Runtime arguments that give the container its root filesystem: an overlay the runtime
 * mounts in the container's mount namespace, or (copy driver) layers copied into rootfs/
 * once, before the first start.
 */
export function rootfsArgs(engine: Engine, container: ContainerRecord, lowerDirs = containerLowerDirs(engine, container)): string[] {
  if (container.options.userns === 'keep-id') lowerDirs = keepIdLowerDirs(engine, container.layers)
  const session = engine.session()
  const dir = engine.containers.dir(container.id)
  if (engine.storageDriver().name === 'overlay') return ['--rootfs-mount', `overlay:${overlayData(lowerDirs, dir, session.rootless)}`]
  const rootfs = join(dir, 'rootfs')
  if (readdirSync(rootfs).length === 0) {
    const xattr = session.rootless ? 'user.' : 'trusted.'
    runtimeSync(['materialize', ...joinArgs(session), '--dest', rootfs, '--xattr-prefix', xattr, ...[...lowerDirs].reverse()])
  }
  return []
}

/** The overlay mount data for a container's rootfs. */
export function overlayData(lowerDirs: string[], dir: string, rootless: boolean): string {
  const data = `lowerdir=${lowerDirs.join(':')},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`
  return rootless ? `${data},userxattr` : data
}
