import {createReadStream, openSync, readSync, closeSync} from 'node:fs'
import {Readable} from 'node:stream'
import {createGunzip} from 'node:zlib'
import {extract} from 'tar-stream'

import type {Engine} from '../engine.js'
import {NcxError, UsageError} from '../errors.js'
import {SnapshotStore} from '../snapshot/store.js'
import {ContentStore, validateDigest} from './content.js'
import {parseReference} from './reference.js'
import {collectGarbage} from './remove.js'
import {ImageStore} from './store.js'
import {hostArchitecture, parsePlatform} from './platform.js'
import {Descriptor, ImageConfig, ImageRecord, Index, LAYER_MEDIA_TYPES, LayerRecord, Manifest, MediaType} from './types.js'

/** The stores an archive is loaded into. */
export interface ImageStores {
  content: ContentStore
  images: ImageStore
  snapshots: SnapshotStore
}

export interface LoadedImage {
  image: ImageRecord
  /** Names as given in the archive (`busybox:latest`); empty for an untagged image. */
  names: string[]
}

const SMALL_FILE = 4 * 1024 * 1024

function fileHead(path: string): Buffer {
  const fd = openSync(path, 'r')
  try {
    const head = Buffer.alloc(4)
    readSync(fd, head, 0, 4, 0)
    return head
  } finally {
    closeSync(fd)
  }
}

const isGzipFile = (path: string) => fileHead(path).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))
const isZstdFile = (path: string) => fileHead(path).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))

function parseJson<T>(data: Buffer, what: string): T {
  try {
    return JSON.parse(data.toString('utf8')) as T
  } catch (error) {
    throw new NcxError(`${what} is not valid JSON: ${(error as Error).message}`)
  }
}

/** Walk a tar archive: small metadata files are kept in memory, everything else goes into the content store. */
async function readArchive(source: Readable, content: ContentStore, what: string) {
  const small = new Map<string, Buffer>()
  const stored = new Map<string, {digest: string; size: number}>()
  const tar = extract()
  const done = (async () => {
    for await (const entry of tar) {
      const name = entry.header.name.replace(/^\.\//, '').replace(/\/+$/, '')
      if (entry.header.type !== 'file' && entry.header.type !== 'contiguous-file') {
        entry.resume()
        continue
      }
      const isMeta = (name.endsWith('.json') || name === 'repositories' || name === 'oci-layout') && (entry.header.size ?? 0) <= SMALL_FILE
      if (isMeta && !name.startsWith('blobs/')) {
        const chunks: Buffer[] = []
        for await (const chunk of entry) chunks.push(chunk as Buffer)
        small.set(name, Buffer.concat(chunks))
        continue
      }
      const blobName = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name)
      const expected = blobName ? {digest: `sha256:${blobName[1]}`, size: entry.header.size} : undefined
      stored.set(name, await content.ingest(entry as unknown as Readable, expected, `${what}: ${name}`))
    }
  })()
  source.on('error', (error) => tar.destroy(error))
  source.pipe(tar)
  try {
    await done
  } catch (error) {
    if (error instanceof NcxError) throw error
    throw new NcxError(`${what} is not a valid tar archive: ${(error as Error).message}`)
  }
  return {small, stored}
}

function platformMatches(d: Descriptor): boolean {
  return !d.platform || (d.platform.os === 'linux' && d.platform.architecture === hostArchitecture())
}

/** Unpack the layers of `manifest` and record the image; returns the record. */
export function commitImage(stores: ImageStores, manifestDigest: string, manifest: Manifest, config: ImageConfig, names: string[], repoDigests: string[] = []): ImageRecord {
  const diffIds = config.rootfs?.diff_ids ?? []
  if (diffIds.length !== manifest.layers.length) {
    throw new NcxError(`image ${manifestDigest}: its config lists ${diffIds.length} layers but its manifest has ${manifest.layers.length}`)
  }
  const layers: LayerRecord[] = manifest.layers.map((layer, i) => {
    if (!LAYER_MEDIA_TYPES.includes(layer.mediaType)) {
      throw new NcxError(`image ${manifestDigest}: layer ${layer.digest} has unsupported media type ${JSON.stringify(layer.mediaType)}`)
    }
    validateDigest(diffIds[i], `image ${manifestDigest}`)
    if (!stores.content.has(layer.digest)) throw new NcxError(`image ${manifestDigest}: layer blob ${layer.digest} is missing`)
    return {digest: layer.digest, diffId: diffIds[i], size: layer.size, mediaType: layer.mediaType}
  })
  let size = 0
  for (const layer of layers) {
    const report = stores.snapshots.ensure(layer.diffId, stores.content.path(layer.digest))
    size += report?.size ?? stores.snapshots.size(layer.diffId) ?? layer.size
  }
  return stores.images.add({id: manifest.config.digest, manifestDigest, layers, created: config.created, size, repoDigests}, names)
}

