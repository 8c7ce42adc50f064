import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {Sandbox} from './harness.js'
import {fetchText, freePort, sleep, udpEcho} from './net-helpers.js'

/** Socket inodes in a /proc/net/tcp{,6} text (the listening sockets of one network namespace and their connections). */
function inodes(text: string): Set<string> {
  const out = new Set<string>()
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length > 9 && f[9] !== '0') out.add(f[9])
  }
  return out
}

/** The TCP sockets (inodes) the host's network namespace has, as this test process sees them. */
const hostTcp = () => inodes(readFileSync('/proc/net/tcp', 'utf8') + readFileSync('/proc/net/tcp6', 'utf8'))

/** The inodes of the sockets a container's process 1 holds. */
function pid1Sockets(box: Sandbox, name: string): string[] {
  const out = box.ok(['exec', name, 'ls', '-l', '/proc/1/fd'])
  return [...out.matchAll(/socket:\[(\d+)\]/g)].map((m) => m[1])
}

/** The TCP sockets of a container's own network namespace. */
const containerTcp = (box: Sandbox, name: string) => inodes(box.ok(['exec', name, 'cat', '/proc/net/tcp', '/proc/net/tcp6']))

describe('e2e: published-port bypass (NCX_PORT_BYPASS=1, [network] port_bypass)', function () {
  this.timeout(120_000)
  before(function () {
    if (spawnSync('slirp4netns', ['--version']).status !== 0) throw new Error('slirp4netns is not installed: apt-get install slirp4netns')
    if ((statSync('/dev/net/tun').mode & 0o006) !== 0o006) throw new Error('/dev/net/tun is not usable by unprivileged users: chmod 0666 /dev/net/tun (as udev does)')
  })

  const box = new Sandbox()
  const on = {env: {NCX_PORT_BYPASS: '1'}}
  before(() => {
    box.load('busybox.oci.tar')
    box.ok(['network', 'create', 'bnet'])
  })
  after(() => box.destroy())

  it('a published httpd answers from the host over the host socket itself: its listening socket is not in the container\'s namespace', async () => {
    const port = await freePort()
    // Also a second server on a port that is not published: bound in the container's namespace as always.
    box.ok(['run', '-d', '--name', 'web', '--network', 'bnet', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'httpd -p 8000 -h /etc; exec httpd -f -p 80 -h /etc'], on)
    expect(await fetchText(port, '/hostname')).to.equal(box.ok(['exec', 'web', 'cat', '/etc/hostname']))
    const [listener] = pid1Sockets(box, 'web')
    expect(listener, 'httpd holds its listening socket as fd 3').to.match(/^\d+$/)
    expect(hostTcp().has(listener), 'the published port\'s socket lives in the host\'s namespace').to.equal(true)
    expect(containerTcp(box, 'web').has(listener)).to.equal(false)
    expect(box.ok(['port', 'web']).trim()).to.equal(`80/tcp -> 0.0.0.0:${port}`)
  })

  it('the container reaches it at localhost:80 and a peer by name (web:80) through the reverse relay', () => {
    const hostname = box.ok(['exec', 'web', 'cat', '/etc/hostname'])
    expect(box.ok(['exec', 'web', 'wget', '-qO-', 'http://localhost:80/hostname'])).to.equal(hostname)
    expect(box.ok(['exec', 'web', 'wget', '-qO-', 'http://127.0.0.1:80/hostname'])).to.equal(hostname)
    expect(box.ok(['run', '--rm', '--network', 'bnet', 'busybox', 'wget', '-qO-', 'http://web:80/hostname'])).to.equal(hostname)
  })

  it('a health check on localhost:80 passes (the probe runs in the container\'s namespaces)', async () => {
    const port = await freePort()
    box.ok(['run', '-d', '--name', 'checked', '-p', `127.0.0.1:${port}:80`, '--health-cmd', 'wget -qO- http://localhost:80/hostname', '--health-interval', '300ms', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'], on)
    await fetchText(port, '/hostname')
    const health = () => box.ok(['inspect', '-f', '{{.State.Health.Status}}', 'checked']).trim()
    const end = Date.now() + 20_000
    while (health() !== 'healthy' && Date.now() < end) await sleep(200)
    expect(health()).to.equal('healthy')
    expect(hostTcp().has(pid1Sockets(box, 'checked')[0])).to.equal(true)
  })

  it('a port that is not published is untouched: bound in the container\'s namespace, reached by peers directly', () => {
    const own = containerTcp(box, 'web')
    // The unpublished server (the first httpd, not PID 1): its socket is one of the container's own.
    const pids = box.ok(['exec', 'web', 'pidof', 'httpd']).trim().split(/\s+/)
    const other = pids.find((p) => p !== '1')!
    const inode = [...box.ok(['exec', 'web', 'ls', '-l', `/proc/${other}/fd`]).matchAll(/socket:\[(\d+)\]/g)].map((m) => m[1])[0]
    expect(own.has(inode), 'port 8000 is bound in the container').to.equal(true)
    expect(hostTcp().has(inode)).to.equal(false)
    expect(box.ok(['run', '--rm', '--network', 'bnet', 'busybox', 'wget', '-qO-', 'http://web:8000/hostname'])).to.equal(box.ok(['exec', 'web', 'cat', '/etc/hostname']))
  })

  it('a restarted container binds the port again (the port works across restarts)', async () => {
    const port = await freePort()
    box.ok(['run', '-d', '--name', 'again', '-p', `127.0.0.1:${port}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'], on)
    expect(await fetchText(port, '/hostname')).to.match(/^[0-9a-f]{12}\n$/)
    box.ok(['restart', '-t', '1', 'again'], on)
    expect(await fetchText(port, '/hostname')).to.match(/^[0-9a-f]{12}\n$/)
    const [listener] = pid1Sockets(box, 'again')
    expect(hostTcp().has(listener)).to.equal(true)
  })

  it('per container: --annotation ncx.bypass4netns=true turns it on, nerdctl/bypass4netns=false off over NCX_PORT_BYPASS=1; a bad value is refused', async () => {
    const port = await freePort()
    box.ok(['run', '-d', '--name', 'annotated', '--annotation', 'ncx.bypass4netns=true', '-p', `127.0.0.1:${port}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'])
    expect(await fetchText(port, '/hostname')).to.match(/^[0-9a-f]{12}\n$/)
    expect(hostTcp().has(pid1Sockets(box, 'annotated')[0])).to.equal(true)
    const port2 = await freePort()
    box.ok(['run', '-d', '--name', 'optout', '--annotation', 'nerdctl/bypass4netns=false', '-p', `127.0.0.1:${port2}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'], on)
    expect(await fetchText(port2, '/hostname')).to.match(/^[0-9a-f]{12}\n$/)
    expect(containerTcp(box, 'optout').has(pid1Sockets(box, 'optout')[0])).to.equal(true)
    const bad = box.ncx(['run', '-d', '--annotation', 'ncx.bypass4netns=maybe', '-p', '80', 'busybox', 'true'])
    expect(bad.code).to.equal(125)
    expect(bad.stderr).to.contain('invalid annotation ncx.bypass4netns=maybe: must be true or false')
    box.ok(['rm', '-f', 'annotated', 'optout'])
  })

  it('off (the default): the published port is relayed, the container\'s socket stays in its namespace', async () => {
    const port = await freePort()
    box.ok(['run', '-d', '--name', 'relayed', '-p', `127.0.0.1:${port}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'])
    expect(await fetchText(port, '/hostname')).to.match(/^[0-9a-f]{12}\n$/)
    const [listener] = pid1Sockets(box, 'relayed')
    expect(containerTcp(box, 'relayed').has(listener)).to.equal(true)
    expect(hostTcp().has(listener)).to.equal(false)
  })

  it('[network] port_bypass = true in ncx.toml turns it on; NCX_PORT_BYPASS=0 overrides the file', async () => {
    const conf = join(box.root, 'ncx.toml')
    writeFileSync(conf, '[network]\nport_bypass = true\n', {mode: 0o644})
    const [p1, p2] = [await freePort(), await freePort()]
    box.ok(['run', '-d', '--name', 'viafile', '-p', `127.0.0.1:${p1}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'], {env: {NCX_CONFIG: conf}})
    box.ok(['run', '-d', '--name', 'envoff', '-p', `127.0.0.1:${p2}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'], {env: {NCX_CONFIG: conf, NCX_PORT_BYPASS: '0'}})
    await fetchText(p1, '/hostname')
    await fetchText(p2, '/hostname')
    expect(hostTcp().has(pid1Sockets(box, 'viafile')[0])).to.equal(true)
    expect(hostTcp().has(pid1Sockets(box, 'envoff')[0])).to.equal(false)
    expect(box.ok(['info'], {env: {NCX_CONFIG: conf}})).to.contain('  Port Bypass: on (config file)')
    expect(box.ok(['info'], {env: {NCX_CONFIG: conf, NCX_PORT_BYPASS: '0'}})).to.contain('  Port Bypass: off (env NCX_PORT_BYPASS)')
    expect(box.ok(['info'])).to.contain('  Port Bypass: off (default)')
    const bad = box.ncx(['run', '--rm', '-p', '127.0.0.1::80', 'busybox', 'true'], {env: {NCX_PORT_BYPASS: 'maybe'}})
    expect(bad.code).to.equal(125)
    expect(bad.stderr).to.include('NCX_PORT_BYPASS=maybe: must be 1, true, 0 or false')
  })

  it('UDP is unaffected: a published UDP port is still relayed both ways', async () => {
    box.ok(['run', '-d', '--name', 'udp', '-p', '127.0.0.1::5353/udp', '-p', '127.0.0.1::80', 'busybox', 'sleep', '1000'], on)
    expect(await udpEcho(box, 'udp', ['one', 'two'])).to.deep.equal(['echo:one', 'echo:two'])
  })
})
