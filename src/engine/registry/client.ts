import {Readable} from 'node:stream'

import {NcxError} from '../errors.js'
import {MediaType} from '../image/types.js'
import {Credentials} from './credentials.js'
import {REGISTRY_TIMEOUT_MS, RegistrySettings, registryBase} from './config.js'
import {HttpResponse, HttpTimeoutError, Transport, httpTransport} from './http.js'

export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest].join(', ')

export interface Challenge {
  scheme: string
  params: Record<string, string>
}

/** Parse `WWW-Authenticate: Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header)
  if (!m) return undefined
  const params: Record<string, string> = {}
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g
  let p: RegExpExecArray | null
  while ((p = re.exec(m[2])) !== null) params[p[1].toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1')
  return {scheme: m[1].toLowerCase(), params}
}

export interface RegistryClientOptions {
  domain: string
  /** Another base URL serving the same content (a registry mirror); default: the registry itself. */
  endpoint?: string
  settings: RegistrySettings
  credentials?: Credentials
  /** Injected for tests; defaults to node:http(s) (src/engine/registry/http.ts). */
  transport?: Transport
  retries?: number
  /**
   * Ask the token service for an offline token too (`offline_token=true`), as `docker login`
   * does: its refresh token becomes the login's identity token (`refreshToken`).
   */
  offlineToken?: boolean
}

export interface FetchedManifest {
  bytes: Buffer
  mediaType: string
  /** The Docker-Content-Digest the registry sent, if any. */
  digest?: string
}

