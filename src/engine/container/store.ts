import {existsSync, mkdirSync, readdirSync, renameSync} from 'node:fs'
import {join} from 'node:path'

import {NcxError, NotFoundError, UsageError} from '../errors.js'
import {actorOf, recordContainerEvent} from '../events.js'
import {randomBytes} from '../random.js'
import {ContainerOptions, Healthcheck} from '../spec/generate.js'
import {readJson, removeFile, syncFile, withLock, writeFileAtomic, writeJson} from '../store/files.js'
import {StorePaths, layout} from '../store/paths.js'
import {ContainerMount} from '../volume/attach.js'
import {monitorAlive, processStart, readMonitorState} from './state.js'

/**
 * Present while a container is being made (`create`; `run` until its process started):
 * the creator's pid and start time. A container whose creator died (SIGKILL mid-`run`) with
 * the marker still there is half-made: invisible to every command, its name free, and its
 * directory removed by the next `create`/`run`/`ps` (see reapAbandoned in run.ts).
 */
export const CREATING = 'creating'

interface Creator {
  pid: number
  start: number
}

export type ContainerStatus = 'created' | 'running' | 'exited'

/** What the container was configured with, resolved against the image (Docker's `Config`). */
export interface ContainerConfig {
  entrypoint: string[]
  cmd: string[]
  env: string[]
  workdir: string
  user: string
  hostname: string
  stopSignal?: string
  healthcheck?: Healthcheck
  labels?: Record<string, string>
}

/** A container as recorded in `containers/<id>/container.json`. */
export interface ContainerRecord {
  id: string
  name: string
  /** The image as the user named it. */
  image: string
  imageId: string
  /** Diff-ids of the image layers the rootfs is made of (kept while the container exists). */
  layers: string[]
  created: string
  options: ContainerOptions
  args: string[]
  state: {status: ContainerStatus; pid: number; exitCode: number; startedAt?: string; finishedAt?: string; error?: string}
  /** Set at create time (records written before detached containers existed lack it). */
  config?: ContainerConfig
  /** Bind mounts, volumes and tmpfs mounts, resolved at create time (Docker's inspect `Mounts`). */
  mounts?: ContainerMount[]
}

const ADJECTIVES = ['admiring', 'brave', 'calm', 'eager', 'festive', 'gifted', 'happy', 'jolly', 'keen', 'lucid', 'modest', 'nifty', 'quirky', 'serene', 'tender', 'vibrant', 'wizardly', 'zealous']
const NAMES = ['archimedes', 'babbage', 'curie', 'dijkstra', 'euclid', 'fermi', 'galois', 'hopper', 'johnson', 'knuth', 'lovelace', 'meitner', 'noether', 'pascal', 'ritchie', 'shannon', 'turing', 'wozniak']

/** moby's validContainerNamePattern: two characters at least. */
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/
const FULL_ID = /^[a-f0-9]{64}$/

function randomName(): string {
  const pick = (list: string[]) => list[randomBytes(1)[0] % list.length]
  return `${pick(ADJECTIVES)}_${pick(NAMES)}`
}

/** Container records, one directory each; names are unique under the containers lock. */
export class ContainerStore {
  constructor(private readonly paths: StorePaths) {}

  dir(id: string): string {
    return layout.container(this.paths, id)
  }

  private recordPath(id: string): string {
    return join(this.dir(id), 'container.json')
  }

  list(): ContainerRecord[] {
    const base = layout.containers(this.paths)
    if (!existsSync(base)) return []
    return readdirSync(base)
      .filter((id) => /^[a-f0-9]{64}$/.test(id) && !this.abandoned(id))
      .map((id) => readJson<ContainerRecord | undefined>(this.recordPath(id), undefined))
      .filter((r): r is ContainerRecord => r !== undefined)
  }

  /** Is this a half-made container whose creator died (and which no monitor runs)? */
  abandoned(id: string): boolean {
    const marker = join(this.dir(id), CREATING)
    if (!existsSync(marker)) {
      // The common case (whole), checked without an ENOENT exception. A directory with
      // neither marker nor record was left by a create killed right after its mkdir (both
      // are written under the containers lock, where reapAbandoned checks again).
      return !existsSync(this.recordPath(id)) && existsSync(this.dir(id))
    }
    let creator: Creator | undefined
    try {
      creator = readJson<Creator | undefined>(marker, undefined)
    } catch {
      return false // unreadable: not ours to judge
    }
    // No marker: whole (settled meanwhile, too). A live creator: still being made.
    if (!creator || processStart(creator.pid) === creator.start) return false
    const ms = readMonitorState(this.dir(id))
    return !(ms && ms.status !== 'exited' && monitorAlive(ms))
  }

