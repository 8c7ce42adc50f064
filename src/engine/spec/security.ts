/**
 * Security options of `run`/`create` → the OCI spec: capabilities (`--cap-add/--cap-drop`,
 * `--privileged`), no_new_privs, seccomp, masked/read-only paths (`systempaths`), sysctls,
 * extra groups, devices, rlimits, oom_score_adj and `--init`.
 *
 * Rootless meaning of `--privileged`: every capability *of the user namespace* (never more than
 * the user has on the host), the host's device nodes this user can open bind-mounted in, no
 * seccomp filter, no masked or read-only /proc and /sys paths, /sys writable where the kernel
 * allows it.
 */
import {accessSync, constants, lstatSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {UsageError} from '../errors.js'
import {ALL_CAPABILITIES, DEFAULT_CAPABILITIES, OciSpec} from './oci.js'
import {DockerSeccompProfile, OciSeccomp, toOciSeccomp} from './seccomp.js'
import {DEFAULT_SECCOMP_PROFILE} from './seccomp-default.js'

export interface DeviceMapping {
  host: string
  container: string
  permissions: string
}

export interface Ulimit {
  name: string
  soft: number
  hard: number
}

/** What `run`/`create` asked for (validated by the CLI). */
export interface SecurityOptions {
  capAdd?: string[]
  capDrop?: string[]
  privileged?: boolean
  noNewPrivileges?: boolean
  /** `unconfined`, or a profile read from `seccomp=FILE` (kept in the record, as Docker does). */
  seccomp?: 'unconfined' | DockerSeccompProfile
  /** `systempaths=unconfined`: no masked or read-only paths. */
  unmaskSystemPaths?: boolean
  sysctls?: Record<string, string>
  groupAdd?: string[]
  devices?: DeviceMapping[]
  ulimits?: Ulimit[]
  oomScoreAdj?: number
  /** `--init`: a minimal init as PID 1 that reaps zombies and forwards signals. */
  init?: boolean
}

/** Where `--init`'s binary appears in the container (as Docker's /sbin/docker-init). */
export const INIT_PATH = '/sbin/ncx-init'

/** `CAP_NET_ADMIN`, `net_admin` → `CAP_NET_ADMIN`; `ALL` stays; unknown names are refused. */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase()
  if (upper === 'ALL') return 'ALL'
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`
  if (!ALL_CAPABILITIES.includes(full)) throw new UsageError(`unknown capability: ${JSON.stringify(name)}`, 'use a name from capabilities(7), with or without CAP_, or ALL')
  return full
}

/** Docker's capability arithmetic (moby `oci/caps.TweakCapabilities`). */
export function effectiveCapabilities(capAdd: readonly string[] = [], capDrop: readonly string[] = [], privileged = false): string[] {
  if (privileged) return [...ALL_CAPABILITIES]
  const add = capAdd.map(normalizeCapability)
  const drop = capDrop.map(normalizeCapability)
  let caps: string[]
  if (add.includes('ALL')) caps = ALL_CAPABILITIES.filter((c) => !drop.includes(c))
  else if (drop.includes('ALL')) caps = ALL_CAPABILITIES.filter((c) => add.includes(c))
  else {
    caps = DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c))
    for (const c of add) if (!caps.includes(c)) caps.push(c)
  }
  return caps
}

/** Namespaced sysctls a container may set (Docker's list); `net.*` not with the host's network. */
export function validateSysctl(key: string, network: string): void {
  const ipc = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']
  if (ipc.includes(key) || key.startsWith('fs.mqueue.')) return
  if (key.startsWith('net.')) {
    if (network === 'host') throw new UsageError(`sysctl ${JSON.stringify(key)} is not allowed in host network namespace`, 'drop --network host, or the sysctl')
    return
  }
  throw new UsageError(
    `sysctl ${JSON.stringify(key)} is not allowed: it is not namespaced, so it would change the host`,
    'only net.*, kernel.shm*, kernel.msg*, kernel.sem and fs.mqueue.* can be set per container',
  )
}

const ULIMITS: Record<string, string> = {
  as: 'RLIMIT_AS', core: 'RLIMIT_CORE', cpu: 'RLIMIT_CPU', data: 'RLIMIT_DATA', fsize: 'RLIMIT_FSIZE', locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK', msgqueue: 'RLIMIT_MSGQUEUE', nice: 'RLIMIT_NICE', nofile: 'RLIMIT_NOFILE', nproc: 'RLIMIT_NPROC',
  rss: 'RLIMIT_RSS', rtprio: 'RLIMIT_RTPRIO', rttime: 'RLIMIT_RTTIME', sigpending: 'RLIMIT_SIGPENDING', stack: 'RLIMIT_STACK',
}

/** `--ulimit NAME=SOFT[:HARD]` (-1: unlimited), as Docker's go-units ParseUlimit. */
export function parseUlimit(text: string): Ulimit {
  const bad = (why: string) => new UsageError(`invalid argument ${JSON.stringify(text)} for "--ulimit" flag: ${why}`)
  const eq = text.indexOf('=')
  if (eq <= 0) throw bad('invalid ulimit argument')
  const name = text.slice(0, eq)
  if (!ULIMITS[name]) throw bad(`invalid ulimit type: ${name}`)
  const parts = text.slice(eq + 1).split(':')
  if (parts.length > 2 || parts.some((p) => !/^-?\d+$/.test(p))) throw bad('invalid ulimit argument')
  const soft = Number(parts[0])
  const hard = parts.length === 2 ? Number(parts[1]) : soft
  if (soft !== -1 && hard !== -1 && soft > hard) throw bad(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`)
  return {name, soft, hard}
}

