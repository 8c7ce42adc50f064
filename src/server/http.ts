/**
 * The Docker Engine API's HTTP side: routing (versioned `/v1.NN/…` and unversioned paths),
 * Docker's error bodies and status codes, the hijacked streams of attach/exec, and the
 * listener (a 0600 unix socket in the user's 0700 runtime directory, loopback TCP on request).
 *
 * Node's own `http` module, no framework: the API needs raw access to the socket for the
 * connection upgrade (`attach`, `exec start`), streamed bodies in both directions and exact
 * control over headers; a router for ~80 fixed paths is a table of regular expressions.
 */
import {IncomingMessage, STATUS_CODES, Server, ServerResponse, createServer} from 'node:http'
import {Socket} from 'node:net'
import {Duplex} from 'node:stream'

import {NcxError, NotFoundError, UsageError, errorMessage} from '../engine/errors.js'

/** The newest API version served, and the oldest (Docker's MinAPIVersion). */
export const API_VERSION = '1.47'
export const MIN_API_VERSION = '1.24'

/** An error with the HTTP status Docker answers it with. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export interface Request {
  method: string
  /** The path without the `/v1.NN` prefix. */
  path: string
  /** The API version the client asked for (the prefix), or the current one. */
  version: string
  query: URLSearchParams
  params: string[]
  raw: IncomingMessage
  /** The parsed JSON body (undefined when there is none). */
  json: () => Promise<unknown>
}

/** What a handler gives back: JSON, nothing (204), or it wrote the response itself. */
export type Reply = {status?: number; body?: unknown; headers?: Record<string, string>} | 'handled'

export type Handler = (req: Request, res: ServerResponse) => Promise<Reply>
/** A handler for a connection upgrade (attach, exec start): it owns the socket afterwards. */
export type UpgradeHandler = (req: Request, socket: Duplex, head: Buffer) => Promise<void>

interface Route {
  method: string
  pattern: RegExp
  handler: Handler
}

const VERSION_PREFIX = /^\/v(\d+\.\d+)(\/.*)$/

/** Query booleans as Docker reads them: 1/true/True (anything else is false). */
export function queryBool(q: URLSearchParams, name: string, fallback = false): boolean {
  const v = q.get(name)
  if (v === null) return fallback
  return v === '1' || v.toLowerCase() === 'true'
}

/** `filters={"status":["running"]}` (and the old `{"status":{"running":true}}` form). */
export function queryFilters(q: URLSearchParams): Map<string, string[]> {
  const text = q.get('filters')
  const out = new Map<string, string[]>()
  if (!text) return out
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new ApiError(400, `invalid filter: ${text}`)
  }
  if (!parsed || typeof parsed !== 'object') throw new ApiError(400, `invalid filter: ${text}`)
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(v)) out.set(k, v.map(String))
    else if (v && typeof v === 'object') out.set(k, Object.keys(v as object))
  }
  return out
}

/** The HTTP status of an engine error, as Docker's errdefs map them. */
export function statusOf(error: unknown): number {
  if (error instanceof ApiError) return error.status
  if (error instanceof NotFoundError) return 404
  const message = errorMessage(error)
  if (/No such (container|image|network|volume|exec)|not found|does not exist|Unable to find image|Could not find/i.test(message)) return 404
  if (/already in use|is running|is not running|is paused|is already|Conflict|conflict/i.test(message)) return 409
  if (error instanceof UsageError) return 400
  if (error instanceof NcxError && error.exitCode === 125 && /invalid|must|cannot be|needs|bad|unknown|refusing/i.test(message)) return 400
  return 500
}

export class Router {
  private readonly routes: Route[] = []
  private readonly upgrades: Array<{method: string; pattern: RegExp; handler: UpgradeHandler}> = []

  on(method: string, path: string, handler: Handler): void {
    this.routes.push({method, pattern: pathPattern(path), handler})
  }