/**
 * Store an image ncx assembled itself (docker-archive load, import, commit): the config
 * (exact bytes), an OCI manifest over `layers`, then the record via commitImage.
 */
export function storeOciImage(stores: ImageStores, config: ImageConfig, configBytes: Buffer, layers: Descriptor[], names: string[]): ImageRecord {
  const configDigest = stores.content.put(configBytes)
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: {mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length},
    layers,
  }
  const manifestDigest = stores.content.put(Buffer.from(JSON.stringify(manifest)))
  return commitImage(stores, manifestDigest, manifest, config, names)
}

/**
 * The manifest `d` names, from the blobs the archive held (`inArchive`): a blob the store
 * happens to have (left by an earlier, failed load) does not make up for one the archive lacks.
 */
function manifestFromStore(content: ContentStore, inArchive: Set<string>, d: Descriptor, what: string): {digest: string; manifest: Manifest} | undefined {
  validateDigest(d.digest, what)
  if (!inArchive.has(d.digest)) throw new NcxError(`${what}: blob ${d.digest} is missing from the archive`)
  if (d.mediaType === MediaType.ociIndex || d.mediaType === MediaType.dockerManifestList) {
    const index = content.readJson<Index>(d.digest, `${what}: index`)
    const chosen = (index.manifests ?? []).find(platformMatches)
    if (!chosen) {
      throw new NcxError(`${what}: no image for linux/${hostArchitecture()} in the index`, {hint: 'the archive holds images for other platforms only'})
    }
    return manifestFromStore(content, inArchive, chosen, what)
  }
  if (d.mediaType && d.mediaType !== MediaType.ociManifest && d.mediaType !== MediaType.dockerManifest) {
    throw new NcxError(`${what}: unsupported manifest media type ${JSON.stringify(d.mediaType)}`)
  }
  const manifest = content.readJson<Manifest>(d.digest, `${what}: manifest`)
  if (!manifest.config || !Array.isArray(manifest.layers)) throw new NcxError(`${what}: manifest ${d.digest} has no config or layers`)
  for (const blob of [manifest.config, ...manifest.layers]) {
    validateDigest(blob.digest, `${what}: manifest ${d.digest}`)
    if (!inArchive.has(blob.digest)) throw new NcxError(`${what}: blob ${blob.digest} named in manifest ${d.digest} is missing from the archive`)
  }
  return {digest: d.digest, manifest}
}

/** The name an OCI index entry carries, if any, in a form `parseReference` takes. */
function ociName(d: Descriptor): string | undefined {
  const full = d.annotations?.['io.containerd.image.name']
  if (full) return full
  const ref = d.annotations?.['org.opencontainers.image.ref.name']
  // A bare tag ("latest") names no repository: the image is loaded untagged, as Docker does.
  if (ref && (ref.includes('/') || ref.includes(':'))) return ref
  return undefined
}

/**
 * `ncx load` as one engine call: the archive's blobs are written under the shared GC lock;
 * afterwards — loaded or failed — the blobs it stored that nothing references are collected at once
 * (when no other writer holds the lock; else the next collection or `system check` does).
 */
export async function loadImages(engine: Engine, source: Readable, what: string): Promise<LoadedImage[]> {
  try {
    const loaded = await engine.adding(() => loadArchive(engine, source, what))
    // Files of the archive no image names (stored as they streamed by) go too.
    collectGarbage(engine, {wait: false})
    return loaded
  } catch (error) {
    try {
      collectGarbage(engine, {wait: false})
    } catch {
      // the load's own error is the one to report
    }
    throw error
  }
}

