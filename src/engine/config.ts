/**
 * ncx's configuration file, `ncx.toml` in the config root (`~/.config/ncx/ncx.toml`
 * rootless, `/etc/ncx/ncx.toml` as root; `NCX_CONFIG` names another file):
 *
 *   data_root = "~/containers"          # --root / NCX_ROOT override it
 *   run_root = "/run/user/1000/ncx"     # NCX_RUN_ROOT overrides it
 *   default_network = "bridge"          # NCX_DEFAULT_NETWORK overrides it
 *   cgroup_manager = "cgroupfs"         # NCX_CGROUP_MANAGER overrides it
 *   runtime = "runc"                    # default OCI runtime (name or path); NCX_RUNTIME overrides it, --runtime too
 *   [registries]
 *   mirrors = ["https://mirror.example"]   # NCX_REGISTRY_MIRRORS (comma-separated) overrides it
 *   insecure = ["myhost:5000"]             # NCX_INSECURE_REGISTRIES adds to it
 *   timeout = 30                           # seconds a registry may send nothing; NCX_REGISTRY_TIMEOUT overrides it
 *   [network]
 *   port_bypass = true                     # NCX_PORT_BYPASS=1|0 overrides it (docs/networking.md: port bypass)
 *
 * Precedence: flag > environment > ncx.toml > built-in default. `ncx info` shows which
 * source each effective value came from. Parsed with smol-toml (TOML 1.0, no dependencies).
 */
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import type {TomlError} from 'smol-toml'

import {UsageError} from './errors.js'

// systemd (a transient scope over D-Bus) is not implemented: refused here as --cgroup-manager refuses it.
export const CGROUP_MANAGERS = ['cgroupfs', 'none'] as const
export type CgroupManager = (typeof CGROUP_MANAGERS)[number]

/** What ncx.toml may set (every field optional). */
export interface FileConfig {
  dataRoot?: string
  runRoot?: string
  defaultNetwork?: string
  cgroupManager?: CgroupManager
  /** `runtime`: the default OCI runtime (a name looked up on PATH, or an absolute path). */
  runtime?: string
  registryMirrors?: string[]
  insecureRegistries?: string[]
  /** `[registries] timeout`: seconds a registry connection may stay silent before the request fails. */
  registryTimeout?: number
  /** `[network] port_bypass`: published TCP ports bypass the relay by default. */
  portBypass?: boolean
}

export interface LoadedConfig {
  /** The file looked at. */
  file: string
  /** Whether it exists (and was read). */
  loaded: boolean
  config: FileConfig
}

const TOP_KEYS = ['data_root', 'run_root', 'default_network', 'cgroup_manager', 'runtime', 'registries', 'network']
const REGISTRY_KEYS = ['mirrors', 'insecure', 'timeout']
const NETWORK_KEYS = ['port_bypass']

/** The config file for a config root (`NCX_CONFIG` overrides it). */
export function configFilePath(configRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.NCX_CONFIG || join(configRoot, 'ncx.toml')
}

function expandHome(value: string, home: string | undefined, file: string, key: string): string {
  const v = value.startsWith('~/') && home ? join(home, value.slice(2)) : value
  if (!v.startsWith('/')) throw new UsageError(`${file}: ${key} must be an absolute path (or start with ~/), got ${JSON.stringify(value)}`)
  return v
}