  /** Is a live `create`/`run` still making this container (its creating marker names a live process)? */
  beingCreated(id: string): boolean {
    let creator: Creator | undefined
    try {
      creator = readJson<Creator | undefined>(join(this.dir(id), CREATING), undefined)
    } catch {
      return false
    }
    return creator !== undefined && processStart(creator.pid) === creator.start
  }

  /** Containers a dead creator left half-made. */
  listAbandoned(): string[] {
    const base = layout.containers(this.paths)
    if (!existsSync(base)) return []
    return readdirSync(base).filter((id) => /^[a-f0-9]{64}$/.test(id) && this.abandoned(id))
  }

  /**
   * The container is whole (created, or for `run` started): its record is made durable, then
   * the creating marker dropped. Until then a crash (even a power loss) leaves a container
   * that the marker condemns, so the record is saved without an fsync while it is being made.
   */
  settle(id: string): void {
    this.sync(id)
    removeFile(join(this.dir(id), CREATING))
  }

  /** fsync the record (`run -d` does it while the runtime starts the container). */
  sync(id: string): void {
    syncFile(this.recordPath(id))
  }

  find(nameOrId: string): ContainerRecord | undefined {
    if (nameOrId === '') return undefined
    // A full ID first (as Docker): one record read instead of every one.
    if (FULL_ID.test(nameOrId) && !this.abandoned(nameOrId)) {
      const record = readJson<ContainerRecord | undefined>(this.recordPath(nameOrId), undefined)
      if (record) return record
    }
    // Names from the names index (as create and rename check them), each checked against its
    // record; ID prefixes from the directory names: only the candidates' records are read, not
    // every record (`rm -f` of 200 short IDs read 200 × 200 records).
    const byIdName = this.names()
    const name = nameOrId.replace(/^\//, '')
    for (const [id, n] of Object.entries(byIdName)) {
      if (n !== name || this.abandoned(id)) continue
      const record = readJson<ContainerRecord | undefined>(this.recordPath(id), undefined)
      if (record?.name === name) return record
    }
    const prefix = nameOrId.toLowerCase()
    const byId = Object.keys(byIdName)
      .filter((id) => id.startsWith(prefix) && !this.abandoned(id))
      .map((id) => readJson<ContainerRecord | undefined>(this.recordPath(id), undefined))
      .filter((r): r is ContainerRecord => r !== undefined)
    if (byId.length > 1) {
      // Docker's message and exit code (run/create turn 1 into 125).
      throw new NcxError(`multiple IDs found with provided prefix: ${nameOrId}`, {exitCode: 1, hint: 'use more characters of the ID, or the name'})
    }
    return byId[0]
  }

  resolve(nameOrId: string): ContainerRecord {
    const found = this.find(nameOrId)
    if (!found) throw new NotFoundError(`No such container: ${nameOrId}`)
    return found
  }

  private namesPath(): string {
    return layout.containerNames(this.paths)
  }

  /**
   * Every container's name by ID, for create and rename (under the containers lock): from the
   * names index (container-names.json, {"byId": {ID: name}}) when it covers every container
   * directory, else rebuilt from the records (no index, an unreadable one, or a container it
   * does not know: made by an ncx without the index). Entries of containers that are gone
   * are dropped; an entry may still be stale (its container abandoned, or renamed by an ncx
   * without the index), so the holder a name meets is checked against its record (`holder`).
   */
  private names(): Record<string, string> {
    const base = layout.containers(this.paths)
    const ids = existsSync(base) ? readdirSync(base).filter((e) => FULL_ID.test(e)) : []
    let index: Record<string, string> | undefined
    try {
      index = readJson<{byId?: Record<string, string>} | undefined>(this.namesPath(), undefined)?.byId
    } catch {
      index = undefined // torn by a crash (it is written without fsync): rebuilt
    }
    if (index === undefined || ids.some((id) => typeof index![id] !== 'string')) {
      const listed = new Map(this.list().map((c) => [c.id, c.name]))
      // ('' for a half-made container: not listed, its name free)
      return Object.fromEntries(ids.map((id) => [id, listed.get(id) ?? '']))
    }
    return Object.fromEntries(ids.map((id) => [id, index![id]]))
  }

  private saveNames(byId: Record<string, string>): void {
    writeFileAtomic(this.namesPath(), JSON.stringify({byId}), 0o600, false)
  }

  /** The container that holds `name` according to `byId`, checked against its record. */
  private holder(byId: Record<string, string>, name: string): string | undefined {
    for (const [id, n] of Object.entries(byId)) {
      if (n !== name || this.abandoned(id)) continue
      if (readJson<ContainerRecord | undefined>(this.recordPath(id), undefined)?.name === name) return id
    }
    return undefined
  }

  /** Create the record and its directory; the name is checked and reserved atomically. */
  create(record: Omit<ContainerRecord, 'id' | 'name'> & {name?: string}): ContainerRecord {
    return withLock(layout.lock(this.paths, 'containers'), () => {
      const byId = this.names()
      // Docker's names are stored with a leading slash: `--name /web` is the name web.
      let name = record.name?.replace(/^\//, '')
      if (name !== undefined) {
        if (!NAME_PATTERN.test(name)) throw new UsageError(`Invalid container name (${record.name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`)
        const owner = this.holder(byId, name)
        if (owner) {
          throw new NcxError(`Conflict. The container name "/${name}" is already in use by container "${owner}"`, {
            hint: 'remove (or rename) that container to be able to reuse that name',
          })
        }
      } else {
        do name = randomName()
        while (this.holder(byId, name))
      }
      const id = randomBytes(32).toString('hex')
      const full: ContainerRecord = {...record, id, name}
      mkdirSync(this.dir(id), {recursive: true, mode: 0o700})
      const creator: Creator = {pid: process.pid, start: processStart(process.pid) ?? 0}
      writeFileAtomic(join(this.dir(id), CREATING), JSON.stringify(creator), 0o600, false)
      // Not synced: the record is saved (durably) once the bundle is laid out; until then
      // the creating marker makes a crash's leftovers garbage anyway.
      writeJson(this.recordPath(id), full, false)
      this.saveNames({...byId, [id]: name})
      return full
    })
  }

  /** `durable: false` while the creating marker is there (see `settle`). */
  save(record: ContainerRecord, durable = true): void {
    writeJson(this.recordPath(record.id), record, durable)
    recordContainerEvent(this.paths, 'create', actorOf(record)) // a save completes a creation
  }

  /** Read-modify-write one record under the containers lock; undefined when it is gone. */
  update(id: string, fn: (record: ContainerRecord) => void): ContainerRecord | undefined {
    return withLock(layout.lock(this.paths, 'containers'), () => {
      const record = readJson<ContainerRecord | undefined>(this.recordPath(id), undefined)
      if (!record) return undefined
      fn(record)
      writeJson(this.recordPath(id), record)
      return record
    })
  }

  /** Run `fn` holding the containers lock (names, removal). */
  locked<T>(fn: () => T): T {
    return withLock(layout.lock(this.paths, 'containers'), fn)
  }

  /** `rename`: the new name is checked and taken atomically. */
  rename(id: string, name: string): void {
    if (!NAME_PATTERN.test(name)) throw new UsageError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`)
    this.locked(() => {
      const byId = this.names()
      const owner = this.holder(byId, name)
      if (owner && owner !== id) {
        throw new NcxError(`Conflict. The container name "/${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`, {exitCode: 1})
      }
      const record = readJson<ContainerRecord | undefined>(this.recordPath(id), undefined)
      if (!record) throw new NotFoundError(`No such container: ${id}`)
      const oldName = record.name
      record.name = name
      writeJson(this.recordPath(id), record)
      this.saveNames({...byId, [id]: name})
      recordContainerEvent(this.paths, 'rename', actorOf(record), {oldName: `/${oldName}`})
    })
  }

  /**
   * Take a container out of the store: its directory is renamed away at once (listings stop
   * showing it), and the returned path is what is left to delete.
   */
  detach(id: string): string | undefined {
    const doomed = join(layout.containers(this.paths), `.rm-${id}`)
    try {
      renameSync(this.dir(id), doomed)
      return doomed
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return existsSync(doomed) ? doomed : undefined
      throw error
    }
  }
}