/** `ncx load`: an OCI image-layout archive or a docker-archive (as `docker save` writes). */
export async function loadArchive(stores: ImageStores, source: Readable, what: string): Promise<LoadedImage[]> {
  const {small, stored} = await readArchive(source, stores.content, what)
  const loaded: LoadedImage[] = []
  if (small.has('index.json') && small.has('oci-layout') && !small.has('manifest.json')) {
    const index = parseJson<Index>(small.get('index.json')!, `${what}: index.json`)
    if (!Array.isArray(index.manifests)) throw new NcxError(`${what}: index.json has no manifests list`)
    const inArchive = new Set([...stored.values()].map((b) => b.digest))
    for (const d of index.manifests) {
      const found = manifestFromStore(stores.content, inArchive, d, what)
      if (!found) continue
      const config = stores.content.readJson<ImageConfig>(found.manifest.config.digest, `${what}: image config`)
      const name = ociName(d)
      const names = name ? [name] : []
      if (name) parseReference(name)
      loaded.push({image: commitImage(stores, found.digest, found.manifest, config, names), names})
    }
  } else if (small.has('manifest.json')) {
    type DockerEntry = {Config: string; RepoTags?: string[] | null; Layers: string[]}
    const entries = parseJson<DockerEntry[]>(small.get('manifest.json')!, `${what}: manifest.json`)
    if (!Array.isArray(entries)) throw new NcxError(`${what}: manifest.json is not a list`)
    for (const entry of entries) {
      const configBytes = small.get(entry.Config) ?? (stored.has(entry.Config) ? stores.content.read(stored.get(entry.Config)!.digest) : undefined)
      if (!configBytes) throw new NcxError(`${what}: config ${entry.Config} named in manifest.json is missing`)
      const config = parseJson<ImageConfig>(configBytes, `${what}: ${entry.Config}`)
      const layers: Descriptor[] = (entry.Layers ?? []).map((path) => {
        const blob = stored.get(path)
        if (!blob) throw new NcxError(`${what}: layer ${path} named in manifest.json is missing`)
        const gzip = isGzipFile(stores.content.path(blob.digest))
        return {mediaType: gzip ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: blob.digest, size: blob.size}
      })
      const names = entry.RepoTags ?? []
      for (const n of names) parseReference(n)
      loaded.push({image: storeOciImage(stores, config, configBytes, layers, names), names})
    }
  } else {
    throw new UsageError(`${what} is neither an OCI archive (index.json + oci-layout) nor a docker-archive (manifest.json)`, 'create one with "ncx save", "docker save", "podman save" or "skopeo copy ... oci-archive:FILE"')
  }
  if (loaded.length === 0) throw new NcxError(`${what} holds no image for linux/${hostArchitecture()}`)
  for (const {image} of loaded) stores.images.recordEvent('load', image.id, image.id)
  return loaded
}

export interface ImportOptions {
  /** Dockerfile-style `--change` instructions: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL. */
  changes: string[]
  message?: string
  name?: string
  origin: string
  /** The image's platform (`linux/arm64`); default: this host's. */
  platform?: string
}

/**
 * The tarball of `import URL`: an http(s) URL's body as a stream (another scheme, or an
 * answer that is not 2xx, is an error with the reason).
 */
export async function fetchRootfs(url: string): Promise<Readable> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UsageError(`invalid URL ${JSON.stringify(url)}`, 'give an http:// or https:// URL, or a file')
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`cannot import from ${JSON.stringify(url)}: only http:// and https:// URLs are fetched`, 'download it first, or give a file')
  let res: Response
  try {
    res = await fetch(parsed, {redirect: 'follow'})
  } catch (error) {
    const cause = (error as {cause?: {message?: string}}).cause?.message
    throw new NcxError(`cannot fetch ${url}: ${cause ?? (error as Error).message}`)
  }
  if (!res.ok || !res.body) throw new NcxError(`cannot fetch ${url}: ${res.status} ${res.statusText}`)
  return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>)
}

function instructionValue(value: string): string[] {
  const trimmed = value.trim()
  if (trimmed.startsWith('[')) {
    const parsed = parseJson<unknown>(Buffer.from(trimmed), `--change value ${trimmed}`)
    if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed as string[]
    throw new UsageError(`--change value ${trimmed} must be a JSON array of strings`)
  }
  return ['/bin/sh', '-c', trimmed]
}

/**
 * Dockerfile ENV: `KEY value…` (legacy form), or `K=V K2="v 2"` pairs with quotes and
 * backslash escapes removed.
 */
