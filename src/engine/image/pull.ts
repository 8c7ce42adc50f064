import {PassThrough} from 'node:stream'

import {Engine} from '../engine.js'
import {NcxError, UsageError} from '../errors.js'
import {registrySettings} from '../registry/config.js'
import {RegistryClient} from '../registry/client.js'
import {Credentials, lookupCredentials} from '../registry/credentials.js'
import {withLockAsync} from '../store/files.js'
import {commitImage} from './archive.js'
import {Platform, parsePlatform} from './platform.js'
import {TeeClosedError, sha256, validateDigest} from './content.js'
import {ImageReference, familiarName, familiarRepository, formatReference, parseReference} from './reference.js'
import {Descriptor, ImageConfig, ImageRecord, Index, LAYER_MEDIA_TYPES, Manifest, MediaType} from './types.js'

function matches(d: Descriptor, p: Platform): boolean {
  if (!d.platform) return false
  if (d.platform.os !== p.os || d.platform.architecture !== p.architecture) return false
  return !p.variant || d.platform.variant === p.variant || (!d.platform.variant && p.variant === 'v8')
}

/** What a pull reports while it works, in Docker's words. */
export type PullEvent =
  | {type: 'status'; message: string}
  | {type: 'layer'; id: string; status: string; current?: number; total?: number}

export interface PullOptions {
  platform?: string
  onEvent?: (event: PullEvent) => void
  /** Layers downloaded at once. */
  concurrency?: number
  /** Credentials for this pull only (the Engine API's X-Registry-Auth); default: the stored ones. */
  credentials?: Credentials
}

export interface PullResult {
  image: ImageRecord
  reference: string
  digest: string
  /** False when every blob was already there. */
  downloaded: boolean
}

/** A client for `domain`; `credentials` (the API's X-Registry-Auth) before the user's stored ones. */
export function registryClient(engine: Engine, domain: string, endpoint?: string, credentials?: Credentials): RegistryClient {
  return new RegistryClient({domain, endpoint, settings: registrySettings(engine.paths), credentials: credentials ?? lookupCredentials(domain)})
}

/** Where to pull from: Docker Hub's configured mirrors first (as Docker does), then the registry. */
export function pullEndpoints(engine: Engine, domain: string): Array<string | undefined> {
  const mirrors = domain === 'docker.io' ? registrySettings(engine.paths).mirrors : []
  return [...mirrors, undefined]
}

const INDEX_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList]
const MANIFEST_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest]

function parseJsonBytes<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T
  } catch {
    throw new NcxError(`${what} is not valid JSON`, {hint: 'the registry answered garbage; try again, or report it to the registry operator'})
  }
}

/** Resolve `ref` to one platform's manifest, verifying digests on the way. */
async function resolveManifest(client: RegistryClient, ref: ImageReference, platform: Platform): Promise<{digest: string; bytes: Buffer; manifest: Manifest}> {
  const shown = formatReference(ref)
  const first = await client.getManifest(ref.path, ref.digest ?? ref.tag ?? 'latest')
  let digest = sha256(first.bytes)
  if (ref.digest && ref.digest !== digest) throw new NcxError(`${shown}: manifest digest mismatch: the registry sent content with digest ${digest}`)
  let bytes = first.bytes
  let parsed = parseJsonBytes<{mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[]}>(bytes, `manifest of ${shown}`)
  let type = parsed.mediaType ?? first.mediaType
  if (INDEX_TYPES.includes(type) || (parsed.manifests && !parsed.config)) {
    const index = parsed as Index
    const chosen = (index.manifests ?? []).find((d) => matches(d, platform))
    if (!chosen) {
      const offered = (index.manifests ?? []).map((d) => (d.platform ? `${d.platform.os}/${d.platform.architecture}${d.platform.variant ? `/${d.platform.variant}` : ''}` : '?')).join(', ')
      throw new NcxError(`${shown}: no image for ${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''} (the index offers ${offered || 'nothing'})`, {hint: 'choose one with --platform'})
    }
    validateDigest(chosen.digest, shown)
    const second = await client.getManifest(ref.path, chosen.digest)
    digest = sha256(second.bytes)
    if (digest !== chosen.digest) throw new NcxError(`${shown}: manifest digest mismatch for ${chosen.digest}: got ${digest}`)
    bytes = second.bytes
    parsed = parseJsonBytes(bytes, `manifest ${chosen.digest}`)
    type = parsed.mediaType ?? second.mediaType
  }
  if (!MANIFEST_TYPES.includes(type) && !(parsed.config && parsed.layers)) {
    throw new NcxError(`${shown}: unsupported manifest media type ${JSON.stringify(type)}`, {hint: 'ncx reads OCI and Docker schema 2 manifests'})
  }
  const manifest = parsed as Manifest
  if (!manifest.config?.digest || !Array.isArray(manifest.layers)) throw new NcxError(`${shown}: manifest has no config or layers`)
  validateDigest(manifest.config.digest, shown)
  for (const l of manifest.layers) {
    validateDigest(l.digest, shown)
    if (!LAYER_MEDIA_TYPES.includes(l.mediaType)) throw new NcxError(`${shown}: layer ${l.digest} has unsupported media type ${JSON.stringify(l.mediaType)}`)
  }
  return {digest, bytes, manifest}
}

/**
 * Run `task` over `items`, at most `limit` at once. After a failure no new task starts, and
 * the first error is thrown only once the running ones have settled, so no unpack is left
 * orphaned (and its temporary directory behind) when the command exits.
 */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failure: {error: unknown} | undefined
  const workers = Array.from({length: Math.min(limit, items.length)}, async () => {
    while (next < items.length && !failure) {
      try {
        await task(items[next++])
      } catch (error) {
        failure ??= {error}
      }
    }
  })
  await Promise.all(workers)
  if (failure) throw failure.error
}

