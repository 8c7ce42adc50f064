/**
 * `ncx save`: stored images as a docker-archive (what `docker save` writes: manifest.json,
 * `<config-hex>.json`, one `<id>/layer.tar` per layer, uncompressed, and `repositories`) or
 * an OCI image-layout archive (oci-layout, index.json, blobs/sha256/* exactly as stored).
 * The archive streams out: nothing is staged on disk besides the destination itself.
 */
import {createHash, randomBytes} from 'node:crypto'
import {closeSync, createReadStream, createWriteStream, existsSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import {Readable, Transform, TransformCallback, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGunzip} from 'node:zlib'
import {Header, Pack, pack} from 'tar-stream'

import {NcxError, NotFoundError, UsageError} from '../errors.js'
import {ImageStores} from './archive.js'
import {familiarName, familiarRepository, formatReference, parseReference, repositoryName} from './reference.js'
import {ImageConfig, ImageRecord, Index, Manifest, MediaType} from './types.js'

type Headers = Partial<Header> & {name: string}

export const ARCHIVE_FORMATS = ['docker-archive', 'oci-archive'] as const
export type ArchiveFormat = (typeof ARCHIVE_FORMATS)[number]

/** One image to save and the names (fully qualified, tagged) it is saved under. */
export interface SaveItem {
  image: ImageRecord
  names: string[]
}

type Compression = 'gzip' | 'zstd' | 'none'

const ID_PREFIX = /^(sha256:)?[a-f0-9]{4,64}$/

/** `busybox`, `localhost:5000/a`: a repository without tag or digest. */
function nameOnly(arg: string): boolean {
  return !arg.includes('@') && !arg.slice(arg.lastIndexOf('/') + 1).includes(':')
}

/**
 * Which images `save ARG…` means, as Docker reads the arguments: an ID saves the image
 * without names; `repo:tag` saves it under that name; a bare repository saves every tag of
 * that repository. An image named twice is saved once, with all the names asked for.
 */
export function selectImages(stores: Pick<ImageStores, 'images'>, args: string[]): SaveItem[] {
  const all = stores.images.list()
  const items = new Map<string, SaveItem>()
  const add = (image: ImageRecord, name?: string) => {
    let item = items.get(image.id)
    if (!item) items.set(image.id, (item = {image, names: []}))
    if (name && !item.names.includes(name)) item.names.push(name)
  }
  for (const arg of args) {
    // `sha256:…` and 64 hex digits can only be IDs (they are not valid names).
    const onlyId = arg.startsWith('sha256:') || /^[a-f0-9]{64}$/.test(arg)
    let found: ImageRecord | undefined
    try {
      found = stores.images.find(arg, all)
    } catch (error) {
      if (!(onlyId && error instanceof UsageError)) throw error
    }
    if (found && ID_PREFIX.test(arg) && found.id.slice(7).startsWith(arg.replace(/^sha256:/, ''))) {
      add(found)
      continue
    }
    if (onlyId) throw new NotFoundError(`No such image: ${arg}`, 'list images with "ncx images"')
    const ref = parseReference(arg)
    if (nameOnly(arg)) {
      const repo = repositoryName(ref)
      let any = false
      for (const image of all) {
        for (const n of image.names) {
          const r = parseReference(n)
          if (repositoryName(r) === repo && r.tag && !r.digest) {
            add(image, n)
            any = true
          }
        }
      }
      if (any) continue
    }
    if (!found) throw new NotFoundError(`No such image: ${arg}`, 'list images with "ncx images"')
    add(found, ref.tag && !ref.digest ? formatReference(ref) : undefined)
  }
  return [...items.values()]
}

function compressionOf(path: string): Compression {
  const head = Buffer.alloc(4)
  const fd = openSync(path, 'r')
  try {
    readSync(fd, head, 0, 4, 0)
  } finally {
    closeSync(fd)
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head.equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd'
  return 'none'
}

/** Hashes and counts what passes through. */
class Digester extends Transform {
  private readonly hash = createHash('sha256')
  bytes = 0

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk)
    this.bytes += chunk.length
    done(null, chunk)
  }

  digest(): string {
    return `sha256:${this.hash.digest('hex')}`
  }
}