/** `--device HOST[:CONTAINER][:PERMISSIONS]`. */
export function parseDevice(text: string): DeviceMapping {
  const parts = text.split(':')
  const bad = (why: string) => new UsageError(`invalid argument ${JSON.stringify(text)} for "--device" flag: ${why}`)
  if (parts.length > 3 || parts[0] === '') throw bad('expected HOST[:CONTAINER][:PERMISSIONS]')
  let [host, container, permissions] = parts
  if (parts.length === 2 && /^[rwm]+$/.test(container)) [container, permissions] = [host, container]
  container ??= host
  permissions ??= 'rwm'
  if (!/^[rwm]+$/.test(permissions)) throw bad(`invalid device mode: ${permissions}`)
  if (!host.startsWith('/') || !container.startsWith('/')) throw bad('device paths must be absolute')
  return {host, container, permissions}
}

function isDevice(path: string): boolean {
  try {
    const st = statSync(path)
    return st.isCharacterDevice() || st.isBlockDevice()
  } catch {
    return false
  }
}

/** The host's device nodes this user can open (what rootless `--privileged` adds). */
export function accessibleHostDevices(): DeviceMapping[] {
  const skip = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/ptmx', '/dev/console', '/dev/pts', '/dev/shm', '/dev/mqueue'])
  const out: DeviceMapping[] = []
  const walk = (dir: string, depth: number) => {
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      return
    }
    for (const n of names.sort()) {
      const p = join(dir, n)
      if (skip.has(p)) continue
      let st
      try {
        st = lstatSync(p)
      } catch {
        continue
      }
      if (st.isSymbolicLink()) continue
      if (st.isDirectory() && depth < 1) walk(p, depth + 1)
      else if (st.isCharacterDevice() || st.isBlockDevice()) {
        try {
          accessSync(p, constants.R_OK | constants.W_OK)
          out.push({host: p, container: p, permissions: 'rwm'})
        } catch {
          // not this user's: the kernel would refuse it anyway
        }
      }
    }
  }
  walk('/dev', 0)
  return out
}

export interface SecurityContext {
  network: string
  /** gids for `--group-add`, already resolved in the image. */
  groupIds: number[]
  /** The host path of the init binary (for `--init`). */
  initBinary?: string
}

/** Apply the security options to a generated spec (in place). */
export function applySecurity(spec: OciSpec, sec: SecurityOptions | undefined, ctx: SecurityContext): void {
  const s = sec ?? {}
  const caps = effectiveCapabilities(s.capAdd, s.capDrop, s.privileged)
  spec.process.capabilities = {bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: []}
  if (s.noNewPrivileges) spec.process.noNewPrivileges = true
  let seccomp: OciSeccomp | undefined
  if (s.seccomp !== 'unconfined' && !s.privileged) seccomp = toOciSeccomp(s.seccomp ?? DEFAULT_SECCOMP_PROFILE, caps)
  if (seccomp) spec.linux.seccomp = seccomp
  if (s.privileged || s.unmaskSystemPaths) {
    spec.linux.maskedPaths = []
    spec.linux.readonlyPaths = []
  }
  if (s.privileged) {
    const sys = spec.mounts.find((m) => m.destination === '/sys')
    if (sys) sys.options = (sys.options ?? []).filter((o) => o !== 'ro')
  }
  if (s.sysctls && Object.keys(s.sysctls).length > 0) spec.linux.sysctl = {...s.sysctls}
  if (ctx.groupIds.length > 0) {
    const gids = spec.process.user.additionalGids ?? []
    for (const g of ctx.groupIds) if (!gids.includes(g)) gids.push(g)
    spec.process.user.additionalGids = gids
  }
  const devices = [...(s.privileged ? accessibleHostDevices() : []), ...(s.devices ?? [])]
  for (const d of devices) {
    if (!isDevice(d.host)) throw new UsageError(`error gathering device information while adding custom device ${JSON.stringify(d.host)}: not a device node or no such file`)
    // Rootless: device nodes cannot be created in a user namespace; the host's is bound in.
    const options = ['bind', 'nosuid', 'noexec']
    if (!d.permissions.includes('w')) options.push('ro')
    spec.mounts = spec.mounts.filter((m) => m.destination !== d.container)
    spec.mounts.push({destination: d.container, type: 'bind', source: d.host, options})
  }
  if (s.ulimits && s.ulimits.length > 0) {
    const unlimited = 2 ** 64 - 1
    spec.process.rlimits = s.ulimits.map((u) => ({type: ULIMITS[u.name], soft: u.soft < 0 ? unlimited : u.soft, hard: u.hard < 0 ? unlimited : u.hard}))
  }
  if (s.oomScoreAdj !== undefined) spec.process.oomScoreAdj = s.oomScoreAdj
  if (s.init && ctx.initBinary) {
    spec.mounts.push({destination: INIT_PATH, type: 'bind', source: ctx.initBinary, options: ['bind', 'ro', 'nosuid']})
    spec.process.args = [INIT_PATH, '--', ...spec.process.args]
  }
}
