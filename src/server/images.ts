/** `/images/…`: Docker's image endpoints over the engine's image modules. */
import {Engine} from '../engine/engine.js'
import {NotFoundError, errorMessage} from '../engine/errors.js'
import {inspectImage, imageHistory, repoDigest} from '../engine/image/inspect.js'
import {familiarName, familiarRepository, parseReference} from '../engine/image/reference.js'
import {removeImages} from '../engine/image/remove.js'
import {ImageRecord} from '../engine/image/types.js'
import {ApiError, Router, baseHeaders, queryBool, queryFilters} from './http.js'
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
      if (req.query.get('fromSrc')) throw new ApiError(501, 'importing a root file system through the API (fromSrc) is not supported by ncx yet: use "ncx import"')
      throw new ApiError(400, 'fromImage is required')
    }
    const tag = req.query.get('tag')
    const name = tag ? (tag.startsWith('sha256:') ? `${from}@${tag}` : `${from}:${tag}`) : from.includes(':') || from.includes('@') ? from : `${from}:latest`
    const platform = req.query.get('platform') || undefined
    res.writeHead(200, {...baseHeaders(), 'Content-Type': 'application/json'})
    const send = (o: unknown) => {
      if (!res.writableEnded) res.write(JSON.stringify(o) + '\r\n')
    }
    const {pullImage} = await import('../engine/image/pull.js')
    const familiar = familiarName(parseReference(name))
    const ref = parseReference(name)
    send({status: `Pulling from ${familiarRepository(ref)}`, id: ref.digest ?? ref.tag ?? 'latest'})
    try {
      const result = await pullImage(engine, name, {
        ...(platform ? {platform} : {}),
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

  router.on('GET', '/distribution/{name*}/json', async (req) => {
    const image = engine.images.find(req.params[0])
    if (!image) throw new ApiError(404, `No such image: ${req.params[0]}`)
    const digest = repoDigest(image, parseReference(req.params[0])) ?? image.manifestDigest
    return {body: {Descriptor: {mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 0}, Platforms: [{architecture: process.arch === 'x64' ? 'amd64' : process.arch, os: 'linux'}]}}
  })
}
