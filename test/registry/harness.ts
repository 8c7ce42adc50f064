/**
 * Registry harness: real OCI distribution registries (Debian's `docker-registry`, the CNCF
 * distribution registry 2.8) on 127.0.0.1, one per test suite on a free port, with
 *   - no auth,
 *   - HTTP Basic auth from an htpasswd file (bcrypt, made in ./bcrypt.ts), or
 *   - Docker Hub's bearer-token flow: a token issuer written here (Node http) that checks
 *     Basic credentials and signs RS256 JWTs the registry verifies against its rootcertbundle.
 * Images get in with skopeo (`pushImage`); tests look inside with `registryGet`.
 *
 * Token policy: anonymous → pull on repositories under `public/`, nothing else; the configured
 * user → every requested action everywhere (including `registry:catalog:*`); wrong password → 401.
 */
import {ChildProcess, execFile, execFileSync, spawn} from 'node:child_process'
import {createHash, createPublicKey, createSign, randomBytes, randomUUID, X509Certificate} from 'node:crypto'
import {chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, get as httpGet, IncomingMessage, Server, ServerResponse} from 'node:http'
import {AddressInfo, createServer as createNetServer} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import {bcrypt} from './bcrypt.js'

const run = promisify(execFile)

export type RegistryAuth = 'none' | 'basic' | 'token'

export interface RegistryOptions {
  auth?: RegistryAuth
  /** Default `ncxuser`. */
  username?: string
  /** Default `ncxpass`. */
  password?: string
  /**
   * How issued JWTs name their signing key (token auth only). `kid` (default, what Docker Hub
   * does): the libtrust key ID of the public key, which the registry looks up among the keys of
   * its rootcertbundle. `x5c`: the signing certificate itself, which the registry verifies
   * against the bundle.
   */
  tokenHeader?: 'kid' | 'x5c'
  /** `expires_in` of issued tokens and their `exp` claim, in seconds (default 300). */
  tokenExpiresIn?: number
  /** Listen on this port (default: a free one the kernel picks); fails when it is taken. */
  port?: number
}

/** One call to the token endpoint (the harness's own calls from `registryGet` are left out). */
export interface TokenRequest {
  method: 'GET' | 'POST'
  /** The user whose credentials were checked, or null when anonymous. */
  account: string | null
  /** `scope` values as sent (`repository:NAME:ACTIONS`, …). */
  scopes: string[]
  /** What the issued token grants (empty when refused). */
  granted: Array<{type: string; name: string; actions: string[]}>
  /** HTTP status returned (200, or 401 for bad credentials, 400 for a bad request). */
  status: number
}

export interface Registry {
  /** `127.0.0.1:PORT`, the registry part of an image reference. */
  host: string
  /** `http://127.0.0.1:PORT`. */
  url: string
  auth: RegistryAuth
  username: string
  password: string
  /** Token-endpoint calls so far (0 unless auth is `token`; `registryGet`'s own are not counted). */
  tokenRequests: () => number
  /** Details of those calls, oldest first. */
  tokenLog: () => TokenRequest[]
  /** The token realm (`http://127.0.0.1:PORT/token`), when auth is `token`. */
  tokenRealm?: string
  /** The registry's log (stdout and stderr) so far, for failure messages. */
  logs: () => string
  /** Kill the registry (and the token issuer) and delete `dir`. Idempotent. */
  stop(): Promise<void>
  /** Temp dir with config, storage (`dir/data`), keys, htpasswd and the log. */
  dir: string
}

export const TOKEN_SERVICE = 'ncx-test-registry'
export const TOKEN_ISSUER = 'ncx-test-issuer'
const HARNESS_HEADER = 'x-ncx-harness'
const REGISTRY_BIN = '/usr/bin/docker-registry'
const checkout = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

