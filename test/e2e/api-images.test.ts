/**
 * The Engine API's image transfer endpoints driven by the docker CLI: `login` (/auth), `push`
 * (X-Registry-Auth, Docker's progress stream) to a local registry with Basic auth,
 * `save | load` (GET /images/get, POST /images/load) round trips, and `import`
 * (POST /images/create?fromSrc=…, also through dockerode).
 */
import {expect} from 'chai'
import {spawn, spawnSync} from 'node:child_process'
import {createReadStream, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Sandbox, images} from './harness.js'
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

describe('e2e: Engine API import (POST /images/create?fromSrc=…)', function () {
  this.timeout(120_000)
  const box = new Sandbox()
  let service: Awaited<ReturnType<typeof startService>>
  let config: string
  const {docker, ok} = dockerClient(() => ({PATH: process.env.PATH, HOME: config, DOCKER_CONFIG: config, DOCKER_HOST: `unix://${service.socket}`}), 60_000)
  const rootfs = () => join(images(), 'busybox.rootfs.tar')

  before(async function () {
    if (!DOCKER) throw new Error("no docker client: install Debian's docker.io (the client is all these tests use)")
    service = await startService(box)
    config = mkdtempSync(join(tmpdir(), 'ncx-api-import-'))
  })
  after(async () => {
    if (service) {
      service.child.kill('SIGTERM')
      await service.exited
    }
    if (config) rmSync(config, {recursive: true, force: true})
    box.destroy()
  })

  it('docker import FILE and - (a pipe): --change, --message, --platform; the image runs', () => {
    const id = ok(['import', rootfs(), 'imp:1']).trim()
    expect(id).to.match(/^sha256:[0-9a-f]{64}$/)
    expect(ok(['image', 'inspect', '-f', '{{.Id}}', 'imp:1']).trim()).to.equal(id)
    expect(ok(['run', '--rm', 'imp:1', 'echo', 'imported']).trim()).to.equal('imported')
    const piped = spawnSync('sh', ['-c', `"${DOCKER}" import -c 'CMD ["echo", "from the change"]' -c 'ENV A=b' -m 'my message' - team/imp:2 < "${rootfs()}"`], {encoding: 'utf8', env: {PATH: process.env.PATH, HOME: config, DOCKER_CONFIG: config, DOCKER_HOST: `unix://${service.socket}`}})
    expect(piped.status, piped.stderr).to.equal(0)
    expect(ok(['run', '--rm', 'team/imp:2']).trim()).to.equal('from the change')
    expect(ok(['image', 'inspect', '-f', '{{index .Config.Env 1}}', 'team/imp:2']).trim()).to.equal('A=b')
    expect(ok(['history', '--format', '{{.Comment}}', 'team/imp:2']).trim()).to.equal('my message')
    expect(ok(['history', '--format', '{{.Comment}}', 'imp:1']).trim()).to.equal('Imported from -')
    ok(['import', '--platform', 'linux/arm64', rootfs(), 'imp:arm'])
    expect(ok(['image', 'inspect', '-f', '{{.Os}}/{{.Architecture}}', 'imp:arm']).trim()).to.equal('linux/arm64')
  })

  it('refuses what is not a tarball, a --change it cannot apply, another OS and a URL scheme other than http(s), with no image added', () => {
    const before = ok(['images', '-q']).trim()
    const junk = docker(['import', '-', 'junk:1'], 'not a tarball at all\n')
    expect(junk.code).to.equal(1)
    expect(junk.stderr).to.match(/Error response from daemon: .*not a valid tar/)
    const change = docker(['import', '-c', 'RUN echo no', rootfs(), 'junk:2'])
    expect(change.code).to.equal(1)
    expect(change.stderr).to.match(/--change RUN is not supported/)
    const os = docker(['import', '--platform', 'windows/amd64', rootfs(), 'junk:3'])
    expect(os.code).to.equal(1)
    expect(os.stderr).to.match(/cannot import an image for windows/)
    expect(ok(['images', '-q']).trim()).to.equal(before)
  })

  it('fromSrc=URL: fetched by the service (http); a URL that does not answer is an error; other schemes are refused (raw)', async () => {
    // A file server in its own process (docker runs synchronously here).
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as {port: number}).port
        probe.close(() => resolve(p))
      })
    })
    const files = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', String(port)], {cwd: images(), stdio: 'ignore'})
    try {
      for (let i = 0; i < 100; i++) {
        if (spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0) break
        await new Promise((r) => setTimeout(r, 100))
      }
      const out = docker(['import', `http://127.0.0.1:${port}/busybox.rootfs.tar`, 'fromurl:1'])
      expect(out.code, out.stderr).to.equal(0)
      expect(out.stdout.trim().split('\n').pop()).to.match(/^sha256:[0-9a-f]{64}$/)
      expect(ok(['run', '--rm', 'fromurl:1', 'echo', 'fetched']).trim()).to.equal('fetched')
      expect(ok(['history', '--format', '{{.Comment}}', 'fromurl:1']).trim()).to.equal(`Imported from http://127.0.0.1:${port}/busybox.rootfs.tar`)
      const missing = docker(['import', `http://127.0.0.1:${port}/nosuch.tar`, 'fromurl:2'])
      expect(missing.code).to.equal(1)
      expect(missing.stderr).to.match(/cannot fetch http:\/\/127\.0\.0\.1:\d+\/nosuch\.tar: 404/)
    } finally {
      files.kill()
    }
    const {request} = await import('node:http')
    const post = (path: string) =>
      new Promise<{status: number; body: string}>((resolve, reject) => {
        const r = request({socketPath: service.socket, method: 'POST', path}, (res) => {
          let body = ''
          res.on('data', (d: Buffer) => (body += d))
          res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
        })
        r.on('error', reject)
        r.end()
      })
    const ftp = await post('/v1.47/images/create?fromSrc=ftp%3A%2F%2Fexample.com%2Fx.tar&repo=x')
    expect(ftp.status).to.equal(400)
    expect(JSON.parse(ftp.body).message).to.match(/neither "-" \(the request body\) nor an http:\/\/ or https:\/\/ URL/)
    const digest = await post(`/v1.47/images/create?fromSrc=-&repo=x@sha256:${'0'.repeat(64)}`)
    expect([digest.status, JSON.parse(digest.body).message]).to.deep.equal([400, 'cannot import digest reference'])
  })

  it('dockerode importImage: repo and tag, the stream ends with the image ID', async () => {
    const Docker = (await import('dockerode')).default
    const client = new Docker({socketPath: service.socket})
    const stream = await client.importImage(createReadStream(rootfs()), {repo: 'dockerode/imp', tag: '3', message: 'by dockerode'})
    const lines = await new Promise<Array<{status?: string; error?: string}>>((resolve, reject) => {
      let text = ''
      stream.on('data', (d: Buffer) => (text += d))
      stream.on('end', () => resolve(text.trim().split('\n').map((l) => JSON.parse(l) as {status?: string})))
      stream.on('error', reject)
    })
    expect(lines.at(-1)?.status).to.match(/^sha256:[0-9a-f]{64}$/)
    const info = await client.getImage('dockerode/imp:3').inspect()
    expect(info.Id).to.equal(lines.at(-1)?.status)
    expect(info.RepoTags).to.deep.equal(['dockerode/imp:3'])
  })
})

