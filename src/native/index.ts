/**
 * The only module that loads ncx's napi-rs addon (crates/ncx-napi) and locates the
 * runtime binary (crates/ncx-runtime). Everything else imports these typed wrappers.
 *
 * Lookup order, for the addon and for the runtime binary alike:
 *   1. `<package>/native/`, a local build: `npm run build:native` in a checkout, or what the
 *      install built from source (`--build-from-source`, or no prebuilt for this platform;
 *      scripts/install.js). Present only when someone built it, so it wins.
 *   2. the prebuilt package `@ncx/native-<triple>` (npm/<triple>/), an optional dependency
 *      of the published package that npm installs only where its os/cpu/libc match.
 * `NCX_RUNTIME_BINARY` overrides the runtime binary. ncx-init lies beside the runtime.
 *
 * The triple logic is duplicated in scripts/build-native.js (which runs before tsc); keep
 * them in sync. The interface below mirrors crates/ncx-napi/src/lib.rs.
 */
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export interface TerminalSize {
  columns: number
  rows: number
}

export interface ProgramResult {
  /** The exit code; null when a signal ended the program. */
  code: number | null
  signal: number | null
  stdout: string
  stderr: string
}

export interface NativeAddon {
  /**
   * Open (creating, mode 0644) and flock() `path`, blocking until granted.
   * Returns the fd that holds the lock; release it with `unlockFile`.
   * Throws an Error naming the path and the errno text.
   */
  lockFile(path: string, exclusive: boolean): number
  /** As `lockFile` but non-blocking: `null` when a conflicting lock is held by another open file. */
  tryLockFile(path: string, exclusive: boolean): number | null
  /** Close `fd`, releasing its lock. */
  unlockFile(fd: number): void
  /**
   * statfs(2) type of `path`: "overlayfs", "tmpfs", "extfs" (ext2/3/4), "xfs", "btrfs",
   * "cgroup2", "cgroup", "proc", "sysfs", "fuse", "nfs", "zfs", else "0x<hex magic>".
   */
  fsType(path: string): string
  isatty(fd: number): boolean
  /**
   * Set FS_TOPDIR_FL (`chattr +T`) on the directory `path`, so that ext2/3/4 spread its
   * subdirectories over the disk's block groups. True when set, false when the file system has
   * no such flag; throws when `path` cannot be opened as a directory.
   */
  markTopDir(path: string): boolean
  /**
   * Start `program` (an absolute path) with `args`, the current environment, stdin on
   * /dev/null and stdout/stderr captured (posix_spawn; signal dispositions reset). Returns its
   * pid for `finishProgram`. Throws an Error naming the program when it cannot be started.
   */
  startProgram(program: string, args: string[]): number
  /** Read a started program's output to the end and reap it (blocking). */
  finishProgram(pid: number): ProgramResult
  /**
   * Start `program` (an absolute path) with `args` and the current environment, its
   * descriptors 0-2 ours where `inherit[i]` (else /dev/null) and its descriptor 3 the write end
   * of a pipe whose read end (close-on-exec) is `statusFd` (posix_spawn; signal dispositions
   * reset; no other descriptor). Reap it with `reapProgram` once it has exited.
   */
  startReportingProgram(program: string, args: string[], inherit: boolean[]): {pid: number; statusFd: number}
  /** waitpid a program `startReportingProgram` started (blocking): its code, or the signal that ended it. */
  reapProgram(pid: number): {code: number | null; signal: number | null}
  /** TIOCGWINSZ on `fd`; `null` when it is not a terminal. */
  terminalSize(fd: number): TerminalSize | null
  /**
   * Send `signal` to `pid`, a container's process, through a pidfd opened before the check (a
   * pid reused meanwhile is never signalled): "sent"; "gone" when it had exited;
   * "not-a-container" when it shares our mount namespace (a reused pid). Throws on other errors.
   */
  signalContainerProcess(pid: number, signal: number): 'sent' | 'gone' | 'not-a-container'
}

const FUNCTIONS = ['lockFile', 'tryLockFile', 'unlockFile', 'fsType', 'isatty', 'markTopDir', 'terminalSize', 'startProgram', 'finishProgram', 'startReportingProgram', 'reapProgram', 'signalContainerProcess'] as const
const FIX =
  'reinstall ncx so that npm installs the prebuilt package (optional dependencies must not be omitted), or build from source: "npm install -g ncx --build-from-source" (needs cargo), or "npm run build:native" in a checkout'

const require = createRequire(import.meta.url)
const here = dirname(fileURLToPath(import.meta.url))

let cachedTriple: string | undefined
let cachedAddon: NativeAddon | undefined
let cachedPrebuiltDir: string | null | undefined

interface ReportLike {
  excludeNetwork?: boolean
  getReport(): {header?: {glibcVersionRuntime?: string}}
}

