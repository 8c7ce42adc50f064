import {existsSync, readFileSync, readdirSync, readlinkSync} from 'node:fs'
import {userInfo} from 'node:os'
import {join} from 'node:path'

import {runtimeBinary} from '../../native/index.js'
import {NcxError} from '../errors.js'
import {runtimeSync} from '../runtime.js'
import {readJson, withLock, writeJson} from '../store/files.js'
import {StorePaths} from '../store/paths.js'
import {APPARMOR_RESTRICT_SYSCTL, PROFILE_FIX, ProfileState, runtimeProfileState} from './apparmor.js'

export interface IdRange {
  container: number
  host: number
  size: number
}

/** The user namespace every ncx process of this user shares. */
export interface UsernsSession {
  readonly rootless: boolean
  /** The holder process whose user namespace helpers join (rootless only). */
  readonly holderPid?: number
  readonly uidMap: IdRange[]
  readonly gidMap: IdRange[]
  /** True when only the user's own id is mapped (no subordinate range). */
  readonly singleId: boolean
  /** Said once, when the namespace is created. */
  readonly warnings: string[]
}

interface HolderRecord {
  pid: number
  uidMap: IdRange[]
  gidMap: IdRange[]
  singleId: boolean
  /** The held namespace (`user:[INODE]`, as /proc/PID/ns/user reads): taken over again when the holder dies. */
  userns?: string
}

/** The first range for `user` (by name or numeric id) in an /etc/subuid-style file. */
export function subordinateRange(text: string, user: string, id: number): {start: number; count: number} | undefined {
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':')
    if (who !== user && who !== String(id)) continue
    if (!/^\d+$/.test(start ?? '') || !/^\d+$/.test(count ?? '')) continue
    const s = Number(start)
    const c = Number(count)
    if (c > 0) return {start: s, count: c}
  }
  return undefined
}

/** One `owner:start:count` line of /etc/subuid or /etc/subgid (owner: a name or a numeric id). */
export interface SubordinateEntry {
  owner: string
  start: number
  count: number
}

/** Every well-formed range of an /etc/subuid-style file, whoever it belongs to. */
export function subordinateEntries(text: string): SubordinateEntry[] {
  const out: SubordinateEntry[] = []
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':')
    if (!owner || owner.startsWith('#') || !/^\d+$/.test(start ?? '') || !/^\d+$/.test(count ?? '')) continue
    if (Number(count) > 0) out.push({owner, start: Number(start), count: Number(count)})
  }
  return out
}

/** Where useradd looks for subordinate ids (login.defs SUB_UID_MIN / SUB_UID_MAX defaults). */
export const SUBORDINATE_MIN = 100000
export const SUBORDINATE_MAX = 600100000

/**
 * The lowest `size` ids from SUBORDINATE_MIN on that no range of any user in any of `files`
 * (the texts of /etc/subuid and /etc/subgid) uses, as useradd allocates them: suggesting one
 * range free in both keeps a user's uids and gids the same, and never shares ids with
 * another user's containers.
 */
export function freeSubordinateRange(files: string[], size = 65536, min = SUBORDINATE_MIN, max = SUBORDINATE_MAX): {start: number; count: number} | undefined {
  const used = files.flatMap(subordinateEntries).sort((a, b) => a.start - b.start)
  let start = min
  for (const r of used) {
    if (r.start + r.count <= start) continue
    if (r.start >= start + size) break
    start = r.start + r.count
  }
  return start + size - 1 <= max ? {start, count: size} : undefined
}

/** `FIRST-LAST`, as `usermod --add-subuids` takes a range. */
export function idRangeText(r: {start: number; count: number}): string {
  return `${r.start}-${r.start + r.count - 1}`
}

/** The ranges of other users in an /etc/subuid-style file that overlap `range`. */
export function overlappingEntries(text: string, range: {start: number; count: number}, user: string, id: number): SubordinateEntry[] {
  return subordinateEntries(text).filter(
    (e) => e.owner !== user && e.owner !== String(id) && e.start < range.start + range.count && range.start < e.start + e.count,
  )
}