/** One layer of a docker-archive: its uncompressed tar, streamed from the stored blob. */
interface PlainLayer {
  digest: string
  diffId: string
  path: string
  compression: Compression
  /** Size of the uncompressed tar (the tar header needs it up front). */
  size: number
}

/** The uncompressed size of a gzip layer: recorded at unpack time, else one counting pass (which also checks the diff-id). */
async function plainSize(stores: ImageStores, path: string, diffId: string, compression: Compression): Promise<number> {
  if (compression === 'none') return statSync(path).size
  const recorded = stores.snapshots.size(diffId)
  if (recorded !== undefined) return recorded
  const counter = new Digester()
  await pipeline(createReadStream(path, {highWaterMark: 1 << 20}), createGunzip({chunkSize: 1 << 20}), counter, new Writable({write: (_c, _e, done) => done()}))
  if (counter.digest() !== diffId) throw new NcxError(`layer ${diffId} in the store is corrupt: its content has diff-id ${counter.digest()}`, {hint: 'remove the image (ncx rmi) and load or pull it again'})
  return counter.bytes
}

function requireBlob(stores: ImageStores, digest: string, what: string): string {
  if (!stores.content.has(digest)) {
    throw new NcxError(`${what}: blob ${digest} is missing from the store`, {hint: 'remove the image (ncx rmi) and load or pull it again'})
  }
  return stores.content.path(digest)
}

/** Docker writes archive entries with the image's creation time. */
function mtimeOf(created: string | undefined): Date {
  const t = created ? Date.parse(created) : NaN
  return new Date(Number.isNaN(t) ? 0 : Math.floor(t / 1000) * 1000)
}

/**
 * The layer's ID in a docker-archive: its chain ID (OCI image spec), so a layer stack shared
 * by several images is written once and every `json` names a consistent parent.
 */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = []
  for (const diffId of diffIds) {
    out.push(out.length === 0 ? diffId : `sha256:${createHash('sha256').update(`${out[out.length - 1]} ${diffId}`).digest('hex')}`)
  }
  return out
}

interface DockerImagePlan {
  item: SaveItem
  configBytes: Buffer
  config: ImageConfig
  layers: PlainLayer[]
}

interface OciImagePlan {
  item: SaveItem
  manifest: Manifest
  /** Size of the stored manifest blob. */
  size: number
}

/** Everything checked before the first byte is written: a save that cannot finish does not start. */
export type SavePlan = {format: 'docker-archive'; images: DockerImagePlan[]} | {format: 'oci-archive'; images: OciImagePlan[]}

export async function planSave(stores: ImageStores, items: SaveItem[], format: ArchiveFormat): Promise<SavePlan> {
  if (format === 'oci-archive') {
    const images = items.map((item) => {
      const what = shown(item)
      const size = statSync(requireBlob(stores, item.image.manifestDigest, what)).size
      const manifest = stores.content.readJson<Manifest>(item.image.manifestDigest, `${what}: manifest`)
      if (!manifest.config || !Array.isArray(manifest.layers)) throw new NcxError(`${what}: manifest ${item.image.manifestDigest} has no config or layers`)
      requireBlob(stores, manifest.config.digest, what)
      for (const l of manifest.layers) requireBlob(stores, l.digest, what)
      return {item, manifest, size}
    })
    return {format, images}
  }
  const images: DockerImagePlan[] = []
  for (const item of items) {
    const what = shown(item)
    requireBlob(stores, item.image.id, what)
    const configBytes = stores.content.read(item.image.id)
    const config = stores.content.readJson<ImageConfig>(item.image.id, `${what}: image config`)
    const layers = item.image.layers.map((l) => {
      const path = requireBlob(stores, l.digest, what)
      const compression = compressionOf(path)
      if (compression === 'zstd') {
        throw new UsageError(`${what}: layer ${l.digest} is zstd-compressed; a docker-archive holds uncompressed layers and ncx cannot decompress zstd`, 'save it with --format oci-archive, which keeps the layers as they are stored')
      }
      return {digest: l.digest, diffId: l.diffId, path, compression, size: 0}
    })
    await Promise.all(layers.map(async (l) => (l.size = await plainSize(stores, l.path, l.diffId, l.compression))))
    images.push({item, configBytes, config, layers})
  }
  return {format, images}
}

