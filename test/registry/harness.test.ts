/**
 * The registry harness against real clients: skopeo pushes and inspects through every auth
 * mode of a real distribution registry; the token issuer's policy and signatures are checked
 * by the registry itself.
 */
import {expect} from 'chai'
import {createSign, generateKeyPairSync, randomUUID} from 'node:crypto'
import {existsSync} from 'node:fs'
import {connect} from 'node:net'

import {Registry, TOKEN_ISSUER, TOKEN_SERVICE, fixture, inspectImage, libtrustKeyId, pushImage, registryGet, startRegistry} from './harness.js'

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
const ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].join(', ')
const HOST_ARCH = ({x64: 'amd64', arm64: 'arm64'} as Record<string, string>)[process.arch] ?? process.arch

function portOpen(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(':')
  return new Promise((resolve) => {
    const s = connect({host, port: Number(port)})
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

const b64url = (v: object | Buffer): string => (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v))).toString('base64url')
const decodeJwt = (jwt: string): {header: Record<string, unknown>; claims: Record<string, unknown>} => {
  const [h, c] = jwt.split('.')
  return {header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>, claims: JSON.parse(Buffer.from(c, 'base64url').toString()) as Record<string, unknown>}
}

async function stopAndCheckClosed(r: Registry): Promise<void> {
  const ports = [r.host, ...(r.tokenRealm ? [new URL(r.tokenRealm).host] : [])]
  for (const p of ports) expect(await portOpen(p), `${p} open before stop`).to.equal(true)
  await r.stop()
  for (const p of ports) expect(await portOpen(p), `${p} still open after stop`).to.equal(false)
  expect(existsSync(r.dir)).to.equal(false)
  await r.stop() // idempotent
}

describe('registry harness', function () {
  this.timeout(60_000)
  let busybox: string

  before(() => {
    busybox = fixture('busybox')
  })

  describe('auth none', () => {
    let r: Registry
    before(async () => {
      r = await startRegistry()
    })
    after(() => r?.stop())

    it('takes a push from skopeo and serves it to skopeo inspect and registryGet', async () => {
      expect(r.host).to.match(/^127\.0\.0\.1:\d+$/)
      expect(r.url).to.equal(`http://${r.host}`)
      const {digest} = await pushImage(r, busybox, 'busybox:latest')
      expect(digest).to.match(/^sha256:[a-f0-9]{64}$/)
      const inspect = await inspectImage(r, 'busybox:latest')
      expect(inspect.code, inspect.stderr).to.equal(0)
      const info = JSON.parse(inspect.stdout) as {Digest: string; Architecture: string; Os: string; Layers: string[]}
      expect(info.Digest).to.equal(digest)
      expect(info.Architecture).to.equal(HOST_ARCH)
      expect(info.Layers).to.have.length(1)
      const m = await registryGet(r, '/v2/busybox/manifests/latest', {accept: ACCEPT})
      expect(m.status).to.equal(200)
      expect(m.headers.get('docker-content-digest')).to.equal(digest)
      expect(m.headers.get('content-type')).to.equal(OCI_MANIFEST)
      expect(m.json<{layers: unknown[]}>().layers).to.have.length(1)
      expect(r.tokenRequests()).to.equal(0)
    })

    it('converts to Docker v2s2 with format v2s2', async () => {
      await pushImage(r, busybox, 'converted/busybox:v2s2', {format: 'v2s2'})
      const m = await registryGet(r, '/v2/converted/busybox/manifests/v2s2', {accept: ACCEPT})
      expect(m.headers.get('content-type')).to.equal(DOCKER_MANIFEST)
    })

    it('pushes a multi-platform index with all, foreign platform first', async () => {
      const {digest} = await pushImage(r, fixture('multiarch'), 'multiarch:latest', {all: true})
      const raw = await inspectImage(r, 'multiarch:latest', {raw: true})
      expect(raw.code, raw.stderr).to.equal(0)
      const index = JSON.parse(raw.stdout) as {mediaType: string; manifests: Array<{digest: string; platform: {architecture: string; os: string}}>}
      expect(index.mediaType).to.equal(OCI_INDEX)
      const foreign = HOST_ARCH === 'arm64' ? 'amd64' : 'arm64'
      expect(index.manifests.map((d) => d.platform.architecture)).to.deep.equal([foreign, HOST_ARCH])
      const viaGet = await registryGet(r, '/v2/multiarch/manifests/latest', {accept: ACCEPT})
      expect(viaGet.headers.get('docker-content-digest')).to.equal(digest)
      // every child manifest and its blobs made it
      for (const d of index.manifests) {
        const child = await registryGet(r, `/v2/multiarch/manifests/${d.digest}`, {accept: ACCEPT})
        expect(child.status).to.equal(200)
        const {layers, config} = child.json<{layers: Array<{digest: string}>; config: {digest: string}}>()
        expect(layers).to.have.length(d.platform.architecture === HOST_ARCH ? 2 : 1)
        for (const b of [config, ...layers]) expect((await registryGet(r, `/v2/multiarch/blobs/${b.digest}`, {}, {method: 'HEAD'})).status).to.equal(200)
      }
      // without all, skopeo copies only the host platform's image
      const single = await pushImage(r, fixture('multiarch'), 'multiarch:host')
      expect(single.digest).to.equal(index.manifests[1].digest)
    })

    it('stops: port closed, dir removed', async () => stopAndCheckClosed(r))
  })

  describe('auth basic', () => {
    let r: Registry
    before(async () => {
      r = await startRegistry({auth: 'basic'})
    })
    after(() => r?.stop())

    it('challenges with Basic and accepts only the right password', async () => {
      expect([r.username, r.password]).to.deep.equal(['ncxuser', 'ncxpass'])
      const anon = await registryGet(r, '/v2/', {}, {anonymous: true})
      expect(anon.status).to.equal(401)
      expect(anon.headers.get('www-authenticate')).to.equal(`Basic realm="${TOKEN_SERVICE}"`)
      expect((await registryGet(r, '/v2/')).status).to.equal(200)
      const wrong = await fetch(`${r.url}/v2/`, {headers: {authorization: `Basic ${Buffer.from('ncxuser:nope').toString('base64')}`}})
      expect(wrong.status).to.equal(401)
    })

    it('takes a push with credentials and refuses one without', async () => {
      const {digest} = await pushImage(r, busybox, 'library/busybox:1')
      const ok = await inspectImage(r, 'library/busybox:1')
      expect(ok.code, ok.stderr).to.equal(0)
      expect((JSON.parse(ok.stdout) as {Digest: string}).Digest).to.equal(digest)
      const anon = await inspectImage(r, 'library/busybox:1', {creds: null})
      expect(anon.code).to.not.equal(0)
      expect(anon.stderr).to.match(/unauthorized|authentication required/i)
      let refused = false
      await pushImage(r, busybox, 'library/busybox:anon', {creds: null}).catch(() => (refused = true))
      expect(refused).to.equal(true)
    })

    it('takes custom credentials', async () => {
      const other = await startRegistry({auth: 'basic', username: 'alice', password: 's3cret:with colon'})
      try {
        await pushImage(other, busybox, 'busybox:latest')
        expect((await inspectImage(other, 'busybox:latest')).code).to.equal(0)
        expect((await inspectImage(other, 'busybox:latest', {creds: {username: 'ncxuser', password: 'ncxpass'}})).code).to.not.equal(0)
      } finally {
        await other.stop()
      }
    })

    it('stops: port closed, dir removed', async () => stopAndCheckClosed(r))
  })

  for (const tokenHeader of ['kid', 'x5c'] as const) {
    describe(`auth token (JWT header ${tokenHeader})`, () => {
      let r: Registry
      let privateDigest: string
      before(async () => {
        r = await startRegistry({auth: 'token', tokenHeader})
      })
      after(() => r?.stop())

      it('challenges with Bearer realm/service and scope', async () => {
        expect(r.tokenRealm).to.match(/^http:\/\/127\.0\.0\.1:\d+\/token$/)
        const res = await fetch(`${r.url}/v2/private/busybox/manifests/latest`)
        expect(res.status).to.equal(401)
        expect(res.headers.get('www-authenticate')).to.equal(
          `Bearer realm="${r.tokenRealm}",service="${TOKEN_SERVICE}",scope="repository:private/busybox:pull"`,
        )
        expect(r.tokenRequests()).to.equal(0)
      })

      it('skopeo pushes with credentials through the token endpoint', async () => {
        privateDigest = (await pushImage(r, busybox, 'private/busybox:latest')).digest
        await pushImage(r, busybox, 'public/busybox:latest')
        expect(r.tokenRequests()).to.be.greaterThan(0)
        const pushes = r.tokenLog().filter((t) => t.scopes.some((s) => s.endsWith(':pull,push')))
        expect(pushes.length).to.be.greaterThan(0)
        for (const t of pushes) {
          expect(t.account).to.equal('ncxuser')
          expect(t.status).to.equal(200)
        }
        const ok = await inspectImage(r, 'private/busybox:latest')
        expect(ok.code, ok.stderr).to.equal(0)
        expect((JSON.parse(ok.stdout) as {Digest: string}).Digest).to.equal(privateDigest)
        const m = await registryGet(r, '/v2/private/busybox/manifests/latest', {accept: ACCEPT})
        expect(m.status).to.equal(200)
        expect(m.headers.get('docker-content-digest')).to.equal(privateDigest)
      })

      it('anonymous: pull of public/ allowed, of anything else and any push refused', async () => {
        const before = r.tokenRequests()
        const pub = await inspectImage(r, 'public/busybox:latest', {creds: null})
        expect(pub.code, pub.stderr).to.equal(0)
        const priv = await inspectImage(r, 'private/busybox:latest', {creds: null})
        expect(priv.code).to.not.equal(0)
        expect(priv.stderr).to.match(/unauthorized|authentication required|denied/i)
        expect(r.tokenRequests()).to.be.greaterThan(before)
        const anon = r.tokenLog().slice(before)
        expect(anon.every((t) => t.account === null)).to.equal(true)
        expect(anon.find((t) => t.scopes.includes('repository:private/busybox:pull'))?.granted).to.deep.equal([{type: 'repository', name: 'private/busybox', actions: []}])
        expect(anon.find((t) => t.scopes.includes('repository:public/busybox:pull'))?.granted).to.deep.equal([{type: 'repository', name: 'public/busybox', actions: ['pull']}])
        let refused = false
        await pushImage(r, busybox, 'public/anon:latest', {creds: null}).catch(() => (refused = true))
        expect(refused).to.equal(true)
        const noToken = await registryGet(r, '/v2/private/busybox/manifests/latest', {accept: ACCEPT}, {anonymous: true})
        expect(noToken.status).to.equal(401)
        expect(noToken.headers.get('www-authenticate')).to.contain('error="insufficient_scope"')
      })

      it('the token endpoint refuses a wrong password and issues the JWT the registry expects', async () => {
        const wrong = await inspectImage(r, 'private/busybox:latest', {creds: {username: 'ncxuser', password: 'wrong'}})
        expect(wrong.code).to.not.equal(0)
        expect(r.tokenLog().at(-1)?.status).to.equal(401)
        const q = `service=${TOKEN_SERVICE}&scope=repository:private/busybox:pull&scope=repository:other/x:pull,push`
        const res = await fetch(`${r.tokenRealm}?${q}`, {headers: {authorization: `Basic ${Buffer.from('ncxuser:ncxpass').toString('base64')}`}})
        expect(res.status).to.equal(200)
        const body = (await res.json()) as {token: string; access_token: string; expires_in: number; issued_at: string}
        expect(body.access_token).to.equal(body.token)
        expect(body.expires_in).to.equal(300)
        expect(Date.parse(body.issued_at)).to.be.closeTo(Date.now(), 5000)
        const {header, claims} = decodeJwt(body.token)
        expect(header.alg).to.equal('RS256')
        expect(header[tokenHeader]).to.not.equal(undefined)
        expect(claims).to.include({iss: TOKEN_ISSUER, aud: TOKEN_SERVICE, sub: 'ncxuser'})
        expect(claims.access).to.deep.equal([
          {type: 'repository', name: 'private/busybox', actions: ['pull']},
          {type: 'repository', name: 'other/x', actions: ['pull', 'push']},
        ])
        const m = await fetch(`${r.url}/v2/private/busybox/manifests/latest`, {headers: {authorization: `Bearer ${body.token}`, accept: ACCEPT}})
        expect(m.status).to.equal(200)
        expect(m.headers.get('docker-content-digest')).to.equal(privateDigest)
      })

      it('the registry really checks signatures: a token signed by an unknown key is refused', async () => {
        const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
        const now = Math.floor(Date.now() / 1000)
        const claims = {iss: TOKEN_ISSUER, sub: 'ncxuser', aud: TOKEN_SERVICE, exp: now + 300, nbf: now, iat: now, jti: randomUUID(), access: [{type: 'repository', name: 'private/busybox', actions: ['pull']}]}
        const input = `${b64url({typ: 'JWT', alg: 'RS256', kid: libtrustKeyId(publicKey.export({type: 'spki', format: 'der'}))})}.${b64url(claims)}`
        const forged = `${input}.${b64url(createSign('RSA-SHA256').update(input).sign(privateKey))}`
        const m = await fetch(`${r.url}/v2/private/busybox/manifests/latest`, {headers: {authorization: `Bearer ${forged}`, accept: ACCEPT}})
        expect(m.status).to.equal(401)
      })

      it('stops: registry and token ports closed, dir removed', async () => stopAndCheckClosed(r))
    })
  }
})
