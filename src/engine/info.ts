import {execFileSync} from 'node:child_process'
import {cpus, release, totalmem} from 'node:os'
import {readFileSync} from 'node:fs'

import {runtimeBinary} from '../native/index.js'
import {CgroupInfo, detectCgroups} from './cgroup/detect.js'
import {Engine} from './engine.js'
import {IdRange} from './rootless/session.js'
import {NetworkInfo, networkInfo} from './network/netns.js'
import {loadNative} from '../native/index.js'

/** `ncx info`, with Docker's field names where Docker has one. */
export interface SystemInfo {
  ServerVersion: string
  Rootless: boolean
  Containers: number
  Images: number
  Driver: string
  /** Why the fallback driver is in use. */
  DriverReason?: string
  BackingFilesystem: string
  Runtime: {name: string; path: string; version: string}
  Cgroup: CgroupInfo
  UserNamespace?: {holderPid?: number; uidMap: IdRange[]; gidMap: IdRange[]; singleId: boolean}
  Network: NetworkInfo
  KernelVersion: string
  OperatingSystem: string
  Architecture: string
  NCPU: number
  MemTotal: number
  DataRoot: string
  RunRoot: string
  ConfigRoot: string
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
  return {
    ServerVersion: version,
    Rootless: session.rootless,
    Containers: engine.containers.list().length,
    Images: engine.images.list().length,
    Driver: engine.storageDriver().name,
    DriverReason: engine.storageDriver().reason,
    BackingFilesystem: backing,
    Runtime: {name: 'ncx-runtime', path: binary, version: runtimeVersion},
    Cgroup: detectCgroups(),
    ...(session.rootless ? {UserNamespace: {holderPid: session.holderPid, uidMap: session.uidMap, gidMap: session.gidMap, singleId: session.singleId}} : {}),
    Network: networkInfo(engine),
    KernelVersion: release(),
    OperatingSystem: osName(),
    Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
    NCPU: cpus().length,
    MemTotal: totalmem(),
    DataRoot: engine.paths.data,
    RunRoot: engine.paths.run,
    ConfigRoot: engine.paths.config,
  }
}
