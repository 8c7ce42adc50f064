/**
 * Testcontainers for Node against `ncx system service`, the way CI test suites use it: a
 * GenericContainer with a mapped port and a wait strategy, reached from the test.
 */
import {expect} from 'chai'
import {request} from 'node:http'

import {Sandbox} from './harness.js'
import {startService} from './api-harness.js'

function get(port: number, path: string): Promise<{status: number; body: string}> {
  return new Promise((resolve, reject) => {
    const req = request({host: '127.0.0.1', port, path}, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('e2e: Engine API with Testcontainers for Node', function () {
  this.timeout(180_000)
  const box = new Sandbox()
  let service: Awaited<ReturnType<typeof startService>>
  const saved: Record<string, string | undefined> = {}

  before(async () => {
    box.load('busybox.oci.tar')
    service = await startService(box)
    for (const [k, v] of Object.entries({DOCKER_HOST: `unix://${service.socket}`, TESTCONTAINERS_RYUK_DISABLED: 'true', TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1'})) {
      saved[k] = process.env[k]
      process.env[k] = v
    }
  })
  after(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
    if (service) {
      service.child.kill('SIGTERM')
      await service.exited
    }
    box.destroy()
  })

  it('a GenericContainer serving HTTP on a mapped port, waited for by log message and listening port', async () => {
    const {GenericContainer, Wait} = await import('testcontainers')
    const container = await new GenericContainer('busybox')
      .withCommand(['sh', '-c', 'mkdir -p /www && echo hello-from-ncx > /www/index.html && echo serving && exec httpd -f -v -p 8080 -h /www'])
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forAll([Wait.forLogMessage('serving'), Wait.forListeningPorts()]))
      .withStartupTimeout(60_000)
      .start()
    try {
      const port = container.getMappedPort(8080)
      expect(port).to.be.a('number')
      const r = await get(port, '/index.html')
      expect([r.status, r.body]).to.deep.equal([200, 'hello-from-ncx\n'])
      const exec = await container.exec(['cat', '/www/index.html'])
      expect([exec.exitCode, exec.output]).to.deep.equal([0, 'hello-from-ncx\n'])
    } finally {
      await container.stop({timeout: 1000})
    }
    expect(box.ok(['ps', '-aq']).trim()).to.equal('')
  })
})
