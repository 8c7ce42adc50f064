import {expect} from 'chai'
import {IncomingMessage, Server, ServerResponse, createServer} from 'node:http'
import {AddressInfo} from 'node:net'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {parsePlatform} from '../../src/engine/image/platform.js'
import {parseChallenge, RegistryClient} from '../../src/engine/registry/client.js'
import {isInsecure, registryBase} from '../../src/engine/registry/config.js'
import {HttpTimeoutError} from '../../src/engine/registry/http.js'
import {NcxError} from '../../src/engine/errors.js'
import {authKey, lookupCredentials, removeCredentials, storeCredentials} from '../../src/engine/registry/credentials.js'
import {parseServer} from '../../src/engine/registry/server.js'

describe('registry (src/engine/registry)', () => {
  describe('parseChallenge', () => {
    it("parses Docker Hub's Bearer challenge", () => {
      const c = parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')
      expect(c).to.deep.equal({scheme: 'bearer', params: {realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull'}})
    })
    it('parses Basic and unquoted values', () => {
      expect(parseChallenge('Basic realm="Registry Realm"')).to.deep.equal({scheme: 'basic', params: {realm: 'Registry Realm'}})
      expect(parseChallenge('Bearer realm=http://h/token,service=s')?.params).to.deep.equal({realm: 'http://h/token', service: 's'})
    })
    it('returns undefined for an empty header', () => {
      expect(parseChallenge('')).to.equal(undefined)
    })
  })

  describe('endpoints', () => {
    const settings = {insecure: ['reg.internal:5000'], mirrors: []}
    it('uses registry-1.docker.io for Docker Hub and https elsewhere', () => {
      expect(registryBase('docker.io', settings)).to.equal('https://registry-1.docker.io')
      expect(registryBase('ghcr.io', settings)).to.equal('https://ghcr.io')
    })
    it('uses http for loopback and configured insecure registries', () => {
      expect(isInsecure('localhost:5000', settings)).to.equal(true)
      expect(isInsecure('127.0.0.1:5055', settings)).to.equal(true)
      expect(isInsecure('[::1]:5000', settings)).to.equal(true)
      expect(registryBase('reg.internal:5000', settings)).to.equal('http://reg.internal:5000')
      expect(isInsecure('quay.io', settings)).to.equal(false)
    })
  })

  describe('parseServer / parsePlatform', () => {
    it('maps Docker Hub spellings to docker.io and strips URL parts', () => {
      expect(parseServer(undefined)).to.equal('docker.io')
      expect(parseServer('https://index.docker.io/v1/')).to.equal('docker.io')
      expect(parseServer('https://registry.example.com/v2/')).to.equal('registry.example.com')
      expect(parseServer('localhost:5000')).to.equal('localhost:5000')
      expect(() => parseServer('bad host!')).to.throw('invalid registry')
    })
    it('parses os/arch[/variant]', () => {
      expect(parsePlatform('linux/arm64/v8')).to.deep.equal({os: 'linux', architecture: 'arm64', variant: 'v8'})
      expect(parsePlatform(undefined).os).to.equal('linux')
      expect(() => parsePlatform('linux')).to.throw('invalid platform')
    })
  })

  describe('credentials in a Docker config.json', () => {
    let dir: string
    let env: NodeJS.ProcessEnv
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'ncx-cred-'))
      env = {DOCKER_CONFIG: dir, HOME: dir}
    })
    afterEach(() => rmSync(dir, {recursive: true, force: true}))

    it('stores base64 user:pass under the registry key, as docker login does', () => {
      storeCredentials('localhost:5000', {username: 'u', password: 'p:w'}, env)
      const file = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {auths: Record<string, {auth: string}>}
      expect(file.auths['localhost:5000'].auth).to.equal(Buffer.from('u:p:w').toString('base64'))
      expect(lookupCredentials('localhost:5000', env)).to.deep.equal({username: 'u', password: 'p:w'})
    })
    it('uses index.docker.io/v1/ as the Docker Hub key and keeps other settings', () => {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({psFormat: 'table {{.ID}}'}))
      storeCredentials('docker.io', {username: 'hub', password: 'x'}, env)
      const file = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {psFormat: string; auths: Record<string, unknown>}
      expect(Object.keys(file.auths)).to.deep.equal([authKey('docker.io')])
      expect(file.psFormat).to.equal('table {{.ID}}')
    })
    it("reads an identitytoken entry (what docker login stores for a token service) as the credentials' identity token", () => {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({auths: {'reg.example': {auth: Buffer.from('me:').toString('base64'), identitytoken: 'R1'}, 'tok.example': {identitytoken: 'R2'}}}))
      expect(lookupCredentials('reg.example', env)).to.deep.equal({username: 'me', password: '', identityToken: 'R1'})
      expect(lookupCredentials('tok.example', env)).to.deep.equal({username: '', password: '', identityToken: 'R2'})
    })

    it('logout removes only that registry', () => {
      storeCredentials('a.example', {username: 'a', password: '1'}, env)
      storeCredentials('b.example', {username: 'b', password: '2'}, env)
      expect(removeCredentials('a.example', env)).to.equal(true)
      expect(removeCredentials('a.example', env)).to.equal(false)
      expect(lookupCredentials('a.example', env)).to.equal(undefined)
      expect(lookupCredentials('b.example', env)?.username).to.equal('b')
    })
    it('asks a configured credential helper (docker-credential-* protocol) before auths', () => {
      const bin = join(dir, 'bin')
      mkdirSync(bin)
      const helper = join(bin, 'docker-credential-ncxfake')
      // A real executable speaking the protocol: server URL on stdin, JSON on stdout.
      writeFileSync(helper, '#!/bin/sh\nread server\n[ "$1" = get ] && printf \'{"ServerURL":"%s","Username":"helper-user","Secret":"s3cret"}\' "$server"\n', {mode: 0o755})
      writeFileSync(join(dir, 'config.json'), JSON.stringify({credHelpers: {'reg.example': 'ncxfake'}, auths: {'reg.example': {auth: Buffer.from('file:pw').toString('base64')}}}))
      const saved = process.env.PATH
      process.env.PATH = `${bin}:${saved}`
      try {
        expect(lookupCredentials('reg.example', env)).to.deep.equal({username: 'helper-user', password: 's3cret'})
        expect(lookupCredentials('other.example', env)).to.equal(undefined)
      } finally {
        process.env.PATH = saved
      }
    })

    it('names a missing credential helper', () => {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({credsStore: 'nonexistent-ncx-helper'}))
      expect(() => lookupCredentials('x.example', env)).to.throw('docker-credential-nonexistent-ncx-helper is configured but not installed')
    })
  })

  describe('RegistryClient errors and auth flow (a local HTTP server)', () => {
    const settings = {insecure: [], mirrors: []}
    let server: Server | undefined
    afterEach(async () => {
      server?.closeAllConnections()
      await new Promise((r) => server?.close(r) ?? r(undefined))
      server = undefined
    })

    it('answers a Bearer challenge with a token request carrying the scope, then retries', async () => {
      const calls: string[] = []
      const base = await serve((req, res) => {
        calls.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`)
        if (req.url!.startsWith('/token')) return res.end(JSON.stringify({token: 'T1'}))
        if (req.headers.authorization === 'Bearer T1') return res.writeHead(200, {'content-type': 'application/vnd.oci.image.manifest.v1+json'}).end('{}')
        res.writeHead(401, {'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="reg"`}).end()
      })
      const client = new RegistryClient({domain: 'reg.example', endpoint: base, settings})
      const m = await client.getManifest('team/app', 'v1')
      expect(m.mediaType).to.equal('application/vnd.oci.image.manifest.v1+json')
      expect(calls[1]).to.equal('GET /token?service=reg&scope=repository%3Ateam%2Fapp%3Apull ')
      expect(calls[2]).to.contain('Bearer T1')
    })

    it('an identity token is the OAuth2 refresh token: POST grant_type=refresh_token (no password sent); a refused one is named', async () => {
      const calls: Array<{method: string; url: string; auth: string; body: string}> = []
      const base = await serve((req, res) => {
        let body = ''
        req.on('data', (d: Buffer) => (body += d))
        req.on('end', () => {
          calls.push({method: req.method!, url: req.url!, auth: req.headers.authorization ?? '', body})
          if (req.url!.startsWith('/token')) {
            const form = new URLSearchParams(body)
            if (form.get('refresh_token') !== 'R1') return res.writeHead(401).end('{"error":"invalid_grant"}')
            return res.end(JSON.stringify({access_token: 'T2', refresh_token: 'R2'}))
          }
          if (req.headers.authorization === 'Bearer T2') return res.writeHead(200, {'content-type': 'application/vnd.oci.image.manifest.v1+json'}).end('{}')
          res.writeHead(401, {'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="reg"`}).end()
        })
      })
      const client = new RegistryClient({domain: 'reg.example', endpoint: base, settings, credentials: {username: 'u', password: '', identityToken: 'R1'}})
      await client.getManifest('team/app', 'v1')
      expect(calls[1].method).to.equal('POST')
      expect(calls[1].auth).to.equal('')
      expect(Object.fromEntries(new URLSearchParams(calls[1].body))).to.deep.equal({grant_type: 'refresh_token', refresh_token: 'R1', client_id: 'ncx', service: 'reg', scope: 'repository:team/app:pull'})
      expect(client.refreshToken).to.equal('R2')
      const refused = new RegistryClient({domain: 'reg.example', endpoint: base, settings, credentials: {username: '', password: '', identityToken: 'stale'}})
      try {
        await refused.getManifest('team/app', 'v1')
        expect.fail('a refused identity token must fail')
      } catch (error) {
        expect((error as Error).message).to.equal('reg.example: unauthorized: the token service refused the identity token')
      }
    })

    it('offlineToken (login): asks for an offline token with Basic credentials and keeps its refresh token', async () => {
      const calls: string[] = []
      const base = await serve((req, res) => {
        calls.push(`${req.method} ${req.url}`)
        if (req.url!.startsWith('/token')) return res.end(JSON.stringify({token: 'T1', refresh_token: 'R9'}))
        if (req.headers.authorization === 'Bearer T1') return res.end('{}')
        res.writeHead(401, {'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="reg"`}).end()
      })
      const client = new RegistryClient({domain: 'reg.example', endpoint: base, settings, credentials: {username: 'u', password: 'p'}, offlineToken: true})
      await client.checkLogin()
      expect(calls[1]).to.equal('GET /token?service=reg&offline_token=true&client_id=ncx')
      expect(client.refreshToken).to.equal('R9')
    })

    it('retries a 503 then succeeds; gives a clear message for 429 and 404', async () => {
      let n = 0
      let mode = 'flaky'
      const base = await serve((_req, res) => {
        if (mode === 'flaky') return res.writeHead(++n < 2 ? 503 : 200).end('{}')
        if (mode === 'limited') return res.writeHead(429).end()
        res.writeHead(404).end(JSON.stringify({errors: [{code: 'MANIFEST_UNKNOWN', message: 'manifest unknown'}]}))
      })
      await new RegistryClient({domain: 'r', endpoint: base, settings, retries: 2}).getManifest('a', 'b')
      expect(n).to.equal(2)
      mode = 'limited'
      await new RegistryClient({domain: 'r', endpoint: base, settings, retries: 0}).getManifest('a', 'b').then(
        () => expect.fail('no error'),
        (e: Error) => expect(e.message).to.contain('toomanyrequests: r rate limit reached'),
      )
      mode = 'missing'
      await new RegistryClient({domain: 'r', endpoint: base, settings}).getManifest('a', 'b').then(
        () => expect.fail('no error'),
        (e: Error) => expect(e.message).to.equal('r/a:b: not found (manifest unknown: manifest unknown)'),
      )
    })

    it('reaches a registry on a port of the WHATWG "bad ports" list (fetch refuses those)', async function () {
      let base: string | undefined
      for (const port of [5060, 5061, 6665, 6666, 6667, 6668, 6669, 10080]) {
        try {
          base = await serve((_req, res) => res.writeHead(200, {'content-type': 'application/vnd.oci.image.manifest.v1+json'}).end('{}'), port)
          break
        } catch {
          // taken: the next one
        }
      }
      if (!base) return this.skip() // every bad port is in use on this machine
      const m = await new RegistryClient({domain: new URL(base).host, endpoint: base, settings}).getManifest('a', 'b')
      expect(m.bytes.toString()).to.equal('{}')
    })

    it('keeps the Authorization header on its origin: a blob redirected elsewhere gets none', async () => {
      let seen: string | undefined = 'not asked'
      const storage = await serve((req, res) => {
        seen = req.headers.authorization
        res.end('blob')
      })
      const other = server!
      server = undefined
      try {
        const base = await serve((req, res) => {
          if (req.headers.authorization !== 'Basic dTpw') return res.writeHead(401, {'www-authenticate': 'Basic realm="r"'}).end()
          res.writeHead(307, {location: `${storage}/data?sig=1`}).end()
        })
        const client = new RegistryClient({domain: 'r', endpoint: base, settings, credentials: {username: 'u', password: 'p'}})
        const blob = await client.getBlob('a', `sha256:${'0'.repeat(64)}`)
        const chunks: Buffer[] = []
        for await (const c of blob.stream) chunks.push(c as Buffer)
        expect(Buffer.concat(chunks).toString()).to.equal('blob')
        expect(seen).to.equal(undefined)
      } finally {
        other.closeAllConnections()
        other.close()
      }
    })

    it('fails a registry that accepts and never answers within the idle deadline, with the knob in the hint', async () => {
      const base = await serve(() => undefined) // never answers
      const started = Date.now()
      const error = await new RegistryClient({domain: 'stalled', endpoint: base, settings: {...settings, timeoutMs: 300}})
        .getManifest('a', 'b')
        .then(() => undefined, (e: NcxError) => e)
      expect(Date.now() - started).to.be.below(5000)
      expect(error?.message).to.equal('cannot reach registry stalled (GET /v2/a/manifests/b): ' + `${new URL(base).host} sent nothing for 0.3 s`)
      expect(error?.hint).to.contain('NCX_REGISTRY_TIMEOUT')
    })

    it('fails a blob whose body stalls mid-way, but not a reader that is slower than the registry', async () => {
      const size = 8 << 20
      const base = await serve((req, res) => {
        res.writeHead(200, {'content-length': String(size)})
        if (req.url!.includes('stall')) return void res.write(Buffer.alloc(1000))
        res.end(Buffer.alloc(size))
      })
      const client = new RegistryClient({domain: 'r', endpoint: base, settings: {...settings, timeoutMs: 300}})
      const stalled = await client.getBlob('stall', `sha256:${'0'.repeat(64)}`)
      const error = await (async () => {
        for await (const _ of stalled.stream) void _
      })().then(() => undefined, (e: Error) => e)
      expect(error).to.be.instanceOf(HttpTimeoutError)
      // A consumer that pauses for three deadlines while the registry waits on it is not a stall.
      const slow = await client.getBlob('slow', `sha256:${'0'.repeat(64)}`)
      let got = 0
      for await (const chunk of slow.stream) {
        if (got === 0) await new Promise((r) => setTimeout(r, 900))
        got += (chunk as Buffer).length
      }
      expect(got).to.equal(size)
    })

    /** A server on 127.0.0.1 (`port`, else any): resolves to its base URL; closed after each test. */
    async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void, port = 0): Promise<string> {
      const s = createServer(handler)
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.listen(port, '127.0.0.1', () => resolve())
      })
      server = s
      return `http://127.0.0.1:${(s.address() as AddressInfo).port}`
    }
  })
})