const live = new Set<{child: ChildProcess; dir: string}>()
process.on('exit', () => {
  // a test that forgot stop(): no registry outlives the test process
  for (const r of live) {
    r.child.kill('SIGKILL')
    rmSync(r.dir, {recursive: true, force: true})
  }
})

/** Whether `port` on 127.0.0.1 can be listened on right now. */
export async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createNetServer()
    srv.unref()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

/** A port nothing listens on right now (the kernel's pick). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address() as AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url')

/** libtrust's key ID: base32 of the first 240 bits of sha256(DER SubjectPublicKeyInfo), in 12 groups of 4. */
export function libtrustKeyId(spkiDer: Buffer): string {
  const digest = createHash('sha256').update(spkiDer).digest().subarray(0, 30)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of digest) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  return out.match(/.{4}/g)!.join(':')
}

interface Signer {
  keyPem: string
  certPem: string
  kid: string
  certDerB64: string
}

let signerFiles: Promise<{keyPem: string; certPem: string}> | undefined

/** One RSA key + self-signed certificate per test process (openssl), copied into each registry dir. */
async function signer(): Promise<Signer> {
  signerFiles ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ncx-registry-keys-'))
    try {
      await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=${TOKEN_ISSUER}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')])
      return {keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'), certPem: readFileSync(join(dir, 'cert.pem'), 'utf8')}
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })()
  const {keyPem, certPem} = await signerFiles
  const cert = new X509Certificate(certPem)
  const spki = createPublicKey(certPem).export({type: 'spki', format: 'der'})
  return {keyPem, certPem, kid: libtrustKeyId(spki), certDerB64: cert.raw.toString('base64')}
}

function signJwt(s: Signer, header: 'kid' | 'x5c', claims: object): string {
  const h = header === 'kid' ? {typ: 'JWT', alg: 'RS256', kid: s.kid} : {typ: 'JWT', alg: 'RS256', x5c: [s.certDerB64]}
  const input = `${b64url(JSON.stringify(h))}.${b64url(JSON.stringify(claims))}`
  const sig = createSign('RSA-SHA256').update(input).sign(s.keyPem)
  return `${input}.${b64url(sig)}`
}

function parseBasic(header: string | undefined): {user: string; pass: string} | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '')
  if (!m) return undefined
  const text = Buffer.from(m[1], 'base64').toString('utf8')
  const i = text.indexOf(':')
  return i < 0 ? undefined : {user: text.slice(0, i), pass: text.slice(i + 1)}
}

/** `repository:NAME:ACTIONS` → parts; NAME may not contain ':' in practice but is taken greedily. */
function parseScope(scope: string): {type: string; name: string; actions: string[]} | undefined {
  const first = scope.indexOf(':')
  const last = scope.lastIndexOf(':')
  if (first < 0 || last === first) return undefined
  return {type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean)}
}

function grant(scopes: string[], account: string | null): TokenRequest['granted'] {
  const out: TokenRequest['granted'] = []
  for (const scope of scopes) {
    const s = parseScope(scope)
    if (!s) continue
    let actions: string[] = []
    if (account !== null) actions = s.actions
    else if (s.type === 'repository' && s.name.startsWith('public/')) actions = s.actions.filter((a) => a === 'pull')
    const same = out.find((o) => o.type === s.type && o.name === s.name)
    if (same) same.actions = [...new Set([...same.actions, ...actions])]
    else out.push({type: s.type, name: s.name, actions})
  }
  return out
}

