/**
 * The Engine API's image transfer endpoints driven by the docker CLI: `login` (/auth), `push`
 * (X-Registry-Auth, Docker's progress stream) to a local registry with Basic auth, and
 * `save | load` (GET /images/get, POST /images/load) round trips.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Sandbox} from './harness.js'
import {DOCKER, dockerClient, startService} from './api-harness.js'
import {Registry, inspectImage, startRegistry} from '../registry/harness.js'


describe('e2e: Engine API images: login, push, save and load', function () {
  this.timeout(180_000)
  const box = new Sandbox()
  let service: Awaited<ReturnType<typeof startService>>
  let registry: Registry
  let config: string
  const {docker, ok} = dockerClient(() => ({PATH: process.env.PATH, HOME: config, DOCKER_CONFIG: config, DOCKER_HOST: `unix://${service.socket}`}), 120_000)

  before(async function () {
    if (!DOCKER) throw new Error("no docker client: install Debian's docker.io (the client is all these tests use)")
    box.load('busybox.oci.tar')
    service = await startService(box)
    registry = await startRegistry({auth: 'basic'})
    config = mkdtempSync(join(tmpdir(), 'ncx-api-docker-config-'))
  })
  after(async () => {
    if (service) {
      service.child.kill('SIGTERM')
      await service.exited
    }
    if (registry) await registry.stop()
    if (config) rmSync(config, {recursive: true, force: true})
    box.destroy()
  })

  it('login checks the credentials against the registry (POST /auth): 401 for wrong ones', () => {
    const bad = docker(['login', '-u', registry.username, '--password-stdin', registry.host], 'wrong\n')
    expect(bad.code).to.equal(1)
    expect(bad.stderr).to.match(/unauthorized|incorrect username or password/)
    const good = docker(['login', '-u', registry.username, '--password-stdin', registry.host], `${registry.password}\n`)
    expect(good.code, good.stderr).to.equal(0)
    expect(good.stdout).to.match(/Login Succeeded/)
  })

  it('push: the client\'s credentials (X-Registry-Auth), Docker\'s progress stream, the image in the registry', async () => {
    const target = `${registry.host}/team/pushed:1`
    ok(['tag', 'busybox', target])
    const out = ok(['push', target])
    expect(out).to.match(new RegExp(`The push refers to repository \\[${registry.host.replace(/\./g, '\\.')}/team/pushed\\]`))
    expect(out).to.match(/: Pushed\n/)
    const digest = /1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(out)?.[1]
    expect(digest, out).to.be.a('string')
    expect(ok(['image', 'inspect', '-f', '{{.Id}}', target]).trim()).to.equal(ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox']).trim())
    const remote = await inspectImage(registry, 'team/pushed:1', {creds: {username: registry.username, password: registry.password}})
    expect(remote.code, remote.stderr).to.equal(0)
    expect((JSON.parse(remote.stdout) as {Digest: string}).Digest).to.equal(digest)
    // The same again: every layer is there already.
    expect(ok(['push', target])).to.match(/Layer already exists/)
    // GET /distribution/{name}/json: what the registry holds (the client's credentials again).
    const {request} = await import('node:http')
    const auth = Buffer.from(JSON.stringify({username: registry.username, password: registry.password})).toString('base64url')
    const get = (path: string, headers: Record<string, string> = {}) =>
      new Promise<{status: number; body: string}>((resolve, reject) => {
        const r = request({socketPath: service.socket, path, headers}, (res) => {
          let body = ''
          res.on('data', (d: Buffer) => (body += d))
          res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
        })
        r.on('error', reject)
        r.end()
      })
    const info = await get(`/v1.47/distribution/${target}/json`, {'X-Registry-Auth': auth})
    expect(info.status, info.body).to.equal(200)
    const parsed = JSON.parse(info.body) as {Descriptor: {digest: string; size: number}; Platforms: Array<{os: string}>}
    expect(parsed.Descriptor.digest).to.equal(digest)
    expect(parsed.Platforms.map((p) => p.os)).to.deep.equal(['linux'])
    expect((await get(`/v1.47/distribution/${target}/json`)).status).to.equal(401)
    expect((await get(`/v1.47/distribution/${registry.host}/team/nosuch:1/json`, {'X-Registry-Auth': auth})).status).to.equal(404)
    // Without credentials: the registry's refusal comes back as the stream's error.
    ok(['logout', registry.host])
    const anonymous = docker(['push', target])
    expect(anonymous.code).to.equal(1)
    expect(anonymous.stderr + anonymous.stdout).to.match(/unauthorized|authentication required|401/i)
    const missing = docker(['push', `${registry.host}/team/nosuch:1`])
    expect(missing.code).to.equal(1)
    expect(missing.stderr).to.match(/An image does not exist locally with the tag/)
  })

  it('save | load round trip: a docker-archive out, the same image ID back in', () => {
    const id = ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox']).trim()
    ok(['tag', 'busybox', 'copy:2'])
    const archive = join(config, 'two.tar')
    ok(['save', '-o', archive, 'busybox', 'copy:2'])
    const listing = spawnSync('tar', ['-tf', archive], {encoding: 'utf8'}).stdout
    expect(listing).to.match(/^manifest\.json$/m)
    expect(listing).to.match(/layer\.tar$/m)
    ok(['rmi', 'copy:2'])
    ok(['rmi', '-f', 'busybox', `${registry.host}/team/pushed:1`])
    expect(ok(['images', '-q']).trim()).to.equal('')
    const loaded = ok(['load', '-i', archive])
    expect(loaded).to.match(/Loaded image: busybox:latest/)
    expect(loaded).to.match(/Loaded image: copy:2/)
    expect(ok(['image', 'inspect', '-f', '{{.Id}}', 'copy:2']).trim()).to.equal(id)
    expect(ok(['run', '--rm', 'copy:2', 'echo', 'loaded']).trim()).to.equal('loaded')
    // Through a pipe, as `docker save | docker load` does.
    const piped = spawnSync('sh', ['-c', `"${DOCKER}" save busybox | "${DOCKER}" load`], {encoding: 'utf8', env: {PATH: process.env.PATH, HOME: config, DOCKER_HOST: `unix://${service.socket}`}})
    expect(piped.status, piped.stderr).to.equal(0)
    expect(piped.stdout).to.match(/Loaded image: busybox:latest/)
    const none = docker(['save', 'nosuch:1'])
    expect(none.code).to.equal(1)
    expect(none.stderr).to.match(/No such image: nosuch:1/)
  })

  it('load refuses what is not an image archive, with a message and no image added', () => {
    const before = ok(['images', '-q']).trim()
    const bad = docker(['load'], 'this is not a tar archive at all')
    expect(bad.code).to.equal(1)
    expect(bad.stderr).to.match(/Error response from daemon/)
    expect(ok(['images', '-q']).trim()).to.equal(before)
  })
})
