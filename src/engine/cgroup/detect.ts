import {existsSync, readFileSync, statSync} from 'node:fs'
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
    const dir = join('/sys/fs/cgroup', own)
    const controllers = (read(join(dir, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter(Boolean)
    let owned = uid === 0
    try {
      owned ||= statSync(dir).uid === uid
    } catch {
      owned = false
    }
    return {
      version: 'v2',
      path: own,
      controllers,
      delegated: owned ? controllers : [],
      limitation: owned ? undefined : `cgroup ${own} is not delegated to this user; run ncx from a systemd user session (systemd-run --user --scope) or ask root to chown a subtree to you`,
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
    limitation: `cgroup ${hybrid ? 'hybrid' : 'v1'} hierarchy: resource limits cannot be enforced rootless; boot with systemd.unified_cgroup_hierarchy=1 for cgroup v2`,
  }
}
