import {execFileSync} from 'node:child_process'
import {cpus, release, totalmem} from 'node:os'
import {readFileSync} from 'node:fs'

import {runtimeBinary} from '../native/index.js'
import {CgroupInfo, detectCgroups} from './cgroup/detect.js'
import {Engine} from './engine.js'
import {IdRange} from './rootless/session.js'
import {NetworkInfo, networkInfo} from './network/netns.js'
import {loadNative} from '../native/index.js'
import {cgroupManager, defaultRuntime, portBypass} from './config.js'
import {listRuntimes, RuntimeInfo} from './runtimes.js'
import {registrySettings} from './registry/config.js'
import {stateOf} from './container/lifecycle.js'
import {isPaused} from './cgroup/control.js'

/** `ncx info`, with Docker's field names where Docker has one. */
export interface SystemInfo {
  ServerVersion: string
  Rootless: boolean
  Containers: number
  ContainersRunning: number
  ContainersPaused: number
  ContainersStopped: number
  Images: number
  Driver: string
  /** Why the fallback driver is in use. */
  DriverReason?: string
  BackingFilesystem: string
  Runtime: {name: string; path: string; version: string}
  /** Docker's `Runtimes`: ncx's own and the external OCI runtimes found, by name (with versions). */
  Runtimes: Record<string, RuntimeInfo>
  /** The runtime of containers made without --runtime (NCX_RUNTIME, ncx.toml's runtime, ncx-runtime). */
  DefaultRuntime: string
  Cgroup: CgroupInfo
  UserNamespace?: {holderPid?: number; uidMap: IdRange[]; gidMap: IdRange[]; singleId: boolean}
  Network: NetworkInfo
  KernelVersion: string
  OperatingSystem: string
  Architecture: string
  NCPU: number
  MemTotal: number
  /** Docker's fields for the same facts: `linux`, the data root, `1`/`2`, the cgroup driver. */
  OSType: 'linux'
  DockerRootDir: string
  CgroupVersion: '1' | '2'
  CgroupDriver: string
  SecurityOptions: string[]
  DataRoot: string
  RunRoot: string
  ConfigRoot: string
  /** The configuration file (ncx.toml) and where each effective setting came from. */
  Config: ConfigInfo
}

export interface ConfigInfo {
  File: string
  Loaded: boolean
  Sources: Record<'DataRoot' | 'RunRoot' | 'DefaultNetwork' | 'CgroupManager' | 'DefaultRuntime' | 'RegistryMirrors' | 'InsecureRegistries' | 'PortBypass', string>
  DefaultNetwork?: string
  CgroupManager: string
  RegistryMirrors: string[]
  InsecureRegistries: string[]
  /** Published TCP ports bypass the relay by default (docs/networking.md, "Port bypass"). */
  PortBypass: boolean
}

function configInfo(engine: Engine, env: NodeJS.ProcessEnv = process.env): ConfigInfo {
  const s = engine.paths.settings
  const file = s?.config ?? {}
  const cg = cgroupManager({file: s?.file ?? '', loaded: s?.loaded ?? false, config: file}, env)
  const reg = registrySettings(engine.paths, env)
  const bypass = portBypass(file, env)
  const src = (variable: string, fromFile: unknown) => (env[variable] ? `env ${variable}` : fromFile !== undefined ? 'config file' : 'default')
  return {
    File: s?.file ?? '',
    Loaded: s?.loaded ?? false,
    Sources: {
      // oclif fills --root from NCX_ROOT: a "flag" equal to the variable came from the environment.
      DataRoot: s?.data === 'env' || (s?.data === 'flag' && env.NCX_ROOT === engine.paths.data) ? 'env NCX_ROOT' : s?.data === 'flag' ? 'flag --root' : (s?.data ?? 'default'),
      RunRoot: s?.run === 'env' ? 'env NCX_RUN_ROOT' : (s?.run ?? 'default'),
      DefaultNetwork: src('NCX_DEFAULT_NETWORK', file.defaultNetwork),
      CgroupManager: cg.source === 'env' ? 'env NCX_CGROUP_MANAGER' : cg.source,
      DefaultRuntime: src('NCX_RUNTIME', file.runtime),
      RegistryMirrors: env.NCX_REGISTRY_MIRRORS !== undefined ? 'env NCX_REGISTRY_MIRRORS' : file.registryMirrors ? 'config file' : 'default (registries.json)',
      InsecureRegistries: env.NCX_INSECURE_REGISTRIES ? 'env NCX_INSECURE_REGISTRIES (added)' : file.insecureRegistries ? 'config file' : 'default (registries.json)',
      PortBypass: bypass.source === 'env' ? 'env NCX_PORT_BYPASS' : bypass.source,
    },
    ...(env.NCX_DEFAULT_NETWORK || file.defaultNetwork ? {DefaultNetwork: env.NCX_DEFAULT_NETWORK || file.defaultNetwork} : {}),
    CgroupManager: cg.value,
    RegistryMirrors: reg.mirrors,
    InsecureRegistries: reg.insecure,
    PortBypass: bypass.value,
  }
}