function isMusl(): boolean {
  // The C library Node itself is linked against, from our own memory map: a fraction of a
  // millisecond, where process.report.getReport() costs several (this is on `run`'s hot path).
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8')
    if (/\/(ld-)?musl[^/\s]*\.so/.test(maps)) return true
    if (/\/libc\.so\.6\b|\/libc-[\d.]+\.so\b/.test(maps)) return false
  } catch {
    // no /proc: fall through
  }
  const report = process.report as unknown as ReportLike | undefined
  if (report && typeof report.getReport === 'function') {
    const saved = report.excludeNetwork
    report.excludeNetwork = true // skip slow network-interface enumeration
    try {
      return !report.getReport().header?.glibcVersionRuntime
    } finally {
      report.excludeNetwork = saved
    }
  }
  return false
}

/** `<platform>-<arch>[-<abi>]`, e.g. "linux-x64-gnu", "linux-arm64-musl" (napi-rs naming). */
export function platformTriple(): string {
  if (cachedTriple === undefined) {
    const {arch, platform} = process
    if (platform === 'linux') cachedTriple = `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
    else if (platform === 'win32') cachedTriple = `win32-${arch}-msvc`
    else cachedTriple = `${platform}-${arch}`
  }

  return cachedTriple
}

/**
 * The repository (or installed package) root. Compiled, this file is
 * `dist/src/native/index.js`, three levels below the root; run from source (tsx) it is
 * `src/native/index.ts`, two levels below. Take the nearest ancestor with a package.json,
 * falling back to three levels up.
 */
function packageRoot(): string {
  for (let dir = here, up = 0; up < 4; up++) {
    if (existsSync(join(dir, 'package.json'))) return dir
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }

  return join(here, '..', '..', '..')
}

function prebuiltPackageName(): string {
  return `@ncx/native-${platformTriple()}`
}

/** Directory of the installed prebuilt package, or null. */
function prebuiltDir(): string | null {
  if (cachedPrebuiltDir === undefined) {
    try {
      cachedPrebuiltDir = dirname(require.resolve(`${prebuiltPackageName()}/package.json`))
    } catch {
      cachedPrebuiltDir = null
    }
  }

  return cachedPrebuiltDir
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function checkShape(loaded: unknown, from: string): NativeAddon {
  const record = (typeof loaded === 'object' && loaded !== null ? loaded : {}) as Record<string, unknown>
  const missing = FUNCTIONS.filter((name) => typeof record[name] !== 'function')
  if (missing.length > 0) {
    throw new Error(`ncx native addon ${from} is out of date (missing ${missing.join(', ')}); ${FIX}`)
  }

  return loaded as NativeAddon
}

/**
 * An addon file's exports: what `require(file)` does for a `.node` file, without the module
 * resolution around it (package scopes looked up and read: a millisecond of a `start`).
 */
function dlopen(file: string): unknown {
  const module = {exports: {}}
  process.dlopen(module, file)
  return module.exports
}

/** Load the addon once (lazily) and return it; throws a fix-it Error when it is missing. */
export function loadNative(): NativeAddon {
  if (cachedAddon) return cachedAddon
  const triple = platformTriple()
  const failures: string[] = []

  const local = join(packageRoot(), 'native', `ncx.${triple}.node`)
  if (existsSync(local)) {
    try {
      cachedAddon = checkShape(dlopen(local), local)
      return cachedAddon
    } catch (error) {
      failures.push(`${local} failed to load: ${message(error)}`)
    }
  } else {
    failures.push(`no local build (${local})`)
  }

  const pkgDir = prebuiltDir()
  if (pkgDir) {
    const file = join(pkgDir, `ncx.${triple}.node`)
    try {
      cachedAddon = checkShape(dlopen(file), file)
      return cachedAddon
    } catch (error) {
      failures.push(`${prebuiltPackageName()} failed to load: ${message(error)}`)
    }
  } else {
    failures.push(`prebuilt package ${prebuiltPackageName()} is not installed`)
  }

  throw new Error(`ncx native addon for ${triple} not available: ${failures.join('; ')}; ${FIX}`)
}

/** Path of the ncx-runtime binary; throws a fix-it Error when it is missing. */
export function runtimeBinary(): string {
  const name = process.platform === 'win32' ? 'ncx-runtime.exe' : 'ncx-runtime'
  const override = process.env.NCX_RUNTIME_BINARY
  if (override) {
    if (existsSync(override)) return override
    throw new Error(`NCX_RUNTIME_BINARY=${override} does not exist; fix the variable, or unset it and ${FIX}`)
  }

  const failures: string[] = []
  const local = join(packageRoot(), 'native', name)
  if (existsSync(local)) return local
  failures.push(`no local build (${local})`)

  const pkgDir = prebuiltDir()
  if (pkgDir) {
    const file = join(pkgDir, name)
    if (existsSync(file)) return file
    failures.push(`${file} does not exist`)
  } else {
    failures.push(`prebuilt package ${prebuiltPackageName()} is not installed`)
  }

  throw new Error(`ncx runtime binary for ${platformTriple()} not available: ${failures.join('; ')}; ${FIX}`)
}