export function envPairs(value: string): string[] {
  const text = value.trim()
  const firstWord = /^\S+/.exec(text)?.[0] ?? ''
  if (!firstWord.includes('=')) {
    const rest = text.slice(firstWord.length).trim()
    return [`${firstWord}=${rest}`]
  }
  const pairs: string[] = []
  let current = ''
  let quote: string | undefined
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (ch === '\\' && i + 1 < text.length) {
      current += text[++i]
    } else if (quote) {
      if (ch === quote) quote = undefined
      else current += ch
    } else if (ch === '"' || ch === "'") {
      quote = ch
    } else if (/\s/.test(ch)) {
      if (current) pairs.push(current)
      current = ''
    } else {
      current += ch
    }
  }
  if (quote) throw new UsageError(`ENV ${value}: unterminated quote`)
  if (current) pairs.push(current)
  for (const p of pairs) if (!p.includes('=')) throw new UsageError(`ENV ${value}: ${JSON.stringify(p)} is not KEY=VALUE`)
  return pairs
}

/** Apply `--change` instructions to an image config section. */
export function applyChanges(cfg: NonNullable<ImageConfig['config']>, changes: string[]): void {
  for (const change of changes) {
    const m = /^\s*(\w+)\s+(.*)$/s.exec(change)
    if (!m) throw new UsageError(`invalid --change ${JSON.stringify(change)}`, 'use e.g. --change \'CMD ["sh"]\'')
    const [, op, value] = m
    switch (op.toUpperCase()) {
      case 'CMD': cfg.Cmd = instructionValue(value); break
      case 'ENTRYPOINT': cfg.Entrypoint = instructionValue(value); break
      case 'WORKDIR': cfg.WorkingDir = value.trim(); break
      case 'USER': cfg.User = value.trim(); break
      case 'ENV': {
        let env = cfg.Env ?? []
        for (const kv of envPairs(value)) {
          const key = kv.split('=')[0]
          env = [...env.filter((e) => !e.startsWith(`${key}=`)), kv]
        }
        cfg.Env = env
        break
      }
      case 'LABEL': {
        const [k, ...v] = value.trim().split('=')
        cfg.Labels = {...cfg.Labels, [k]: v.join('=').replace(/^"|"$/g, '')}
        break
      }
      default:
        throw new UsageError(`--change ${op.toUpperCase()} is not supported`, 'supported: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL')
    }
  }
}

/** `ncx import`: a root-filesystem tarball (plain, gzip or zstd) becomes a one-layer image. */
export async function importRootfs(stores: ImageStores, source: Readable, options: ImportOptions): Promise<ImageRecord> {
  if (options.name) parseReference(options.name)
  const platform = parsePlatform(options.platform)
  if (platform.os !== 'linux') throw new UsageError(`cannot import an image for ${platform.os}: ncx runs linux images only`)
  // Checked before the tarball is read: a bad --change costs no ingest.
  applyChanges({}, options.changes)
  const blob = await stores.content.ingest(source, undefined, options.origin)
  const path = stores.content.path(blob.digest)
  const gzip = isGzipFile(path)
  if (isZstdFile(path)) {
    stores.content.remove(blob.digest)
    throw new UsageError(`${options.origin} is zstd-compressed; ncx import takes plain or gzip tarballs`, 'decompress it first: zstd -d FILE')
  }
  // The diff-id is the digest of the uncompressed stream; the runtime computes it while unpacking.
  const diffId = gzip ? await gunzipDigest(path) : blob.digest
  const created = new Date().toISOString()
  const cfg: NonNullable<ImageConfig['config']> = {Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']}
  applyChanges(cfg, options.changes)
  const config: ImageConfig & {variant?: string} = {
    architecture: platform.architecture,
    os: 'linux',
    ...(platform.variant ? {variant: platform.variant} : {}),
    created,
    config: cfg,
    rootfs: {type: 'layers', diff_ids: [diffId]},
    history: [{created, created_by: 'ncx import', comment: options.message ?? `Imported from ${options.origin}`}],
  }
  const layers = [{mediaType: gzip ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: blob.digest, size: blob.size}]
  const image = storeOciImage(stores, config, Buffer.from(JSON.stringify(config)), layers, options.name ? [options.name] : [])
  stores.images.recordEvent('import', image.id, image.id)
  return image
}

async function gunzipDigest(path: string): Promise<string> {
  const {createHash} = await import('node:crypto')
  const hash = createHash('sha256')
  try {
    for await (const chunk of createReadStream(path).pipe(createGunzip())) hash.update(chunk as Buffer)
  } catch (error) {
    throw new NcxError(`the tarball is not valid gzip: ${(error as Error).message}`)
  }
  return `sha256:${hash.digest('hex')}`
}
