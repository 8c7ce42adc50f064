/**
 * Docker Compose v1 (Debian's docker-compose 1.29, Python over docker-py) against
 * `ncx system service`: a two-service project with a user network, a named volume, a
 * healthcheck, depends_on and a published port, driven through up/ps/logs/exec/down.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {request} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Sandbox} from './harness.js'
import {startService} from './api-harness.js'

const COMPOSE = ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose'].find((p) => existsSync(p))

const PROJECT = `version: "3.8"
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo web up; echo hello from the volume > /www/index.html; exec httpd -f -p 80 -h /www"]
    volumes: ["data:/www"]
    networks: [back]
    ports: ["127.0.0.1::80"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1/"]
      interval: 1s
      retries: 20
  client:
    image: busybox
    command: ["sh", "-c", "echo client up; while sleep 1; do wget -q -O- http://web/ || true; done"]
    depends_on: [web]
    networks: [back]
    environment:
      ROLE: client
volumes:
  data: {}
networks:
  back: {}
`

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({host: '127.0.0.1', port, path: '/'}, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d))
      res.on('end', () => resolve(body))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('e2e: Engine API with docker-compose 1.29 (docker-py)', function () {
  this.timeout(180_000)
  const box = new Sandbox()
  let service: Awaited<ReturnType<typeof startService>>
  let dir: string
  const compose = (args: string[]) => {
    const r = spawnSync(COMPOSE!, ['-p', 'demo', ...args], {cwd: dir, encoding: 'utf8', timeout: 120_000, env: {PATH: process.env.PATH, HOME: dir, DOCKER_HOST: `unix://${service.socket}`, COMPOSE_INTERACTIVE_NO_CLI: '1'}})
    return {code: r.status ?? 137, stdout: r.stdout, stderr: r.stderr}
  }
  const ok = (args: string[]) => {
    const r = compose(args)
    if (r.code !== 0) throw new Error(`docker-compose ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return r
  }

  before(async function () {
    if (!COMPOSE) throw new Error("no docker-compose: install Debian's docker-compose (1.29, the Python Compose v1)")
    box.load('busybox.oci.tar')
    service = await startService(box)
    dir = mkdtempSync(join(tmpdir(), 'ncx-compose-api-'))
    writeFileSync(join(dir, 'docker-compose.yml'), PROJECT)
  })
  after(async () => {
    if (service) {
      compose(['down', '-v', '-t', '1'])
      service.child.kill('SIGTERM')
      await service.exited
    }
    if (dir) rmSync(dir, {recursive: true, force: true})
    box.destroy()
  })

  it('up -d creates the network, the volume and both services, in dependency order', () => {
    const up = ok(['up', '-d'])
    expect(up.stderr).to.match(/Creating network "demo_back"/)
    expect(up.stderr).to.match(/Creating volume "demo_data"/)
    expect(up.stderr.indexOf('demo_web_1')).to.be.lessThan(up.stderr.indexOf('demo_client_1'))
    expect(box.ok(['network', 'ls', '--format', '{{.Name}}']).split('\n')).to.include('demo_back')
    expect(box.ok(['volume', 'ls', '--format', '{{.Name}}']).trim()).to.equal('demo_data')
    expect(box.ok(['ps', '--format', '{{.Names}} {{.Label "com.docker.compose.service"}}']).trim().split('\n').sort()).to.deep.equal(['demo_client_1 client', 'demo_web_1 web'])
  })

  it('ps shows both services up, the healthcheck healthy, the published port', async () => {
    let ps = ''
    for (let i = 0; i < 60; i++) {
      ps = ok(['ps']).stdout
      if (/demo_web_1.*Up \(healthy\)/.test(ps)) break
      await new Promise((r) => setTimeout(r, 500))
    }
    expect(ps).to.match(/demo_web_1 .*Up \(healthy\)\s+127\.0\.0\.1:\d+->80\/tcp/)
    expect(ps).to.match(/demo_client_1 .*Up/)
    const port = Number(ok(['port', 'web', '80']).stdout.trim().split(':')[1])
    expect(await get(port)).to.equal('hello from the volume\n')
    expect(ok(['ps', '-q']).stdout.trim().split('\n')).to.have.length(2)
  })

  it('logs: each service prefixed, the client reaching web by its name over the user network', async () => {
    let logs = ''
    for (let i = 0; i < 40; i++) {
      logs = ok(['logs', '--no-color']).stdout
      if (/client_1\s+\| hello from the volume/.test(logs)) break
      await new Promise((r) => setTimeout(r, 500))
    }
    expect(logs).to.match(/web_1\s+\| web up/)
    expect(logs).to.match(/client_1\s+\| client up/)
    expect(logs).to.match(/client_1\s+\| hello from the volume/)
    expect(ok(['logs', '--no-color', 'web']).stdout).to.not.match(/client_1/)
  })

  it('exec -T: output, environment and exit code', () => {
    expect(ok(['exec', '-T', 'web', 'cat', '/www/index.html']).stdout).to.equal('hello from the volume\n')
    expect(ok(['exec', '-T', 'client', 'sh', '-c', 'echo $ROLE']).stdout).to.equal('client\n')
    expect(compose(['exec', '-T', 'client', 'sh', '-c', 'exit 4']).code).to.equal(4)
  })

  it('up -d again leaves the running services as they are', () => {
    const before = box.ok(['ps', '-q', '--no-trunc']).trim().split('\n').sort()
    const up = ok(['up', '-d'])
    expect(up.stderr).to.match(/demo_web_1 is up-to-date/)
    expect(up.stderr).to.match(/demo_client_1 is up-to-date/)
    expect(box.ok(['ps', '-q', '--no-trunc']).trim().split('\n').sort()).to.deep.equal(before)
  })

  it('down -v removes the containers, the network and the volume', () => {
    const down = ok(['down', '-v', '-t', '1'])
    expect(down.stderr).to.match(/Removing network demo_back/)
    expect(down.stderr).to.match(/Removing volume demo_data/)
    expect(box.ok(['ps', '-aq']).trim()).to.equal('')
    expect(box.ok(['network', 'ls', '--format', '{{.Name}}']).split('\n')).to.not.include('demo_back')
    expect(box.ok(['volume', 'ls', '-q']).trim()).to.equal('')
    expect(ok(['ps', '-q']).stdout.trim()).to.equal('')
  })
})