interface Issuer {
  server: Server
  realm: string
  log: TokenRequest[]
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function startIssuer(s: Signer, o: Required<Pick<RegistryOptions, 'username' | 'password' | 'tokenHeader' | 'tokenExpiresIn'>>): Promise<Issuer> {
  const log: TokenRequest[] = []
  const refreshTokens = new Map<string, string>() // refresh token → account
  const reply = (res: ServerResponse, status: number, body: object): void => {
    const text = JSON.stringify(body)
    res.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text)})
    res.end(text)
  }
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      const harness = req.headers[HARNESS_HEADER] !== undefined
      const method = req.method === 'POST' ? 'POST' : 'GET'
      const entry: TokenRequest = {method, account: null, scopes: [], granted: [], status: 200}
      const done = (status: number, body: object): void => {
        entry.status = status
        if (!harness) log.push(entry)
        reply(res, status, body)
      }
      if (url.pathname !== '/token' || (req.method !== 'GET' && req.method !== 'POST')) return done(404, {errors: [{code: 'NOT_FOUND', message: `no ${req.method} ${url.pathname}`}]})
      let params: URLSearchParams
      let scopes: string[]
      if (method === 'POST') {
        // OAuth2 form (what docker uses with identity tokens): scope is space-separated
        params = new URLSearchParams(await readBody(req))
        scopes = params.getAll('scope').flatMap((v) => v.split(' ')).filter(Boolean)
      } else {
        params = url.searchParams
        scopes = params.getAll('scope').filter(Boolean)
      }
      entry.scopes = scopes
      const service = params.get('service')
      if (service !== null && service !== TOKEN_SERVICE) return done(400, {errors: [{code: 'INVALID_REQUEST', message: `unknown service ${service}`}]})
      // who is asking
      let account: string | null = null
      let creds = parseBasic(req.headers.authorization)
      if (method === 'POST') {
        const grantType = params.get('grant_type')
        if (grantType === 'password') creds = {user: params.get('username') ?? '', pass: params.get('password') ?? ''}
        else if (grantType === 'refresh_token') {
          const who = refreshTokens.get(params.get('refresh_token') ?? '')
          if (who === undefined) return done(401, {error: 'invalid_grant', details: 'unknown refresh token'})
          account = who
        } else return done(400, {error: 'unsupported_grant_type', details: `grant_type ${grantType}`})
      }
      if (creds) {
        if (creds.user !== o.username || creds.pass !== o.password) return done(401, {errors: [{code: 'UNAUTHORIZED', message: 'incorrect username or password'}], details: 'incorrect username or password'})
        account = creds.user
      }
      entry.account = account
      entry.granted = grant(scopes, account)
      const now = Math.floor(Date.now() / 1000)
      const claims = {
        iss: TOKEN_ISSUER,
        sub: account ?? '',
        aud: TOKEN_SERVICE,
        exp: now + o.tokenExpiresIn,
        nbf: now - 1,
        iat: now,
        jti: randomUUID(),
        access: entry.granted,
      }
      const token = signJwt(s, o.tokenHeader, claims)
      const body: Record<string, unknown> = {token, access_token: token, expires_in: o.tokenExpiresIn, issued_at: new Date(now * 1000).toISOString()}
      const offline = method === 'POST' ? params.get('access_type') === 'offline' : params.get('offline_token') === 'true'
      if (account !== null && (offline || params.get('grant_type') === 'refresh_token')) {
        const refresh = randomBytes(24).toString('base64url')
        refreshTokens.set(refresh, account)
        body.refresh_token = refresh
      }
      if (method === 'POST') body.scope = scopes.join(' ')
      done(200, body)
    })().catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, {errors: [{code: 'INTERNAL', message: String(err)}]})
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const {port} = server.address() as AddressInfo
  return {server, realm: `http://127.0.0.1:${port}/token`, log}
}