function osName(): string {
  const text = (() => {
    try {
      return readFileSync('/etc/os-release', 'utf8')
    } catch {
      return ''
    }
  })()
  return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? 'Linux'
}

export function systemInfo(engine: Engine, version: string): SystemInfo {
  const session = engine.session()
  const binary = runtimeBinary()
  let runtimeVersion = 'unknown'
  try {
    runtimeVersion = execFileSync(binary, ['version'], {encoding: 'utf8'}).trim().split(' ').pop() ?? 'unknown'
  } catch {
    runtimeVersion = 'not runnable'
  }
  let backing = 'unknown'
  try {
    backing = loadNative().fsType(engine.paths.data)
  } catch {
    backing = 'unknown (data root does not exist yet)'
  }
  const containers = engine.containers.list()
  const states = containers.map((record) => {
    const status = stateOf(engine, record).status
    return status === 'running' && isPaused(engine, record) ? 'paused' : status
  })
  const running = states.filter((s) => s === 'running' || s === 'restarting').length
  const paused = states.filter((s) => s === 'paused').length
  const cgroup = detectCgroups()
  const config = configInfo(engine)
  return {
    ServerVersion: version,
    Rootless: session.rootless,
    Containers: containers.length,
    ContainersRunning: running,
    ContainersPaused: paused,
    ContainersStopped: containers.length - running - paused,
    Images: engine.images.list().length,
    Driver: engine.storageDriver().name,
    DriverReason: engine.storageDriver().reason,
    BackingFilesystem: backing,
    Runtime: {name: 'ncx-runtime', path: binary, version: runtimeVersion},
    Runtimes: listRuntimes(process.env, runtimeVersion),
    DefaultRuntime: defaultRuntime(engine.paths.settings?.config ?? {}).value,
    Cgroup: cgroup,
    ...(session.rootless ? {UserNamespace: {holderPid: session.holderPid, uidMap: session.uidMap, gidMap: session.gidMap, singleId: session.singleId}} : {}),
    Network: networkInfo(engine),
    KernelVersion: release(),
    OperatingSystem: osName(),
    Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
    NCPU: cpus().length,
    MemTotal: totalmem(),
    OSType: 'linux',
    DockerRootDir: engine.paths.data,
    CgroupVersion: cgroup.version === 'v2' ? '2' : '1',
    // Docker's rootless engine says `none` where it cannot use cgroups for limits.
    CgroupDriver: cgroup.limitation ? 'none' : config.CgroupManager,
    SecurityOptions: ['name=seccomp,profile=builtin', ...(session.rootless ? ['name=rootless'] : []), ...(cgroup.version === 'v2' ? ['name=cgroupns'] : [])],
    DataRoot: engine.paths.data,
    RunRoot: engine.paths.run,
    ConfigRoot: engine.paths.config,
    Config: config,
  }
}
