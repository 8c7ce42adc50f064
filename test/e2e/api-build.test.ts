/**
 * `POST /build` driven by Docker's clients: `docker build` on the classic builder path
 * (DOCKER_BUILDKIT=0: a tar context, Docker's JSON stream) and `docker-compose build`; the
 * BuildKit doors (`/session`, `/grpc`, `/build?version=2`) answer with a message, not a hang.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {request} from 'node:http'
import {connect as h2connect} from 'node:http2'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Sandbox} from './harness.js'
import {DOCKER, startService} from './api-harness.js'

const COMPOSE = ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose'].find((p) => existsSync(p))
/** Debian's docker 20.10 client: its BuildKit path dials /session and sends /build?version=2 itself. */
const DOCKER_20 = '/usr/bin/docker'
/** A buildx binary (docker's CLI plugin), when there is one: NCX_E2E_BUILDX or the usual plugin paths. */
const BUILDX = [process.env.NCX_E2E_BUILDX, '/usr/libexec/docker/cli-plugins/docker-buildx', '/usr/local/lib/docker/cli-plugins/docker-buildx'].find((p): p is string => !!p && existsSync(p))
const BUILDKIT_MESSAGE = 'BuildKit is not served by ncx system service: build with DOCKER_BUILDKIT=0 docker build …, or ncx build'

describe('e2e: Engine API builds (POST /build)', function () {
  this.timeout(180_000)
  const box = new Sandbox()
  let service: Awaited<ReturnType<typeof startService>>
  let dir: string
  const run = (command: string, args: string[], cwd = dir) => {
    const r = spawnSync(command, args, {cwd, encoding: 'utf8', timeout: 120_000, env: {PATH: process.env.PATH, HOME: dir, DOCKER_HOST: `unix://${service.socket}`, DOCKER_BUILDKIT: '0'}})
    return {code: r.status ?? 137, stdout: r.stdout, stderr: r.stderr}
  }
  const docker = (args: string[]) => run(DOCKER!, args)
  const ok = (args: string[]) => {
    const r = docker(args)
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return r
  }

  before(async function () {
    if (!DOCKER) throw new Error("no docker client: install Debian's docker.io (the client is all these tests use)")
    box.load('busybox.oci.tar')
    service = await startService(box)
    dir = mkdtempSync(join(tmpdir(), 'ncx-api-build-'))
    chmodSync(dir, 0o755)
    writeFileSync(
      join(dir, 'Dockerfile'),
      ['FROM busybox AS base', 'ARG GREETING=hello', 'RUN echo "$GREETING from RUN" > /greeting', 'COPY file.txt /file.txt', 'FROM base AS final', 'LABEL stage=final', 'CMD ["cat", "/greeting", "/file.txt"]', ''].join('\n'),
    )
    writeFileSync(join(dir, 'file.txt'), 'from the context\n')
    writeFileSync(join(dir, '.dockerignore'), 'secret.txt\n')
    writeFileSync(join(dir, 'secret.txt'), 'not sent\n')
    mkdirSync(join(dir, 'sub'))
    writeFileSync(join(dir, 'sub', 'Dockerfile.fail'), 'FROM busybox\nCOPY secret.txt /\n')
    writeFileSync(join(dir, 'sub', 'Dockerfile.exit'), 'FROM busybox\nRUN exit 3\n')
  })
  after(async () => {
    if (service) {
      service.child.kill('SIGTERM')
      await service.exited
    }
    if (dir) rmSync(dir, {recursive: true, force: true})
    box.destroy()
  })

  it('docker build -t with --build-arg: the stream, then an image that runs', () => {
    const r = ok(['build', '-t', 'built:1', '--build-arg', 'GREETING=hi', '.'])
    expect(r.stdout).to.match(/RUN echo "hi from RUN" > \/greeting/)
    expect(r.stdout).to.match(/Successfully built [0-9a-f]{12}\nSuccessfully tagged built:1\n/)
    expect(ok(['run', '--rm', 'built:1']).stdout).to.equal('hi from RUN\nfrom the context\n')
    expect(ok(['image', 'inspect', '-f', '{{.Config.Labels.stage}}', 'built:1']).stdout.trim()).to.equal('final')
  })

  it('--target, -q (the image ID alone), -f inside the context, --iidfile', () => {
    const q = ok(['build', '-q', '--target', 'base', '-t', 'built:base', '--iidfile', join(dir, 'iid'), '.'])
    expect(q.stdout.trim()).to.match(/^sha256:[0-9a-f]{64}$/)
    expect(ok(['image', 'inspect', '-f', '{{.Id}}', 'built:base']).stdout.trim()).to.equal(q.stdout.trim())
    expect(readFileSync(join(dir, 'iid'), 'utf8').trim()).to.equal(q.stdout.trim())
    expect(ok(['image', 'inspect', '-f', '{{index .Config.Labels "stage"}}', 'built:base']).stdout.trim()).to.equal('')
    // .dockerignore holds secret.txt back: COPY of it fails as Docker's does.
    const ignored = docker(['build', '-f', 'sub/Dockerfile.fail', '.'])
    expect(ignored.code).to.equal(1)
    expect(ignored.stderr + ignored.stdout).to.match(/secret\.txt/)
  })

  it("a failing RUN: the step's error, and its exit status as the client's (errorDetail.code, as Docker's classic builder)", () => {
    const r = docker(['build', '-f', 'sub/Dockerfile.exit', '.'])
    expect(r.code).to.equal(3)
    expect(r.stderr).to.match(/"\/bin\/sh -c exit 3" did not complete successfully: exit code: 3/)
  })

  it('docker-compose build and run: build args from the compose file', function () {
    if (!COMPOSE) throw new Error("no docker-compose: install Debian's docker-compose")
    const project = join(dir, 'project')
    mkdirSync(join(project, 'app'), {recursive: true})
    writeFileSync(join(project, 'app', 'Dockerfile'), 'FROM busybox\nARG MSG\nRUN echo "$MSG" > /msg\nCMD ["cat", "/msg"]\n')
    writeFileSync(join(project, 'docker-compose.yml'), 'version: "3.8"\nservices:\n  app:\n    build:\n      context: ./app\n      args:\n        MSG: built by compose\n    image: cbapp:1\n')
    const build = run(COMPOSE, ['-p', 'cb', 'build'], project)
    expect(build.code, build.stderr).to.equal(0)
    expect(build.stdout + build.stderr).to.match(/Successfully tagged cbapp:1/)
    const out = run(COMPOSE, ['-p', 'cb', 'run', '--rm', '-T', 'app'], project)
    expect([out.code, out.stdout]).to.deep.equal([0, 'built by compose\n'])
    run(COMPOSE, ['-p', 'cb', 'down'], project)
  })
})

