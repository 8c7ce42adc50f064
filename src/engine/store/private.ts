/**
 * What ncx stores is private to its user (docs/security.md, "Privacy between users"): the
 * data root and the runtime root are 0700 directories owned by the user, whatever the umask,
 * and every file ncx makes under them is created under umask 077 (0600 files, 0700
 * directories). Files a container sees (its /etc/hosts, volumes, compose secrets) get their
 * mode set explicitly; they stay private through the 0700 directories above them.
 */
import {chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, Stats} from 'node:fs'
import {dirname} from 'node:path'

import {NcxError} from '../errors.js'
import {StorePaths} from './paths.js'

/** ncx's own umask: group and other get nothing. */
export const PRIVATE_UMASK = 0o077

let callersUmask: number | undefined

/**
 * Switch this process to umask 077 (once); the umask it had is kept for files written where
 * the user asked (`--cidfile`, `compose config -o`), which follow the user's umask as Docker's do.
 * The native helpers ncx starts (the runtime, a container's monitor) inherit it; the runtime
 * gives the container process its own (0022, or the spec's `process.user.umask`).
 */
export function usePrivateUmask(): void {
  if (callersUmask !== undefined) return
  callersUmask = process.umask(PRIVATE_UMASK)
}

/** The umask ncx was started with (before usePrivateUmask). */
export function callersUmaskValue(): number {
  if (callersUmask !== undefined) return callersUmask
  const current = process.umask(0) // (reading it without setting is deprecated)
  process.umask(current)
  return current
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`

/** Who owns a directory, for messages: the user name when /etc/passwd knows it. */
function ownerName(uid: number): string {
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid))
    return line ? `uid ${uid} (${line.split(':')[0]})` : `uid ${uid}`
  } catch {
    return `uid ${uid}`
  }
}

/** A directory others can create entries in (/tmp, /var/tmp, /dev/shm): what is there may have been planted. */
function sharedParent(path: string): boolean {
  try {
    return (statSync(dirname(path)).mode & 0o022) !== 0
  } catch {
    return false
  }
}

export interface PrivateDirOptions {
  /** What the directory is, for messages ("data root", "runtime directory"). */
  what: string
  /** The one-line way out when it is refused. */
  fix: string
}

/**
 * Why `path` cannot be used as a private root, if it cannot: it belongs to someone else, is
 * not a directory, or (in a directory anyone can write to, such as /tmp) is a symbolic link
 * or writable by group or others. Does not change anything (doctor uses it).
 */
export function privateDirProblem(path: string, options: PrivateDirOptions, uid = process.getuid?.() ?? 0): NcxError | undefined {
  return inspectDir(path, options, uid).problem
}

/** privateDirProblem, and the directory's stat when it is usable (one lstat when all is well). */
function inspectDir(path: string, options: PrivateDirOptions, uid: number): {problem?: NcxError; st?: Stats} {
  let st: Stats
  try {
    st = lstatSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw error
  }
  const refuse = (message: string) => ({problem: new NcxError(`${options.what} ${path} ${message}`, {hint: options.fix})})
  if (st.isSymbolicLink()) {
    // Anyone can plant a link in /tmp; elsewhere a link is the user's own choice (a data root moved to a bigger disk).
    if (sharedParent(path)) return refuse(`is a symbolic link (to ${readlinkSync(path)}): ncx does not follow links there, anyone can create them`)
    try {
      st = statSync(path)
    } catch (error) {
      return refuse(`is a symbolic link to a missing directory: ${(error as Error).message}`)
    }
  }
  if (!st.isDirectory()) return refuse('is not a directory')
  if (st.uid !== uid) return refuse(`belongs to ${ownerName(st.uid)}, not to you (uid ${uid}): another user could read and control your containers through it`)
  if ((st.mode & 0o022) !== 0 && sharedParent(path)) return refuse(`is writable by other users (mode ${octal(st.mode)}): what is in it may have been planted by them`)
  return {st}
}

/**
 * Make `path` a private directory of this user: create it 0700 (its missing parents too,
 * as the XDG base directory spec asks), tighten one an older ncx made 0755, refuse what
 * privateDirProblem refuses. Returns a warning when it tightened a directory others could
 * write to.
 */
export function ensurePrivateDir(path: string, options: PrivateDirOptions): string | undefined {
  const uid = process.getuid?.() ?? 0
  let {problem, st} = inspectDir(path, options, uid)
  if (problem) throw problem
  if (!st) {
    mkdirSync(dirname(path), {recursive: true, mode: 0o700})
    try {
      mkdirSync(path, {mode: 0o700})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    // Someone may have won the race to create it: look again, without following links.
    ;({problem, st} = inspectDir(path, options, uid))
    if (problem) throw problem
    if (!st) throw new NcxError(`${options.what} ${path} disappeared while ncx created it`, {hint: options.fix})
  }
  if ((st.mode & 0o7777) === 0o700) return undefined
  try {
    chmodSync(path, 0o700)
  } catch (error) {
    // A store on a read-only file system is still readable (ps, images, inspect).
    if ((error as NodeJS.ErrnoException).code !== 'EROFS') throw error
    return `${options.what} ${path} has mode ${octal(st.mode)} and is on a read-only file system: ncx cannot make it 0700`
  }
  return (st.mode & 0o022) !== 0 ? `${options.what} ${path} was writable by other users (mode ${octal(st.mode)}); it is 0700 now: check that nothing in it was changed by someone else` : undefined
}

/**
 * Prepare the store for this process: umask 077, then the data root and the runtime root as
 * private directories. Returns the warnings to show.
 */
export function preparePrivateStore(paths: StorePaths): string[] {
  usePrivateUmask()
  const warnings: string[] = []
  for (const [path, options] of rootsOf(paths)) {
    // ncx's exit command, run by a container's monitor inside the held user namespace, is root
    // there and so picks the rootful runtime root (/run/ncx): not the user's, and not used by it.
    if (path === paths.run && !paths.rootless && insideUserNamespace()) continue
    const w = ensurePrivateDir(path, options)
    if (w) warnings.push(w)
  }
  return warnings
}

/** Root of a user namespace other than the host's (the held one), not the host's root. */
function insideUserNamespace(): boolean {
  try {
    return !/^\s*0\s+0\s+4294967295\s*$/.test(readFileSync('/proc/self/uid_map', 'utf8').split('\n')[0])
  } catch {
    return false
  }
}

/** The two roots with their names and fixes (doctor checks the same). */
export function rootsOf(paths: StorePaths): Array<[string, PrivateDirOptions]> {
  const uid = process.getuid?.() ?? 0
  const data: PrivateDirOptions = {
    what: 'data root',
    fix: `use a data root of your own (ncx --root DIR, NCX_ROOT or data_root in ncx.toml), or have its owner remove ${paths.data}`,
  }
  const defaultTmp = paths.rootless && paths.settings?.run === 'default' && paths.run === `/tmp/ncx-${uid}`
  const run: PrivateDirOptions = {
    what: 'runtime directory',
    fix: defaultTmp
      ? `remove ${paths.run} if you created it (rm -rf ${paths.run}; an administrator must remove one of another user), or set XDG_RUNTIME_DIR to a directory of your own with mode 0700 (e.g. /run/user/${uid}, as a login session does)`
      : `remove or fix ${paths.run} (it must be a directory of yours, mode 0700), or use another one (NCX_RUN_ROOT, run_root in ncx.toml, XDG_RUNTIME_DIR)`,
  }
  return [
    [paths.data, data],
    [paths.run, run],
  ]
}
