/** `/images/…`: Docker's image endpoints over the engine's image modules. */
import {Engine} from '../engine/engine.js'
import {NotFoundError, errorMessage} from '../engine/errors.js'
import {inspectImage, imageHistory} from '../engine/image/inspect.js'
import {familiarName, familiarRepository, parseReference} from '../engine/image/reference.js'
import {removeImages} from '../engine/image/remove.js'
import {ImageRecord} from '../engine/image/types.js'
import {Credentials} from '../engine/registry/credentials.js'
import {RegistryClient} from '../engine/registry/client.js'
import {registrySettings} from '../engine/registry/config.js'
import {parseServer} from '../engine/registry/server.js'
import {ApiError, Request, Router, baseHeaders, queryBool, queryFilters, statusOf} from './http.js'
import {ServiceContext} from './context.js'

function findImage(engine: Engine, name: string): ImageRecord {
  const image = engine.images.find(name)
  if (!image) throw new NotFoundError(`No such image: ${name}`)
  return image
}

/** Docker's short names (`busybox:latest`, `localhost:5000/app:1`). */
function repoTags(image: ImageRecord): string[] {
  return image.names.filter((n) => !n.includes('@')).map((n) => familiarName(parseReference(n)))
}

function repoDigests(image: ImageRecord): string[] {
  return (image.repoDigests ?? []).map((d) => {
    const at = d.indexOf('@')
    return `${familiarName(parseReference(d.slice(0, at)))}${d.slice(at)}`.replace(/:latest@/, '@')
  })
}

/**
 * `X-Registry-Auth`: base64url JSON `{username, password, identitytoken, serveraddress}`
 * (Docker's AuthConfig). No header, or an object with neither a username nor an identity token:
 * undefined (the user's stored credentials apply). An identity token is the token service's
 * refresh token (the registry client uses it in place of the password, as dockerd does).
 */
export function registryAuth(header: string | string[] | undefined): Credentials | undefined {
  const text = Array.isArray(header) ? header[0] : header
  if (!text) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64').toString('utf8'))
  } catch {
    throw new ApiError(400, 'invalid X-Registry-Auth header: not base64-encoded JSON')
  }
  if (!parsed || typeof parsed !== 'object') return undefined
  const a = parsed as Record<string, unknown>
  const username = typeof a.username === 'string' ? a.username : ''
  const password = typeof a.password === 'string' ? a.password : ''
  const identityToken = typeof a.identitytoken === 'string' && a.identitytoken ? a.identitytoken : undefined
  if (identityToken) return {username, password, identityToken}
  return username ? {username, password} : undefined
}

/** A JSON-lines progress stream (pull, push, load): 200 at once, errors as Docker's error objects. */
function progressStream(res: import('node:http').ServerResponse): (o: unknown) => void {
  res.writeHead(200, {...baseHeaders(), 'Content-Type': 'application/json'})
  return (o: unknown) => {
    if (!res.writableEnded) res.write(JSON.stringify(o) + '\r\n')
  }
}

/** The names of `GET /images/get?names=…` (repeated, or comma-less single) or `/images/{name}/get`. */
function saveNames(req: Request): string[] {
  if (req.params.length > 0) return [req.params[0]]
  const names = req.query.getAll('names').filter((n) => n !== '')
  if (names.length === 0) throw new ApiError(400, 'no image names given: use names=IMAGE (repeated for several)')
  return names
}

/**
 * The name of an import, as dockerd's RepoTagReference makes it: `repo` (it may carry a tag)
 * with `tag` over it, `latest` by default; a digest is refused. No repo: no name.
 */
export function importName(repo: string | null, tag: string | null): string | undefined {
  if (!repo) return undefined
  let ref
  try {
    ref = parseReference(repo)
  } catch (error) {
    throw new ApiError(400, errorMessage(error))
  }
  if (ref.digest) throw new ApiError(400, 'cannot import digest reference')
  const name = familiarRepository(ref)
  if (tag) {
    try {
      return familiarName(parseReference(`${name}:${tag}`))
    } catch (error) {
      throw new ApiError(400, errorMessage(error))
    }
  }
  return `${name}:${ref.tag ?? 'latest'}`
}

/**
 * `docker import`: `POST /images/create?fromSrc=-` with the tarball as the body, or
 * `fromSrc=URL` (http and https, fetched by the service), through `ncx import`'s engine code.
 * `repo`, `tag`, `changes` (repeated), `message`, `platform`; the answer is Docker's JSON
 * stream ending in `{"status": "sha256:…"}` (an error before any output is the HTTP status).
 */
