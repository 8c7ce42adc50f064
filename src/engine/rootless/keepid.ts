/**
 * `--userns keep-id` (podman's): the user's own uid/gid are the same ids inside, and the
 * process runs as them, so files it writes in a bind mount are the user's on the host.
 *
 * The container gets a user namespace of its own, nested in the held one (mappings in the
 * held namespace's ids, written by the runtime, which is root there): container ids
 * 0..uid-1 → held 1..uid (subordinate ids), uid → held 0 (the user), uid+1.. → held uid+1..
 * Image layers belong to the held namespace's ids; seen through the new mapping they would
 * shift by one (the image's root files would look like the user's). Overlayfs cannot be
 * id-mapped, and rootless cannot id-map the host file system the layers are on, so (like
 * podman without idmapped mounts) the container gets copies of its layers with owners
 * translated, made once per layer and user. Volumes and binds are not translated: the
 * user's own files show as the user's uid; a volume keeps the ids of the containers that
 * wrote it (a volume populated by a keep-id container reads right in keep-id containers).
 */
import {randomBytes} from 'node:crypto'
import {existsSync, renameSync} from 'node:fs'
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {UsageError} from '../errors.js'
import {runtimeSync} from '../runtime.js'
import {OciSpec} from '../spec/oci.js'
import {withLock} from '../store/files.js'
import {layout} from '../store/paths.js'
import {UsernsSession, joinArgs} from './session.js'

export interface IdMapping {
  containerID: number
  hostID: number
  size: number
}

/** keep-id mappings for `id` in a held namespace of `size` ids (0 = the user). */
export function keepIdMappings(id: number, size: number): IdMapping[] {
  const below = Math.min(id, size - 1)
  const maps: IdMapping[] = []
  if (below > 0) maps.push({containerID: 0, hostID: 1, size: below})
  maps.push({containerID: id, hostID: 0, size: 1})
  if (id + 1 < size) maps.push({containerID: id + 1, hostID: id + 1, size: size - id - 1})
  return maps
}

function mappedSize(ranges: UsernsSession['uidMap']): number {
  return ranges.reduce((n, r) => Math.max(n, r.container + r.size), 0)
}

/** The user's ids: what keep-id runs the container's process as. */
export function keepIdUser(): {uid: number; gid: number} {
  return {uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0}
}

/** Check that keep-id can work here (rootless, overlay storage). */
export function checkKeepId(session: UsernsSession, driver: string): void {
  if (!session.rootless) throw new UsageError('--userns keep-id is only supported in rootless mode', 'run ncx as an ordinary user, or leave --userns out')
  if (driver !== 'overlay') {
    throw new UsageError(`--userns keep-id needs the overlay storage driver (the image's files are shown through an id-mapped mount); this store uses ${driver}`, 'leave --userns out')
  }
}

/**
 * podman's /etc/passwd entry for the keep-id user, when the image has none for that uid:
 * the image's file plus one line, bind-mounted from the bundle (the image stays as it is).
 */
export function keepIdPasswd(imagePasswd: string | undefined, name: string, {uid, gid} = keepIdUser()): string | undefined {
  const text = imagePasswd ?? ''
  if (text.split('\n').some((l) => l.split(':')[2] === String(uid))) return undefined
  const user = /^[a-z_][a-z0-9_.-]*$/i.test(name) && !text.split('\n').some((l) => l.split(':')[0] === name) ? name : `user${uid}`
  return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${user}:*:${uid}:${gid}:${user}:/:/bin/sh\n`
}

/** Give the spec its own user namespace with the keep-id mappings. */
export function applyKeepId(spec: OciSpec, session: UsernsSession): void {
  const {uid, gid} = keepIdUser()
  spec.linux.namespaces.push({type: 'user'})
  spec.linux.uidMappings = keepIdMappings(uid, mappedSize(session.uidMap))
  spec.linux.gidMappings = keepIdMappings(gid, mappedSize(session.gidMap))
}

/**
 * The container's layers as its keep-id namespace must see them: each unpacked layer
 * copied once per user with every owner translated through the keep-id mapping
 * (`snapshots/<diff-id>/keepid-UID-GID`, next to `fs`, so it goes with the layer).
 * Topmost first (overlay's lowerdir order).
 */
export function keepIdLowerDirs(engine: Engine, diffIds: string[]): string[] {
  const session = engine.session()
  const {uid, gid} = keepIdUser()
  const umap = keepIdMappings(uid, mappedSize(session.uidMap))
  const gmap = keepIdMappings(gid, mappedSize(session.gidMap))
  const text = (maps: IdMapping[]) => maps.map((m) => `${m.containerID}:${m.hostID}:${m.size}`).join(',')
  return diffIds
    .map((diffId) => {
      const base = layout.snapshot(engine.paths, diffId)
      const dir = join(base, `keepid-${uid}-${gid}`)
      if (existsSync(dir)) return dir
      const hex = diffId.replace(/^sha256:/, '')
      withLock(layout.lock(engine.paths, `snapshot-${hex.slice(0, 16)}`), () => {
        if (existsSync(dir)) return
        const tmp = join(base, `.tmp-keepid-${randomBytes(6).toString('hex')}`)
        try {
          runtimeSync(['shift-layer', ...joinArgs(session), '--src', engine.snapshots.dir(diffId), '--dest', tmp, '--uid-map', text(umap), '--gid-map', text(gmap), '--xattr-prefix', 'user.'])
          renameSync(tmp, dir)
        } catch (error) {
          engine.snapshots.removeTree([tmp])
          throw error
        }
      })
      return dir
    })
    .reverse()
    .filter((d, i, all) => all.indexOf(d) === i)
}