  upgrade(method: string, path: string, handler: UpgradeHandler): void {
    this.upgrades.push({method, pattern: pathPattern(path), handler})
  }

  match(method: string, path: string): {handler: Handler; params: string[]} | 'method' | undefined {
    let pathMatched = false
    for (const r of this.routes) {
      const m = r.pattern.exec(path)
      if (!m) continue
      pathMatched = true
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return {handler: r.handler, params: m.slice(1).map(decodeURIComponent)}
    }
    return pathMatched ? 'method' : undefined
  }

  matchUpgrade(method: string, path: string): {handler: UpgradeHandler; params: string[]} | undefined {
    for (const r of this.upgrades) {
      const m = r.pattern.exec(path)
      if (m && r.method === method) return {handler: r.handler, params: m.slice(1).map(decodeURIComponent)}
    }
    return undefined
  }
}

/** `/containers/{id}/json` → a regular expression; `{name*}` takes slashes (image names). */
function pathPattern(path: string): RegExp {
  const source = path.replace(/[.]/g, '\\.').replace(/\{[a-z]+\*\}/g, '(.+?)').replace(/\{[a-z]+\}/g, '([^/]+)')
  return new RegExp(`^${source}/?$`)
}

export function parseRequest(raw: IncomingMessage, params: string[] = []): Omit<Request, 'params'> & {params: string[]} {
  const url = new URL(raw.url ?? '/', 'http://docker')
  let path = url.pathname
  let version = API_VERSION
  const v = VERSION_PREFIX.exec(path)
  if (v) {
    version = v[1]
    path = v[2]
  }
  let body: Promise<unknown> | undefined
  const json = () => {
    body ??= new Promise<unknown>((resolve, reject) => {
      const chunks: Buffer[] = []
      raw.on('data', (c: Buffer) => chunks.push(c))
      raw.on('error', reject)
      raw.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8').trim()
        if (text === '') return resolve(undefined)
        try {
          resolve(JSON.parse(text))
        } catch (error) {
          reject(new ApiError(400, `invalid JSON: ${errorMessage(error)}`))
        }
      })
    })
    return body
  }
  return {method: raw.method ?? 'GET', path, version, query: url.searchParams, params, raw, json}
}

function versionError(version: string): ApiError | undefined {
  const n = (s: string) => s.split('.').map(Number)
  const [maj, min] = n(version)
  const [, lo] = n(MIN_API_VERSION)
  const [, hi] = n(API_VERSION)
  if (maj !== 1 || min > hi) return new ApiError(400, `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`)
  if (min < lo) return new ApiError(400, `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`)
  return undefined
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body) + '\n'
  res.writeHead(status, {...baseHeaders(), ...(body === undefined ? {} : {'Content-Type': 'application/json'}), 'Content-Length': String(Buffer.byteLength(text)), ...headers})
  res.end(text)
}

export function baseHeaders(): Record<string, string> {
  return {'Api-Version': API_VERSION, Server: `ncx (linux)`, 'Docker-Experimental': 'false', Ostype: 'linux'}
}

export interface ServerLog {
  debug: (line: string) => void
  info: (line: string) => void
  error: (line: string) => void
}

export interface ServiceState {
  /** Requests and hijacked connections under way: the idle timer runs only at zero. */
  active: number
  onIdleChange: () => void
}

/** Count one piece of work as under way (the idle timer stops); the returned release is idempotent. */
export function holdActive(state: ServiceState): () => void {
  state.active++
  state.onIdleChange()
  let done = false
  return () => {
    if (done) return
    done = true
    state.active--
    state.onIdleChange()
  }
}

