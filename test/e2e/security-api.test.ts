/**
 * The Engine API's socket belongs to its user alone: another user cannot connect, and TCP is
 * served on loopback addresses only.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {request} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pack} from 'tar-stream'

import {Sandbox, asRoot, ensureUser, images} from './harness.js'
import {startService} from './api-harness.js'

type Entry = {name: string; type?: 'file' | 'symlink' | 'link' | 'directory'; linkname?: string; body?: string}

/** A tar archive of `entries`, in order (hostile ones included: tar-stream writes what it is given). */
async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack()
  for (const e of entries) {
    const header = {name: e.name, type: e.type ?? 'file', mode: e.type === 'directory' ? 0o755 : 0o644, ...(e.linkname ? {linkname: e.linkname} : {})} as const
    if (e.type === undefined || e.type === 'file') p.entry(header, e.body ?? '')
    else p.entry(header)
  }
  p.finalize()
  const chunks: Buffer[] = []
  for await (const c of p) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

/** One request to the API socket (the test runs as root, which may connect to the user's socket). */
function call(socket: string, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{status: number; body: string}> {
  return new Promise((resolve, reject) => {
    const req = request({socketPath: socket, method, path, headers: {...headers, ...(body ? {'Content-Length': String(body.length)} : {})}}, (res) => {
      let text = ''
      res.on('data', (d: Buffer) => (text += d))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body: text}))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('e2e: security of the Engine API socket', function () {
  this.timeout(120_000)
  const box = new Sandbox()
  after(() => box.destroy())

  it('another user cannot connect to the socket', async function () {
    if (!asRoot) this.skip()
    const other = ensureUser('ncxother')
    const s = await startService(box, ['--timeout', '0'])
    try {
      const probe = `require('net').connect(${JSON.stringify(s.socket)}).on('connect',()=>{console.log('connected');process.exit(0)}).on('error',(e)=>{console.log(e.code);process.exit(0)})`
      const r = spawnSync('runuser', ['-u', other.name, '--', process.execPath, '-e', probe], {encoding: 'utf8'})
      expect(r.stdout.trim()).to.equal('EACCES')
      // (the owner itself can: the same probe as the test user)
      const own = spawnSync('runuser', ['-u', box.owner.name, '--', process.execPath, '-e', probe], {encoding: 'utf8'})
      expect(own.stdout.trim()).to.equal('connected')
    } finally {
      s.child.kill('SIGTERM')
      await s.exited
    }
  })

  it('refuses TCP on a non-loopback address, warns on loopback', async () => {
    const r = box.ncx(['system', 'service', 'tcp://0.0.0.0:2375'])
    expect(r.code).to.not.equal(0)
    expect(r.stderr).to.match(/refusing to serve the API on 0\.0\.0\.0/)
    const child = box.spawn(['system', 'service', '--timeout', '1', 'tcp://127.0.0.1:0'], {stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    child.stdout!.on('data', (d: Buffer) => (out += d))
    child.stderr!.on('data', (d: Buffer) => (err += d))
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 137)))
    expect(code).to.equal(0)
    expect(out).to.match(/^DOCKER_HOST=tcp:\/\/127\.0\.0\.1:\d+$/m)
    expect(err).to.match(/WARNING: the API is served without TLS/)
  })

  describe('hostile archives sent to the API write nothing outside their target', () => {
    let service: Awaited<ReturnType<typeof startService>>
    let canary: string
    before(async () => {
      box.load('busybox.oci.tar')
      service = await startService(box)
      // A directory the service's user could write to: only the engine's checks keep files out.
      canary = mkdtempSync(join(tmpdir(), 'ncx-api-canary-'))
      writeFileSync(join(canary, 'target'), 'original\n')
      chownSync(canary, box.owner.uid, box.owner.gid)
      chownSync(join(canary, 'target'), box.owner.uid, box.owner.gid)
    })
    after(async () => {
      if (service) {
        service.child.kill('SIGTERM')
        await service.exited
      }
      if (canary) rmSync(canary, {recursive: true, force: true})
    })
    const untouched = () => {
      expect(readdirSync(canary).sort()).to.deep.equal(['target'])
      expect(readFileSync(join(canary, 'target'), 'utf8')).to.equal('original\n')
    }

    it('POST /build: a file under a symlink that leaves the context is refused', async () => {
      const tar = await tarOf([
        {name: 'Dockerfile', body: 'FROM busybox\nCOPY . /ctx\n'},
        {name: 'escape', type: 'symlink', linkname: canary},
        {name: 'escape/pwned', body: 'x'},
      ])
      const r = await call(service.socket, 'POST', '/v1.47/build?t=hostile:1', tar, {'Content-Type': 'application/x-tar'})
      expect(r.status).to.equal(200)
      expect(r.body).to.match(/"error":".*lies under the symbolic link/)
      untouched()
    })

    it('POST /build: a file written after a symlink of the same name, and hard links through symlinks, stay inside', async () => {
      const over = await tarOf([
        {name: 'Dockerfile', body: 'FROM busybox\nCOPY f /f\n'},
        {name: 'f', type: 'symlink', linkname: join(canary, 'target')},
        {name: 'f', body: 'replaced\n'},
      ])
      const r = await call(service.socket, 'POST', '/v1.47/build?t=over:1', over, {'Content-Type': 'application/x-tar'})
      expect(r.body).to.match(/Successfully tagged over:1/)
      untouched()
      expect(box.ok(['run', '--rm', 'over:1', 'cat', '/f'])).to.equal('replaced\n')
      const link = await tarOf([
        {name: 'Dockerfile', body: 'FROM busybox\n'},
        {name: 'd', type: 'symlink', linkname: canary},
        {name: 'h', type: 'link', linkname: 'd/target'},
        {name: 'h', body: 'pwned\n'},
      ])
      const l = await call(service.socket, 'POST', '/v1.47/build', link, {'Content-Type': 'application/x-tar'})
      expect(l.body).to.match(/"error":".*lies under the symbolic link/)
      const outside = await tarOf([
        {name: 'Dockerfile', body: 'FROM busybox\n'},
        {name: 'h', type: 'link', linkname: '../../../../../../etc/passwd'},
      ])
      const o = await call(service.socket, 'POST', '/v1.47/build', outside, {'Content-Type': 'application/x-tar'})
      expect(o.body).to.match(/"error":".*hard link \\"h\\" to \\"etc\/passwd\\", which the archive does not hold/)
      untouched()
      // And the Dockerfile is a file of the context, never one of the service's file system.
      const abs = await call(service.socket, 'POST', `/v1.47/build?dockerfile=${encodeURIComponent('/etc/passwd')}`, over)
      expect([abs.status, abs.body]).to.deep.equal([400, '{"message":"invalid dockerfile \\"/etc/passwd\\": give a path inside the build context"}\n'])
    })

    it('POST /images/load: a layer with ../ entries is rejected, nothing written outside', async () => {
      const archive = readFileSync(join(images(), 'hostile-dotdot.oci.tar'))
      const r = await call(service.socket, 'POST', '/v1.47/images/load?quiet=1', archive, {'Content-Type': 'application/x-tar'})
      expect(r.status).to.equal(500)
      expect(r.body).to.match(/points outside the layer; the layer is rejected/)
      expect(existsSync(join(images(), 'canary'))).to.equal(false)
      expect(box.ok(['images', '--format', '{{.Repository}}'])).to.not.contain('hostile')
      untouched()
    })

    it('PUT /containers/{id}/archive: ../ entries and a file under a planted symlink stay in the container', async () => {
      const created = await call(service.socket, 'POST', '/v1.47/containers/create?name=cp-target', Buffer.from(JSON.stringify({Image: 'busybox', Cmd: ['true']})), {'Content-Type': 'application/json'})
      expect(created.status, created.body).to.equal(201)
      const dotdot = await tarOf([{name: `../../../../../../../..${canary}/pwned`, body: 'x'}])
      await call(service.socket, 'PUT', '/v1.47/containers/cp-target/archive?path=/tmp', dotdot, {'Content-Type': 'application/x-tar'})
      const link = await tarOf([
        {name: 'escape', type: 'symlink', linkname: canary},
        {name: 'escape/pwned', body: 'x'},
        {name: 'over', type: 'symlink', linkname: join(canary, 'target')},
        {name: 'over', body: 'replaced\n'},
      ])
      await call(service.socket, 'PUT', '/v1.47/containers/cp-target/archive?path=/tmp', link, {'Content-Type': 'application/x-tar'})
      untouched()
      box.ok(['rm', '-f', 'cp-target'])
    })
  })
})