/** The command that gives `user` subordinate ids free in both files (the fallback range when none is). */
export function addSubordinateIdsCommand(user: string, files: string[], kinds: Array<'subuid' | 'subgid'> = ['subuid', 'subgid']): string {
  const free = freeSubordinateRange(files)
  const range = free ? idRangeText(free) : 'FIRST-LAST'
  return `sudo usermod ${kinds.map((k) => `--add-${k}s ${range}`).join(' ')} ${user}`
}

export function mappingFor(id: number, range: {start: number; count: number} | undefined): IdRange[] {
  const map: IdRange[] = [{container: 0, host: id, size: 1}]
  if (range) map.push({container: 1, host: range.start, size: range.count})
  return map
}

const formatMap = (m: IdRange[]) => m.map((r) => `${r.container}:${r.host}:${r.size}`).join(',')

function namespaceOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/user`)
  } catch {
    return undefined
  }
}

function holderAlive(pid: number): boolean {
  try {
    // A killed holder nobody reaped yet (a zombie) still names its namespace: it holds it no longer.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const close = stat.lastIndexOf(')')
    if (stat.slice(stat.indexOf('(') + 1, close) !== 'ncx-userns' || /^[ZX]/.test(stat.slice(close + 2))) return false
    return readlinkSync(`/proc/${pid}/ns/user`) !== readlinkSync('/proc/self/ns/user')
  } catch {
    return false
  }
}

function readSysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
}

/**
 * A live process still in the namespace `userns` (`user:[INODE]`): a container, its monitor,
 * the network holder. Only the user's own processes can be read; the others are skipped.
 */
export function processInNamespace(userns: string): number | undefined {
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return undefined
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (readlinkSync(`/proc/${name}/ns/user`) !== userns) continue
      // (a zombie still names its namespace, but its maps cannot be checked)
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      if (!/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))) return Number(name)
    } catch {
      // not ours, or gone
    }
  }
  return undefined
}

/**
 * The holder died (killed, as docs/rootless.md allows): hold the namespace its containers still
 * run in again, so they stay reachable (exec, stop, networking) and new containers join
 * them; a new namespace only when nothing is left in the old one. The runtime checks that
 * the process's namespace is the recorded one (inode, owner, parent, mappings).
 */
function adoptHolder(record: HolderRecord, warnings: string[]): number | undefined {
  const inode = /^user:\[(\d+)\]$/.exec(record.userns ?? '')?.[1]
  if (!inode) return undefined
  const member = processInNamespace(record.userns!)
  if (member === undefined) return undefined
  try {
    const pid = Number(runtimeSync(['userns-init', '--adopt', String(member), '--inode', inode, '--uid-map', formatMap(record.uidMap), '--gid-map', formatMap(record.gidMap)]).trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch (error) {
    warnings.push(
      `the user namespace of the running containers could not be held again (${(error as Error).message}): a new one is made; those containers are still reached through their own processes (exec, stop, rm), but lose their network when it is set up again`,
    )
    return undefined
  }
}

/**
 * Why unprivileged user namespaces cannot work here, if a sysctl says so (`sysctl` reads
 * /proc/sys/… paths). Under AppArmor's restriction they still work for ncx-runtime when a
 * profile for its path is loaded (`profile` tells; see apparmor.ts).
 */
export function usernsBlocker(sysctl: (path: string) => string | undefined = readSysctl, profile: () => ProfileState = () => runtimeProfileState(runtimeBinary())): NcxError | undefined {
  if (sysctl('/proc/sys/user/max_user_namespaces') === '0') {
    return new NcxError('user namespaces are disabled: user.max_user_namespaces is 0', {hint: 'run: sudo sysctl -w user.max_user_namespaces=28633'})
  }
  if (sysctl('/proc/sys/kernel/unprivileged_userns_clone') === '0') {
    return new NcxError('unprivileged user namespaces are disabled: kernel.unprivileged_userns_clone is 0', {hint: 'run: sudo sysctl -w kernel.unprivileged_userns_clone=1'})
  }
  if (sysctl(APPARMOR_RESTRICT_SYSCTL) === '1') {
    const state = profile()
    if (state.state === 'missing') {
      return new NcxError(`AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1) and ${state.detail}`, {
        hint: `allow ncx-runtime with its AppArmor profile: ${PROFILE_FIX}  (or lift the restriction for everything: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)`,
      })
    }
  }
  return undefined
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '/usr/bin:/bin').split(':').some((dir) => dir && existsSync(join(dir, tool)))
}

export interface SessionOptions {
  subuidFile?: string
  subgidFile?: string
}

/** Join (or create) the user's held user namespace. As root, there is none. */
export function ensureSession(paths: StorePaths, options: SessionOptions = {}): UsernsSession {
  if (!paths.rootless) return {rootless: false, uidMap: [], gidMap: [], singleId: false, warnings: []}
  const recordPath = join(paths.run, 'userns.json')
  const existing = readJson<HolderRecord | undefined>(recordPath, undefined)
  if (existing && holderAlive(existing.pid)) {
    return {rootless: true, holderPid: existing.pid, uidMap: existing.uidMap, gidMap: existing.gidMap, singleId: existing.singleId, warnings: []}
  }
  return withLock(join(paths.run, 'userns.lock'), () => {
    const again = readJson<HolderRecord | undefined>(recordPath, undefined)
    if (again && holderAlive(again.pid)) {
      return {rootless: true, holderPid: again.pid, uidMap: again.uidMap, gidMap: again.gidMap, singleId: again.singleId, warnings: []}
    }
    const warnings: string[] = []
    if (again) {
      const adopted = adoptHolder(again, warnings)
      if (adopted !== undefined) {
        const record: HolderRecord = {...again, pid: adopted}
        writeJson(recordPath, record)
        return {rootless: true, holderPid: adopted, uidMap: again.uidMap, gidMap: again.gidMap, singleId: again.singleId, warnings}
      }
    }
    const blocker = usernsBlocker()
    if (blocker) throw blocker
    const uid = process.getuid!()
    const gid = process.getgid!()
    const name = userInfo().username
    const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '')
    const files = [read(options.subuidFile ?? '/etc/subuid'), read(options.subgidFile ?? '/etc/subgid')]
    const subuid = subordinateRange(files[0], name, uid)
    const subgid = subordinateRange(files[1], name, gid)
    let helpers = Boolean(subuid && subgid)
    if (!helpers) {
      warnings.push(
        `no subordinate id range for ${name} in /etc/subuid and /etc/subgid: using a single-id user namespace (only root inside; images with other owners may fail). ` +
          `Fix: ${addSubordinateIdsCommand(name, files)}`,
      )
    } else if (!onPath('newuidmap') || !onPath('newgidmap')) {
      helpers = false
      warnings.push('newuidmap/newgidmap not found: using a single-id user namespace. Fix: install the uidmap package (sudo apt-get install uidmap)')
    }
    const uidMap = mappingFor(uid, helpers ? subuid : undefined)
    const gidMap = mappingFor(gid, helpers ? subgid : undefined)
    const args = ['userns-init', '--uid-map', formatMap(uidMap), '--gid-map', formatMap(gidMap)]
    if (!helpers) args.push('--no-helpers')
    const pid = Number(runtimeSync(args).trim())
    if (!Number.isInteger(pid) || pid <= 0) throw new NcxError('ncx-runtime userns-init did not return a pid')
    const record: HolderRecord = {pid, uidMap, gidMap, singleId: !helpers, userns: namespaceOf(pid)}
    writeJson(recordPath, record)
    return {rootless: true, holderPid: pid, uidMap, gidMap, singleId: !helpers, warnings}
  })
}

/** Arguments that make an ncx-runtime helper join the session's namespace. */
export function joinArgs(session: UsernsSession): string[] {
  return session.holderPid ? ['--userns-pid', String(session.holderPid)] : []
}
