import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, renameSync} from 'node:fs'
import {join} from 'node:path'

import {loadNative} from '../../native/index.js'
import {NcxError} from '../errors.js'
import {UsernsSession, joinArgs} from '../rootless/session.js'
import {runtimeSync} from '../runtime.js'
import {withLock} from '../store/files.js'
import {StorePaths, layout} from '../store/paths.js'

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
  constructor(
    private readonly paths: StorePaths,
    private readonly session: () => UsernsSession,
  ) {}

  dir(diffId: string): string {
    return join(layout.snapshot(this.paths, diffId), 'fs')
  }

  has(diffId: string): boolean {
    return existsSync(this.dir(diffId))
  }

  /** Unpack `blobPath` as the layer `diffId` unless it is already there. */
  ensure(diffId: string, blobPath: string): UnpackReport | undefined {
    if (this.has(diffId)) return undefined
    const hex = diffId.replace(/^sha256:/, '')
    return withLock(layout.lock(this.paths, `snapshot-${hex.slice(0, 16)}`), () => {
      if (this.has(diffId)) return undefined
      const session = this.session()
      const base = layout.snapshots(this.paths)
      const tmp = join(base, `.tmp-${hex.slice(0, 16)}-${randomBytes(4).toString('hex')}`)
      mkdirSync(join(tmp, 'fs'), {recursive: true})
      try {
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
        if (report.diffId !== diffId) {
          throw new NcxError(`layer ${diffId} failed verification: its content has diff-id ${report.diffId}`, {
            hint: 'the image is corrupt: its config does not match its layers',
          })
        }
        renameSync(tmp, layout.snapshot(this.paths, diffId))
        return report
      } catch (error) {
        this.removeTree([tmp])
        throw error
      }
    })
  }

  /** Delete trees that may hold files owned by subordinate ids (done inside the namespace). */
  removeTree(dirs: string[]): void {
    const existing = dirs.filter((d) => existsSync(d))
    if (existing.length === 0) return
    runtimeSync(['rmtree', ...joinArgs(this.session()), ...existing])
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
      if (name.startsWith('.tmp-')) {
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
