/** `diff`: the changes in a container's writable layer, as `docker diff` lists them. */
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {joinArgs} from '../rootless/session.js'
import {runtimeSync} from '../runtime.js'
import {INIT_PATHS, requireOverlay} from './files.js'
import {containerLowerDirs} from './rootfs.js'
import {ContainerRecord} from './store.js'

export type ChangeKind = 'A' | 'C' | 'D'

export interface Change {
  kind: ChangeKind
  path: string
}

/** What the runtime reports: kind, absolute path, directory or not. */
export interface RawChange {
  k: ChangeKind
  p: string
  d: boolean
}

/**
 * Leave out what Docker keeps in its init layer (mount points the runtime created: /etc/hosts,
 * /proc…), and directories listed only because of those; sorted by path.
 */
export function visibleChanges(raw: RawChange[]): Change[] {
  const init = new Set(INIT_PATHS)
  const dropped = (c: RawChange) => c.k === 'A' && init.has(c.p)
  const kept = raw.filter((c) => !dropped(c))
  const result = kept.filter((c) => {
    if (!c.d) return true
    const inside = raw.filter((x) => x.p.startsWith(`${c.p}/`))
    if (inside.length === 0) return !(c.k === 'A' && init.has(c.p))
    // A directory whose every change was an init-layer mount point is not a change itself.
    return inside.some((x) => !dropped(x) && !(x.d && init.has(x.p)))
  })
  return result.map((c) => ({kind: c.k, path: c.p})).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

export function containerChanges(engine: Engine, record: ContainerRecord): Change[] {
  requireOverlay(engine, 'diff')
  const session = engine.session()
  const dir = engine.containers.dir(record.id)
  const args = ['layer-diff', ...joinArgs(session), '--upper', join(dir, 'upper'), '--xattr-prefix', session.rootless ? 'user.' : 'trusted.', ...containerLowerDirs(engine, record)]
  return visibleChanges(JSON.parse(runtimeSync(args)) as RawChange[])
}
