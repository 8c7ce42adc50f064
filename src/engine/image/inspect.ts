/**
 * `image inspect` and `image history`: what Docker's API returns for an image, computed
 * from the image record, its config blob and the recorded layer sizes.
 */
import {NcxError} from '../errors.js'
import {ImageStores} from './archive.js'
import {ImageReference, familiarName, familiarRepository, parseReference, repositoryName} from './reference.js'
import {ImageConfig, ImageRecord} from './types.js'

/** The image config as stored, with the Docker fields ncx's own type leaves out. */
type StoredConfig = ImageConfig & {
  comment?: string
  docker_version?: string
  variant?: string
  'os.version'?: string
  config?: ImageConfig['config'] & {ArgsEscaped?: boolean; Healthcheck?: object; OnBuild?: string[] | null; Shell?: string[] | null}
}

/** The `Config` section: the OCI image config fields, empty ones left out (Docker ≥ 28). */
export type InspectConfig = Partial<Record<(typeof CONFIG_FIELDS)[number], unknown>>

/** One element of `image inspect`'s array, in Docker's field order. */
export interface ImageInspect {
  Id: string
  RepoTags: string[]
  RepoDigests: string[]
  Parent: string
  Comment: string
  Created?: string
  DockerVersion: string
  Author: string
  Config: InspectConfig
  Architecture: string
  Variant?: string
  Os: string
  OsVersion?: string
  Size: number
  GraphDriver?: {Data: Record<string, string>; Name: string}
  RootFS: {Type: string; Layers: string[]}
  Metadata: {LastTagTime: string}
}

const CONFIG_FIELDS = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'Healthcheck', 'OnBuild', 'Shell'] as const

const isEmpty = (v: unknown) =>
  v === undefined || v === null || v === '' || v === false || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v as object).length === 0)

/** The digest `ref`'s repository knows the image by (pull), if any; records older than repoDigests: the manifest digest. */
export function repoDigest(image: ImageRecord, ref: ImageReference): string | undefined {
  if (ref.digest) return ref.digest
  if (image.repoDigests === undefined) return image.manifestDigest
  return image.repoDigests.map(parseReference).find((r) => repositoryName(r) === repositoryName(ref))?.digest
}

/** Docker's inspect document for `image` with config `config` (pure). */
export function describeImage(image: ImageRecord, config: StoredConfig): ImageInspect {
  const refs = image.names.map(parseReference)
  const repoTags = refs.filter((r) => r.tag && !r.digest).map(familiarName)
  // Records older than repoDigests: the manifest digest under each name, as before.
  const known = image.repoDigests?.map(parseReference) ?? refs.map((r) => ({...r, digest: r.digest ?? image.manifestDigest}))
  const repoDigests = [...new Set([...known, ...refs.filter((r) => r.digest)].map((r) => `${familiarRepository(r)}@${r.digest}`))]
  const cfg: InspectConfig = {}
  for (const key of CONFIG_FIELDS) {
    const value = (config.config as Record<string, unknown> | undefined)?.[key]
    if (!isEmpty(value)) cfg[key] = value
  }
  const history = config.history ?? []
  const created = config.created ?? image.created
  return {
    Id: image.id,
    RepoTags: repoTags,
    RepoDigests: repoDigests,
    Parent: '',
    // Docker's containerd image store takes the comment from the last history entry.
    Comment: config.comment ?? history[history.length - 1]?.comment ?? '',
    ...(created ? {Created: created} : {}),
    DockerVersion: config.docker_version ?? '',
    Author: config.author ?? '',
    Config: cfg,
    Architecture: config.architecture ?? '',
    ...(config.variant ? {Variant: config.variant} : {}),
    Os: config.os ?? '',
    ...(config['os.version'] ? {OsVersion: config['os.version']} : {}),
    Size: image.size,
    RootFS: {Type: config.rootfs?.type ?? 'layers', Layers: config.rootfs?.diff_ids ?? []},
    Metadata: {LastTagTime: image.addedAt},
  }
}

function readConfig(stores: Pick<ImageStores, 'content'>, image: ImageRecord): StoredConfig {
  if (!stores.content.has(image.id)) {
    throw new NcxError(`image ${image.id.slice(7, 19)}: its config blob is missing from the store`, {hint: 'remove the image (ncx rmi) and load or pull it again'})
  }
  return stores.content.readJson<StoredConfig>(image.id, 'image config')
}

/**
 * With the unpacked layers as Docker's overlay2 shows them: the top layer's directory as
 * UpperDir, the ones below (topmost first) as LowerDir.
 */
export function inspectImage(stores: Pick<ImageStores, 'content' | 'snapshots'>, image: ImageRecord): ImageInspect {
  const doc = describeImage(image, readConfig(stores, image))
  const dirs = image.layers.map((l) => stores.snapshots.dir(l.diffId)).reverse()
  const data: Record<string, string> = {}
  if (dirs.length > 1) data.LowerDir = dirs.slice(1).join(':')
  if (dirs.length > 0) data.UpperDir = dirs[0]
  const {RootFS, Metadata, ...head} = doc
  return {...head, GraphDriver: {Data: data, Name: 'overlay2'}, RootFS, Metadata}
}

/** One `image history` row, newest first, as Docker's API returns it. */
export interface HistoryEntry {
  /** The image ID on the top row; `<missing>` below (ncx keeps no parent images). */
  id: string
  /** RFC 3339, or undefined when the config does not say. */
  created?: string
  createdBy: string
  comment: string
  /** Uncompressed size of the layer the step made; 0 for steps without one. */
  size: number
}

/**
 * Docker's history: one row per config history entry, newest first; each entry that is
 * not an `empty_layer` takes the next layer's size. A config without history gets one row
 * per layer, so the layers still show.
 */
export function historyEntries(image: ImageRecord, config: ImageConfig, layerSizes: number[]): HistoryEntry[] {
  const history: NonNullable<ImageConfig['history']> = config.history?.length ? config.history : layerSizes.map(() => ({created: config.created}))
  let layer = 0
  const rows: HistoryEntry[] = []
  for (const h of history) {
    let size = 0
    if (!h.empty_layer) {
      if (layer >= layerSizes.length) {
        throw new NcxError(`image ${image.id.slice(7, 19)}: its config history lists more layers than the image has (${layerSizes.length})`, {hint: 'the image config is malformed'})
      }
      size = layerSizes[layer++]
    }
    rows.unshift({id: '<missing>', created: h.created, createdBy: h.created_by ?? '', comment: h.comment ?? '', size})
  }
  if (rows.length > 0) rows[0].id = image.id
  return rows
}

/** `image history`: layer sizes as recorded when the layers were unpacked (the blob size where none is). */
export function imageHistory(stores: Pick<ImageStores, 'content' | 'snapshots'>, image: ImageRecord): HistoryEntry[] {
  const sizes = image.layers.map((l) => stores.snapshots.size(l.diffId) ?? l.size)
  return historyEntries(image, readConfig(stores, image), sizes)
}