export function apiServer(router: Router, log: ServerLog, state: ServiceState): Server {
  const busy = () => holdActive(state)
  const server = createServer({keepAlive: true}, (raw, res) => {
    const release = busy()
    res.on('close', release)
    void handle(router, raw, res, log).catch((error) => log.error(`${raw.method} ${raw.url}: ${errorMessage(error)}`))
  })
  server.on('upgrade', (raw: IncomingMessage, socket: Duplex, head: Buffer) => {
    const release = busy()
    socket.on('close', release)
    // A client gone mid-stream (EPIPE, ECONNRESET) ends its connection, never the service.
    socket.on('error', (error) => log.debug(`${raw.method} ${raw.url}: ${errorMessage(error)}`))
    const req = parseRequest(raw)
    log.debug(`${req.method} ${raw.url} (upgrade)`)
    const found = router.matchUpgrade(req.method, req.path)
    if (!found) return refuseUpgrade(socket, 404, 'page not found')
    found.handler({...req, params: found.params}, socket, head).catch((error) => {
      log.error(`${req.method} ${raw.url}: ${errorMessage(error)}`)
      if (!socket.destroyed) refuseUpgrade(socket, statusOf(error), errorMessage(error))
    })
  })
  // Docker's clients keep connections open between calls; an idle keep-alive connection
  // must not keep the service from its idle exit.
  server.keepAliveTimeout = 5000
  server.headersTimeout = 60_000
  server.requestTimeout = 0
  return server
}

async function handle(router: Router, raw: IncomingMessage, res: ServerResponse, log: ServerLog): Promise<void> {
  const req = parseRequest(raw)
  const started = Date.now()
  res.on('finish', () => log.debug(`${req.method} ${raw.url} ${res.statusCode} ${Date.now() - started}ms`))
  const bad = raw.url && VERSION_PREFIX.test(new URL(raw.url, 'http://docker').pathname) ? versionError(req.version) : undefined
  if (bad) return sendJson(res, bad.status, {message: bad.message})
  const found = router.match(req.method, req.path)
  if (found === undefined) return sendJson(res, 404, {message: 'page not found'})
  if (found === 'method') return sendJson(res, 405, {message: `method ${req.method} not allowed for ${req.path}`})
  try {
    const reply = await found.handler({...req, params: found.params}, res)
    if (reply === 'handled') return
    if (res.headersSent) {
      res.end()
      return
    }
    if (req.method === 'HEAD') {
      res.writeHead(reply.status ?? 200, {...baseHeaders(), ...reply.headers})
      res.end()
      return
    }
    sendJson(res, reply.status ?? (reply.body === undefined ? 204 : 200), reply.body, reply.headers)
  } catch (error) {
    const status = statusOf(error)
    if (status >= 500) log.error(`${req.method} ${raw.url}: ${error instanceof Error && error.stack ? error.stack : errorMessage(error)}`)
    if (res.headersSent) {
      // A stream already under way: Docker ends it with an error object where it can.
      res.end()
      return
    }
    sendJson(res, status, {message: errorMessage(error)})
  }
}

/** A connection upgrade refused: Docker's error body with its length, then the end (the client reads the status and the message). */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({message}) + '\n'
  const headers = {...baseHeaders(), 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body))}
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n')
  socket.end(`${head}\r\n\r\n${body}`)
}

/** The answer to a connection upgrade (`Upgrade: tcp`, or the old raw-stream answer without one). */
export function hijackResponse(req: Request, socket: Duplex, contentType: string): void {
  const upgrade = req.raw.headers.upgrade
  const head = upgrade
    ? `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\n`
    : `HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\n`
  const headers = Object.entries(baseHeaders())
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')
  socket.write(head + headers + '\r\n')
  if (socket instanceof Socket) socket.setNoDelay(true)
}

/** Docker's stream multiplexing for non-tty streams: an 8-byte header (stream, 0, 0, 0, size BE). */
export function frame(stream: 0 | 1 | 2, data: Buffer): Buffer {
  const header = Buffer.alloc(8)
  header[0] = stream
  header.writeUInt32BE(data.length, 4)
  return Buffer.concat([header, data])
}