function registryConfig(dir: string, port: number, auth: RegistryAuth, realm: string | undefined): object {
  const config: Record<string, unknown> = {
    version: 0.1,
    log: {level: 'info', formatter: 'text', accesslog: {disabled: true}, fields: {service: 'registry'}},
    storage: {
      filesystem: {rootdirectory: join(dir, 'data')},
      delete: {enabled: true},
      cache: {blobdescriptor: 'inmemory'},
      maintenance: {uploadpurging: {enabled: false}},
    },
    http: {addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex'), headers: {'X-Content-Type-Options': ['nosniff']}},
  }
  if (auth === 'basic') config.auth = {htpasswd: {realm: TOKEN_SERVICE, path: join(dir, 'htpasswd')}}
  if (auth === 'token') config.auth = {token: {realm, service: TOKEN_SERVICE, issuer: TOKEN_ISSUER, rootcertbundle: join(dir, 'token-ca.pem')}}
  return config
}

async function waitReady(url: string, child: ChildProcess, logFile: string, deadline: number): Promise<void> {
  let exited: string | undefined
  const onExit = (code: number | null, signal: string | null): void => {
    exited = `exited with ${code ?? signal}`
  }
  child.once('exit', onExit)
  try {
    for (;;) {
      if (exited) throw new Error(`docker-registry ${exited}:\n${readFileSync(logFile, 'utf8')}`)
      // node:http, not fetch: fetch refuses the WHATWG "bad ports" (5060, …) a test may use.
      const status = await new Promise<number | undefined>((resolve) => {
        const req = httpGet(`${url}/v2/`, {timeout: 1000}, (res) => {
          res.resume()
          resolve(res.statusCode)
        })
        req.on('timeout', () => req.destroy())
        req.on('error', () => resolve(undefined)) // not listening yet
      })
      if (status === 200 || status === 401) return
      if (Date.now() > deadline) throw new Error(`docker-registry did not answer ${url}/v2/ in time:\n${readFileSync(logFile, 'utf8')}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  } finally {
    child.off('exit', onExit)
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
  await gone
  clearTimeout(timer)
}

/**
 * Start a registry on a free 127.0.0.1 port (and, for token auth, its token issuer on another).
 * Resolves once `GET /v2/` answers.
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  if (!existsSync(REGISTRY_BIN)) throw new Error(`${REGISTRY_BIN} not found: apt-get install docker-registry (see .ci/run)`)
  const auth = opts.auth ?? 'none'
  // Another server on a fixed port would answer the readiness probe in our registry's place.
  if (opts.port !== undefined && !(await portFree(opts.port))) throw new Error(`port ${opts.port} on 127.0.0.1 is in use`)
  const username = opts.username ?? 'ncxuser'
  const password = opts.password ?? 'ncxpass'
  const dir = mkdtempSync(join(tmpdir(), `ncx-registry-${auth}-`))
  let issuer: Issuer | undefined
  try {
    if (auth === 'basic') writeFileSync(join(dir, 'htpasswd'), `${username}:${bcrypt(password, 5)}\n`)
    if (auth === 'token') {
      const s = await signer()
      writeFileSync(join(dir, 'token-ca.pem'), s.certPem)
      issuer = await startIssuer(s, {username, password, tokenHeader: opts.tokenHeader ?? 'kid', tokenExpiresIn: opts.tokenExpiresIn ?? 300})
    }
    mkdirSync(join(dir, 'data'))
    const logFile = join(dir, 'registry.log')
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_'))) // env overrides config
    for (let attempt = 1; ; attempt++) {
      const port = opts.port ?? (await freePort())
      const url = `http://127.0.0.1:${port}`
      writeFileSync(join(dir, 'config.yml'), JSON.stringify(registryConfig(dir, port, auth, issuer?.realm), null, 2) + '\n') // JSON is YAML
      const fd = openSync(logFile, 'a')
      const child = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], {stdio: ['ignore', fd, fd], env})
      closeSync(fd)
      const handle = {child, dir}
      live.add(handle)
      try {
        await waitReady(url, child, logFile, Date.now() + 15_000)
      } catch (err) {
        await stopChild(child)
        live.delete(handle)
        // lost a race for the port: try another
        if (attempt < 3 && opts.port === undefined && /address already in use/.test(readFileSync(logFile, 'utf8'))) continue
        throw err
      }
      const iss = issuer
      let stopped = false
      return {
        host: `127.0.0.1:${port}`,
        url,
        auth,
        username,
        password,
        tokenRequests: () => iss?.log.length ?? 0,
        tokenLog: () => [...(iss?.log ?? [])],
        tokenRealm: iss?.realm,
        logs: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
        dir,
        async stop() {
          if (stopped) return
          stopped = true
          await stopChild(child)
          live.delete(handle)
          if (iss) {
            iss.server.closeAllConnections()
            await new Promise<void>((resolve) => iss.server.close(() => resolve()))
          }
          rmSync(dir, {recursive: true, force: true})
        },
      }
    }
  } catch (err) {
    if (issuer) issuer.server.close()
    rmSync(dir, {recursive: true, force: true})
    throw err
  }
}

