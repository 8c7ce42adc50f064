/**
 * The per-user network namespace: created inside the held user namespace by `ncx-runtime
 * netns-init`, which leaves a supervisor (`ncx-netns`), the namespace's holder
 * (`ncx-netns-hold`, which brings its `lo` up) and slirp4netns (restarted by the supervisor
 * when it dies). The three outlive the user-namespace holder (its restart takes over the same
 * user namespace, see rootless/session.ts) and go away with the runtime root; the next ncx call
 * that needs a network creates them when they are gone. Bridges, NAT and forwarding rules live
 * inside that namespace. As root it is the same, one namespace per store: the host's routing
 * and firewall are never touched (docs/security.md#networking-faults).
 */
import {execFileSync} from 'node:child_process'
import {accessSync, constants, existsSync, readFileSync, readlinkSync} from 'node:fs'
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {joinArgs} from '../rootless/session.js'
import {runtimeBinary} from '../../native/index.js'
import {runtimeErrorText, runtimeSync} from '../runtime.js'
import {readJson, withLock, writeJson} from '../store/files.js'

export interface NetnsRecord {
  /** The supervisor (`ncx-netns`). */
  pid: number
  holderPid: number
  slirpPid: number
  /** slirp4netns lets containers reach the host's loopback at 10.0.2.2. */
  hostLoopback?: boolean
}

export interface Netns extends NetnsRecord {
  /** `/proc/HOLDER/ns/net`: what the runtime joins to attach containers and forward ports. */
  path: string
}

/** A live (not zombie) process's name. */
function comm(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const open = stat.indexOf('(')
    const close = stat.lastIndexOf(')')
    if (stat.slice(close + 2, close + 3) === 'Z') return undefined
    return stat.slice(open + 1, close)
  } catch {
    return undefined
  }
}

export function netnsRecordPath(engine: Engine): string {
  return join(engine.paths.run, 'netns.json')
}

/** The live per-user network namespace, if there is one (never creates it). */
export function currentNetns(engine: Engine): Netns | undefined {
  const r = readJson<NetnsRecord | undefined>(netnsRecordPath(engine), undefined)
  if (!r || comm(r.pid) !== 'ncx-netns' || comm(r.holderPid) !== 'ncx-netns-hold') return undefined
  return {...r, path: `/proc/${r.holderPid}/ns/net`}
}

/** Whether slirp4netns lets containers reach the host's loopback at 10.0.2.2. */
export function hostLoopbackWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes)$/i.test(env.NCX_NETWORK_HOST_LOOPBACK ?? '')
}

/**
 * Whether the network namespace's holder is in the session's user namespace. It outlives a
 * holder restart, which normally takes over the same user namespace; when that was not
 * possible (nothing left in it to take over from, an older record), the namespace is a
 * leftover of another user namespace, out of reach of every later command.
 */
function inSession(engine: Engine, netns: NetnsRecord): boolean {
  const session = engine.session()
  if (!session.rootless || !session.holderPid) return true
  try {
    return readlinkSync(`/proc/${netns.holderPid}/ns/user`) === readlinkSync(`/proc/${session.holderPid}/ns/user`)
  } catch {
    return false
  }
}

/** The per-user network namespace, created (with slirp4netns) when missing. */
export function ensureNetns(engine: Engine): {netns: Netns; created: boolean} {
  const live = currentNetns(engine)
  if (live && inSession(engine, live)) return {netns: live, created: false}
  const session = engine.session()
  return withLock(join(engine.paths.run, 'netns.lock'), () => {
    const again = currentNetns(engine)
    if (again && inSession(engine, again)) return {netns: again, created: false}
    requireNetworkBackend(engine, 'bridge')
    if (again) {
      // SIGTERM: the supervisor takes its holder and slirp4netns along.
      try {
        process.kill(again.pid, 'SIGTERM')
      } catch {
        // gone meanwhile
      }
      engine.warn('the per-user network namespace belonged to an earlier user namespace (its holder was restarted with nothing left to take over): replaced by a new one; containers still attached to the old one have lost their network, restart them')
    }
    const args = ['netns-init', ...joinArgs(session), '--state', netnsRecordPath(engine)]
    if (hostLoopbackWanted()) args.push('--host-loopback')
    const out = runtimeSync(args)
    let record: NetnsRecord
    try {
      record = JSON.parse(out.trim()) as NetnsRecord
    } catch {
      throw new NcxError(`ncx-runtime netns-init printed ${JSON.stringify(out.trim())}`)
    }
    writeJson(netnsRecordPath(engine), record)
    return {netns: {...record, path: `/proc/${record.holderPid}/ns/net`}, created: true}
  })
}

