import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import {NcxError, NotFoundError, UsageError} from '../errors.js'
import {ContainerOptions} from '../spec/generate.js'
import {readJson, withLock, writeJson} from '../store/files.js'
import {StorePaths, layout} from '../store/paths.js'

export type ContainerStatus = 'created' | 'running' | 'exited'

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
}

const ADJECTIVES = ['admiring', 'brave', 'calm', 'eager', 'festive', 'gifted', 'happy', 'jolly', 'keen', 'lucid', 'modest', 'nifty', 'quirky', 'serene', 'tender', 'vibrant', 'wizardly', 'zealous']
const NAMES = ['archimedes', 'babbage', 'curie', 'dijkstra', 'euclid', 'fermi', 'galois', 'hopper', 'johnson', 'knuth', 'lovelace', 'meitner', 'noether', 'pascal', 'ritchie', 'shannon', 'turing', 'wozniak']

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

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
      .filter((id) => /^[a-f0-9]{64}$/.test(id))
      .map((id) => readJson<ContainerRecord | undefined>(this.recordPath(id), undefined))
      .filter((r): r is ContainerRecord => r !== undefined)
  }

  find(nameOrId: string): ContainerRecord | undefined {
    const all = this.list()
    const byName = all.find((c) => c.name === nameOrId.replace(/^\//, ''))
    if (byName) return byName
    const byId = all.filter((c) => c.id.startsWith(nameOrId))
    if (byId.length > 1) throw new NcxError(`multiple containers match ${JSON.stringify(nameOrId)}`, {hint: 'use more characters of the ID, or the name'})
    return byId[0]
  }

  resolve(nameOrId: string): ContainerRecord {
    const found = this.find(nameOrId)
    if (!found) throw new NotFoundError(`No such container: ${nameOrId}`)
    return found
  }

  /** Create the record and its directory; the name is checked and reserved atomically. */
  create(record: Omit<ContainerRecord, 'id' | 'name'> & {name?: string}): ContainerRecord {
    return withLock(layout.lock(this.paths, 'containers'), () => {
      const taken = new Map(this.list().map((c) => [c.name, c.id]))
      let name = record.name
      if (name !== undefined) {
        if (!NAME_PATTERN.test(name)) throw new UsageError(`invalid container name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`)
        const owner = taken.get(name)
        if (owner) {
          throw new NcxError(`Conflict. The container name "/${name}" is already in use by container "${owner}"`, {
            hint: 'remove (or rename) that container to be able to reuse that name',
          })
        }
      } else {
        do name = randomName()
        while (taken.has(name))
      }
      const id = randomBytes(32).toString('hex')
      const full: ContainerRecord = {...record, id, name}
      mkdirSync(this.dir(id), {recursive: true})
      writeJson(this.recordPath(id), full)
      return full
    })
  }

  save(record: ContainerRecord): void {
    writeJson(this.recordPath(record.id), record)
  }
}