describe('e2e: Engine API identity tokens (a registry with a token service)', function () {
  this.timeout(120_000)
  const box = new Sandbox()
  let service: Awaited<ReturnType<typeof startService>>
  let registry: Registry
  let config: string
  // Asynchronous: the token service answers from this process, which spawnSync would block.
  const docker = (args: string[], input = '') =>
    new Promise<{code: number; stdout: string; stderr: string}>((resolve) => {
      const child = spawn(DOCKER!, args, {env: {PATH: process.env.PATH, HOME: config, DOCKER_CONFIG: config, DOCKER_HOST: `unix://${service.socket}`}})
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d: Buffer) => (stdout += d))
      child.stderr.on('data', (d: Buffer) => (stderr += d))
      child.stdin.end(input)
      child.on('close', (code) => resolve({code: code ?? 137, stdout, stderr}))
    })

  before(async function () {
    if (!DOCKER) throw new Error("no docker client: install Debian's docker.io (the client is all these tests use)")
    box.load('busybox.oci.tar')
    service = await startService(box)
    registry = await startRegistry({auth: 'token'})
    config = mkdtempSync(join(tmpdir(), 'ncx-api-identity-'))
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

  it('login returns an identity token (the offline refresh token) the CLI stores; push and pull use it as the refresh token', async () => {
    const login = await docker(['login', '-u', registry.username, '--password-stdin', registry.host], `${registry.password}\n`)
    expect(login.code, login.stderr).to.equal(0)
    const stored = JSON.parse(readFileSync(join(config, 'config.json'), 'utf8')) as {auths: Record<string, {auth?: string; identitytoken?: string}>}
    const entry = stored.auths[registry.host]
    expect(entry.identitytoken, JSON.stringify(stored)).to.be.a('string').and.not.equal('')
    // The password is not stored: the docker CLI keeps the identity token in its place.
    expect(Buffer.from(entry.auth ?? '', 'base64').toString()).to.equal(`${registry.username}:`)
    const before = registry.tokenLog().length
    const target = `${registry.host}/team/idtok:1`
    expect((await docker(['tag', 'busybox', target])).code).to.equal(0)
    const push = await docker(['push', target])
    expect(push.code, push.stderr + push.stdout).to.equal(0)
    expect(push.stdout).to.match(/1: digest: sha256:[0-9a-f]{64}/)
    const used = registry.tokenLog().slice(before)
    expect(used.length).to.be.greaterThan(0)
    // Every token of the push came from the refresh-token grant (a POST), for the logged-in account.
    expect(used.every((t) => t.method === 'POST' && t.account === registry.username && t.status === 200), JSON.stringify(used)).to.equal(true)
    expect(used.some((t) => t.granted.some((g) => g.actions.includes('push')))).to.equal(true)
    expect((await docker(['rmi', target])).code).to.equal(0)
    const pull = await docker(['pull', target])
    expect(pull.code, pull.stderr).to.equal(0)
  })

  it('a stale identity token is refused with a 401 and the reason (POST /auth and X-Registry-Auth)', async () => {
    const {request} = await import('node:http')
    const call = (method: string, path: string, headers: Record<string, string>, body?: string) =>
      new Promise<{status: number; body: string}>((resolve, reject) => {
        const r = request({socketPath: service.socket, method, path, headers}, (res) => {
          let text = ''
          res.on('data', (d: Buffer) => (text += d))
          res.on('end', () => resolve({status: res.statusCode ?? 0, body: text}))
        })
        r.on('error', reject)
        r.end(body)
      })
    const auth = await call('POST', '/v1.47/auth', {'content-type': 'application/json'}, JSON.stringify({identitytoken: 'stale', serveraddress: registry.host}))
    expect(auth.status, auth.body).to.equal(401)
    expect(JSON.parse(auth.body).message).to.match(/refused the identity token/)
    const header = Buffer.from(JSON.stringify({identitytoken: 'stale', serveraddress: registry.host})).toString('base64url')
    const pull = await call('POST', `/v1.47/images/create?fromImage=${registry.host}/team/idtok&tag=1`, {'X-Registry-Auth': header})
    expect(pull.status).to.equal(200)
    expect(pull.body).to.match(/"error":".*refused the identity token/)
  })
})