async function importImage(ctx: ServiceContext, req: Request, res: import('node:http').ServerResponse): Promise<'handled'> {
  const {engine} = ctx
  const q = req.query
  const src = q.get('fromSrc')!
  const name = importName(q.get('repo'), q.get('tag'))
  const changes = q.getAll('changes').flatMap((c) => c.split('\n')).filter((c) => c.trim() !== '')
  const platform = q.get('platform') || undefined
  const message = q.get('message') || `Imported from ${src}`
  const {fetchRootfs, importRootfs} = await import('../engine/image/archive.js')
  let source: import('node:stream').Readable
  let send: ((o: unknown) => void) | undefined
  if (src === '-') source = req.raw
  else {
    if (!/^https?:\/\//i.test(src)) throw new ApiError(400, `fromSrc ${JSON.stringify(src)} is neither "-" (the request body) nor an http:// or https:// URL`)
    // Docker's clients send no body with a URL; what there is goes unread.
    req.raw.resume()
    source = await fetchRootfs(src).catch((error: unknown) => {
      throw new ApiError(statusOf(error) === 400 ? 400 : 500, errorMessage(error))
    })
    send = progressStream(res)
    send({status: 'Downloading', progressDetail: {}, id: src})
  }
  try {
    const image = await engine.adding(() => importRootfs(engine, source, {changes, message, ...(name ? {name} : {}), origin: src === '-' ? 'the request body' : src, ...(platform ? {platform} : {})}))
    send ??= progressStream(res)
    send({status: image.id})
  } catch (error) {
    if (!send) throw error
    send({errorDetail: {message: errorMessage(error)}, error: errorMessage(error)})
  }
  res.end()
  return 'handled'
}

export function imageRoutes(router: Router, ctx: ServiceContext): void {
  const {engine} = ctx

  router.on('GET', '/images/json', async (req) => {
    const filters = queryFilters(req.query)
    const all = engine.images.list()
    const containers = engine.containers.list()
    const dangling = filters.get('dangling')?.[0]
    const refs = filters.get('reference')
    const body = all
      .filter((i) => dangling === undefined || (dangling === 'true' || dangling === '1') === (repoTags(i).length === 0))
      .filter((i) => !refs || repoTags(i).some((t) => refs.some((r) => t === r || t.split(':')[0] === r || t.startsWith(`${r}:`))))
      .map((i) => {
        let labels: Record<string, string> | null = null
        try {
          labels = (inspectImage(engine, i).Config.Labels as Record<string, string> | undefined) ?? null
        } catch {
          labels = null
        }
        return {
          Id: i.id,
          ParentId: '',
          RepoTags: repoTags(i),
          RepoDigests: repoDigests(i),
          Created: Math.floor(Date.parse(i.created ?? i.addedAt) / 1000) || 0,
          Size: i.size,
          SharedSize: -1,
          VirtualSize: i.size,
          Labels: labels,
          Containers: queryBool(req.query, 'shared-size') ? containers.filter((c) => c.imageId === i.id).length : -1,
        }
      })
      .sort((a, b) => b.Created - a.Created)
    return {body}
  })

  router.on('GET', '/images/{name*}/json', async (req) => {
    const image = findImage(engine, req.params[0])
    const doc = inspectImage(engine, image)
    return {body: {...doc, RepoTags: repoTags(image), RepoDigests: repoDigests(image)}}
  })

  router.on('GET', '/images/{name*}/history', async (req) => {
    const image = findImage(engine, req.params[0])
    const tags = repoTags(image)
    return {
      body: imageHistory(engine, image).map((h, i) => ({
        Id: h.id,
        Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
        CreatedBy: h.createdBy,
        Tags: i === 0 ? tags : null,
        Size: h.size,
        Comment: h.comment,
      })),
    }
  })

  router.on('POST', '/images/{name*}/tag', async (req) => {
    const repo = req.query.get('repo')
    if (!repo) throw new ApiError(400, 'repository name must have at least one component')
    const tag = req.query.get('tag') || 'latest'
    if (parseReference(repo).digest) throw new ApiError(400, 'refusing to create a tag with a digest reference')
    findImage(engine, req.params[0])
    engine.images.tag(req.params[0], `${repo}:${tag}`)
    return {status: 201}
  })

  router.on('DELETE', '/images/{name*}', async (req) => {
    const name = req.params[0]
    findImage(engine, name)
    try {
      const removed = removeImages(engine, name, {force: queryBool(req.query, 'force')})
      return {body: [...removed.untagged.map((u) => ({Untagged: u})), ...removed.deleted.map((d) => ({Deleted: d}))]}
    } catch (error) {
      if (/conflict|being used|is using|in use/i.test(errorMessage(error))) throw new ApiError(409, errorMessage(error))
      throw error
    }
  })

  // `docker pull`: Docker's JSON progress stream, one object a line; errors mid-stream as
  // `{"errorDetail":…,"error":…}` (the status is already 200 then).
  router.on('POST', '/images/create', async (req, res) => {
    const from = req.query.get('fromImage')
    if (!from) {
      if (req.query.get('fromSrc')) return importImage(ctx, req, res)
      throw new ApiError(400, 'fromImage is required')
    }
    const tag = req.query.get('tag')
    const name = tag ? (tag.startsWith('sha256:') ? `${from}@${tag}` : `${from}:${tag}`) : from.includes(':') || from.includes('@') ? from : `${from}:latest`
    const platform = req.query.get('platform') || undefined
    const credentials = registryAuth(req.raw.headers['x-registry-auth'])
    const send = progressStream(res)
    const {pullImage} = await import('../engine/image/pull.js')
    const familiar = familiarName(parseReference(name))
    const ref = parseReference(name)
    send({status: `Pulling from ${familiarRepository(ref)}`, id: ref.digest ?? ref.tag ?? 'latest'})
    try {
      const result = await pullImage(engine, name, {
        ...(platform ? {platform} : {}),
        ...(credentials ? {credentials} : {}),
        onEvent: (e) => {
          if (e.type === 'status') send({status: e.message})
          else send({status: e.status, id: e.id, ...(e.current !== undefined && e.total ? {progressDetail: {current: e.current, total: e.total}} : {progressDetail: {}})})
        },
      })
      send({status: `Digest: ${result.digest}`})
      send({status: `Status: ${result.downloaded ? 'Downloaded newer image' : 'Image is up to date'} for ${familiar}`})
    } catch (error) {
      send({errorDetail: {message: errorMessage(error)}, error: errorMessage(error)})
    }
    res.end()
    return 'handled'
  })

  // What the registry holds for a name (Docker asks the registry too): the manifest's (or
  // index's) descriptor and the platforms it offers, with X-Registry-Auth or the stored credentials.
  router.on('GET', '/distribution/{name*}/json', async (req) => {
    const ref = parseReference(req.params[0])
    const {registryClient} = await import('../engine/image/pull.js')
    const {sha256} = await import('../engine/image/content.js')
    const client = registryClient(engine, ref.domain, undefined, registryAuth(req.raw.headers['x-registry-auth']))
    let fetched
    try {
      fetched = await client.getManifest(ref.path, ref.digest ?? ref.tag ?? 'latest')
    } catch (error) {
      const message = errorMessage(error)
      throw new ApiError(/unauthorized|denied|authentication/i.test(message) ? 401 : /not found|unknown/i.test(message) ? 404 : 500, message)
    }
    let doc: {mediaType?: string; manifests?: Array<{platform?: {architecture: string; os: string; variant?: string}}>; config?: {digest: string}}
    try {
      doc = JSON.parse(fetched.bytes.toString('utf8')) as typeof doc
    } catch {
      throw new ApiError(500, `the registry sent a manifest for ${req.params[0]} that is not JSON`)
    }
    const mediaType = doc.mediaType ?? fetched.mediaType
    let platforms: Array<{architecture: string; os: string; variant?: string}> = []
    if (doc.manifests) platforms = doc.manifests.flatMap((m) => (m.platform ? [{architecture: m.platform.architecture, os: m.platform.os, ...(m.platform.variant ? {variant: m.platform.variant} : {})}] : []))
    else if (doc.config) {
      // A single manifest: its platform is in the image config.
      const blob = await client.getBlob(ref.path, doc.config.digest)
      const chunks: Buffer[] = []
      for await (const c of blob.stream) chunks.push(c as Buffer)
      try {
        const config = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {architecture?: string; os?: string; variant?: string}
        platforms = [{architecture: config.architecture ?? '', os: config.os ?? '', ...(config.variant ? {variant: config.variant} : {})}]
      } catch {
        platforms = []
      }
    }
    return {body: {Descriptor: {mediaType, digest: sha256(fetched.bytes), size: fetched.bytes.length}, Platforms: platforms}}
  })

  // `docker push`: Docker's progress stream; no tag: every tag of the repository (as Docker does).
  router.on('POST', '/images/{name*}/push', async (req, res) => {
    const name = req.params[0]
    const credentials = registryAuth(req.raw.headers['x-registry-auth'])
    const tag = req.query.get('tag')
    const ref = parseReference(name)
    let targets: string[]
    if (tag) targets = [tag.startsWith('sha256:') ? `${familiarRepository(ref)}@${tag}` : `${familiarRepository(ref)}:${tag}`]
    else if (/[:@][^/]*$/.test(name)) targets = [name]
    else {
      const repository = familiarRepository(ref)
      targets = engine.images
        .list()
        .flatMap((i) => i.names.filter((n) => !n.includes('@')).map((n) => parseReference(n)))
        .filter((r) => familiarRepository(r) === repository)
        .map((r) => familiarName(r))
        .sort()
    }
    const send = progressStream(res)
    const {pushImage} = await import('../engine/image/push.js')
    send({status: `The push refers to repository [${ref.domain === 'docker.io' ? `docker.io/${ref.path}` : `${ref.domain}/${ref.path}`}]`})
    try {
      // A missing image is the stream's error, as Docker reports it (after the first line).
      if (targets.length === 0 || targets.some((t) => !engine.images.find(t))) throw new ApiError(404, `An image does not exist locally with the tag: ${tag ? `${name}:${tag}` : name}`)
      for (const target of targets) {
        const result = await pushImage(
          engine,
          target,
          (e) => {
            if (e.type === 'status') send({status: e.message})
            else send({status: e.status, progressDetail: e.current !== undefined && e.total ? {current: e.current, total: e.total} : {}, id: e.id})
          },
          credentials ? {credentials} : {},
        )
        send({status: `${result.tag}: digest: ${result.digest} size: ${result.size}`})
        send({progressDetail: {}, aux: {Tag: result.tag, Digest: result.digest, Size: result.size}})
      }
    } catch (error) {
      send({errorDetail: {message: errorMessage(error)}, error: errorMessage(error)})
    }
    res.end()
    return 'handled'
  })

  // `docker save`: a docker-archive, streamed (nothing staged on disk).
  const save = async (req: Request, res: import('node:http').ServerResponse) => {
    const names = saveNames(req)
    for (const n of names) findImage(engine, n)
    const {planSave, selectImages, writeArchive} = await import('../engine/image/save.js')
    const gone = new AbortController()
    res.on('close', () => gone.abort())
    await engine.adding(async () => {
      const plan = await planSave(engine, selectImages(engine, names), 'docker-archive')
      res.writeHead(200, {...baseHeaders(), 'Content-Type': 'application/x-tar'})
      try {
        await writeArchive(engine, plan, res, gone.signal)
      } catch (error) {
        // The client went away mid-archive: nothing to answer.
        if (!gone.signal.aborted) throw error
      }
    })
    res.end()
    return 'handled' as const
  }
  router.on('GET', '/images/get', save)
  router.on('GET', '/images/{name*}/get', save)

  // `docker load`: the archive is the body (docker-archive or OCI layout, as `ncx load` takes);
  // the answer is Docker's JSON stream of `Loaded image: …` lines.
  router.on('POST', '/images/load', async (req, res) => {
    const {loadImages} = await import('../engine/image/archive.js')
    const loaded = await loadImages(engine, req.raw, 'the request body')
    const send = progressStream(res)
    for (const {image, names} of loaded) {
      if (names.length === 0) send({stream: `Loaded image ID: ${image.id}\n`})
      for (const n of names) send({stream: `Loaded image: ${familiarName(parseReference(n))}\n`})
    }
    res.end()
    return 'handled'
  })

  // `docker login`: the credentials (or an identity token) are checked against the registry as
  // `ncx login` checks them; the client stores them (Docker's daemon stores nothing either). As
  // dockerd, a token service is asked for an offline token: its refresh token comes back as
  // `IdentityToken`, which the docker CLI then stores in place of the password.
  router.on('POST', '/auth', async (req) => {
    const body = ((await req.json()) ?? {}) as Record<string, unknown>
    const username = typeof body.username === 'string' ? body.username : ''
    const password = typeof body.password === 'string' ? body.password : ''
    const identityToken = typeof body.identitytoken === 'string' && body.identitytoken ? body.identitytoken : undefined
    if (!identityToken && (!username || !password)) throw new ApiError(400, 'username and password (or an identity token) are required')
    let domain: string
    try {
      domain = parseServer(typeof body.serveraddress === 'string' ? body.serveraddress : undefined)
    } catch (error) {
      throw new ApiError(400, errorMessage(error))
    }
    const client = new RegistryClient({domain, settings: registrySettings(engine.paths), credentials: {username, password, ...(identityToken ? {identityToken} : {})}, offlineToken: !identityToken})
    try {
      await client.checkLogin()
    } catch (error) {
      const message = errorMessage(error)
      throw new ApiError(/unauthorized|incorrect|refused/i.test(message) ? 401 : 500, message)
    }
    return {body: {Status: 'Login Succeeded', IdentityToken: identityToken ? '' : (client.refreshToken ?? '')}}
  })
}