interface RegistryErrorBody {
  errors?: Array<{code?: string; message?: string}>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The errno-style code of a network failure (`ECONNREFUSED`, …), if any. */
function errorCode(error: unknown): string | undefined {
  const e = error as {code?: unknown; cause?: {code?: unknown}} | undefined
  const code = e?.code ?? e?.cause?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * An OCI distribution-spec client for one registry: anonymous, Basic and Bearer-token auth
 * (the WWW-Authenticate challenge flow of Docker Hub), retries with back-off on transient
 * errors, and one clear message for 401/403/404/429.
 */
export class RegistryClient {
  readonly domain: string
  readonly base: string
  private readonly transport: Transport
  private readonly idleTimeoutMs: number
  private readonly tokens = new Map<string, string>()
  private basic = false
  private readonly retries: number
  /** The OAuth2 refresh token in use: the credentials' identity token, or one the token service issued. */
  private refresh: string | undefined

  constructor(private readonly options: RegistryClientOptions) {
    this.domain = options.domain
    this.base = options.endpoint?.replace(/\/+$/, '') ?? registryBase(options.domain, options.settings)
    this.transport = options.transport ?? httpTransport
    this.idleTimeoutMs = options.settings.timeoutMs ?? REGISTRY_TIMEOUT_MS
    this.retries = options.retries ?? 3
    this.refresh = options.credentials?.identityToken || undefined
  }

  /** A refresh token the token service issued (with `offlineToken`), or the identity token given. */
  get refreshToken(): string | undefined {
    return this.refresh
  }

  private authHeader(scope: string): string | undefined {
    const token = this.tokens.get(scope)
    if (token) return `Bearer ${token}`
    if (this.basic && this.options.credentials) {
      const {username, password} = this.options.credentials
      return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
    }
    return undefined
  }

  private async fetchToken(challenge: Challenge, scope: string): Promise<void> {
    const realm = challenge.params.realm
    if (!realm) throw new NcxError(`${this.domain}: the registry asked for a token without naming where to get it (no realm)`)
    const url = new URL(realm)
    const scopes = scope.split(' ').filter(Boolean)
    let res: HttpResponse
    const refresh = this.refresh
    if (refresh) {
      // An identity token is an OAuth2 refresh token (the distribution token spec's POST form,
      // as dockerd uses it): the password is never sent.
      const form = new URLSearchParams({grant_type: 'refresh_token', refresh_token: refresh, client_id: 'ncx'})
      if (challenge.params.service) form.set('service', challenge.params.service)
      if (scopes.length > 0) form.set('scope', scopes.join(' '))
      res = await this.send(url.toString(), {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: Buffer.from(form.toString())}, 'token')
    } else {
      if (challenge.params.service) url.searchParams.set('service', challenge.params.service)
      for (const s of scopes) url.searchParams.append('scope', s)
      const headers: Record<string, string> = {}
      if (this.options.credentials) {
        const {username, password} = this.options.credentials
        headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
        if (this.options.offlineToken) {
          url.searchParams.set('offline_token', 'true')
          url.searchParams.set('client_id', 'ncx')
        }
      }
      res = await this.send(url.toString(), {method: 'GET', headers}, 'token')
    }
    if (!res.ok) res.cancel()
    if (res.status === 401 || res.status === 403 || (refresh && res.status === 400)) {
      const what = refresh ? 'the identity token' : this.options.credentials ? 'these credentials' : 'anonymous access'
      throw new NcxError(`${this.domain}: unauthorized: the token service refused ${what}`, {
        hint: `log in with "ncx login ${this.domain}"`,
      })
    }
    if (!res.ok) throw new NcxError(`${this.domain}: token service ${url.origin} answered ${res.status} ${res.statusText}`)
    const body = (await res.json().catch(() => ({}))) as {token?: string; access_token?: string; refresh_token?: string}
    const token = body.token ?? body.access_token
    if (!token) throw new NcxError(`${this.domain}: the token service answered without a token`)
    if (body.refresh_token) this.refresh = body.refresh_token
    this.tokens.set(scope, token)
  }

  /**
   * One HTTP exchange, retried with back-off on network errors, 5xx and 429. A silent
   * connection (the idle deadline) and a refused or unknown host fail at once: they will not
   * change in a second, and the command must not hang.
   */
  private async send(url: string, init: {method: string; headers: Record<string, string>; body?: Uint8Array | Readable}, what: string): Promise<HttpResponse> {
    const streamed = init.body instanceof Readable
    let lastError: unknown
    let lastResponse: HttpResponse | undefined
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await sleep(150 * 4 ** (attempt - 1))
      try {
        const res = await this.transport(url, {...init, idleTimeoutMs: this.idleTimeoutMs})
        if ((res.status >= 500 || res.status === 429) && attempt < this.retries && !streamed) {
          res.cancel()
          lastResponse = res
          continue
        }
        return res
      } catch (error) {
        lastError = error
        lastResponse = undefined
        if (streamed) break // a streamed body cannot be sent twice
        const code = errorCode(error)
        if (code === 'ENOTFOUND' || code === 'ECONNREFUSED' || code === 'EAI_AGAIN' || error instanceof HttpTimeoutError) break
      }
    }
    if (lastResponse) return lastResponse
    const code = errorCode(lastError)
    const message = (lastError as Error)?.message ?? String(lastError)
    const detail = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? `cannot resolve ${new URL(url).hostname}` : message
    const hint =
      lastError instanceof HttpTimeoutError
        ? 'the registry or the network stalled; NCX_REGISTRY_TIMEOUT (or ncx.toml [registries] timeout) sets how many seconds of silence ncx accepts'
        : code === 'EPROTO' || /wrong version number|SSL/.test(detail)
          ? `if ${this.domain} speaks plain HTTP, add it to "insecure-registries" in registries.json`
          : 'check the address and your network'
    throw new NcxError(`cannot reach registry ${this.domain} (${what}): ${detail}`, {hint, cause: lastError})
  }

  /** One API request; answers a 401 challenge once (token or basic) and retries. */
  async request(method: string, path: string, scope: string, init: {headers?: Record<string, string>; body?: Uint8Array | Readable} = {}): Promise<HttpResponse> {
    const url = path.startsWith('http') ? path : `${this.base}${path}`
    const build = () => {
      const headers: Record<string, string> = {...init.headers}
      const auth = this.authHeader(scope)
      if (auth) headers.authorization = auth
      return {method, headers, body: init.body}
    }
    let res = await this.send(url, build(), `${method} ${path}`)
    if (res.status === 401 && !(init.body instanceof Readable)) {
      const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '')
      res.cancel()
      if (challenge?.scheme === 'bearer') {
        await this.fetchToken(challenge, challenge.params.scope && !scope ? challenge.params.scope : scope)
        res = await this.send(url, build(), `${method} ${path}`)
      } else if (challenge?.scheme === 'basic' && this.options.credentials && !this.basic) {
        this.basic = true
        res = await this.send(url, build(), `${method} ${path}`)
      }
    }
    return res
  }

  /** Prepare auth for a request with a body (which cannot be replayed after a 401). */
  async authorize(path: string, scope: string): Promise<void> {
    if (this.authHeader(scope)) return
    const res = await this.request('GET', path, scope)
    res.cancel()
  }

  /** Turn a failed response into one clear error. */
  async fail(res: HttpResponse, what: string, ref: string): Promise<never> {
    const text = await res.text().catch(() => '')
    let detail = ''
    try {
      const body = JSON.parse(text) as RegistryErrorBody
      detail = (body.errors ?? []).map((e) => `${(e.code ?? '').toLowerCase().replace(/_/g, ' ')}: ${e.message ?? ''}`.trim()).join('; ')
    } catch {
      detail = text.slice(0, 200).trim()
    }
    const suffix = detail ? ` (${detail})` : ''
    switch (res.status) {
      case 401:
        throw new NcxError(`unauthorized: authentication required to ${what} ${ref}${suffix}`, {hint: `log in with "ncx login ${this.domain}"`})
      case 403:
        throw new NcxError(`denied: access to ${ref} is forbidden${suffix}`, {hint: `check that your account on ${this.domain} may ${what} it`})
      case 404:
        throw new NcxError(`${ref}: not found${suffix}`, {hint: 'check the name and tag'})
      case 429:
        throw new NcxError(`toomanyrequests: ${this.domain} rate limit reached while trying to ${what} ${ref}`, {hint: 'log in to get a higher limit (ncx login), or wait and try again'})
      default:
        throw new NcxError(`${this.domain}: ${what} ${ref} failed: ${res.status} ${res.statusText}${suffix}`)
    }
  }

