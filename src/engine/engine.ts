import {loadNative} from '../native/index.js'
import {ContainerStore} from './container/store.js'
import {ContentStore} from './image/content.js'
import {ImageStore} from './image/store.js'
import {SessionOptions, UsernsSession, ensureSession} from './rootless/session.js'
import {StorageDriver, storageDriver} from './snapshot/driver.js'
import {SnapshotStore} from './snapshot/store.js'
import {tryWithLock, withLock, withLockAsync} from './store/files.js'
import {isNoSpace} from './store/space.js'
import {StorePaths, layout, storePaths} from './store/paths.js'
import {preparePrivateStore} from './store/private.js'
import {VolumeStore} from './volume/store.js'
import {runtimeSync} from './runtime.js'
import {joinArgs} from './rootless/session.js'
import {buildCacheReferences} from './build/cache.js'

export interface EngineOptions extends SessionOptions {
  dataRoot?: string
  /** Called with things the user should hear about; the engine itself never prints. */
  onWarning?: (message: string) => void
}

/** The stores and the user-namespace session one CLI invocation works with. */
export class Engine {
  readonly paths: StorePaths
  readonly content: ContentStore
  readonly images: ImageStore
  readonly snapshots: SnapshotStore
  readonly containers: ContainerStore
  /** Named and anonymous volumes (`volumes/<name>/_data`); compose and `system df` use it too. */
  readonly volumes: VolumeStore
  private cachedSession?: UsernsSession
  private cachedDriver?: StorageDriver

  constructor(private readonly options: EngineOptions = {}) {
    this.paths = storePaths({dataRoot: options.dataRoot})
    // umask 077 and both roots private (0700, ours) before anything is read or written there.
    for (const w of preparePrivateStore(this.paths)) this.warn(w)
    this.content = new ContentStore(this.paths)
    this.images = new ImageStore(this.paths)
    this.snapshots = new SnapshotStore(this.paths, () => this.session())
    this.containers = new ContainerStore(this.paths)
    this.volumes = new VolumeStore(
      this.paths,
      () => this.containers.list(),
      (dirs) => this.snapshots.removeTree(dirs),
      (dirs) => JSON.parse(runtimeSync(['du', ...joinArgs(this.session()), ...dirs])) as number[],
    )
  }

  /** The held user namespace (created on first use; none as root). */
  session(): UsernsSession {
    if (!this.cachedSession) {
      this.cachedSession = ensureSession(this.paths, this.options)
      for (const w of this.cachedSession.warnings) this.warn(w)
    }
    return this.cachedSession
  }

  /**
   * Writers of new content hold the GC lock shared; garbage collection holds it exclusive,
   * so it never deletes blobs a concurrent load has stored but not yet recorded. When the
   * disk filled up, what nothing uses is given back before the error goes up (see
   * reclaimAfterNoSpace): partial downloads, and what the failed command stored.
   */
  async adding<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await withLockAsync(layout.lock(this.paths, 'gc'), fn, false)
    } catch (error) {
      if (!isNoSpace(error)) throw error
      const {reclaimAfterNoSpace} = await import('./image/remove.js')
      throw reclaimAfterNoSpace(this, error)
    }
  }

  collecting<T>(fn: () => T): T {
    return withLock(layout.lock(this.paths, 'gc'), fn, true)
  }

  /** `collecting` when no one is adding content right now; undefined otherwise. */
  tryCollecting<T>(fn: () => T): {value: T} | undefined {
    return tryWithLock(layout.lock(this.paths, 'gc'), fn, true)
  }

  /** The storage driver for container root file systems (probed once per data root). */
  storageDriver(): StorageDriver {
    this.cachedDriver ??= storageDriver(this.paths, this.session(), process.env, (m) => this.warn(m))
    return this.cachedDriver
  }

  warn(message: string): void {
    this.options.onWarning?.(message)
  }

  /** Diff-ids some image, container or build cache record still needs. */
  usedLayers(): Set<string> {
    const used = new Set<string>()
    for (const image of this.images.list()) for (const l of image.layers) used.add(l.diffId)
    for (const c of this.containers.list()) for (const l of c.layers) used.add(l)
    for (const l of buildCacheReferences(this).layers) used.add(l)
    return used
  }
}
