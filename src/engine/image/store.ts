import {NcxError, NotFoundError} from '../errors.js'
import {recordObjectEvent} from '../events.js'
import {readJson, withLock, writeJson} from '../store/files.js'
import {StorePaths, layout} from '../store/paths.js'
import {familiarName, formatReference, parseReference} from './reference.js'
import {ImageRecord} from './types.js'

interface ImagesFile {
  version: 1
  images: ImageRecord[]
}

/** A container using an image; a running one (or one being made to run) blocks even a forced removal. */
export interface ImageUser {
  id: string
  running: boolean
}

/** What `rmi` did, in Docker's words. */
export interface RemoveResult {
  untagged: string[]
  deleted: ImageRecord[]
}

/** The image index (`images.json`): names → manifest, config and layers. */
export class ImageStore {
  constructor(private readonly paths: StorePaths) {}

  private get file(): string {
    return layout.images(this.paths)
  }

  private load(): ImagesFile {
    const data = readJson<ImagesFile>(this.file, {version: 1, images: []})
    if (!Array.isArray(data.images)) throw new NcxError(`${this.file} is corrupt: no "images" list`, {hint: 'restore it from a backup or remove it (images will have to be loaded again)'})
    return data
  }

  /** Read-modify-write images.json under the images lock. */
  update<T>(fn: (images: ImageRecord[]) => T): T {
    return withLock(layout.lock(this.paths, 'images'), () => {
      const data = this.load()
      const result = fn(data.images)
      writeJson(this.file, data)
      return result
    })
  }

  list(): ImageRecord[] {
    return this.load().images
  }

  /**
   * Run `fn` holding the images lock shared: no image is added, tagged or removed meanwhile
   * (a new container takes its image's reference under it; see createContainer).
   */
  reading<T>(fn: () => T): T {
    return withLock(layout.lock(this.paths, 'images'), fn, false)
  }

  /** An image event (`ncx events`), with Docker's actor: `id` and the `name` attribute. */
  recordEvent(action: 'pull' | 'push' | 'tag' | 'untag' | 'delete' | 'load' | 'save' | 'import', id: string, name: string): void {
    recordObjectEvent(this.paths, 'image', action, id, {name})
  }

  /** Find by name (`busybox`, `docker.io/library/busybox:latest`), full or short ID, or digest. */
  find(nameOrId: string, images: ImageRecord[] = this.list()): ImageRecord | undefined {
    const id = nameOrId.replace(/^sha256:/, '')
    if (/^[a-f0-9]{4,64}$/.test(id)) {
      const byId = images.filter((i) => i.id.slice(7).startsWith(id))
      if (byId.length === 1) return byId[0]
      if (byId.length > 1) throw new NcxError(`ambiguous image ID prefix ${JSON.stringify(nameOrId)} matches ${byId.length} images`, {hint: 'use more characters of the ID'})
    }
    const ref = parseReference(nameOrId)
    if (ref.digest) {
      return images.find((i) => i.manifestDigest === ref.digest || i.names.some((n) => n.endsWith(`@${ref.digest}`)))
    }
    const full = formatReference(ref)
    return images.find((i) => i.names.includes(full))
  }

  resolve(nameOrId: string): ImageRecord {
    const found = this.find(nameOrId)
    if (!found) throw new NotFoundError(`No such image: ${nameOrId}`, 'list images with "ncx images", or load one with "ncx load -i FILE"')
    return found
  }

  /**
   * Record an image and point `names` at it; a name that pointed at another image moves
   * (that image keeps its other names, or becomes dangling, as in Docker).
   */
  add(image: Omit<ImageRecord, 'names' | 'addedAt'>, names: string[]): ImageRecord {
    const full = names.map((n) => formatReference(parseReference(n)))
    return this.update((images) => {
      for (const other of images) other.names = other.names.filter((n) => !full.includes(n))
      let record = images.find((i) => i.id === image.id)
      if (record) {
        record.names = [...new Set([...record.names, ...full])]
        record.manifestDigest = image.manifestDigest
        record.layers = image.layers
        if (image.repoDigests) record.repoDigests = [...new Set([...(record.repoDigests ?? []), ...image.repoDigests])]
      } else {
        record = {...image, names: full, addedAt: new Date().toISOString()}
        images.push(record)
      }
      return record
    })
  }

  tag(source: string, target: string): ImageRecord {
    const image = this.resolve(source)
    const tagged = this.add(image, [target])
    this.recordEvent('tag', image.id, familiarName(parseReference(target)))
    return tagged
  }

  /**
   * Docker's `rmi`: a name untags; the last name (or an ID) deletes. `inUse` (asked under the
   * images lock) names the container using an image, which blocks deletion unless forced; a
   * running one blocks it even forced, as in Docker: `-f NAME` then only untags (the image
   * stays, dangling), `-f ID` is refused.
   */
  remove(nameOrId: string, options: {force: boolean; inUse: (image: ImageRecord) => ImageUser | undefined}): RemoveResult {
    let id = ''
    const result = this.update((images) => {
      const image = this.find(nameOrId, images)
      if (!image) throw new NotFoundError(`No such image: ${nameOrId}`)
      const byId = /^(sha256:)?[a-f0-9]{4,64}$/.test(nameOrId) && image.id.replace('sha256:', '').startsWith(nameOrId.replace('sha256:', ''))
      const result: RemoveResult = {untagged: [], deleted: []}
      const user = options.inUse(image)
      if (!byId && image.names.length > 1) {
        const full = formatReference(parseReference(nameOrId))
        image.names = image.names.filter((n) => n !== full)
        result.untagged.push(familiarName(parseReference(full)))
        id = image.id
        return result
      }
      if (byId && image.names.length > 1 && !options.force) {
        throw new NcxError(`conflict: unable to delete ${image.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`, {
          hint: 'remove it by name, or use --force',
        })
      }
      if (user && !options.force) {
        throw new NcxError(`conflict: unable to remove image ${nameOrId} (must be forced) - container ${user.id.slice(0, 12)} is using its referenced image ${image.id.slice(7, 19)}`, {
          hint: 'remove the container first (ncx rm), or use --force',
        })
      }
      if (user?.running) {
        if (byId) {
          throw new NcxError(`conflict: unable to delete ${image.id.slice(7, 19)} (cannot be forced) - image is being used by running container ${user.id.slice(0, 12)}`, {
            hint: 'stop and remove the container first (ncx rm -f)',
          })
        }
        result.untagged.push(...image.names.map((n) => familiarName(parseReference(n))))
        image.names = []
        id = image.id
        return result
      }
      result.untagged.push(...image.names.map((n) => familiarName(parseReference(n))))
      images.splice(images.indexOf(image), 1)
      result.deleted.push(image)
      id = image.id
      return result
    })
    // Docker's events: one untag per name, then the delete (the name attribute is the ID).
    for (const _ of result.untagged) this.recordEvent('untag', id, id)
    for (const d of result.deleted) this.recordEvent('delete', d.id, d.id)
    return result
  }
}