/** Parse ncx.toml text; every mistake is one precise message naming the file and the key. */
export function parseConfig(text: string, file: string, home?: string): FileConfig {
  let doc: Record<string, unknown>
  try {
    // Loaded only when there is a file: every ncx start (and each shell completion) reads the config.
    const {parse} = createRequire(import.meta.url)('smol-toml') as typeof import('smol-toml')
    doc = parse(text) as Record<string, unknown>
  } catch (error) {
    const e = error as TomlError
    const where = e.line !== undefined ? ` (line ${e.line}, column ${e.column})` : ''
    throw new UsageError(`${file}: invalid TOML${where}: ${String(e.message).split('\n')[0]}`, 'fix the file or move it away')
  }
  const out: FileConfig = {}
  for (const key of Object.keys(doc)) {
    if (!TOP_KEYS.includes(key)) throw new UsageError(`${file}: unknown key ${JSON.stringify(key)}`, `known keys: ${TOP_KEYS.join(', ')}`)
  }
  const str = (key: string): string | undefined => {
    const v = doc[key]
    if (v === undefined) return undefined
    if (typeof v !== 'string' || v === '') throw new UsageError(`${file}: ${key} must be a non-empty string`)
    return v
  }
  const dataRoot = str('data_root')
  if (dataRoot) out.dataRoot = expandHome(dataRoot, home, file, 'data_root')
  const runRoot = str('run_root')
  if (runRoot) out.runRoot = expandHome(runRoot, home, file, 'run_root')
  const net = str('default_network')
  if (net) out.defaultNetwork = net
  const cg = str('cgroup_manager')
  if (cg) {
    if (!(CGROUP_MANAGERS as readonly string[]).includes(cg)) throw new UsageError(`${file}: cgroup_manager must be one of ${CGROUP_MANAGERS.join(', ')}, got ${JSON.stringify(cg)}`)
    out.cgroupManager = cg as CgroupManager
  }
  const runtime = str('runtime')
  if (runtime) out.runtime = runtime
  /** The `[name]` table of the file, checked to hold only `keys` (undefined when absent). */
  const table = (name: string, keys: readonly string[]): Record<string, unknown> | undefined => {
    const v = doc[name]
    if (v === undefined) return undefined
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError(`${file}: ${name} must be a table ([${name}])`)
    const t = v as Record<string, unknown>
    for (const key of Object.keys(t)) {
      if (!keys.includes(key)) throw new UsageError(`${file}: unknown key "${name}.${key}"`, `known keys: ${keys.map((k) => `${name}.${k}`).join(', ')}`)
    }
    return t
  }
  const r = table('registries', REGISTRY_KEYS)
  if (r !== undefined) {
    const list = (key: string): string[] | undefined => {
      const v = r[key]
      if (v === undefined) return undefined
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new UsageError(`${file}: registries.${key} must be a list of strings`)
      return v as string[]
    }
    const mirrors = list('mirrors')
    if (mirrors) out.registryMirrors = mirrors
    const insecure = list('insecure')
    if (insecure) out.insecureRegistries = insecure
    if (r.timeout !== undefined) {
      if (typeof r.timeout !== 'number' || !(r.timeout > 0)) throw new UsageError(`${file}: registries.timeout must be a number of seconds above 0`)
      out.registryTimeout = r.timeout
    }
  }
  const n = table('network', NETWORK_KEYS)
  if (n !== undefined) {
    if (n.port_bypass !== undefined) {
      if (typeof n.port_bypass !== 'boolean') throw new UsageError(`${file}: network.port_bypass must be true or false`)
      out.portBypass = n.port_bypass
    }
  }
  return out
}

/** Read the config file of `configRoot`; a missing file is an empty configuration. */
export function loadConfig(configRoot: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const file = configFilePath(configRoot, env)
  if (!existsSync(file)) {
    if (env.NCX_CONFIG) throw new UsageError(`NCX_CONFIG=${env.NCX_CONFIG} does not exist`, 'fix the variable or unset it')
    return {file, loaded: false, config: {}}
  }
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new UsageError(`${file}: cannot read: ${(error as Error).message}`)
  }
  return {file, loaded: true, config: parseConfig(text, file, env.HOME)}
}

/** Where an effective setting came from. */
export type SettingSource = 'flag' | 'env' | 'config file' | 'default'

export interface EffectiveSetting<T> {
  value: T
  source: SettingSource
  /** The variable, when source is env. */
  variable?: string
}

/** Pick the first defined: env variable, config file, default. */
export function effective<T>(env: NodeJS.ProcessEnv, variable: string, fromFile: T | undefined, fallback: T, fromEnv: (v: string) => T = (v) => v as unknown as T): EffectiveSetting<T> {
  const e = env[variable]
  if (e !== undefined && e !== '') return {value: fromEnv(e), source: 'env', variable}
  if (fromFile !== undefined) return {value: fromFile, source: 'config file'}
  return {value: fallback, source: 'default'}
}

/** NCX_CGROUP_MANAGER > cgroup_manager > cgroupfs. */
export function cgroupManager(loaded: LoadedConfig, env: NodeJS.ProcessEnv = process.env): EffectiveSetting<CgroupManager> {
  const s = effective<CgroupManager>(env, 'NCX_CGROUP_MANAGER', loaded.config.cgroupManager, 'cgroupfs', (v) => {
    if (!(CGROUP_MANAGERS as readonly string[]).includes(v)) throw new UsageError(`NCX_CGROUP_MANAGER=${v}: must be one of ${CGROUP_MANAGERS.join(', ')}`)
    return v as CgroupManager
  })
  return s
}

/** NCX_RUNTIME > runtime > ncx-runtime: the OCI runtime of containers made without --runtime. */
export function defaultRuntime(config: FileConfig, env: NodeJS.ProcessEnv = process.env): EffectiveSetting<string> {
  return effective<string>(env, 'NCX_RUNTIME', config.runtime, 'ncx-runtime')
}

/** NCX_PORT_BYPASS (1/true/0/false) > `[network] port_bypass` > off: whether published TCP ports bypass the relay. */
export function portBypass(config: FileConfig, env: NodeJS.ProcessEnv = process.env): EffectiveSetting<boolean> {
  return effective<boolean>(env, 'NCX_PORT_BYPASS', config.portBypass, false, (v) => {
    if (['1', 'true'].includes(v)) return true
    if (['0', 'false'].includes(v)) return false
    throw new UsageError(`NCX_PORT_BYPASS=${v}: must be 1, true, 0 or false`)
  })
}
