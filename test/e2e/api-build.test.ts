/**
 * `POST /build` driven by Docker's clients: `docker build` on the classic builder path
 * (DOCKER_BUILDKIT=0: a tar context, Docker's JSON stream) and `docker-compose build`.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Sandbox} from './harness.js'
import {DOCKER, startService} from './api-harness.js'

const COMPOSE = ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose'].find((p) => existsSync(p))

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
