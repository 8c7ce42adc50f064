/**
 * HTTP(S) for registry traffic, on node:http and node:https with keep-alive agents. Node's
 * fetch (undici) refuses the WHATWG "bad ports" (5060, 6000, 10080 …), as a browser must; a
 * registry may listen on any port, and Docker reaches it there, so ncx does too.
 *
 * Every request has an idle deadline: when no byte moves in either direction for
 * `idleTimeoutMs` (connecting, waiting for the answer, or mid-body), it fails with an
 * HttpTimeoutError. Time spent waiting for a slow consumer (a full read buffer) is not idle.
 */
import {Agent as HttpAgent, ClientRequest, IncomingMessage, request as httpRequest} from 'node:http'
import {Agent as HttpsAgent, request as httpsRequest} from 'node:https'
import {Readable} from 'node:stream'

export interface HttpRequestInit {
  method?: string
  headers?: Record<string, string>
  /** A buffer (replayed on a redirect) or a stream (sent once; its redirects are not followed). */
  body?: Uint8Array | Readable
  /** Fail when no byte moves for this long (ms). */
  idleTimeoutMs: number
  /** Follow redirects (default true); the Authorization header does not cross to another origin. */
  followRedirects?: boolean
}

export interface HttpResponse {
  status: number
  statusText: string
  ok: boolean
  /** The URL that answered (after redirects). */
  url: string
  headers: {get(name: string): string | null}
  body: Readable
  bytes(): Promise<Buffer>
  text(): Promise<string>
  json(): Promise<unknown>
  /** Done with it: a small or finished body is drained (the connection is reused), a big one closed. */
  cancel(): void
}

/** How the registry client talks HTTP (tests give it another). */
export type Transport = (url: string, init: HttpRequestInit) => Promise<HttpResponse>

/** No byte moved for the idle deadline. */
export class HttpTimeoutError extends Error {
  readonly code = 'ETIMEDOUT'
  constructor(
    readonly host: string,
    readonly seconds: number,
  ) {
    super(`${host} sent nothing for ${seconds} s`)
    this.name = 'HttpTimeoutError'
  }
}

let agents: {http: HttpAgent; https: HttpsAgent} | undefined

/** Keep-alive agents (idle sockets are unref'd by Node: they never keep a command alive). */
function agentFor(protocol: string): HttpAgent {
  agents ??= {http: new HttpAgent({keepAlive: true}), https: new HttpsAgent({keepAlive: true})}
  return protocol === 'https:' ? agents.https : agents.http
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const SMALL_BODY = 64 * 1024

/**
 * Watch a request: every tick, did bytes move on its socket, or is the consumer behind (the
 * response's buffer full)? If neither for `ms`, destroy it with an HttpTimeoutError.
 */
function watchdog(req: ClientRequest, response: () => IncomingMessage | undefined, host: string, ms: number): () => void {
  let last = Date.now()
  let seen = -1
  const timer = setInterval(
    () => {
      const socket = req.socket
      const moved = socket ? socket.bytesRead + socket.bytesWritten : 0
      const res = response()
      const consumerBehind = res !== undefined && res.readableLength >= res.readableHighWaterMark
      if (moved !== seen || consumerBehind) {
        seen = moved
        last = Date.now()
        return
      }
      if (Date.now() - last < ms) return
      clearInterval(timer)
      const error = new HttpTimeoutError(host, Math.round(ms / 100) / 10)
      if (res) res.destroy(error)
      req.destroy(error)
    },
    Math.min(1000, Math.max(25, Math.floor(ms / 8))),
  )
  timer.unref()
  return () => clearInterval(timer)
}

/** One request, no redirects: resolves with the response once its headers are in. */
function send(url: URL, method: string, headers: Record<string, string>, body: Uint8Array | Readable | undefined, idleTimeoutMs: number): Promise<IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new Error(`unsupported URL scheme ${url.protocol}`))
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  const req = request(url, {method, headers, agent: agentFor(url.protocol)})
  let response: IncomingMessage | undefined
  const stop = watchdog(req, () => response, url.host, idleTimeoutMs)
  return new Promise<IncomingMessage>((resolve, reject) => {
    const fail = (error: Error) => {
      stop()
      if (body instanceof Readable) body.destroy() // an upload's file is not left open
      reject(error)
    }
    req.once('error', fail)
    req.once('response', (res) => {
      response = res
      req.off('error', fail)
      // Later socket errors reach the reader through the response stream.
      req.on('error', () => undefined)
      res.once('close', stop)
      resolve(res)
    })
    if (body instanceof Readable) {
      body.once('error', (error) => req.destroy(error))
      body.pipe(req)
    } else {
      req.end(body)
    }
  })
}

function wrap(res: IncomingMessage, url: URL, method: string): HttpResponse {
  const status = res.statusCode ?? 0
  const bytes = async (): Promise<Buffer> => {
    const chunks: Buffer[] = []
    for await (const chunk of res) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks)
  }
  return {
    status,
    statusText: res.statusMessage ?? '',
    ok: status >= 200 && status < 300,
    url: url.toString(),
    headers: {
      get(name: string): string | null {
        const v = res.headers[name.toLowerCase()]
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v
      },
    },
    body: res,
    bytes,
    text: async () => (await bytes()).toString('utf8'),
    json: async () => JSON.parse((await bytes()).toString('utf8')) as unknown,
    cancel() {
      if (res.destroyed) return
      const length = Number(res.headers['content-length'] ?? NaN)
      if (res.complete || method === 'HEAD' || length <= SMALL_BODY) res.resume()
      else res.destroy()
    },
  }
}

/** node:http(s) with redirects followed as fetch follows them. */
export const httpTransport: Transport = async (target, init) => {
  let url = new URL(target)
  let method = init.method ?? 'GET'
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v
  let body = init.body
  for (let hop = 0; ; hop++) {
    if (body instanceof Uint8Array) headers['content-length'] = String(body.length)
    const res = await send(url, method, headers, body, init.idleTimeoutMs)
    const location = res.headers.location
    const follow = init.followRedirects !== false && REDIRECTS.has(res.statusCode ?? 0) && location !== undefined && !(body instanceof Readable)
    if (!follow) return wrap(res, url, method)
    res.resume()
    if (hop >= 10) throw new Error(`too many redirects (last: ${location})`)
    const next = new URL(location, url)
    // Credentials for the registry are not for the storage a blob redirects to (S3 refuses them).
    if (next.origin !== url.origin) delete headers.authorization
    if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
      if (method !== 'HEAD') method = 'GET'
      body = undefined
      delete headers['content-length']
      delete headers['content-type']
    }
    url = next
  }
}
