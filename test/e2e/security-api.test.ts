/**
 * The Engine API's socket belongs to its user alone: another user cannot connect, and TCP is
 * served on loopback addresses only.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'

import {Sandbox, asRoot, ensureUser} from './harness.js'
import {startService} from './api-harness.js'

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
})
