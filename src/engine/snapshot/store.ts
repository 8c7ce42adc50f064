import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {finished, pipeline} from 'node:stream/promises'

import {loadNative, runtimeBinary} from '../../native/index.js'
import {NcxError} from '../errors.js'
import {UsernsSession, joinArgs} from '../rootless/session.js'
import {runtimeErrnoCause, runtimeErrorText, runtimeSync} from '../runtime.js'
import {makeDirWithMode, withLock, withLockAsync} from '../store/files.js'
import {StorePaths, layout} from '../store/paths.js'
import {rethrowNoSpace} from '../store/space.js'

/**
 * Remove `dir` as the user ncx runs as: true when it is gone; false when something in it
 * refused (permissions, another owner: the runtime finishes it). Never follows a symlink.
 */
function removeOwnTree(dir: string): boolean {
  try {
    rmSync(dir, {recursive: true, force: true})
    return true
  } catch {
    return false
  }
}

/** A layer's root directory when its tar has no `./` entry (as containerd makes it); ncx's umask would give 0700. */
const LAYER_ROOT_MODE = 0o755

/**
 * `snapshots/.tmp-<hex16>-<pid>b`: a layer a build is making in place (an overlay's upper
 * directory, see build/layers.ts), named after its builder. Unlike an unpack's `.tmp-<hex16>-<hex8>`
 * it holds no snapshot lock: its builder holds the GC lock shared, so garbage collection (which
 * holds it exclusive) only ever finds those of killed builds.
 */
export const LAYER_WORK = /^\.tmp-[0-9a-f]{16}-(\d+)b$/

/** What the runtime reports after unpacking a layer. */
export interface UnpackReport {
  diffId: string
  size: number
  entries: number
  skippedDevices: number
  unmappedOwners: number
}

/**
 * Unpacked layers, one directory per diff-id (`snapshots/<hex>/fs`), shared by every image
 * and container that uses the layer. Unpacking happens in the user namespace so file
 * owners are the mapped ids; a snapshot appears under its final name only once complete
 * and verified.
 */
export class SnapshotStore {
  private baseReady = false

  constructor(
    private readonly paths: StorePaths,
    private readonly session: () => UsernsSession,
  ) {}

  /**
   * A new temporary directory for unpacking the layer `hex`, its `fs` made. The snapshots
   * directory is marked as the top of unrelated trees (FS_TOPDIR_FL) first: ext4 then places
   * each layer in a block group of its own choosing. Without it every layer lands next to the
   * store, among the inodes of whatever was deleted there last, and a journal-less ext4 skips
   * each inode freed in the last 30 s one by one: unpacking right after a `system prune` or
   * `rmi` took several times as long in system time.
   */
  private makeTmp(hex: string): string {
    const base = layout.snapshots(this.paths)
    if (!this.baseReady) {
      makeDirWithMode(base, 0o700)
      try {
        loadNative().markTopDir(base)
      } catch {
        // Only a placement hint: a store that cannot take it unpacks as before.
      }
      this.baseReady = true
    }
    const tmp = join(base, `.tmp-${hex.slice(0, 16)}-${randomBytes(4).toString('hex')}`)
    makeDirWithMode(join(tmp, 'fs'), LAYER_ROOT_MODE)
    return tmp
  }

  dir(diffId: string): string {
    return join(layout.snapshot(this.paths, diffId), 'fs')
  }

  has(diffId: string): boolean {
    return existsSync(this.dir(diffId))
  }

  /** Size of the layer's uncompressed tar stream, recorded when it was unpacked. */
  size(diffId: string): number | undefined {
    try {
      const n = Number(readFileSync(join(layout.snapshot(this.paths, diffId), 'size'), 'utf8'))
      return Number.isFinite(n) ? n : undefined
    } catch {
      return undefined
    }
  }

  /** Unpack `blobPath` as the layer `diffId` unless it is already there. */
  ensure(diffId: string, blobPath: string): UnpackReport | undefined {
    if (this.has(diffId)) return undefined
    const hex = diffId.replace(/^sha256:/, '')
    return withLock(layout.lock(this.paths, `snapshot-${hex.slice(0, 16)}`), () => {
      if (this.has(diffId)) return undefined
      const session = this.session()
      const base = layout.snapshots(this.paths)
      let tmp: string | undefined
      try {
        tmp = this.makeTmp(hex)
        const out = runtimeSync([
          'unpack',
          ...joinArgs(session),
          '--dest',
          join(tmp, 'fs'),
          '--file',
          blobPath,
          '--xattr-prefix',
          session.rootless ? 'user.' : 'trusted.',
        ])
        const report = JSON.parse(out) as UnpackReport
        writeFileSync(join(tmp, 'size'), String(report.size), {mode: 0o600})
        if (report.diffId !== diffId) {
          throw new NcxError(`layer ${diffId} failed verification: its content has diff-id ${report.diffId}`, {
            hint: 'the image is corrupt: its config does not match its layers',
          })
        }
        renameSync(tmp, layout.snapshot(this.paths, diffId))
        return report
      } catch (error) {
        if (tmp) this.removeTree([tmp])
        rethrowNoSpace(error, base, `unpacking layer ${diffId} into`)
      }
    })
  }

