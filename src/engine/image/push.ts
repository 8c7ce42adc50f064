import {Engine} from '../engine.js'
import {Credentials} from '../registry/credentials.js'
import {NcxError} from '../errors.js'
import {PullEvent, registryClient} from './pull.js'
import {familiarName, familiarRepository, formatReference, parseReference} from './reference.js'
import {Manifest, MediaType} from './types.js'

export interface PushResult {
  reference: string
  tag: string
  digest: string
  size: number
}

/**
 * `ncx push`: each blob is checked with HEAD and uploaded only when missing (monolithic
 * POST + PUT with the digest); the manifest goes last, byte for byte as stored, so its
 * digest is the same everywhere.
 */
export async function pushImage(engine: Engine, name: string, onEvent: (e: PullEvent) => void = () => {}, options: {credentials?: Credentials} = {}): Promise<PushResult> {
  const ref = parseReference(name)
  const image = engine.images.find(name)
  if (!image) throw new NcxError(`An image does not exist locally with the tag: ${name}`, {hint: 'tag one first: ncx tag IMAGE ' + name})
  const bytes = engine.content.read(image.manifestDigest)
  const manifest = engine.content.readJson<Manifest>(image.manifestDigest, 'manifest')
  const client = registryClient(engine, ref.domain, undefined, options.credentials)
  const repo = ref.path
  const scope = `repository:${repo}:pull,push`
  await client.authorize(`/v2/${repo}/blobs/uploads/`, scope)
  // A repository on the same registry that already holds this image: blobs are mounted
  // from it instead of uploaded again (cross-repository blob mount).
  const mountFrom = image.names
    .map((n) => parseReference(n))
    .find((r) => r.domain === ref.domain && r.path !== ref.path)?.path
  const blobs = [...manifest.layers, manifest.config]
  for (const d of blobs) {
    const id = d.digest.slice(7, 19)
    if (!engine.content.has(d.digest)) throw new NcxError(`blob ${d.digest} of ${name} is missing from the store`, {hint: 'pull or load the image again'})
    if (await client.hasBlob(repo, d.digest, scope)) {
      if (d !== manifest.config) onEvent({type: 'layer', id, status: 'Layer already exists'})
      continue
    }
    if (d !== manifest.config) onEvent({type: 'layer', id, status: 'Pushing'})
    const how = await client.pushBlob(repo, d.digest, d.size, () => engine.content.stream(d.digest), mountFrom)
    if (d !== manifest.config) onEvent({type: 'layer', id, status: how === 'mounted' ? `Mounted from ${mountFrom}` : 'Pushed'})
  }
  const mediaType = manifest.mediaType ?? MediaType.ociManifest
  const tag = ref.digest ?? ref.tag ?? 'latest'
  const sent = await client.putManifest(repo, tag, mediaType, bytes)
  if (sent && sent !== image.manifestDigest) {
    throw new NcxError(`${formatReference(ref)}: the registry stored the manifest as ${sent}, not ${image.manifestDigest}`)
  }
  engine.images.recordEvent('push', familiarName(ref), familiarRepository(ref))
  return {reference: formatReference(ref), tag, digest: image.manifestDigest, size: bytes.length}
}