function shown(item: SaveItem): string {
  return item.names.length > 0 ? familiarName(parseReference(item.names[0])) : item.image.id.slice(7, 19)
}

/** Add one entry (a buffer, or a stream through optional transforms); resolves once tar-stream has taken all of it. */
function addEntry(tar: Pack, header: Headers, body?: Buffer | Readable, transforms: Transform[] = []): Promise<void> {
  return new Promise((resolveEntry, reject) => {
    const done = (error?: Error | null) => (error ? reject(error) : resolveEntry())
    if (body === undefined) {
      tar.entry(header, done)
      return
    }
    if (Buffer.isBuffer(body)) {
      tar.entry(header, body, done)
      return
    }
    const entry = tar.entry(header, done)
    pipeline([body, ...transforms, entry]).catch(reject)
  })
}

const file = (name: string, size: number, mtime: Date): Headers => ({name, size, mtime, mode: 0o644, uid: 0, gid: 0, type: 'file'})
const dir = (name: string, mtime: Date): Headers => ({name: `${name}/`, mtime, mode: 0o755, uid: 0, gid: 0, type: 'directory'})
const json = (value: unknown) => Buffer.from(JSON.stringify(value))

async function writeDockerArchive(tar: Pack, images: DockerImagePlan[]): Promise<void> {
  const epoch = new Date(0)
  const written = new Set<string>()
  const manifest: Array<{Config: string; RepoTags: string[] | null; Layers: string[]}> = []
  const repositories: Record<string, Record<string, string>> = {}
  for (const {item, configBytes, config, layers} of images) {
    const mtime = mtimeOf(config.created)
    const ids = chainIds(layers.map((l) => l.diffId)).map((c) => c.slice(7))
    const paths: string[] = []
    for (const [i, layer] of layers.entries()) {
      const id = ids[i]
      paths.push(`${id}/layer.tar`)
      if (written.has(id)) continue
      written.add(id)
      // The legacy per-layer metadata `docker save` still writes (and old loaders read).
      const v1 = {id, ...(i > 0 ? {parent: ids[i - 1]} : {}), created: config.created ?? epoch.toISOString(), ...(config.os ? {os: config.os} : {})}
      await addEntry(tar, dir(id, mtime))
      await addEntry(tar, file(`${id}/VERSION`, 3, mtime), Buffer.from('1.0'))
      const v1Bytes = json(v1)
      await addEntry(tar, file(`${id}/json`, v1Bytes.length, mtime), v1Bytes)
      // A stored gzip layer is decompressed on the way out, and checked against its diff-id as it goes.
      const digester = new Digester()
      const transforms = layer.compression === 'gzip' ? [createGunzip({chunkSize: 1 << 20}), digester] : []
      await addEntry(tar, file(`${id}/layer.tar`, layer.size, mtime), createReadStream(layer.path, {highWaterMark: 1 << 20}), transforms)
      if (layer.compression === 'gzip' && digester.digest() !== layer.diffId) {
        throw new NcxError(`layer ${layer.digest} in the store is corrupt: it unpacks to diff-id ${digester.digest()}, not ${layer.diffId}`, {hint: 'remove the image (ncx rmi) and load or pull it again'})
      }
    }
    const configName = `${item.image.id.slice(7)}.json`
    if (!written.has(configName)) {
      written.add(configName)
      await addEntry(tar, file(configName, configBytes.length, mtime), configBytes)
    }
    const tags = item.names.map((n) => familiarName(parseReference(n)))
    manifest.push({Config: configName, RepoTags: tags.length > 0 ? tags : null, Layers: paths})
    for (const n of item.names) {
      const ref = parseReference(n)
      if (ref.tag && ids.length > 0) (repositories[familiarRepository(ref)] ??= {})[ref.tag] = ids[ids.length - 1]
    }
  }
  const manifestBytes = json(manifest)
  await addEntry(tar, file('manifest.json', manifestBytes.length, epoch), manifestBytes)
  if (Object.keys(repositories).length > 0) {
    const repoBytes = json(repositories)
    await addEntry(tar, file('repositories', repoBytes.length, epoch), repoBytes)
  }
}

