/**
 * Which cgroup a container gets (`linux.cgroupsPath` in its spec) and what happens when limits
 * cannot be enforced here: the container still runs and the user gets one warning line naming
 * the limits, why, and the fix — or, with NCX_CGROUP_ENFORCE=1, an error.
 */
import {NcxError, UsageError} from '../errors.js'
import {CgroupInfo, detectCgroups} from './detect.js'
import {ResourceOptions, neededControllers, requestedLimits} from './resources.js'

export type CgroupManager = 'cgroupfs' | 'none'

export interface CgroupOptions {
  /** `--cgroup-manager` (default cgroupfs; `none`: no cgroup, no warning). */
  manager?: CgroupManager
  /** `--cgroup-parent`: absolute (from the cgroup2 root) or relative to the delegated subtree. */
  parent?: string
  /** `--cgroupns private|host`. */
  namespace?: 'private' | 'host'
}

export interface CgroupPlan {
  /** The container's cgroup, relative to /sys/fs/cgroup; undefined: none. */
  path?: string
  /** One line for the user when limits were asked for and cannot be applied. */
  warning?: string
}

export function parseCgroupManager(value: string | undefined): CgroupManager | undefined {
  if (value === undefined) return undefined
  if (value === 'cgroupfs' || value === 'none') return value
  if (value === 'systemd') throw new UsageError('--cgroup-manager systemd is not supported: ncx manages the delegated cgroup subtree directly', 'use --cgroup-manager cgroupfs (the default) inside a delegated cgroup, or none')
  throw new UsageError(`invalid --cgroup-manager ${JSON.stringify(value)}`, 'use cgroupfs or none')
}

/** True when NCX_CGROUP_ENFORCE asks for limits to be enforced or refused. */
export function enforceLimits(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NCX_CGROUP_ENFORCE === '1' || env.NCX_CGROUP_ENFORCE === 'true'
}

/** Decide the container's cgroup. `info` is injectable for tests. */
export function planCgroup(id: string, resources: ResourceOptions | undefined, options: CgroupOptions = {}, info: CgroupInfo = detectCgroups(), env: NodeJS.ProcessEnv = process.env): CgroupPlan {
  if (options.manager === 'none') return {}
  const limits = requestedLimits(resources)
  const needed = neededControllers(resources)
  let why: string | undefined
  if (info.version !== 'v2' || !info.delegationRoot) why = info.limitation ?? 'no delegated cgroup v2 subtree'
  else {
    const missing = needed.filter((c) => !info.delegated.includes(c))
    if (missing.length > 0) why = `controller${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not delegated to this user (delegated: ${info.delegated.join(' ') || 'none'}); add them to Delegate= in a systemd drop-in for user@.service`
  }
  if (why !== undefined) {
    if (limits.length === 0) return {}
    const text = `resource limits not applied (${limits.join(', ')}): ${why}; --cgroup-manager none silences this, NCX_CGROUP_ENFORCE=1 makes it an error`
    if (enforceLimits(env)) throw new NcxError(`resource limits cannot be enforced (${limits.join(', ')}): ${why}`, {exitCode: 125})
    return {warning: text}
  }
  const root = info.delegationRoot!.replace(/\/+$/, '')
  let parent = `${root}/ncx`
  if (options.parent) parent = options.parent.startsWith('/') ? options.parent : `${root}/${options.parent}`
  return {path: `${parent.replace(/\/+$/, '')}/${id}`}
}