  async getManifest(repo: string, reference: string): Promise<FetchedManifest> {
    const scope = `repository:${repo}:pull`
    const res = await this.request('GET', `/v2/${repo}/manifests/${reference}`, scope, {headers: {accept: MANIFEST_ACCEPT}})
    if (!res.ok) return this.fail(res, 'pull', `${this.domain}/${repo}:${reference}`)
    const bytes = await res.bytes()
    const type = (res.headers.get('content-type') ?? '').split(';')[0].trim()
    return {bytes, mediaType: type, digest: res.headers.get('docker-content-digest') ?? undefined}
  }

  /**
   * A blob's content; with `offset`, asks for the rest only (HTTP Range). `offset` in the
   * answer says where the stream starts: the requested offset when the registry honoured
   * the range (206), else 0.
   */
  async getBlob(repo: string, digest: string, offset = 0): Promise<{stream: Readable; size?: number; offset: number}> {
    const headers: Record<string, string> = offset > 0 ? {range: `bytes=${offset}-`} : {}
    const res = await this.request('GET', `/v2/${repo}/blobs/${digest}`, `repository:${repo}:pull`, {headers})
    if (res.status === 416) {
      res.cancel()
      return this.getBlob(repo, digest, 0)
    }
    if (!res.ok) return this.fail(res, 'pull', `${this.domain}/${repo}@${digest}`)
    const length = res.headers.get('content-length')
    const resumed = res.status === 206 && (res.headers.get('content-range') ?? '').startsWith(`bytes ${offset}-`)
    return {stream: res.body, size: length ? Number(length) : undefined, offset: resumed ? offset : 0}
  }

  async hasBlob(repo: string, digest: string, scope: string): Promise<boolean> {
    const res = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`, scope)
    res.cancel()
    if (res.status === 200) return true
    if (res.status === 404) return false
    return this.fail(res, 'check', `${this.domain}/${repo}@${digest}`)
  }

  /** Monolithic upload (POST then PUT with the digest), or a cross-repository mount. */
  async pushBlob(repo: string, digest: string, size: number, body: () => Readable, mountFrom?: string): Promise<'mounted' | 'pushed'> {
    const scope = mountFrom ? `repository:${repo}:pull,push repository:${mountFrom}:pull` : `repository:${repo}:pull,push`
    const query = mountFrom ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(mountFrom)}` : ''
    const start = await this.request('POST', `/v2/${repo}/blobs/uploads/${query}`, scope, {headers: {'content-length': '0'}})
    start.cancel()
    if (start.status === 201 && mountFrom) return 'mounted'
    if (start.status !== 202) return this.fail(start, 'push', `${this.domain}/${repo}`)
    const location = start.headers.get('location')
    if (!location) throw new NcxError(`${this.domain}: upload of ${digest} started without a Location`)
    const url = new URL(location, this.base)
    url.searchParams.set('digest', digest)
    const put = await this.request('PUT', url.toString(), scope, {
      headers: {'content-type': 'application/octet-stream', 'content-length': String(size)},
      body: body(),
    })
    put.cancel()
    if (put.status !== 201) return this.fail(put, 'push', `${this.domain}/${repo}@${digest}`)
    return 'pushed'
  }

  async putManifest(repo: string, reference: string, mediaType: string, bytes: Buffer): Promise<string | undefined> {
    const scope = `repository:${repo}:pull,push`
    await this.authorize(`/v2/${repo}/manifests/${reference}`, scope)
    const res = await this.request('PUT', `/v2/${repo}/manifests/${reference}`, scope, {headers: {'content-type': mediaType}, body: bytes})
    res.cancel()
    if (res.status !== 201) return this.fail(res, 'push', `${this.domain}/${repo}:${reference}`)
    return res.headers.get('docker-content-digest') ?? undefined
  }

  /** `GET /v2/` with credentials: does login work? */
  async checkLogin(): Promise<void> {
    const res = await this.request('GET', '/v2/', '')
    res.cancel()
    if (res.status === 401) throw new NcxError(`login to ${this.domain} failed: unauthorized: ${this.options.credentials?.identityToken && !this.options.credentials.password ? 'the identity token was refused' : 'incorrect username or password'}`)
    if (!res.ok) return this.fail(res, 'log in to', this.domain)
  }
}