/**
 * Wait for all, then throw the failure that is the cause: the earliest one that is not a
 * consequence of another. A download that failed (a full disk, a stalled registry) cuts the
 * unpack's input, whose "not a valid tar stream" comes later; an unpack that failed closes
 * its input, which the download sees as a TeeClosedError.
 */
async function settleAll(promises: Array<Promise<unknown>>): Promise<void> {
  const failed: unknown[] = []
  await Promise.all(promises.map((p) => p.catch((error: unknown) => void failed.push(error))))
  if (failed.length > 0) throw failed.find((e) => !(e instanceof TeeClosedError)) ?? failed[0]
}

/**
 * `ncx pull`: manifest (with platform selection) → config → layers in parallel, each
 * verified against its digest while it streams into the content store and, at the same
 * time, unpacked into its snapshot (verified against the config's diff-id). The image
 * record is written last, so an interrupted pull leaves nothing referenced half-done.
 */
export async function pullImage(engine: Engine, name: string, options: PullOptions = {}): Promise<PullResult> {
  const ref = parseReference(name)
  const emit = options.onEvent ?? (() => {})
  const platform = parsePlatform(options.platform)
  const endpoints = pullEndpoints(engine, ref.domain)
  let client = registryClient(engine, ref.domain, endpoints[0], options.credentials)
  let resolved
  for (const [i, endpoint] of endpoints.entries()) {
    client = registryClient(engine, ref.domain, endpoint, options.credentials)
    try {
      resolved = await resolveManifest(client, ref, platform)
      break
    } catch (error) {
      // A mirror that is down or lacks the image is skipped; the registry's own answer counts.
      if (i === endpoints.length - 1) throw error
      emit({type: 'status', message: `mirror ${endpoint} failed (${(error as Error).message}); trying ${endpoints[i + 1] ?? ref.domain}`})
    }
  }
  const {digest, bytes, manifest} = resolved!
  const repo = ref.path
  let downloaded = false
  return engine.adding(async () => {
    engine.content.put(bytes, digest)
    if (!engine.content.has(manifest.config.digest)) {
      const what = `config of ${familiarName(ref)}`
      const blob = await client.getBlob(repo, manifest.config.digest)
      await engine.content.ingest(blob.stream, {digest: manifest.config.digest, size: manifest.config.size}, what).catch((error: unknown) => {
        blob.stream.destroy()
        throw error instanceof NcxError ? error : new NcxError(`${what}: download interrupted: ${(error as Error).message}`, {cause: error})
      })
      downloaded = true
    }
    const config = engine.content.readJson<ImageConfig>(manifest.config.digest, 'image config')
    if (config.architecture && config.architecture !== platform.architecture) {
      throw new NcxError(`${familiarName(ref)}: the image is for ${config.os}/${config.architecture}, not ${platform.os}/${platform.architecture}`, {hint: 'pull with --platform to choose another'})
    }
    const diffIds = config.rootfs?.diff_ids ?? []
    if (diffIds.length !== manifest.layers.length) {
      throw new NcxError(`${familiarName(ref)}: config lists ${diffIds.length} layers, manifest ${manifest.layers.length}`)
    }
    const layers = manifest.layers.map((d, i) => ({d, diffId: validateDigest(diffIds[i], familiarName(ref))}))
    const todo = layers.filter(({d, diffId}) => {
      const present = engine.content.has(d.digest) && engine.snapshots.has(diffId)
      emit({type: 'layer', id: d.digest.slice(7, 19), status: present ? 'Already exists' : 'Pulling fs layer'})
      return !present
    })
    await pool(todo, options.concurrency ?? 3, async ({d, diffId}) => {
      const id = d.digest.slice(7, 19)
      const haveBlob = engine.content.has(d.digest)
      if (haveBlob) {
        emit({type: 'layer', id, status: 'Extracting'})
        engine.snapshots.ensure(diffId, engine.content.path(d.digest))
        emit({type: 'layer', id, status: 'Pull complete'})
        return
      }
      downloaded = true
      let current = 0
      let lastEmit = 0
      const progress = (n: number) => {
        current += n
        const now = Date.now()
        if (now - lastEmit > 100) {
          lastEmit = now
          emit({type: 'layer', id, status: 'Downloading', current, total: d.size})
        }
      }
      const what = `layer ${d.digest} of ${familiarName(ref)}`
      // One download per blob at a time across processes (parallel pulls share it), and a
      // deterministic partial file, so an interrupted download resumes where it stopped.
      await withLockAsync(engine.content.downloadLock(d.digest), async () => {
        if (engine.content.has(d.digest)) {
          engine.snapshots.ensure(diffId, engine.content.path(d.digest))
          return
        }
        const toUnpack = engine.snapshots.has(diffId) ? undefined : new PassThrough({highWaterMark: 1 << 20})
        // A failed download destroys it with its error, which settleAll reports (not an 'error' event nobody hears).
        toUnpack?.on('error', () => undefined)
        await settleAll([
          engine.content.ingestResumable({digest: d.digest, size: d.size}, (offset) => client.getBlob(repo, d.digest, offset), toUnpack, progress, what),
          ...(toUnpack ? [engine.snapshots.ensureFromStream(diffId, toUnpack)] : []),
        ])
      })
      emit({type: 'layer', id, status: 'Pull complete'})
    })
    const names = ref.tag ? [formatReference({...ref, digest: undefined})] : [formatReference(ref)]
    const image = commitImage(engine, digest, manifest, config, names, [formatReference({...ref, tag: undefined, digest})])
    engine.images.recordEvent('pull', familiarName(ref), familiarRepository(ref))
    return {image, reference: formatReference(ref), digest, downloaded}
  })
}
