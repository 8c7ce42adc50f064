import {accessSync, constants, existsSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {loadNative} from '../../native/index.js'

/** What the host offers for resource limits. */
export interface CgroupInfo {
  /** `v2` (unified), `hybrid` (v1 controllers + a v2 mount without them), `v1`, or `none`. */
  version: 'v2' | 'hybrid' | 'v1' | 'none'
  /** Our own cgroup (v2 path) and the controllers enabled there. */
  path?: string
  controllers: string[]
  /** Controllers this user may use: the cgroup is owned by the user (or we are root). */
  delegated: string[]
  /** The topmost cgroup of the user's delegated subtree containing ours (v2 path). */
  delegationRoot?: string
  /** Why limits cannot be enforced, and the fix; undefined when they can. */
  limitation?: string
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** Owned by `uid` with writable cgroup.procs and cgroup.subtree_control (root owns everything). */
function delegatedTo(path: string, uid: number): boolean {
  const dir = join('/sys/fs/cgroup', path)
  try {
    if (uid !== 0 && statSync(dir).uid !== uid) return false
    for (const f of ['cgroup.procs', 'cgroup.subtree_control']) accessSync(join(dir, f), constants.W_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The topmost cgroup of the contiguous run of delegated ancestors of `own` (the subtree a
 * systemd `Delegate=` unit or root handed to this user), or undefined when `own` is not
 * delegated. As root: our own cgroup's parent chain up to (not including) the root.
 */
export function delegationRoot(own: string, uid: number): string | undefined {
  const parts = own.split('/').filter(Boolean)
  let root: string | undefined
  for (let i = parts.length; i >= 1; i--) {
    const p = '/' + parts.slice(0, i).join('/')
    if (!delegatedTo(p, uid)) break
    root = p
  }
  if (uid === 0 && root === undefined) return '/'
  return root
}

export function detectCgroups(uid = process.getuid?.() ?? 0): CgroupInfo {
  const native = loadNative()
  let type: string
  try {
    type = native.fsType('/sys/fs/cgroup')
  } catch {
    return {version: 'none', controllers: [], delegated: [], limitation: 'no cgroup file system at /sys/fs/cgroup'}
  }
  if (type === 'cgroup2') {
    const own = /^0::(.*)$/m.exec(read('/proc/self/cgroup') ?? '')?.[1] ?? '/'
    const controllers = (read(join('/sys/fs/cgroup', own, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter(Boolean)
    const root = delegationRoot(own, uid)
    if (!root) {
      return {
        version: 'v2',
        path: own,
        controllers,
        delegated: [],
        limitation: `cgroup ${own} is not delegated to this user; run ncx in a delegated cgroup: systemd-run --user --scope -p Delegate=yes ncx … (with a drop-in /etc/systemd/system/user@.service.d/delegate.conf: [Service] Delegate=cpu cpuset io memory pids), or have root chown a cgroup subtree to you`,
      }
    }
    const delegated = (read(join('/sys/fs/cgroup', root, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter(Boolean)
    return {
      version: 'v2',
      path: own,
      controllers,
      delegated,
      delegationRoot: root,
      limitation: delegated.length === 0 ? `the delegated cgroup ${root} has no controllers; its parent must enable them (cgroup.subtree_control), e.g. Delegate=cpu cpuset io memory pids in a systemd drop-in` : undefined,
    }
  }
  const hybrid = existsSync('/sys/fs/cgroup/unified') && (() => {
    try {
      return native.fsType('/sys/fs/cgroup/unified') === 'cgroup2'
    } catch {
      return false
    }
  })()
  return {
    version: hybrid ? 'hybrid' : 'v1',
    controllers: [],
    delegated: [],
    limitation: `this host has the cgroup ${hybrid ? 'v1/v2 hybrid' : 'v1'} layout (controllers on v1), and rootless limits need cgroup v2 with delegation: boot with systemd.unified_cgroup_hierarchy=1 and add a drop-in /etc/systemd/system/user@.service.d/delegate.conf with [Service] Delegate=cpu cpuset io memory pids`,
  }
}
