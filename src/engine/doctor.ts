/**
 * `ncx system doctor`: every prerequisite of rootless containers, checked one by one, each
 * with a status and the one-line fix. Data only (the CLI renders it). The checks reuse the
 * probes the engine itself runs (usernsBlocker, subordinateRange, networkBackendProblem,
 * detectCgroups, the storage-driver probe), so doctor and the real code paths agree.
 *
 * Status: `fail` = ncx cannot run containers (or cannot store them) until it is fixed;
 * `warn` = containers run, with something less (single-id mapping, copy driver, no
 * networking, no limits, no low ports); `ok`.
 *
 * Everything read from the host is injectable (DoctorHost) so tests simulate each broken
 * prerequisite with real files: an empty subuid file, a PATH without newuidmap, a sysctl
 * directory where user namespaces are off.
 */
import {execFileSync} from 'node:child_process'
import {accessSync, constants, existsSync, readFileSync, statSync, statfsSync} from 'node:fs'
import {userInfo} from 'node:os'
import {dirname, join} from 'node:path'

import {CgroupInfo, detectCgroups} from './cgroup/detect.js'
import type {CheckReport} from './check.js'
import {networkBackendProblem} from './network/netns.js'
import type {BridgeProblem} from './network/networks.js'
import {APPARMOR_RESTRICT_SYSCTL, AppArmorHost, PROFILE_FIX, ProfileState, defaultAppArmorHost, runtimeProfileState} from './rootless/apparmor.js'
import {freeSubordinateRange, idRangeText, overlappingEntries, subordinateRange, usernsBlocker} from './rootless/session.js'
import {StorePaths} from './store/paths.js'
import {privateDirProblem, rootsOf} from './store/private.js'

export {apparmorProfile} from './rootless/apparmor.js'

export type CheckStatus = 'ok' | 'warn' | 'fail'

export interface DoctorCheck {
  /** Stable identifier (`userns`, `subuid`, …) for scripts and tests. */
  id: string
  /** What is checked, for humans. */
  title: string
  status: CheckStatus
  /** What was found. */
  detail: string
  /** The one-line fix, when not ok. */
  fix?: string
}

export interface DoctorReport {
  checks: DoctorCheck[]
  ok: boolean
}

export interface DoctorHost {
  env: NodeJS.ProcessEnv
  user: {name: string; uid: number; gid: number}
  subuidFile: string
  subgidFile: string
  /** Root of the sysctl tree (`/proc/sys`). */
  procSys: string
  /** The runtime binary's path (throws when it is missing). */
  runtimeBinary: () => string
  cgroups: () => CgroupInfo
  /** The storage driver probe (needs the user namespace); undefined when it cannot run. */
  storageDriver?: () => {name: string; reason?: string}
  /** Where AppArmor's loaded profiles and profile files are read (defaults: /sys/kernel/security, /etc/apparmor.d). */
  apparmor?: AppArmorHost
  /** The TUN device slirp4netns opens (`/dev/net/tun`). */
  tun?: string
  /** The network namespace's bridges against their record (networks.ts bridgeReport); absent: not checked. */
  bridges?: () => {holderPid: number; bridges: string[]; problems: BridgeProblem[]} | undefined
}

export const MIN_SUBORDINATE_IDS = 65536
const GIB = 1024 ** 3

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** `tool` on `PATH`, as the shell would find it. */
export function findOnPath(tool: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (!dir) continue
    const file = join(dir, tool)
    try {
      accessSync(file, constants.X_OK)
      if (statSync(file).isFile()) return file
    } catch {
      // not here
    }
  }
  return undefined
}

function check(id: string, title: string, status: CheckStatus, detail: string, fix?: string): DoctorCheck {
  return {id, title, status, detail, ...(status !== 'ok' && fix ? {fix} : {})}
}