/** Run `ip -batch -` or `nft -f -` inside the per-user network namespace. */
export function inNetns(engine: Engine, netns: Netns, command: string[], input: string): void {
  inNetnsPath(engine, netns.path, command, input)
}

/** Run `ip -batch -` or `nft -f -` inside the network namespace at `path` (a container's: `/proc/PID/ns/net`). */
export function inNetnsPath(engine: Engine, path: string, command: string[], input: string): void {
  const args = ['nsexec', ...joinArgs(engine.session()), '--netns', path, ...command]
  try {
    execFileSync(runtimeBinary(), args, {input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe']})
  } catch (error) {
    const e = error as {stderr?: string; message: string}
    throw new NcxError(`${command[0]} in the network namespace failed: ${runtimeErrorText(e.stderr) ?? e.message}`)
  }
}

/** The slirp4netns version line, for `ncx info`. */
export function slirpVersion(run: (cmd: string, args: string[]) => string): string | undefined {
  try {
    return run('slirp4netns', ['--version']).split('\n')[0]?.trim()
  } catch {
    return undefined
  }
}

/** What `ncx info` says about networking. */
export interface NetworkInfo {
  /** `slirp4netns+bridge` (rootless and rootful alike). */
  Backend: string
  /** Why container networking cannot work here (containers that need it are refused), and the fix. */
  Problem?: string
  Slirp4netnsVersion?: string
  HostLoopback: boolean
  /** The supervisor, holder and slirp4netns pids, when the namespace is up. */
  Namespace?: NetnsRecord
}

export function networkInfo(engine: Engine): NetworkInfo {
  const live = currentNetns(engine)
  const version = slirpVersion((cmd, args) => execFileSync(cmd, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}))
  const problem = networkBackendProblem()
  return {
    Backend: 'slirp4netns+bridge',
    ...(problem ? {Problem: `${problem.problem} (fix: ${problem.fix})`} : {}),
    ...(version ? {Slirp4netnsVersion: version.replace(/^slirp4netns version\s*/, '')} : {}),
    HostLoopback: live?.hostLoopback ?? hostLoopbackWanted(),
    ...(live ? {Namespace: {pid: live.pid, holderPid: live.holderPid, slirpPid: live.slirpPid}} : {}),
  }
}

/** What keeps container networking from working here, and the fix. */
export interface BackendProblem {
  /** What is missing, e.g. `slirp4netns is not installed`. */
  problem: string
  /** The one command (or step) that fixes it. */
  fix: string
}

/**
 * Can the per-user network namespace be set up here? (slirp4netns installed, /dev/net/tun
 * usable.) Containers that need a network then fail to be created, with this as the reason
 * (`requireNetworkBackend`), as podman fails without slirp4netns; `ncx info` and
 * `ncx system doctor` say it too.
 */
export function networkBackendProblem(env: NodeJS.ProcessEnv = process.env, tun = '/dev/net/tun'): BackendProblem | undefined {
  const dirs = (env.PATH ?? '/usr/bin:/bin').split(':').filter(Boolean)
  if (!dirs.some((d) => existsSync(join(d, 'slirp4netns')))) {
    return {problem: 'slirp4netns was not found on PATH', fix: 'sudo apt-get install slirp4netns  (Fedora: sudo dnf install slirp4netns), or add its directory to PATH'}
  }
  if (!existsSync(tun)) return {problem: `${tun} does not exist (no TUN/TAP support loaded)`, fix: 'sudo modprobe tun'}
  try {
    accessSync(tun, constants.R_OK | constants.W_OK)
  } catch {
    return {problem: `${tun} is not usable by this user (no read/write permission)`, fix: `sudo chmod 0666 ${tun}  (its usual mode)`}
  }
  return undefined
}

/**
 * Refuse a container that needs a network (bridged or `--network slirp4netns`) when the
 * backend cannot work here: one error naming what is missing and how to fix it, instead of
 * a container that is silently offline. A live namespace serves bridged containers whatever
 * PATH says now.
 */
export function requireNetworkBackend(engine: Engine, mode: string, env: NodeJS.ProcessEnv = process.env): void {
  const ownSlirp = mode === 'slirp4netns' || mode.startsWith('slirp4netns:')
  if (!ownSlirp && currentNetns(engine)) return
  const p = networkBackendProblem(env)
  if (!p) return
  throw new NcxError(`cannot give the container a network (--network ${mode}): ${p.problem}`, {
    hint: `${p.fix}; or run the container without a network: --network none (NCX_DEFAULT_NETWORK=none or default_network = "none" in ncx.toml makes that the default)`,
  })
}