export interface PushOptions {
  /** `skopeo copy --all`: push the whole index (every platform), not just the host's image. */
  all?: boolean
  /** Manifest format to convert to (`skopeo --format`); default: keep the archive's (OCI). */
  format?: 'oci' | 'v2s2'
  /** Credentials to push with; default the registry's user (none for auth `none`); `null` pushes anonymously. */
  creds?: {username: string; password: string} | null
}

/** Push an OCI archive (scripts/mkimage.js output) as `HOST/ref` with skopeo; resolves to the pushed manifest digest. */
export async function pushImage(registry: Registry, archivePath: string, ref: string, opts: PushOptions = {}): Promise<{digest: string}> {
  const creds = opts.creds === undefined ? (registry.auth === 'none' ? null : {username: registry.username, password: registry.password}) : opts.creds
  const digestFile = join(registry.dir, `digest-${randomUUID()}`)
  const args = ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', '--digestfile', digestFile]
  args.push(...(creds ? ['--dest-creds', `${creds.username}:${creds.password}`] : ['--dest-no-creds']))
  if (opts.all) args.push('--all')
  if (opts.format) args.push('--format', opts.format)
  args.push(`oci-archive:${archivePath}`, `docker://${registry.host}/${ref}`)
  try {
    await run('skopeo', args, {env: skopeoEnv(registry), maxBuffer: 16 << 20})
  } catch (err) {
    const e = err as {stderr?: string; message: string}
    throw new Error(`skopeo ${args.join(' ')} failed: ${e.stderr || e.message}`)
  }
  const digest = readFileSync(digestFile, 'utf8').trim()
  rmSync(digestFile, {force: true})
  return {digest}
}

/** Environment for skopeo: no host credentials (auth file, docker config) leak into a test. */
export function skopeoEnv(registry: Registry): NodeJS.ProcessEnv {
  return {...process.env, REGISTRY_AUTH_FILE: join(registry.dir, 'no-auth.json'), DOCKER_CONFIG: join(registry.dir, 'no-docker-config')}
}

export interface RegistryResponse {
  status: number
  headers: Headers
  body: Buffer
  text(): string
  json<T = unknown>(): T
}

export interface RegistryGetOptions {
  /** Default GET (HEAD, DELETE, … work too). */
  method?: string
  /** Send no credentials (and, for token auth, fetch an anonymous token). */
  anonymous?: boolean
  /** Follow redirects (default true). */
  redirect?: 'follow' | 'manual'
}

function parseChallenge(header: string): {scheme: string; params: Record<string, string>} | undefined {
  const m = /^(\w+)\s+(.*)$/.exec(header.trim())
  if (!m) return undefined
  const params: Record<string, string> = {}
  for (const p of m[2].matchAll(/(\w+)="([^"]*)"/g)) params[p[1]] = p[2]
  return {scheme: m[1].toLowerCase(), params}
}

/**
 * Request `path` (e.g. `/v2/busybox/manifests/latest`) from the registry, authenticating as
 * its user: Basic for `basic`, the challenge → token → retry dance for `token` (these token
 * requests are not counted in tokenRequests()).
 */
