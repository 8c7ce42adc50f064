import {execFileSync} from 'node:child_process'
import {release} from 'node:os'

import {loadNative, runtimeBinary} from '../native/index.js'
import {OCI_RUNTIME_SPEC_VERSION} from './spec/oci.js'

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
    runtimeVersion = runtimeVersionText(path).trim().replace(/^ncx-runtime\s+/, '')
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
