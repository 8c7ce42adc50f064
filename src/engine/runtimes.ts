/**
 * OCI runtimes: ncx's own (`ncx-runtime`, the default) or an external one (runc, crun, youki,
 * runsc, kata-runtime, or any binary by absolute path) chosen with `--runtime`, compose's
 * `runtime:`, NCX_RUNTIME or ncx.toml's `runtime`. An external runtime runs the same bundle
 * through the standard OCI command line, driven by ncx's monitor inside the held user
 * namespace (crates/ncx-runtime/src/external.rs); this module names it and finds it.
 */
import {execFileSync} from 'node:child_process'
import {accessSync, constants, statSync} from 'node:fs'
import {join} from 'node:path'

import {runtimeBinary} from '../native/index.js'
import {defaultRuntime, FileConfig} from './config.js'
import {NcxError} from './errors.js'

/** ncx's own runtime. */
export const BUILTIN_RUNTIME = 'ncx-runtime'

/** The external runtimes `ncx info` looks for (any other works by path or name on PATH). */
export const KNOWN_RUNTIMES = ['runc', 'crun', 'youki', 'runsc', 'kata-runtime'] as const

/** Runtimes whose containers are host processes in namespaces (ncx's exec and probes can join them). */
const NAMESPACE_RUNTIMES = ['ncx-runtime', 'runc', 'crun', 'youki']

/** Whether ncx may enter this runtime's containers by their namespaces (not a sandbox such as runsc or Kata). */
export function joinsNamespaces(runtime: string): boolean {
  return NAMESPACE_RUNTIMES.includes(runtime.split('/').pop() ?? runtime)
}

export interface OciRuntime {
  /** What the user chose (a name, or the path as given). */
  name: string
  /** The binary. */
  path: string
}

/**
 * Where a name is looked for: PATH, then the sbin directories an ordinary user's PATH lacks
 * (Debian installs runc in /usr/sbin).
 */
function searchDirs(env: NodeJS.ProcessEnv): string[] {
  const dirs = (env.PATH ?? '').split(':').filter((d) => d.startsWith('/'))
  for (const d of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!dirs.includes(d)) dirs.push(d)
  return dirs
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** The binary of an external runtime `name` (absolute path, or a name looked up), if any. */
export function findRuntime(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name.startsWith('/')) return executable(name) ? name : undefined
  if (name === '' || name.includes('/')) return undefined
  return searchDirs(env).map((d) => join(d, name)).find(executable)
}

/**
 * `--runtime NAME|PATH` (undefined: the configured default) → the runtime, or Docker's
 * error (exit 125) when there is no such runtime. undefined means ncx's own.
 */
export function resolveRuntime(name: string | undefined, config: FileConfig, env: NodeJS.ProcessEnv = process.env): OciRuntime | undefined {
  const chosen = name ?? defaultRuntime(config, env).value
  if (chosen === BUILTIN_RUNTIME) return undefined
  const path = findRuntime(chosen, env)
  if (!path) {
    const where = name === undefined ? ` (the default runtime, from ${env.NCX_RUNTIME ? 'NCX_RUNTIME' : 'ncx.toml'})` : ''
    throw new NcxError(`unknown or invalid runtime name: ${chosen}${where}`, {
      hint: `install it, give its absolute path, or use ${BUILTIN_RUNTIME}; "ncx info" lists the runtimes found (${KNOWN_RUNTIMES.join(', ')} are looked for on PATH and in the sbin directories)`,
    })
  }
  return {name: chosen, path}
}

/** The runtime a container record names (undefined: ncx's own), found again at each start. */
export function containerRuntime(options: {runtime?: string}, env: NodeJS.ProcessEnv = process.env): OciRuntime | undefined {
  if (options.runtime === undefined || options.runtime === BUILTIN_RUNTIME) return undefined
  const path = findRuntime(options.runtime, env)
  if (!path) throw new NcxError(`unknown or invalid runtime name: ${options.runtime}`, {hint: `the container was made with --runtime ${options.runtime}, which is no longer installed; install it again, or recreate the container`})
  return {name: options.runtime, path}
}

/** `ncx-runtime run|monitor` arguments that hand the container to an external runtime. */
export function externalRuntimeArgs(runRoot: string, runtime: OciRuntime | undefined): string[] {
  if (!runtime) return []
  // Each runtime's state in a directory of its own (their layouts differ), private to the user.
  const safe = runtime.name.replace(/[^A-Za-z0-9._-]/g, '_')
  return ['--oci-runtime', runtime.path, '--oci-runtime-name', runtime.name, '--oci-root', join(runRoot, 'oci', safe)]
}

export interface RuntimeInfo {
  path: string
  /** The first line of `RUNTIME --version` (empty when it gave none). */
  version: string
}

/** The version line of a runtime (`runc version 1.1.5`, `youki version: 0.7.0` → the number; the whole line otherwise). */
export function runtimeVersion(path: string): string {
  try {
    const out = execFileSync(path, ['--version'], {encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore']})
    const line = out.split('\n').find((l) => l.trim() !== '') ?? ''
    return /\bversion:?\s+(\S+)/i.exec(line)?.[1] ?? line.trim()
  } catch {
    return ''
  }
}

/** `ncx info`'s Runtimes: ncx's own and the external ones found, with their versions. */
export function listRuntimes(env: NodeJS.ProcessEnv = process.env, ownVersion?: string): Record<string, RuntimeInfo> {
  const out: Record<string, RuntimeInfo> = {[BUILTIN_RUNTIME]: {path: runtimeBinary(), version: ownVersion ?? runtimeVersion(runtimeBinary())}}
  for (const name of KNOWN_RUNTIMES) {
    const path = findRuntime(name, env)
    if (path) out[name] = {path, version: runtimeVersion(path)}
  }
  return out
}
