import {execFileSync} from 'node:child_process'
import {readFileSync, statSync} from 'node:fs'
import {homedir, release} from 'node:os'
import {join} from 'node:path'

import {loadNative, runtimeBinary} from '../native/index.js'
import {OCI_RUNTIME_SPEC_VERSION} from './spec/oci.js'
import {writeFileAtomic} from './store/files.js'

/**
 * `ncx-runtime version`'s output: spawned by the addon (posix_spawn) when it loads, which
 * spares `ncx version` loading node:child_process; by Node otherwise (the addon's own
 * failure is not the runtime's).
 */
function runtimeVersionText(path: string): string {
  let native
  try {
    native = loadNative()
  } catch {
    return execFileSync(path, ['version'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
  }
  const r = native.finishProgram(native.startProgram(path, ['version']))
  if (r.code !== 0) throw new Error(`${path} version: ${r.code === null ? `killed by signal ${r.signal}` : `exit status ${r.code}`}`)
  return r.stdout
}

/**
 * Where `ncx version` keeps the runtime's answer: `$XDG_CACHE_HOME/ncx/runtime-version.json`
 * (`~/.cache/ncx/…`); undefined without a home.
 */
export function runtimeVersionCacheFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const home = env.HOME || homedir()
  const base = env.XDG_CACHE_HOME?.startsWith('/') ? env.XDG_CACHE_HOME : home ? join(home, '.cache') : undefined
  return base && join(base, 'ncx', 'runtime-version.json')
}

/** The runtime binaries (paths) the cache remembers, the latest asked kept. */
export const RUNTIME_VERSION_CACHE_ENTRIES = 8

/** What identifies one build of a binary at `path`: a rebuild or a replacement changes it. */
function binaryKey(path: string): string {
  const s = statSync(path)
  return JSON.stringify([path, s.dev, s.ino, s.size, s.mtimeMs, s.ctimeMs])
}

/**
 * `runtimeVersionText(path)`, from the cache file when it holds the answer of the same build
 * of the binary (its path, inode, size, mtime and ctime), else spawned and then cached. A
 * cache that cannot be read or written is only a miss: spawning the runtime costs ~5 ms of
 * a ~25 ms `ncx version`. A failure to run the runtime is never cached.
 */
export function cachedRuntimeVersionText(path: string, cacheFile = runtimeVersionCacheFile()): string {
  const key = binaryKey(path)
  // (one entry per binary path, so that two installations do not take turns)
  let entries: Record<string, {key?: unknown; text?: unknown}> = {}
  if (cacheFile) {
    try {
      const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as {entries?: unknown}
      if (cached.entries && typeof cached.entries === 'object') entries = cached.entries as typeof entries
      const hit = entries[path]
      if (hit?.key === key && typeof hit.text === 'string') return hit.text
    } catch {
      // no cache yet, or an unreadable one: a miss
    }
  }
  const text = runtimeVersionText(path)
  if (cacheFile) {
    try {
      const kept = Object.entries(entries).filter(([p]) => p !== path).slice(-(RUNTIME_VERSION_CACHE_ENTRIES - 1))
      writeFileAtomic(cacheFile, JSON.stringify({entries: {...Object.fromEntries(kept), [path]: {key, text}}}) + '\n', 0o600, false)
    } catch {
      // a read-only or full cache directory: answered all the same
    }
  }
  return text
}

/** `ncx version`, with Docker's Client/Server split. */
export interface VersionInfo {
  Client: {Version: string; NodeVersion: string; Os: string; Arch: string; Context: string}
  Server: {
    Version: string
    /** The Rust workspace (ncx-core, ncx-runtime, ncx-napi share one version). */
    RustCoreVersion: string
    OciRuntimeSpecVersion: string
    Runtime: {Name: string; Version: string; Path: string}
    KernelVersion: string
    Os: string
    Arch: string
  }
}

const goArch = (a: string) => (a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a)

export function versionInfo(cliVersion: string, rootless: boolean): VersionInfo {
  let path = ''
  let runtimeVersion = 'not found'
  try {
    path = runtimeBinary()
    runtimeVersion = cachedRuntimeVersionText(path).trim().replace(/^ncx-runtime\s+/, '')
  } catch (error) {
    runtimeVersion = `not runnable (${(error as Error).message.split('\n')[0]})`
  }
  const arch = goArch(process.arch)
  return {
    Client: {Version: cliVersion, NodeVersion: process.version, Os: process.platform, Arch: arch, Context: rootless ? 'rootless' : 'rootful'},
    Server: {
      Version: cliVersion,
      RustCoreVersion: runtimeVersion,
      OciRuntimeSpecVersion: OCI_RUNTIME_SPEC_VERSION,
      Runtime: {Name: 'ncx-runtime', Version: runtimeVersion, Path: path},
      KernelVersion: release(),
      Os: process.platform,
      Arch: arch,
    },
  }
}