describe('e2e: Engine API builds: BuildKit clients get a message (Builder-Version 1)', function () {
  this.timeout(120_000)
  const box = new Sandbox()
  let service: Awaited<ReturnType<typeof startService>>
  let dir: string
  const run = (command: string, args: string[], env: Record<string, string>) => {
    const r = spawnSync(command, args, {cwd: dir, encoding: 'utf8', timeout: 60_000, env: {PATH: process.env.PATH, HOME: dir, DOCKER_CONFIG: join(dir, '.docker'), DOCKER_HOST: `unix://${service.socket}`, ...env}})
    return {code: r.status ?? 137, stdout: r.stdout, stderr: r.stderr}
  }
  const raw = (method: string, path: string, headers: Record<string, string> = {}) =>
    new Promise<{status: number; headers: Record<string, unknown>; body: string}>((resolve, reject) => {
      const r = request({socketPath: service.socket, method, path, headers}, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d))
        res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body}))
      })
      r.on('error', reject)
      r.end()
    })

  before(async function () {
    if (!DOCKER) throw new Error("no docker client: install Debian's docker.io (the client is all these tests use)")
    box.load('busybox.oci.tar')
    service = await startService(box)
    dir = mkdtempSync(join(tmpdir(), 'ncx-api-buildkit-'))
    chmodSync(dir, 0o755)
    mkdirSync(join(dir, '.docker', 'cli-plugins'), {recursive: true})
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nRUN echo built > /built\n')
  })
  after(async () => {
    if (service) {
      service.child.kill('SIGTERM')
      await service.exited
    }
    if (dir) rmSync(dir, {recursive: true, force: true})
    box.destroy()
  })

  it('_ping (HEAD and GET) advertises Builder-Version 1; /session, /grpc and /build?version=2 answer 501 with the message', async () => {
    for (const method of ['HEAD', 'GET']) {
      const ping = await raw(method, '/_ping')
      expect([ping.status, ping.headers['builder-version']]).to.deep.equal([200, '1'])
    }
    for (const path of ['/session', '/v1.47/grpc', '/v1.47/build?version=2&remote=client-session&session=x']) {
      const r = await raw('POST', path)
      expect(r.status, path).to.equal(501)
      expect(JSON.parse(r.body), path).to.deep.equal({message: BUILDKIT_MESSAGE})
    }
    expect((await raw('POST', '/v1.47/build?version=3')).status).to.equal(400)
  })

  it('a gRPC call on /grpc (h2c upgrade, as buildx dials it) ends at once with UNIMPLEMENTED and the message', async () => {
    const socket = connect(service.socket)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve())
      socket.once('error', reject)
    })
    socket.write('POST /v1.47/grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n')
    const head = await new Promise<string>((resolve) => {
      let text = ''
      const onData = (d: Buffer) => {
        text += d.toString('latin1')
        if (text.includes('\r\n\r\n')) {
          socket.off('data', onData)
          socket.pause()
          resolve(text)
        }
      }
      socket.on('data', onData)
    })
    expect(head).to.match(/^HTTP\/1\.1 101 /)
    const session = h2connect('http://docker', {createConnection: () => socket})
    const answer = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const stream = session.request({':method': 'POST', ':path': '/moby.buildkit.v1.Control/ListWorkers', 'content-type': 'application/grpc', te: 'trailers'})
      stream.on('response', (headers) => resolve(headers as Record<string, unknown>))
      stream.on('error', reject)
      stream.end(Buffer.alloc(5))
    })
    session.close()
    socket.destroy()
    expect(answer['grpc-status']).to.equal('12')
    expect(decodeURIComponent(String(answer['grpc-message']))).to.equal(BUILDKIT_MESSAGE)
  })

  it('docker CLI 28 without buildx: builds through the classic endpoint (its DEPRECATED warning); DOCKER_BUILDKIT=1 is its own error', () => {
    const plain = run(DOCKER!, ['build', '-t', 'bk:plain', '.'], {})
    expect(plain.code, plain.stderr).to.equal(0)
    expect(plain.stderr).to.match(/legacy builder is deprecated/)
    expect(plain.stdout).to.match(/Successfully tagged bk:plain/)
    const forced = run(DOCKER!, ['build', '-t', 'bk:forced', '.'], {DOCKER_BUILDKIT: '1'})
    expect(forced.code).to.equal(1)
    expect(forced.stderr).to.match(/BuildKit is enabled but the buildx component is missing or broken/)
  })

  it("docker CLI 20.10 with DOCKER_BUILDKIT=1 (its own BuildKit client: /session + /build?version=2) prints the service's message", function () {
    if (!existsSync(DOCKER_20)) throw new Error("no docker 20.10 client at /usr/bin/docker: install Debian's docker.io")
    const r = run(DOCKER_20, ['build', '-t', 'bk:20', '.'], {DOCKER_BUILDKIT: '1'})
    expect(r.code).to.equal(1)
    expect(r.stderr).to.contain(`Error response from daemon: ${BUILDKIT_MESSAGE}`)
    expect(r.stderr).to.not.match(/unable to upgrade|bogus greeting/)
  })

  it('docker build and docker buildx build with the buildx plugin: the message, at once (no fallback to a buildkitd container)', function () {
    // buildx is not a Debian package here: NCX_E2E_BUILDX=PATH (go install github.com/docker/buildx/cmd/buildx@latest).
    if (!BUILDX) this.skip()
    copyFileSync(BUILDX!, join(dir, '.docker', 'cli-plugins', 'docker-buildx'))
    chmodSync(join(dir, '.docker', 'cli-plugins', 'docker-buildx'), 0o755)
    try {
      for (const args of [['build', '-t', 'bk:x', '.'], ['buildx', 'build', '-t', 'bk:x', '.']]) {
        const started = Date.now()
        const r = run(DOCKER!, args, {})
        expect(r.code, args.join(' ')).to.equal(1)
        expect(r.stderr, args.join(' ')).to.contain(`Unimplemented: ${BUILDKIT_MESSAGE}`)
        expect(r.stderr).to.not.match(/docker-container|moby\/buildkit/)
        expect(Date.now() - started).to.be.below(30_000)
      }
      // The classic path still works with the plugin installed.
      const legacy = run(DOCKER!, ['build', '-q', '-t', 'bk:legacy', '.'], {DOCKER_BUILDKIT: '0'})
      expect(legacy.code, legacy.stderr).to.equal(0)
    } finally {
      rmSync(join(dir, '.docker', 'cli-plugins', 'docker-buildx'), {force: true})
    }
  })
})
