/**
 * `POST /build`: Docker's classic build endpoint (what `docker build` with DOCKER_BUILDKIT=0,
 * docker-py and docker-compose 1.x call) over ncx's builder (src/engine/build). The body is the
 * context as a tar (plain or gzip); the answer is Docker's JSON stream: `{"stream": …}` lines
 * (ncx's plain progress), `{"aux": {"ID": …}}`, `Successfully built/tagged`, or an error object.
 */
import {ServerResponse} from 'node:http'
import {isAbsolute} from 'node:path'
import type {ServerHttp2Stream} from 'node:http2'
import {Duplex, Writable} from 'node:stream'

// The builder is loaded by the first build, not when the service starts.
import type {BuildOptions} from '../engine/build/builder.js'
import {errorMessage} from '../engine/errors.js'
import {familiarName, parseReference} from '../engine/image/reference.js'
import {ApiError, Request, Router, baseHeaders, hijackResponse, queryBool, refuseUpgrade} from './http.js'
import {ServiceContext} from './context.js'

/**
 * What a BuildKit client is told: the service serves Docker's classic builder only (it
 * advertises `Builder-Version: 1` on /_ping, as dockerd does with BuildKit off).
 */
export const BUILDKIT_MESSAGE = 'BuildKit is not served by ncx system service: build with DOCKER_BUILDKIT=0 docker build …, or ncx build'

/** A JSON-object query parameter (`buildargs`, `labels`): an object of strings; null values are left out. */
function jsonMap(req: Request, name: string): Record<string, string> {
  const text = req.query.get(name)
  if (!text) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new ApiError(400, `invalid ${name}: not a JSON object`)
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ApiError(400, `invalid ${name}: not a JSON object`)
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) if (v !== null && v !== undefined) out[k] = String(v)
  return out
}

/** The query of `POST /build` as the builder's options (the context comes from the body). */
export function buildRequestOptions(req: Request): {options: Omit<BuildOptions, 'stdin'>; quiet: boolean; warnings: string[]} {
  const q = req.query
  // `version=2` is a BuildKit build (docker CLI 20.10 with DOCKER_BUILDKIT=1 sends it with `remote=client-session`).
  const version = q.get('version')
  if (version === '2') throw new ApiError(501, BUILDKIT_MESSAGE)
  if (version !== null && version !== '' && version !== '1') throw new ApiError(400, `invalid version ${JSON.stringify(version)}`)
  if (q.get('remote')) throw new ApiError(501, 'building from a remote context (remote=…) is not supported by ncx: send the context as a tar')
  const dockerfile = q.get('dockerfile') || 'Dockerfile'
  // The Dockerfile is a file of the context: not a path of the service's own file system.
  if (isAbsolute(dockerfile) || dockerfile.split('/').includes('..')) throw new ApiError(400, `invalid dockerfile ${JSON.stringify(dockerfile)}: give a path inside the build context`)
  const network = q.get('networkmode') || 'default'
  if (!['default', 'none', 'host', 'bridge'].includes(network)) throw new ApiError(400, `network mode ${JSON.stringify(network)} is not supported by ncx builds: use default, none or host`)
  const warnings: string[] = []
  if (q.get('cachefrom') && q.get('cachefrom') !== '[]') warnings.push('cachefrom is not supported by the API builder of ncx and was ignored')
  for (const k of ['memory', 'memswap', 'cpushares', 'cpusetcpus', 'cpuperiod', 'cpuquota']) if (q.get(k) && q.get(k) !== '0' && q.get(k) !== '-1' && q.get(k) !== '') warnings.push(`${k} is not supported by ncx builds and was ignored`)
  const tags = q.getAll('t').filter((t) => t !== '')
  for (const t of tags) {
    try {
      parseReference(t)
    } catch (error) {
      throw new ApiError(400, `invalid tag ${JSON.stringify(t)}: ${errorMessage(error)}`)
    }
  }
  const extraHosts = (q.get('extrahosts') ?? '').split(',').filter((h) => h !== '')
  const shm = Number(q.get('shmsize') ?? '0')
  return {
    quiet: queryBool(q, 'q'),
    warnings,
    options: {
      context: '-',
      dockerfile,
      tags,
      buildArgs: jsonMap(req, 'buildargs'),
      ...(q.get('target') ? {target: q.get('target')!} : {}),
      labels: jsonMap(req, 'labels'),
      noCache: queryBool(q, 'nocache'),
      noCacheFilter: [],
      pull: queryBool(q, 'pull'),
      ...(q.get('platform') ? {platform: q.get('platform')!} : {}),
      network: network === 'bridge' ? 'default' : (network as BuildOptions['network']),
      addHosts: extraHosts,
      ...(shm > 0 ? {shmSize: shm} : {}),
      secrets: [],
      ssh: [],
      outputs: [],
      cacheFrom: [],
      cacheTo: [],
    },
  }
}