/** The index entries of an OCI archive: one per name (annotated as Docker does), one bare entry for an unnamed image. */
export function ociIndex(images: Array<{item: SaveItem; manifest: Manifest; size: number}>): Index {
  const manifests = images.flatMap(({item, manifest, size}) => {
    const mediaType = manifest.mediaType ?? (manifest.config.mediaType === MediaType.dockerConfig ? MediaType.dockerManifest : MediaType.ociManifest)
    const base = {mediaType, digest: item.image.manifestDigest, size}
    if (item.names.length === 0) return [base]
    return item.names.map((n) => ({
      ...base,
      annotations: {'io.containerd.image.name': n, 'org.opencontainers.image.ref.name': parseReference(n).tag ?? 'latest'},
    }))
  })
  return {schemaVersion: 2, mediaType: MediaType.ociIndex, manifests}
}

async function writeOciArchive(tar: Pack, stores: ImageStores, images: OciImagePlan[]): Promise<void> {
  const epoch = new Date(0)
  const layout = json({imageLayoutVersion: '1.0.0'})
  await addEntry(tar, file('oci-layout', layout.length, epoch), layout)
  await addEntry(tar, dir('blobs', epoch))
  await addEntry(tar, dir('blobs/sha256', epoch))
  const written = new Set<string>()
  const blob = async (digest: string, mtime: Date) => {
    if (written.has(digest)) return
    written.add(digest)
    const path = stores.content.path(digest)
    await addEntry(tar, file(`blobs/sha256/${digest.slice(7)}`, statSync(path).size, mtime), createReadStream(path, {highWaterMark: 1 << 20}))
  }
  for (const {item, manifest} of images) {
    const mtime = mtimeOf(item.image.created)
    await blob(item.image.manifestDigest, mtime)
    await blob(manifest.config.digest, mtime)
    for (const l of manifest.layers) await blob(l.digest, mtime)
  }
  const index = json(ociIndex(images))
  await addEntry(tar, file('index.json', index.length, epoch), index)
}

/** Stream the archive into `dest` (stdout, a file). */
export async function writeArchive(stores: ImageStores, plan: SavePlan, dest: Writable, signal?: AbortSignal): Promise<void> {
  const tar = pack()
  const out = pipeline(tar, dest, {signal})
  const fill = (async () => {
    if (plan.format === 'docker-archive') await writeDockerArchive(tar, plan.images)
    else await writeOciArchive(tar, stores, plan.images)
    tar.finalize()
  })()
  fill.catch((error: unknown) => tar.destroy(error as Error))
  await Promise.all([fill, out])
  for (const {item} of plan.images) stores.images.recordEvent('save', item.image.id, item.image.id)
}

/**
 * Write the archive to `path` through a temporary file in the same directory, renamed into
 * place only once complete and synced: a failed or aborted save leaves no partial archive.
 * Docker's `save -o` creates the file with mode 0600; so does this.
 */
export async function saveToFile(stores: ImageStores, plan: SavePlan, path: string, signal?: AbortSignal): Promise<void> {
  const target = resolve(path)
  let isDir = false
  try {
    isDir = statSync(target).isDirectory()
  } catch {
    // does not exist yet
  }
  if (isDir) throw new UsageError(`failed to save image: ${path} is a directory`, 'give a file name, e.g. -o image.tar')
  if (!existsSync(dirname(target))) throw new UsageError(`failed to save image: invalid output path: directory ${JSON.stringify(dirname(path))} does not exist`)
  const tmp = join(dirname(target), `.${basename(target)}.ncx-save-${randomBytes(6).toString('hex')}`)
  let stream
  try {
    stream = createWriteStream(tmp, {flags: 'wx', mode: 0o600})
    await new Promise<void>((ok, fail) => stream!.once('open', () => ok()).once('error', fail))
  } catch (error) {
    throw new UsageError(`failed to save image: cannot write to ${dirname(target)}: ${(error as Error).message}`)
  }
  try {
    await writeArchive(stores, plan, stream, signal)
    const fd = openSync(tmp, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, target)
  } catch (error) {
    rmSync(tmp, {force: true})
    throw error
  }
}
