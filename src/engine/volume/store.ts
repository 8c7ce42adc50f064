/**
 * Named and anonymous volumes: the one owner of `<dataRoot>/volumes` (Docker's layout:
 * `volumes/<name>/_data` is what containers mount, `volumes/<name>/volume.json` the record).
 * Records are written atomically under `locks/volumes.lock`; whether a volume is in use is
 * read from the container records (their `mounts`), under the same lock.
 */
import {randomBytes} from 'node:crypto'
import {existsSync, lstatSync, readdirSync, renameSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {recordObjectEvent} from '../events.js'
import {NcxError, NotFoundError, UsageError} from '../errors.js'
import {makeDirWithMode, readJson, withLock, writeJson} from '../store/files.js'
import {StorePaths, layout} from '../store/paths.js'

/** Docker's label on anonymous volumes (23+); `volume prune` without -a removes only these. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous'

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/

/** What `volume.json` holds. */
export interface VolumeRecord {
  name: string
  driver: 'local'
  labels: Record<string, string>
  options: Record<string, string>
  createdAt: string
  anonymous?: boolean
  /** Anonymous volumes: the container they were made for. */
  createdFor?: string
  /** Removed with that container when it goes (`run --rm`), even when its monitor removes it. */
  autoRemove?: boolean
}

/** A volume as listed and inspected. */
export interface Volume extends VolumeRecord {
  mountpoint: string
}

/** Docker's `volume inspect` JSON. */
export interface VolumeInspect {
  CreatedAt: string
  Driver: string
  Labels: Record<string, string> | null
  Mountpoint: string
  Name: string
  Options: Record<string, string> | null
  Scope: 'local'
}

export interface VolumeCreateOptions {
  /** Omitted: an anonymous volume with a random 64-hex name. */
  name?: string
  driver?: string
  labels?: Record<string, string>
  options?: Record<string, string>
  createdFor?: string
  autoRemove?: boolean
}

/** A volume's users: containers whose records mount it. */
export interface VolumeUser {
  id: string
  mounts?: Array<{Type: string; Name?: string}>
}

export interface VolumeFilters {
  name?: string[]
  label?: string[]
  dangling?: boolean
  driver?: string[]
}

/** The local driver's options ncx can honour without root. */
const LOCAL_OPTIONS = new Set(['type', 'device', 'o'])

export function validateDriverOptions(options: Record<string, string>): void {
  for (const k of Object.keys(options)) {
    if (!LOCAL_OPTIONS.has(k)) throw new UsageError(`invalid option key: ${JSON.stringify(k)}`, 'the local driver takes type, device and o')
  }
  const type = options.type
  if (type === undefined && Object.keys(options).length > 0) throw new UsageError('missing required option: "type"', 'use --opt type=none --opt o=bind --opt device=/path, or --opt type=tmpfs --opt device=tmpfs')
  if (type !== undefined && type !== 'none' && type !== 'tmpfs') {
    throw new UsageError(`volume option type=${type} is not supported: mounting devices or network file systems needs root`, 'use type=none with o=bind and device=/host/path, or type=tmpfs')
  }
  if (type === 'none' && !(options.o ?? '').split(',').includes('bind')) throw new UsageError('volume option type=none needs o=bind', 'add --opt o=bind')
  if (type === 'none' && !options.device?.startsWith('/')) throw new UsageError('volume option type=none needs device=/absolute/host/path')
}

export class VolumeStore {
  constructor(
    private readonly paths: StorePaths,
    private readonly users: () => VolumeUser[],
    /** Delete trees that may hold files owned by subordinate ids (inside the user namespace). */
    private readonly removeTree: (dirs: string[]) => void,
    /** Bytes under each directory (read inside the user namespace); a plain walk by default. */
    private readonly treeSizes: (dirs: string[]) => number[] = (dirs) => dirs.map(treeSize),
  ) {}

  root(): string {
    return join(this.paths.data, 'volumes')
  }

  dir(name: string): string {
    return join(this.root(), name)
  }

  /** What containers mount: `volumes/<name>/_data`. */
  dataDir(name: string): string {
    return join(this.dir(name), '_data')
  }

  private recordPath(name: string): string {
    return join(this.dir(name), 'volume.json')
  }

  private depth = 0

  /**
   * Run `fn` holding the volumes lock (creation, removal, in-use checks). Re-entrant in
   * this process, so a container's mounts can be resolved and recorded under one hold.
   */
  locked<T>(fn: () => T): T {
    if (this.depth > 0) return fn()
    return withLock(layout.lock(this.paths, 'volumes'), () => {
      this.depth++
      try {
        return fn()
      } finally {
        this.depth--
      }
    })
  }

  private read(name: string): Volume | undefined {
    const r = readJson<VolumeRecord | undefined>(this.recordPath(name), undefined)
    return r ? {...r, mountpoint: this.dataDir(name)} : undefined
  }

  list(filters: VolumeFilters = {}): Volume[] {
    return this.filtered(filters, this.collect())
  }

  /** The volumes matching `filters` (no collection: callable under the lock); `all`: every volume, when already read. */
  private filtered(filters: VolumeFilters, all: Volume[] = this.all()): Volume[] {
    const used = filters.dangling === undefined ? undefined : this.usedNames()
    return all.filter((v) => {
      if (filters.name && filters.name.length > 0 && !filters.name.some((n) => nameMatches(n, v.name))) return false
      if (filters.driver && filters.driver.length > 0 && !filters.driver.includes(v.driver)) return false
      if (filters.label && !filters.label.every((l) => matchLabel(v.labels, l))) return false
      if (used && filters.dangling === used.has(v.name)) return false
      return true
    })
  }

  find(name: string): Volume | undefined {
    if (!NAME_PATTERN.test(name)) return undefined
    return this.read(name)
  }

  get(name: string): Volume {
    const v = this.find(name)
    if (!v) throw new NotFoundError(`get ${name}: no such volume`)
    return v
  }

  inspect(name: string): VolumeInspect {
    return toInspect(this.get(name))
  }

  /**
   * `volume create`: an existing volume of that name is returned as it is (Docker's
   * behaviour), unless asked for with different options.
   */
  create(options: VolumeCreateOptions = {}): {volume: Volume; created: boolean} {
    const driver = options.driver ?? 'local'
    if (driver !== 'local') throw new UsageError(`error looking up volume plugin ${driver}: plugin "${driver}" not found`, 'ncx has the local driver only')
    const opts = options.options ?? {}
    validateDriverOptions(opts)
    const anonymous = options.name === undefined
    const name = options.name ?? randomBytes(32).toString('hex')
    if (!NAME_PATTERN.test(name)) {
      throw new UsageError(
        `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
      )
    }
    return this.locked(() => {
      const existing = this.read(name)
      if (existing) {
        if (Object.keys(opts).length > 0 && JSON.stringify(opts) !== JSON.stringify(existing.options)) {
          throw new NcxError(`create ${name}: volume already exists with different options`, {exitCode: 1, hint: 'remove it first, or create it without --opt'})
        }
        return {volume: existing, created: false}
      }
      const record: VolumeRecord = {
        name,
        driver: 'local',
        labels: {...(anonymous ? {[ANONYMOUS_LABEL]: ''} : {}), ...options.labels},
        options: opts,
        createdAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        ...(anonymous ? {anonymous: true} : {}),
        ...(options.createdFor ? {createdFor: options.createdFor} : {}),
        ...(options.autoRemove ? {autoRemove: true} : {}),
      }
      // _data first, the record last: a volume.json always has its directory. _data is what
      // the container mounts: 0755 as in Docker whatever the umask (volumes/<name> above is 0700).
      makeDirWithMode(this.dataDir(name), 0o755)
      writeJson(this.recordPath(name), record)
      recordObjectEvent(this.paths, 'volume', 'create', name, {driver: 'local'})
      return {volume: {...record, mountpoint: this.dataDir(name)}, created: true}
    })
  }

  /**
   * Record a volume directory a killed create left without its volume.json (`system check
   * --repair`), so its data is listed and removable again. The caller holds the volumes lock.
   */
  adopt(name: string): Volume {
    if (!NAME_PATTERN.test(name)) throw new UsageError(`invalid volume name ${JSON.stringify(name)}`)
    const record: VolumeRecord = {
      name,
      driver: 'local',
      labels: {},
      options: {},
      createdAt: statSync(this.dir(name)).mtime.toISOString().replace(/\.\d+Z$/, 'Z'),
    }
    makeDirWithMode(this.dataDir(name), 0o755)
    writeJson(this.recordPath(name), record)
    return {...record, mountpoint: this.dataDir(name)}
  }

  /** A named volume, created on first use (`-v name:/dst`). */
  ensure(name: string): {volume: Volume; created: boolean} {
    return this.find(name) ? {volume: this.get(name), created: false} : this.create({name})
  }

  /** Containers (ids) whose records mount the volume. */
  inUse(name: string): string[] {
    return this.users()
      .filter((c) => (c.mounts ?? []).some((m) => m.Type === 'volume' && m.Name === name))
      .map((c) => c.id)
  }

  private usedNames(): Set<string> {
    const used = new Set<string>()
    for (const c of this.users()) for (const m of c.mounts ?? []) if (m.Type === 'volume' && m.Name) used.add(m.Name)
    return used
  }

  /** `volume rm`: refused while a container (running or not) uses it, as in Docker. */
  remove(name: string, options: {force?: boolean} = {}): void {
    const doomed = this.locked(() => {
      if (!this.find(name)) {
        if (options.force) return undefined
        throw new NotFoundError(`get ${name}: no such volume`)
      }
      const users = this.inUse(name)
      if (users.length > 0) {
        throw new NcxError(`remove ${name}: volume is in use - [${users.join(', ')}]`, {exitCode: 1, hint: 'remove the containers that use it first (ncx rm), or keep the volume'})
      }
      return this.detach(name)
    })
    if (doomed) this.removeTree([doomed])
  }

  /** Rename the volume's directory away (gone from listings at once); the path is left to delete. */
  private detach(name: string): string {
    const doomed = join(this.root(), `.rm-${name}-${randomBytes(4).toString('hex')}`)
    renameSync(this.dir(name), doomed)
    recordObjectEvent(this.paths, 'volume', 'destroy', name, {driver: 'local'})
    return doomed
  }

  /**
   * Remove the anonymous volumes made for a container (`rm -v`, `run --rm`, a failed
   * create) that no other container uses (`--volumes-from` may share them).
   */
  removeAnonymousOf(containerId: string, names?: string[]): string[] {
    const doomed: string[] = []
    const removed: string[] = []
    this.locked(() => {
      for (const n of names ?? this.names()) {
        const v = this.find(n)
        if (!v || !v.anonymous) continue
        if (names === undefined && v.createdFor !== containerId) continue
        if (this.inUse(n).some((id) => id !== containerId)) continue
        doomed.push(this.detach(n))
        removed.push(n)
      }
    })
    if (doomed.length > 0) this.removeTree(doomed)
    return removed
  }

  /**
   * `volume prune`: unused volumes; only anonymous ones unless `all` (Docker 23+).
   * Returns the names removed and the bytes reclaimed.
   */
  prune(options: {all?: boolean; label?: string[]} = {}): {removed: string[]; reclaimed: number} {
    this.collect()
    let reclaimed = 0
    const doomed: string[] = []
    const removed: string[] = []
    this.locked(() => {
      const used = this.usedNames()
      for (const v of this.filtered({label: options.label})) {
        if (used.has(v.name)) continue
        if (!options.all && !(ANONYMOUS_LABEL in v.labels)) continue
        reclaimed += this.size(v.name)
        doomed.push(this.detach(v.name))
        removed.push(v.name)
      }
    })
    if (doomed.length > 0) this.removeTree(doomed)
    return {removed, reclaimed}
  }

  /** Bytes in `_data`. */
  size(name: string): number {
    return this.treeSizes([this.dataDir(name)])[0]
  }

  /** Every volume with its size and the number of containers using it (for `system df`). */
  listWithSizes(): Array<Volume & {size: number; links: number}> {
    const users = this.users()
    const list = this.list()
    const sizes = list.length > 0 ? this.treeSizes(list.map((v) => v.mountpoint)) : []
    return list.map((v, i) => ({
      ...v,
      size: sizes[i],
      links: users.filter((c) => (c.mounts ?? []).some((m) => m.Type === 'volume' && m.Name === v.name)).length,
    }))
  }

  private names(entries?: string[]): string[] {
    if (entries === undefined) {
      const root = this.root()
      if (!existsSync(root)) return []
      entries = readdirSync(root)
    }
    return entries.filter((n) => NAME_PATTERN.test(n) && !n.startsWith('.rm-'))
  }

  /** Every volume's record. */
  private all(entries?: string[]): Volume[] {
    return this.names(entries)
      .map((n) => this.read(n))
      .filter((v): v is Volume => v !== undefined)
  }

  /**
   * Lazily remove what is left over: `.rm-` directories of interrupted removals, and
   * anonymous volumes of `--rm` containers that their monitor removed. Returns every volume
   * left (read once: `volume ls` lists what this read; the containers are read only when a
   * volume could be such an orphan).
   */
  private collect(): Volume[] {
    const root = this.root()
    if (!existsSync(root)) return []
    const entries = readdirSync(root)
    const leftovers = entries.filter((n) => n.startsWith('.rm-')).map((n) => join(root, n))
    let all = this.all(entries)
    const candidates = all.filter((v) => v.anonymous && v.autoRemove && v.createdFor !== undefined)
    const ids = candidates.length > 0 ? new Set(this.users().map((c) => c.id)) : undefined
    const orphans = candidates.filter((v) => !ids?.has(v.createdFor ?? '')).map((v) => v.name)
    if (orphans.length > 0) {
      this.locked(() => {
        const live = new Set(this.users().map((c) => c.id))
        for (const n of orphans) {
          const v = this.read(n)
          if (v?.createdFor && !live.has(v.createdFor) && this.inUse(n).length === 0) leftovers.push(this.detach(n))
        }
      })
    }
    if (leftovers.length > 0) {
      try {
        this.removeTree(leftovers)
      } catch {
        // tried again next time
      }
    }
    if (orphans.length > 0) all = this.all()
    return all
  }
}

function matchLabel(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=')
  if (eq < 0) return filter in labels
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1)
}

export function toInspect(v: Volume): VolumeInspect {
  const labels = Object.keys(v.labels).length > 0 ? v.labels : null
  const options = Object.keys(v.options).length > 0 ? v.options : null
  return {CreatedAt: v.createdAt, Driver: v.driver, Labels: labels, Mountpoint: v.mountpoint, Name: v.name, Options: options, Scope: 'local'}
}

function treeSize(path: string): number {
  let total = 0
  const walk = (p: string) => {
    let st
    try {
      st = lstatSync(p)
    } catch {
      return
    }
    if (st.isDirectory()) {
      let entries: string[] = []
      try {
        entries = readdirSync(p)
      } catch {
        return
      }
      for (const e of entries) walk(join(p, e))
    } else if (st.isFile()) total += st.size
  }
  walk(path)
  return total
}

/** `--filter` values of `volume ls`/`prune` → VolumeFilters (Docker's keys and messages). */
export function parseVolumeFilters(values: string[], allowed: readonly string[] = ['name', 'label', 'dangling', 'driver']): VolumeFilters {
  const out: VolumeFilters = {}
  for (const f of values) {
    const eq = f.indexOf('=')
    if (eq <= 0) throw new UsageError(`bad format of filter (expected name=value): ${f}`)
    const [k, v] = [f.slice(0, eq), f.slice(eq + 1)]
    if (!allowed.includes(k)) throw new UsageError(`Invalid filter '${k}'`, `filters: ${allowed.join(', ')}`)
    if (k === 'dangling') {
      if (!['true', 'false', '1', '0'].includes(v)) throw new UsageError(`invalid filter 'dangling=${v}'`, 'use dangling=true or dangling=false')
      out.dangling = v === 'true' || v === '1'
    } else {
      const key = k as 'name' | 'label' | 'driver'
      out[key] = [...(out[key] ?? []), v]
    }
  }
  return out
}

/** moby's name filter: an unanchored regular expression (a pattern that is none: a substring). */
function nameMatches(pattern: string, name: string): boolean {
  try {
    return new RegExp(pattern).test(name)
  } catch {
    return name.includes(pattern)
  }
}