  /**
   * Unpack a layer while it streams in (a pull: no second pass over the blob). The stream
   * is drained even when the layer turns out to be present already.
   */
  async ensureFromStream(diffId: string, stream: Readable): Promise<UnpackReport | undefined> {
    const hex = diffId.replace(/^sha256:/, '')
    return withLockAsync(layout.lock(this.paths, `snapshot-${hex.slice(0, 16)}`), async () => {
      if (this.has(diffId)) {
        stream.resume()
        await finished(stream).catch(() => undefined)
        return undefined
      }
      let tmp: string | undefined
      try {
        const session = this.session()
        tmp = this.makeTmp(hex)
        const args = ['unpack', ...joinArgs(session), '--dest', join(tmp, 'fs'), '--file', '-', '--xattr-prefix', session.rootless ? 'user.' : 'trusted.']
        const child = spawn(runtimeBinary(), args, {stdio: ['pipe', 'pipe', 'pipe']})
        let out = ''
        let err = ''
        child.stdout.on('data', (d: Buffer) => (out += d))
        child.stderr.on('data', (d: Buffer) => (err += d))
        const exited = new Promise<number>((resolve, reject) => {
          child.on('error', reject)
          child.on('close', (code) => resolve(code ?? 1))
        })
        // A runtime that fails early closes its stdin: stop feeding it, keep the exit status.
        child.stdin.on('error', () => undefined)
        const fed = pipeline(stream, child.stdin).catch((error: unknown) => error)
        const [code, feedError] = await Promise.all([exited, fed])
        if (code !== 0) throw new NcxError(`unpacking layer ${diffId} failed: ${runtimeErrorText(err) ?? `ncx-runtime exited ${code}`}`, runtimeErrnoCause(err))
        if (feedError) throw feedError instanceof NcxError ? feedError : new NcxError(`download of layer ${diffId} failed: ${(feedError as Error).message}`)
        const report = JSON.parse(out) as UnpackReport
        writeFileSync(join(tmp, 'size'), String(report.size), {mode: 0o600})
        if (report.diffId !== diffId) {
          throw new NcxError(`layer ${diffId} failed verification: its content has diff-id ${report.diffId}`, {hint: 'the image is corrupt: its config does not match its layers'})
        }
        renameSync(tmp, layout.snapshot(this.paths, diffId))
        return report
      } catch (error) {
        // Whatever stopped the unpack, its input must not wait for a reader that is gone.
        if (!stream.readableEnded) stream.destroy()
        if (tmp) this.removeTree([tmp])
        rethrowNoSpace(error, layout.snapshots(this.paths), `unpacking layer ${diffId} into`)
      }
    })
  }

  /**
   * Delete trees that may hold files owned by subordinate ids. Each is first removed from the
   * host side, which needs no process (a container that never ran, a volume's empty data); what
   * is not ours to remove there (a subordinate id's files, overlayfs's mode-0 work directory)
   * is removed inside the namespace by the runtime, all in one call.
   */
  removeTree(dirs: string[]): void {
    const left = dirs.filter((d) => existsSync(d) && !removeOwnTree(d))
    if (left.length === 0) return
    runtimeSync(['rmtree', ...joinArgs(this.session()), ...left])
  }

  /** Remove the snapshots whose diff-id is not in `keep`; also stale temporary dirs. */
  prune(keep: Set<string>): string[] {
    const base = layout.snapshots(this.paths)
    if (!existsSync(base)) return []
    const doomed: string[] = []
    const removed: string[] = []
    const native = loadNative()
    const held: number[] = []
    for (const name of readdirSync(base)) {
      if (LAYER_WORK.test(name)) doomed.push(join(base, name))
      else if (name.startsWith('.tmp-')) {
        // A temporary dir is stale only if no unpack holds its layer's lock.
        const fd = native.tryLockFile(layout.lock(this.paths, `snapshot-${name.slice(5, 21)}`), true)
        if (fd === null) continue
        held.push(fd)
        doomed.push(join(base, name))
      } else if (!keep.has(`sha256:${name}`)) {
        doomed.push(join(base, name))
        removed.push(`sha256:${name}`)
      }
    }
    try {
      this.removeTree(doomed)
    } finally {
      for (const fd of held) native.unlockFile(fd)
    }
    return removed
  }
}