export async function registryGet(registry: Registry, path: string, headers: Record<string, string> = {}, opts: RegistryGetOptions = {}): Promise<RegistryResponse> {
  const method = opts.method ?? 'GET'
  const basic = `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`
  const send = async (auth?: string): Promise<Response> =>
    fetch(`${registry.url}${path}`, {method, headers: {...headers, ...(auth ? {authorization: auth} : {})}, redirect: opts.redirect ?? 'follow'})
  let res = await send(registry.auth === 'basic' && !opts.anonymous ? basic : undefined)
  if (res.status === 401 && registry.auth === 'token') {
    const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '')
    if (challenge?.scheme === 'bearer' && challenge.params.realm) {
      await res.arrayBuffer()
      const q = new URLSearchParams()
      if (challenge.params.service) q.set('service', challenge.params.service)
      if (challenge.params.scope) for (const s of challenge.params.scope.split(' ')) q.append('scope', s)
      const tr = await fetch(`${challenge.params.realm}?${q}`, {headers: {[HARNESS_HEADER]: '1', ...(opts.anonymous ? {} : {authorization: basic})}})
      if (!tr.ok) throw new Error(`token endpoint answered ${tr.status}: ${await tr.text()}`)
      const {token} = (await tr.json()) as {token: string}
      res = await send(`Bearer ${token}`)
    }
  }
  const body = Buffer.from(await res.arrayBuffer())
  return {
    status: res.status,
    headers: res.headers,
    body,
    text: () => body.toString('utf8'),
    json: <T>() => JSON.parse(body.toString('utf8')) as T,
  }
}

export interface SkopeoResult {
  code: number
  stdout: string
  stderr: string
}

/**
 * `skopeo inspect [--raw] docker://HOST/ref` against the registry, as its user by default
 * (`creds: null`: anonymously). Never throws on a non-zero exit: tests check refusals too.
 */
export async function inspectImage(registry: Registry, ref: string, opts: {raw?: boolean; config?: boolean; creds?: {username: string; password: string} | null} = {}): Promise<SkopeoResult> {
  const creds = opts.creds === undefined ? (registry.auth === 'none' ? null : {username: registry.username, password: registry.password}) : opts.creds
  const args = ['inspect', '--tls-verify=false', '--retry-times', '0', ...(creds ? ['--creds', `${creds.username}:${creds.password}`] : ['--no-creds'])]
  if (opts.raw) args.push('--raw')
  if (opts.config) args.push('--config')
  args.push(`docker://${registry.host}/${ref}`)
  try {
    const {stdout, stderr} = await run('skopeo', args, {env: skopeoEnv(registry), maxBuffer: 16 << 20})
    return {code: 0, stdout, stderr}
  } catch (err) {
    const e = err as {code?: number; stdout?: string; stderr?: string}
    return {code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err)}
  }
}

export type FixtureKind = 'busybox' | 'multilayer' | 'multiarch' | 'big'

const fixtures = new Map<FixtureKind, string>()
let fixtureDir: string | undefined

/**
 * Path of `KIND.oci.tar` built by scripts/mkimage.js, once per test process, in a world-readable
 * temp dir (the e2e test user can read it). `big` takes ~10 s and ~70 MB.
 */
export function fixture(kind: FixtureKind): string {
  const known = fixtures.get(kind)
  if (known) return known
  if (!fixtureDir) {
    fixtureDir = mkdtempSync(join(tmpdir(), 'ncx-registry-images-'))
    chmodSync(fixtureDir, 0o755)
    const d = fixtureDir
    process.on('exit', () => rmSync(d, {recursive: true, force: true}))
  }
  execFileSync(process.execPath, [join(checkout, 'scripts', 'mkimage.js'), kind, '--out', fixtureDir], {stdio: ['ignore', 'ignore', 'pipe']})
  const path = join(fixtureDir, `${kind}.oci.tar`)
  for (const f of readdirSync(fixtureDir)) chmodSync(join(fixtureDir, f), 0o644)
  fixtures.set(kind, path)
  return path
}