/**
 * Serve HTTP/2 (h2c, prior knowledge) on `socket` and answer every gRPC call with status 12
 * UNIMPLEMENTED and `message`; the connection ends when the client closes it.
 */
async function refuseGrpc(socket: Duplex, head: Buffer, message: string): Promise<void> {
  // Loaded on first use (node:http2 is large; a dynamic import() does not work in the bundle).
  const server = process.getBuiltinModule('node:http2').createServer()
  server.on('stream', (stream: ServerHttp2Stream) => {
    stream.on('error', () => undefined)
    // A trailers-only answer (gRPC's "Trailers-Only"): the status in the headers frame.
    stream.respond({':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': encodeURIComponent(message)}, {endStream: true})
  })
  server.on('sessionError', () => undefined)
  if (head.length > 0) socket.unshift(head)
  await new Promise<void>((resolve) => {
    socket.on('close', () => resolve())
    socket.on('error', () => resolve())
    server.emit('connection', socket)
  })
}

export function buildRoutes(router: Router, ctx: ServiceContext): void {
  // BuildKit's doors (buildx and the docker CLI's BuildKit path dial them with `Upgrade: h2c`):
  // refused with the message, never left hanging. 501, as the classic endpoint's `version=2`.
  for (const path of ['/session', '/grpc']) {
    router.on('POST', path, async () => {
      throw new ApiError(501, BUILDKIT_MESSAGE)
    })
  }
  // buildx dials /grpc first to choose its driver: a refused upgrade makes it fall back to its
  // docker-container driver (which pulls moby/buildkit and runs buildkitd in a container), so
  // the failure the user sees is about that. The upgrade is accepted instead and every gRPC
  // call on it is answered with the message (UNIMPLEMENTED): buildx prints it and exits.
  router.upgrade('POST', '/grpc', async (req, socket, head) => {
    if (!/^h2c$/i.test(String(req.raw.headers.upgrade ?? ''))) return refuseUpgrade(socket, 501, BUILDKIT_MESSAGE)
    hijackResponse(req, socket, 'application/grpc')
    await refuseGrpc(socket, head, BUILDKIT_MESSAGE)
  })
  // docker CLI 20.10 with DOCKER_BUILDKIT=1 dials /session and sends `POST /build?version=2`
  // at once, and its build waits for the session to end before it reports: a refused
  // upgrade would be what it prints ("unable to upgrade to h2c, received 501"). The session
  // is accepted and ended at once, so the client prints the build's message instead.
  router.upgrade('POST', '/session', async (req, socket) => {
    hijackResponse(req, socket, 'application/vnd.docker.raw-stream')
    socket.end()
  })

  router.on('POST', '/build', async (req: Request, res: ServerResponse) => {
    const {options, quiet, warnings} = buildRequestOptions(req)
    res.writeHead(200, {...baseHeaders(), 'Content-Type': 'application/json'})
    const send = (o: unknown) => {
      if (!res.writableEnded && !res.destroyed) res.write(JSON.stringify(o) + '\r\n')
    }
    // ncx's plain progress, each write one `stream` message (Docker's clients print them as they come).
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        send({stream: chunk.toString('utf8')})
        done()
      },
    })
    const [{PlainProgress, renderBuildError}, {BuildError, buildImage}] = await Promise.all([import('../cli/build-progress.js'), import('../engine/build/builder.js')])
    const progress = new PlainProgress(out)
    for (const w of warnings) send({stream: `WARNING: ${w}\n`})
    try {
      const result = await buildImage(ctx.engine, {
        ...options,
        stdin: req.raw,
        onEvent: (e) => {
          if (!quiet) progress.handle(e)
        },
        onWarning: (m) => send({stream: `WARNING: ${m}\n`}),
      })
      const id = result.imageId ?? result.configDigest
      send({aux: {ID: id}})
      if (quiet) send({stream: `${id}\n`})
      else {
        send({stream: `Successfully built ${id.replace(/^sha256:/, '').slice(0, 12)}\n`})
        for (const n of result.names) send({stream: `Successfully tagged ${familiarName(parseReference(n))}\n`})
      }
    } catch (error) {
      if (error instanceof BuildError) {
        if (!quiet) send({stream: renderBuildError(error) + '\n'})
        // A RUN that failed: its exit code too (Docker's errorDetail.code).
        const code = /exit code: (\d+)/.exec(error.message)?.[1]
        send({errorDetail: {...(code ? {code: Number(code)} : {}), message: error.message}, error: error.message})
      } else send({errorDetail: {message: errorMessage(error)}, error: errorMessage(error)})
    }
    res.end()
    return 'handled'
  })
}