function usernsChecks(host: DoctorHost): DoctorCheck[] {
  const sysctl = (path: string) => readText(join(host.procSys, path.replace(/^\/proc\/sys\//, '')))?.trim()
  const out: DoctorCheck[] = []
  const max = sysctl('/proc/sys/user/max_user_namespaces')
  out.push(
    max === '0'
      ? check('max_user_namespaces', 'user.max_user_namespaces', 'fail', 'is 0: user namespaces are disabled', 'sudo sysctl -w user.max_user_namespaces=28633')
      : check('max_user_namespaces', 'user.max_user_namespaces', 'ok', max === undefined ? 'not present (no limit)' : max),
  )
  const clone = sysctl('/proc/sys/kernel/unprivileged_userns_clone')
  out.push(
    clone === '0'
      ? check('unprivileged_userns_clone', 'kernel.unprivileged_userns_clone', 'fail', 'is 0: unprivileged user namespaces are disabled', 'sudo sysctl -w kernel.unprivileged_userns_clone=1')
      : check('unprivileged_userns_clone', 'kernel.unprivileged_userns_clone', 'ok', clone === undefined ? 'not present (kernel allows them)' : clone),
  )
  const apparmor = sysctl(APPARMOR_RESTRICT_SYSCTL)
  const title = 'kernel.apparmor_restrict_unprivileged_userns'
  let profile: ProfileState | undefined
  const profileState = (): ProfileState => {
    if (!profile) {
      let runtime: string | undefined
      try {
        runtime = host.runtimeBinary()
      } catch (error) {
        return (profile = {state: 'missing', detail: `ncx-runtime is missing (${(error as Error).message})`})
      }
      profile = runtimeProfileState(runtime, host.apparmor ?? defaultAppArmorHost)
    }
    return profile
  }
  if (apparmor !== '1') {
    out.push(check('apparmor_userns', title, 'ok', apparmor === undefined ? 'not present (no AppArmor restriction)' : apparmor))
  } else {
    const state = profileState()
    const restricted = 'is 1: AppArmor denies unprivileged user namespaces to unconfined programs (Ubuntu >= 23.10, GitHub Actions ubuntu-24.04)'
    if (state.state === 'loaded') out.push(check('apparmor_userns', title, 'ok', `is 1; the profile ${state.name} (${state.mode}) for ncx-runtime is loaded`))
    else if (state.state === 'installed') out.push(check('apparmor_userns', title, 'ok', `is 1; ${state.file} allows ncx-runtime (whether it is loaded cannot be read here)`))
    else out.push(check('apparmor_userns', title, 'fail', `${restricted}, and ${state.detail}`, `${PROFILE_FIX}  (or: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)`))
  }
  // The engine's own gate must agree with the individual checks.
  const blocker = usernsBlocker(sysctl, profileState)
  if (blocker && out.every((c) => c.status === 'ok')) out.push(check('userns', 'user namespaces', 'fail', blocker.message, blocker.hint))
  return out
}

function idMapChecks(host: DoctorHost): DoctorCheck[] {
  const out: DoctorCheck[] = []
  const {name, uid, gid} = host.user
  const kinds = [['subuid', host.subuidFile, uid], ['subgid', host.subgidFile, gid]] as const
  const texts = kinds.map(([, file]) => readText(file))
  // A range no user has in either file: the same ids for uids and gids, shared with nobody.
  const free = freeSubordinateRange(texts.map((t) => t ?? ''))
  const freeText = free ? idRangeText(free) : 'FIRST-LAST'
  kinds.forEach(([kind, file, id], i) => {
    const text = texts[i]
    const title = `subordinate ${kind === 'subuid' ? 'uids' : 'gids'} (${file})`
    const range = text === undefined ? undefined : subordinateRange(text, name, id)
    const fix = `sudo usermod --add-${kind}s ${freeText} ${name}`
    if (text === undefined) out.push(check(kind, title, 'warn', `${file} does not exist: ncx maps only your own id (images owned by other users fail)`, fix))
    else if (!range) out.push(check(kind, title, 'warn', `no range for ${name} (${id}): ncx maps only your own id (images owned by other users fail)`, fix))
    else {
      const others = overlappingEntries(text, range, name, id)
      const mine = idRangeText(range)
      if (others.length > 0) {
        const whose = others.map((e) => `${e.owner}'s ${idRangeText(e)}`).join(', ')
        out.push(check(kind, title, 'warn', `your range ${mine} overlaps ${whose}: your containers and theirs can run as the same host ids (and reach each other's files)`, `sudo usermod --del-${kind}s ${mine} --add-${kind}s ${freeText} ${name}`))
      } else if (range.count < MIN_SUBORDINATE_IDS) out.push(check(kind, title, 'warn', `${range.count} ids from ${range.start}: fewer than ${MIN_SUBORDINATE_IDS}, ids above ${range.count} in images fail`, fix))
      else out.push(check(kind, title, 'ok', `${range.count} ids from ${range.start}`))
    }
  })
  for (const tool of ['newuidmap', 'newgidmap']) {
    const path = findOnPath(tool, host.env)
    if (!path) {
      out.push(check(tool, tool, 'warn', 'not found on PATH: ncx maps only your own id', 'sudo apt-get install uidmap  (Fedora/Arch: shadow-utils / shadow)'))
      continue
    }
    const st = statSync(path)
    const setuid = (st.mode & 0o4000) !== 0 && st.uid === 0
    let caps = ''
    if (!setuid) {
      try {
        caps = execFileSync('getcap', [path], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
      } catch {
        caps = ''
      }
    }
    if (setuid) out.push(check(tool, tool, 'ok', `${path} (setuid root)`))
    else if (/cap_set[ug]id/.test(caps)) out.push(check(tool, tool, 'ok', `${path} (file capabilities: ${caps.trim().split(/\s+/).slice(1).join(' ')})`))
    else out.push(check(tool, tool, 'warn', `${path} is neither setuid root nor has cap_setuid/cap_setgid: it cannot write id maps`, `sudo chmod u+s ${path}  (or reinstall the uidmap package)`))
  }
  return out
}

function runtimeChecks(host: DoctorHost): DoctorCheck[] {
  try {
    const path = host.runtimeBinary()
    return [check('runtime', 'ncx-runtime', 'ok', path)]
  } catch (error) {
    return [check('runtime', 'ncx-runtime', 'fail', (error as Error).message.split('\n')[0], 'npm run build:native (from a checkout), or reinstall ncx')]
  }
}

function storageChecks(host: DoctorHost, paths: StorePaths, usernsOk: boolean): DoctorCheck[] {
  const out: DoctorCheck[] = []
  const fuse = findOnPath('fuse-overlayfs', host.env)
  if (!host.storageDriver || !usernsOk) {
    out.push(check('storage', 'storage driver', 'warn', 'not probed: the user namespace cannot be created (see above)', 'fix the user-namespace checks first'))
  } else {
    try {
      const d = host.storageDriver()
      if (d.name === 'overlay') out.push(check('storage', 'storage driver', 'ok', 'overlay (kernel overlayfs inside the user namespace)'))
      else {
        out.push(
          check(
            'storage',
            'storage driver',
            'warn',
            `${d.name}${d.reason ? ` (overlay failed: ${d.reason})` : ''}: containers start slower and use more disk${fuse ? `; fuse-overlayfs is installed (${fuse}) but ncx does not use it yet` : ''}`,
            'rootless overlay needs Linux >= 5.11 and a data root on a local file system (ext4, xfs, btrfs; not NFS or overlay itself)',
          ),
        )
      }
    } catch (error) {
      out.push(check('storage', 'storage driver', 'warn', `probe failed: ${(error as Error).message.split('\n')[0]}`, 'run ncx info --debug for details'))
    }
  }
  // Disk space where the data root lives (or would live).
  let dir = paths.data
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir)
  try {
    const fs = statfsSync(dir)
    const free = fs.bavail * fs.bsize
    const freeText = `${(free / GIB).toFixed(1)} GiB free on ${dir === paths.data ? paths.data : `${dir} (for ${paths.data})`}`
    if (free < 0.5 * GIB) out.push(check('disk', 'disk space of the data root', 'fail', freeText, `free space, or move the data root: ncx --root DIR (or data_root in ncx.toml); ncx system prune -a removes unused data`))
    else if (free < 5 * GIB) out.push(check('disk', 'disk space of the data root', 'warn', freeText, 'ncx system df shows what is reclaimable; ncx system prune -a removes it'))
    else out.push(check('disk', 'disk space of the data root', 'ok', freeText))
  } catch (error) {
    out.push(check('disk', 'disk space of the data root', 'warn', `cannot stat ${dir}: ${(error as Error).message}`))
  }
  try {
    accessSync(dir, constants.W_OK)
  } catch {
    out.push(check('data_root', 'data root writable', 'fail', `${dir} is not writable by ${host.user.name}`, `sudo chown ${host.user.name} ${dir}, or use another data root (ncx --root DIR)`))
  }
  return out
}

function networkChecks(host: DoctorHost, rootless: boolean): DoctorCheck[] {
  const out: DoctorCheck[] = []
  const problem = networkBackendProblem(host.env, host.tun)
  const slirp = findOnPath('slirp4netns', host.env)
  out.push(
    problem
      ? check('slirp4netns', 'container networking (slirp4netns, /dev/net/tun)', 'warn', `${problem.problem}: containers that need a network are refused (only --network none and host work)`, problem.fix)
      : check('slirp4netns', 'container networking (slirp4netns, /dev/net/tun)', 'ok', slirp ?? 'found'),
  )
  if (host.bridges) {
    try {
      out.push(bridgeCheck(host.bridges()))
    } catch (error) {
      // e.g. a store that is not the user's (the privacy checks above say so)
      out.push(check('bridges', 'network bridges', 'warn', `not checked: ${(error as Error).message.split('\n')[0]}`))
    }
  }
  const sysctl = (name: string) => readText(join(host.procSys, name))?.trim()
  const portStart = sysctl('net/ipv4/ip_unprivileged_port_start')
  if (!rootless) out.push(check('ports', 'net.ipv4.ip_unprivileged_port_start', 'ok', 'running as root: every port can be published'))
  else if (portStart === undefined) out.push(check('ports', 'net.ipv4.ip_unprivileged_port_start', 'warn', 'not readable: ports below 1024 probably cannot be published', 'sudo sysctl -w net.ipv4.ip_unprivileged_port_start=80'))
  else if (Number(portStart) > 80) out.push(check('ports', 'net.ipv4.ip_unprivileged_port_start', 'warn', `is ${portStart}: ports below ${portStart} cannot be published (-p 80:80 fails)`, 'sudo sysctl -w net.ipv4.ip_unprivileged_port_start=80  (persist it in /etc/sysctl.d/)'))
  else out.push(check('ports', 'net.ipv4.ip_unprivileged_port_start', 'ok', `is ${portStart}: ports from ${portStart} can be published`))
  const ping = sysctl('net/ipv4/ping_group_range')
  const [lo, hi] = (ping ?? '').split(/\s+/).map(Number)
  const gid = host.user.gid
  if (ping === undefined) out.push(check('ping', 'net.ipv4.ping_group_range', 'warn', 'not readable', 'sudo sysctl -w net.ipv4.ping_group_range="0 2147483647"'))
  else if (!(lo <= gid && gid <= hi)) out.push(check('ping', 'net.ipv4.ping_group_range', 'warn', `is "${ping.replace(/\s+/, ' ')}": your group ${gid} may not open ICMP sockets: slirp4netns cannot forward ping from containers`, 'sudo sysctl -w net.ipv4.ping_group_range="0 2147483647"'))
  else out.push(check('ping', 'net.ipv4.ping_group_range', 'ok', `is "${ping.replace(/\s+/, ' ')}"`))
  return out
}

const PROBLEM_TEXT: Record<BridgeProblem['kind'], string> = {
  interrupted: 'its setup or removal was interrupted (a killed ncx)',
  missing: 'recorded, but its link is missing from the network namespace',
  unrecorded: 'its link exists but is not recorded',
  orphaned: 'belongs to no network (left from a removed one)',
}

/** The bridges of the network namespace against their record (bridges.json) and networks.json. */
function bridgeCheck(report: ReturnType<NonNullable<DoctorHost['bridges']>>): DoctorCheck {
  const title = 'network bridges'
  if (!report) return check('bridges', title, 'ok', 'no network namespace running (it is set up when a container needs it)')
  if (report.problems.length === 0) return check('bridges', title, 'ok', `${report.bridges.length} bridge${report.bridges.length === 1 ? '' : 's'} in the network namespace of ncx-netns-hold ${report.holderPid}, as recorded`)
  const detail = report.problems.map((p) => `bridge ${p.bridge}${p.network ? ` (network ${p.network})` : ''}: ${PROBLEM_TEXT[p.kind]}`).join('; ')
  const net = report.problems.find((p) => p.network)?.network
  return check('bridges', title, 'warn', `${detail} (containers on ${net ? `network ${net}` : 'it'} may fail to start until it is repaired)`, `start any container on a network (e.g. ncx run --rm${net && net !== 'bridge' ? ` --network ${net}` : ''} IMAGE true): ncx repairs every bridge first; or remove the network (ncx network rm NAME)`)
}

function cgroupChecks(host: DoctorHost): DoctorCheck[] {
  const cg = host.cgroups()
  const wanted = ['cpu', 'memory', 'pids']
  if (cg.version === 'v2' && cg.delegated.length > 0) {
    const missing = wanted.filter((c) => !cg.delegated.includes(c))
    if (missing.length === 0) return [check('cgroup', 'cgroup v2 delegation', 'ok', `v2, delegated controllers: ${cg.delegated.join(' ')}`)]
    return [check('cgroup', 'cgroup v2 delegation', 'warn', `v2, delegated: ${cg.delegated.join(' ') || 'none'}; missing ${missing.join(' ')}: those limits are refused`, 'systemd: add "Delegate=cpu cpuset io memory pids" to user@.service.d/delegate.conf, then systemctl daemon-reload')]
  }
  const version = cg.version === 'v2' ? 'v2' : cg.version === 'hybrid' ? 'hybrid (v1 controllers, v2 without them)' : cg.version
  return [check('cgroup', 'cgroup v2 delegation', 'warn', `${version}: resource limits (--memory, --cpus, --pids-limit) cannot be enforced`, cg.limitation ?? 'boot with systemd.unified_cgroup_hierarchy=1 and log in through systemd (user@UID.service)')]
}

function runtimeDirChecks(host: DoctorHost, paths: StorePaths): DoctorCheck[] {
  const xdg = host.env.XDG_RUNTIME_DIR
  if (!paths.rootless) return [check('xdg_runtime_dir', 'XDG_RUNTIME_DIR', 'ok', `running as root: runtime state in ${paths.run}`)]
  if (!xdg) return [check('xdg_runtime_dir', 'XDG_RUNTIME_DIR', 'warn', `not set: runtime state goes to ${paths.run} (not cleaned at logout or reboot)`, 'log in through a PAM session (ssh, machinectl shell user@) or export XDG_RUNTIME_DIR=/run/user/$(id -u)')]
  let st
  try {
    st = statSync(xdg)
  } catch {
    return [check('xdg_runtime_dir', 'XDG_RUNTIME_DIR', 'fail', `${xdg} does not exist`, `mkdir -m 700 ${xdg}, or unset XDG_RUNTIME_DIR`)]
  }
  if (st.uid !== host.user.uid) return [check('xdg_runtime_dir', 'XDG_RUNTIME_DIR', 'fail', `${xdg} belongs to uid ${st.uid}, not to you (${host.user.uid}): typical after su/sudo -u`, 'use "machinectl shell USER@" or "sudo -iu USER" with a login session, or export XDG_RUNTIME_DIR to a directory you own')]
  try {
    accessSync(xdg, constants.W_OK)
  } catch {
    return [check('xdg_runtime_dir', 'XDG_RUNTIME_DIR', 'fail', `${xdg} is not writable`, `chmod u+rwx ${xdg}`)]
  }
  if ((st.mode & 0o077) !== 0) return [check('xdg_runtime_dir', 'XDG_RUNTIME_DIR', 'warn', `${xdg} is readable by others (mode ${(st.mode & 0o777).toString(8)})`, `chmod 700 ${xdg}`)]
  return [check('xdg_runtime_dir', 'XDG_RUNTIME_DIR', 'ok', xdg)]
}

/** The data root and the runtime directory: private to the user (docs/security.md). */
function privacyChecks(host: DoctorHost, paths: StorePaths): DoctorCheck[] {
  return rootsOf(paths).map(([path, options]) => {
    const id = options.what === 'data root' ? 'data_root_private' : 'run_root_private'
    const title = `${options.what} private to you`
    let problem
    try {
      problem = privateDirProblem(path, options, host.user.uid)
    } catch (error) {
      return check(id, title, 'warn', `cannot check ${path}: ${(error as Error).message}`)
    }
    if (problem) return check(id, title, 'fail', problem.message, problem.hint)
    let mode: number
    try {
      mode = statSync(path).mode & 0o777
    } catch {
      return check(id, title, 'ok', `${path} does not exist yet: ncx creates it with mode 0700`)
    }
    if (mode !== 0o700) return check(id, title, 'warn', `${path} has mode 0${mode.toString(8)}: other users may read what is in it until ncx makes it 0700 on its next use`, `chmod 700 ${path}`)
    return check(id, title, 'ok', `${path} (0700)`)
  })
}

/** Run every check. */
export function runDoctor(paths: StorePaths, host: DoctorHost): DoctorReport {
  const userns = paths.rootless ? usernsChecks(host) : [check('userns', 'user namespaces', 'ok', 'running as root: not needed')]
  const usernsOk = userns.every((c) => c.status !== 'fail')
  const checks = [
    ...userns,
    ...(paths.rootless ? idMapChecks(host) : []),
    ...runtimeChecks(host),
    ...runtimeDirChecks(host, paths),
    ...privacyChecks(host, paths),
    ...storageChecks(host, paths, usernsOk),
    ...networkChecks(host, paths.rootless),
    ...cgroupChecks(host),
  ]
  return {checks, ok: checks.every((c) => c.status !== 'fail')}
}

/**
 * The store's consistency (the read-only part of `system check`, without re-hashing blobs):
 * what crashes and killed commands left. Containers still run with it: a warning.
 */
export function storeConsistencyCheck(report: CheckReport): DoctorCheck {
  if (report.problems.length === 0) return check('store', 'store consistency', 'ok', 'nothing left over by crashes or killed commands')
  const kinds = [...new Set(report.problems.map((p) => p.kind))]
  const n = report.problems.length
  return check('store', 'store consistency', 'warn', `${n} problem${n === 1 ? '' : 's'} left by crashes or killed commands (${kinds.join(', ')})`, 'ncx system check --repair (details: ncx system check)')
}

/** The real host, as ncx sees it (tests override pieces). */
export function defaultDoctorHost(over: Partial<DoctorHost> & {env?: NodeJS.ProcessEnv} = {}): DoctorHost {
  return {
    env: process.env,
    user: {name: userInfo().username, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0},
    subuidFile: '/etc/subuid',
    subgidFile: '/etc/subgid',
    procSys: '/proc/sys',
    runtimeBinary: () => {
      throw new Error('no runtime lookup configured')
    },
    cgroups: () => detectCgroups(),
    ...over,
  }
}
