import {randomBytes} from 'node:crypto'
import {release} from 'node:os'
import {join} from 'node:path'

import {UsageError} from '../errors.js'
import {UsernsSession, joinArgs} from '../rootless/session.js'
import {runtimeSync} from '../runtime.js'
import {readJson, writeJson} from '../store/files.js'
import {StorePaths, layout} from '../store/paths.js'

export type StorageDriverName = 'overlay' | 'copy'

/** How container root file systems are made from the unpacked layers. */
export interface StorageDriver {
  name: StorageDriverName
  /** Why this driver, when it is the fallback. */
  reason?: string
}

interface ProbeRecord extends StorageDriver {
  kernel: string
  rootless: boolean
}

/**
 * `overlay` (kernel overlayfs mounted inside the container's mount namespace) where it
 * works, else `copy` (layers copied into the container's rootfs). Chosen by probing once
 * per data root and kernel; `NCX_STORAGE_DRIVER=overlay|copy` forces one.
 */
export function storageDriver(paths: StorePaths, session: UsernsSession, env: NodeJS.ProcessEnv = process.env, warn: (m: string) => void = () => {}): StorageDriver {
  const forced = env.NCX_STORAGE_DRIVER
  if (forced !== undefined && forced !== '') {
    if (forced !== 'overlay' && forced !== 'copy') throw new UsageError(`unknown storage driver ${JSON.stringify(forced)} in NCX_STORAGE_DRIVER`, 'use overlay or copy')
    return {name: forced}
  }
  const file = join(paths.data, 'storage.json')
  const cached = readJson<ProbeRecord | undefined>(file, undefined)
  if (cached && cached.kernel === release() && cached.rootless === session.rootless) return {name: cached.name, reason: cached.reason}
  const dir = join(layout.tmp(paths), `probe-${randomBytes(4).toString('hex')}`)
  const args = ['probe-overlay', ...joinArgs(session), '--dir', dir]
  if (session.rootless) args.push('--userxattr')
  const probe = JSON.parse(runtimeSync(args)) as {overlay: boolean; error?: string}
  const driver: StorageDriver = probe.overlay ? {name: 'overlay'} : {name: 'copy', reason: probe.error}
  if (!probe.overlay) {
    warn(`overlayfs cannot be mounted here (${probe.error}): using the copy storage driver, which is slower and uses more disk. Rootless overlay needs Linux >= 5.11 and a data root on a local file system`)
  }
  writeJson(file, {...driver, kernel: release(), rootless: session.rootless} satisfies ProbeRecord)
  return driver
}
