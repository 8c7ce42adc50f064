/**
 * Shared by `diff`, `export`, `commit` and `cp`: how the runtime reaches a container's files
 * (crates/ncx-runtime/src/layer.rs), and running a runtime helper whose stdout is data.
 */
import {spawn} from 'node:child_process'
import {join} from 'node:path'

import {runtimeBinary} from '../../native/index.js'
import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {runtimeErrorText} from '../runtime.js'
import {stateOf} from './lifecycle.js'
import {containerLowerDirs, overlayData} from './rootfs.js'
import {ContainerRecord} from './store.js'

/** Paths Docker keeps in a container's init layer: mount points, not the container's changes. */
export const INIT_PATHS = ['/.dockerenv', '/dev', '/dev/console', '/dev/pts', '/dev/shm', '/etc/hostname', '/etc/hosts', '/etc/mtab', '/etc/resolv.conf', '/proc', '/sys']

/** A root for the runtime: `pid:N`, `dir:DIR` or `overlay:DATA` (mounted on `mountpoint`). */
export interface RootSpec {
  spec: string
  mountpoint?: string
}

export function requireOverlay(engine: Engine, what: string): void {
  if (engine.storageDriver().name !== 'overlay') {
    throw new NcxError(`${what} needs the overlay storage driver: with the copy driver a container has no separate writable layer`)
  }
}

/**
 * The container's merged file system. `write`: for changes (a running container's own root;
 * a stopped one's overlay with its upper dir); otherwise a read-only view (a running
 * container's root for `cp`, else the upper dir over the layers, which is safe to mount
 * while the container runs).
 */
export function containerRoot(engine: Engine, record: ContainerRecord, options: {write: boolean; live: boolean}): RootSpec {
  const dir = engine.containers.dir(record.id)
  const session = engine.session()
  if (engine.storageDriver().name !== 'overlay') return {spec: `dir:${join(dir, 'rootfs')}`}
  const s = stateOf(engine, record)
  if (options.live && s.status === 'running' && s.pid > 0) return {spec: `pid:${s.pid}`}
  const lowers = containerLowerDirs(engine, record)
  if (options.write) {
    if (s.status === 'running' || s.status === 'restarting') throw new NcxError(`container ${record.id} is ${s.status}`, {exitCode: 1})
    return {spec: `overlay:${overlayData(lowers, dir, session.rootless)}`, mountpoint: join(dir, 'rootfs')}
  }
  const data = `lowerdir=${[join(dir, 'upper'), ...lowers].join(':')}${session.rootless ? ',userxattr' : ''}`
  return {spec: `overlay:${data}`, mountpoint: join(dir, 'rootfs')}
}

/** Run a runtime helper with stdout going to `stdout` (a fd, or a pipe handed to `onStdout`). */
export async function runtimeStreaming(args: string[], stdout: number | 'inherit' | ((s: NodeJS.ReadableStream) => Promise<unknown>)): Promise<void> {
  const child = spawn(runtimeBinary(), args, {stdio: ['ignore', typeof stdout === 'function' ? 'pipe' : stdout, 'pipe']})
  let err = ''
  child.stderr!.on('data', (d: Buffer) => (err += d))
  const closed = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({code, signal}))
  })
  let consumed: unknown
  if (typeof stdout === 'function') {
    try {
      await stdout(child.stdout!)
    } catch (error) {
      consumed = error
      child.kill('SIGTERM')
    }
  }
  const {code, signal} = await closed
  if (consumed) throw consumed
  if (code === 141 || signal === 'SIGPIPE') throw Object.assign(new Error('EPIPE'), {code: 'EPIPE'})
  if (code !== 0) throw new NcxError(runtimeErrorText(err) ?? `ncx-runtime ${args[0]} failed (${code ?? signal})`)
}
