/** The engine side of a container's mounts: resolution at create time, copy-up, removal. */
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {joinArgs} from '../rootless/session.js'
import {runtimeSync} from '../runtime.js'
import {ContainerRecord} from '../container/store.js'
import {rootfsArgs} from '../container/rootfs.js'
import {ContainerMount, resolveMounts} from './attach.js'
import {parseVolumesFrom} from './spec.js'

/**
 * Resolve a new container's mounts (creating the volumes it names or needs) and record
 * them, under the volumes lock: a concurrent `volume rm` sees the container as a user.
 */
export function containerMounts(engine: Engine, container: ContainerRecord, imageVolumes: string[]): ContainerMount[] {
  const o = container.options
  if ((o.mounts ?? []).length === 0 && (o.volumesFrom ?? []).length === 0 && imageVolumes.length === 0) return []
  const volumesFrom = (o.volumesFrom ?? []).map((text) => {
    const {container: name, mode} = parseVolumesFrom(text)
    const source = engine.containers.resolve(name)
    return {container: source.id, mounts: source.mounts ?? [], mode}
  })
  return engine.volumes.locked(() => {
    const mounts = resolveMounts({volumes: engine.volumes, containerId: container.id, autoRemove: o.rm, imageVolumes, volumesFrom}, o.mounts ?? [])
    if (mounts.length > 0) engine.containers.update(container.id, (r) => (r.mounts = mounts))
    return mounts
  })
}

/**
 * Docker's copy-up: a new (empty) volume gets what the image has at its mount point,
 * owners, modes and all — copied inside the user namespace by the runtime, through
 * directory file descriptors (a symlink in the image never leads the copy out).
 */
export function copyUpVolumes(engine: Engine, container: ContainerRecord, lowerDirs: string[]): void {
  const pending = (container.mounts ?? []).filter((m) => m.CopyUp)
  if (pending.length === 0) return
  const rootfs = join(engine.containers.dir(container.id), 'rootfs')
  const args = rootfsArgs(engine, container, lowerDirs)
  const root = args.length === 2 && args[0] === '--rootfs-mount' ? args[1] : `dir:${rootfs}`
  const session = engine.session()
  runtimeSync([
    'copy-up',
    ...joinArgs(session),
    '--root',
    root,
    '--mountpoint',
    rootfs,
    '--xattr-prefix',
    session.rootless ? 'user.' : 'trusted.',
    ...pending.flatMap((m) => [`${m.Destination}=${m.Source}`]),
  ])
  engine.containers.update(container.id, (r) => {
    for (const m of r.mounts ?? []) delete m.CopyUp
  })
  for (const m of container.mounts ?? []) delete m.CopyUp
}
