import {expect} from 'chai'
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, readFileSync, readdirSync, statSync} from 'node:fs'
import {createSocket} from 'node:dgram'
import {createServer, get} from 'node:http'
import {AddressInfo, createServer as createTcpServer} from 'node:net'
import {join} from 'node:path'

import {Sandbox, asRoot, installation} from './harness.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** GET http://127.0.0.1:PORT/PATH from the test process (retrying while the server starts). */
async function fetchText(port: number, path = '/', attempts = 40): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const req = get({host: '127.0.0.1', port, path, timeout: 5000}, (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (d: string) => (body += d))
          res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))))
        })
        req.on('error', reject)
        req.on('timeout', () => req.destroy(new Error('timeout')))
      })
    } catch (error) {
      if (i >= attempts) throw error
      await sleep(100)
    }
  }
}

/** A TCP port nothing listens on right now. */
async function freePort(): Promise<number> {
  const srv = createTcpServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const {port} = srv.address() as AddressInfo
  await new Promise((r) => srv.close(r))
  return port
}

describe('e2e: networking (per-user netns, bridges, published ports)', function () {
  this.timeout(120_000)
  // Prerequisites, as .ci/run sets them up: a missing one fails the suite with the fix, never skips it.
  before(function () {
    if (spawnSync('slirp4netns', ['--version']).status !== 0) throw new Error('slirp4netns is not installed: apt-get install slirp4netns')
    // slirp4netns needs /dev/net/tun; Debian's udev makes it 0666, some VMs leave it 0600.
    if ((statSync('/dev/net/tun').mode & 0o006) !== 0o006) throw new Error('/dev/net/tun is not usable by unprivileged users: chmod 0666 /dev/net/tun (as udev does)')
  })

  describe('default bridge and published ports', () => {
    const box = new Sandbox()
    before(() => box.load('busybox.oci.tar'))
    after(() => box.destroy())

    const netnsRecord = () => JSON.parse(readFileSync(join(box.xdg, 'ncx', 'netns.json'), 'utf8')) as {pid: number; holderPid: number; slirpPid: number}
    const userns = () => (JSON.parse(readFileSync(join(box.xdg, 'ncx', 'userns.json'), 'utf8')) as {pid: number}).pid
    /** `ip -o link` inside the per-user network namespace. */
    const nsLinks = () => {
      const runtime = join(installation(), 'native', 'ncx-runtime')
      const args = ['nsexec', '--userns-pid', String(userns()), '--netns', `/proc/${netnsRecord().holderPid}/ns/net`, 'ip', '-o', 'link']
      const r = asRoot ? spawnSync('runuser', ['-u', box.owner.name, '--', runtime, ...args], {encoding: 'utf8'}) : spawnSync(runtime, args, {encoding: 'utf8'})
      expect(r.status, r.stderr).to.equal(0)
      return r.stdout
    }
    /** Processes started for this sandbox's containers (monitors and their forwarders carry the bundle path). */
    const containerProcesses = () =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(join(box.root, 'containers'))
          } catch {
            return false
          }
        })

    it('--network none has only the loopback interface', () => {
      const out = box.ok(['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link'])
      expect(out.trim().split('\n').map((l) => l.split(':')[1].trim())).to.deep.equal(['lo'])
    })

    it('the default network is bridge: eth0 with an address, a default route, slirp4netns DNS', () => {
      const out = box.ok(['run', '--rm', 'busybox', 'sh', '-c', 'ip -o -4 addr show eth0; ip route; cat /etc/resolv.conf; cat /etc/hosts'])
      expect(out).to.match(/eth0\s+inet 10\.88\.\d+\.\d+\/16/)
      expect(out).to.match(/default via 10\.88\.0\.1 dev eth0/)
      expect(out).to.include('nameserver 10.0.2.3')
      const rec = netnsRecord()
      expect(readFileSync(`/proc/${rec.slirpPid}/comm`, 'utf8').trim()).to.equal('slirp4netns')
      expect(readFileSync(`/proc/${rec.pid}/comm`, 'utf8').trim()).to.equal('ncx-netns')
      expect(box.ok(['info'])).to.match(/slirp4netns: \d+\.\d+/)
    })

    it('an HTTP server in a container answers on a published port; port, ps and inspect show it', async () => {
      const port = await freePort()
      box.ok(['run', '-d', '--name', 'web', '-p', `${port}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'])
      expect(await fetchText(port, '/hostname')).to.match(/^[0-9a-f]{12}\n$/)
      expect(box.ok(['port', 'web']).trim()).to.equal(`80/tcp -> 0.0.0.0:${port}`)
      expect(box.ok(['port', 'web', '80']).trim()).to.equal(`0.0.0.0:${port}`)
      expect(box.ok(['ps', '--format', '{{.Ports}}', '-f', 'name=web']).trim()).to.equal(`0.0.0.0:${port}->80/tcp`)
      const ip = box.ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'web']).trim()
      expect(ip).to.match(/^10\.88\./)
    })

    it('--network container:NAME shares that container\'s network namespace', () => {
      const ip = box.ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'web']).trim()
      const out = box.ok(['run', '--rm', '--network', 'container:web', 'busybox', 'sh', '-c', 'ip -o -4 addr show eth0; wget -qO- http://127.0.0.1/hostname'])
      expect(out).to.include(`inet ${ip}/16`)
      expect(out.trim().split('\n').pop()).to.equal(box.ok(['exec', 'web', 'cat', '/etc/hostname']).trim())
      const bad = box.ncx(['run', '--rm', '--network', 'container:web', '-p', '80', 'busybox', 'true'])
      expect(bad.code).to.equal(125)
    })

    it('a random host port on 127.0.0.1 (-p 127.0.0.1::80) and a large download through it', async () => {
      box.ok(['run', '-d', '--name', 'big', '-p', '127.0.0.1::80', 'busybox', 'sh', '-c', 'dd if=/dev/zero of=/www bs=1M count=64 2>/dev/null; mkdir /w; mv /www /w/big; exec httpd -f -p 80 -h /w'])
      const mapped = box.ok(['port', 'big', '80/tcp']).trim()
      expect(mapped).to.match(/^127\.0\.0\.1:\d+$/)
      const port = Number(mapped.split(':')[1])
      const body = await fetchText(port, '/big')
      expect(body.length).to.equal(64 * 1024 * 1024)
    })

    it('UDP: datagrams to a published UDP port reach a server in the container, and replies come back', async () => {
      box.ok(['run', '-d', '--name', 'udp', '-p', '127.0.0.1::5353/udp', 'busybox', 'sleep', '1000'])
      const hostPort = Number(box.ok(['port', 'udp', '5353/udp']).trim().split(':')[1])
      // The server: node, run by the test user inside the container's network namespace.
      const pid = box.ok(['inspect', '-f', '{{.State.Pid}}', 'udp']).trim()
      const echo = "const s=require('dgram').createSocket('udp4');let n=0;s.on('message',(m,r)=>s.send(Buffer.concat([Buffer.from('echo:'),m]),r.port,r.address,()=>{if(++n===2)process.exit(0)}));s.bind(5353,()=>console.log('ready'));setTimeout(()=>process.exit(1),20000)"
      const runtime = join(installation(), 'native', 'ncx-runtime')
      const args = ['nsexec', '--userns-pid', String(userns()), '--netns', `/proc/${pid}/ns/net`, process.execPath, '-e', echo]
      const server = asRoot ? spawn('runuser', ['-u', box.owner.name, '--', runtime, ...args], {stdio: ['ignore', 'pipe', 'inherit']}) : spawn(runtime, args, {stdio: ['ignore', 'pipe', 'inherit']})
      await new Promise<void>((resolve, reject) => {
        server.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve())
        server.on('exit', (c) => reject(new Error(`echo server exited ${c}`)))
      })
      const client = createSocket('udp4')
      try {
        for (const word of ['one', 'two']) {
          const reply = new Promise<string>((resolve, reject) => {
            client.once('message', (m) => resolve(m.toString()))
            setTimeout(() => reject(new Error('no UDP reply')), 5000)
          })
          client.send(word, hostPort, '127.0.0.1')
          expect(await reply).to.equal(`echo:${word}`)
        }
      } finally {
        client.close()
        // (the server exits after its second reply)
        if (server.exitCode === null) await new Promise((r) => server.once('exit', r))
      }
    })

    it('the same host port twice: the second container fails with a clear message (exit 125)', async () => {
      const port = await freePort()
      box.ok(['run', '-d', '--name', 'first', '-p', `${port}:80`, 'busybox', 'httpd', '-f', '-p', '80'])
      const r = box.ncx(['run', '-d', '--name', 'second', '-p', `${port}:80`, 'busybox', 'httpd', '-f', '-p', '80'])
      expect(r.code).to.equal(125)
      expect(r.stderr).to.include(`0.0.0.0:${port}/tcp`).and.include('already allocated by container first')
      // A port some other program holds: the kernel's answer, spelled out.
      const holder = createTcpServer()
      const taken = await freePort()
      await new Promise<void>((res) => holder.listen(taken, '0.0.0.0', res))
      try {
        const r2 = await box.run(['run', '-d', '--name', 'third', '-p', `${taken}:80`, 'busybox', 'httpd', '-f', '-p', '80'])
        expect(r2.code).to.equal(125)
        expect(r2.stderr).to.include(`0.0.0.0:${taken}/tcp`).and.include('already in use')
      } finally {
        holder.close()
      }
    })

    it('privileged ports and bad specs are refused with exit 125', () => {
      const start = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'))
      if (start > 80) {
        const r = box.ncx(['run', '--rm', '-p', '80:80', 'busybox', 'true'])
        expect(r.code).to.equal(125)
        expect(r.stderr).to.include('net.ipv4.ip_unprivileged_port_start')
      }
      for (const spec of ['8o:80', '1:2:3:4', '80/sctp', '99999:80']) {
        const r = box.ncx(['run', '--rm', '-p', spec, 'busybox', 'true'])
        expect(r.code, spec).to.equal(125)
        expect(r.stderr, spec).to.include('invalid publish spec')
      }
    })

    it('run/rm cycles leave no veth, address or process behind', async () => {
      for (const id of box.ok(['ps', '-aq']).trim().split('\n').filter(Boolean)) box.ok(['rm', '-f', id])
      for (let i = 0; i < 10; i++) {
        box.ok(['run', '--rm', 'busybox', 'true'])
        box.ok(['run', '-d', '--name', `cycle${i}`, '-p', '127.0.0.1::80', 'busybox', 'httpd', '-f', '-p', '80'])
        box.ok(['rm', '-f', `cycle${i}`])
      }
      await sleep(300)
      expect(nsLinks()).to.not.include('veth')
      expect(containerProcesses()).to.deep.equal([])
      const nets = JSON.parse(readFileSync(join(box.root, 'networks.json'), 'utf8')) as {networks: Record<string, {allocations: Record<string, string>}>}
      expect(nets.networks.bridge.allocations).to.deep.equal({})
    })

    it('slirp4netns is restarted when it dies', async () => {
      const before = netnsRecord()
      process.kill(before.slirpPid, 'SIGKILL')
      const end = Date.now() + 10_000
      while (netnsRecord().slirpPid === before.slirpPid && Date.now() < end) await sleep(50)
      expect(netnsRecord().slirpPid).to.not.equal(before.slirpPid)
      expect(nsLinks()).to.include('tap0')
    })

    it('the per-user network namespace goes away with the user-namespace holder', async () => {
      const rec = netnsRecord()
      const holder = userns()
      process.kill(holder, 'SIGKILL')
      // (until the user-namespace holder is reaped, ncx still takes it for alive)
      for (const end = Date.now() + 10_000; existsSync(`/proc/${holder}`) && Date.now() < end; ) await sleep(50)
      const end = Date.now() + 10_000
      while (existsSync(`/proc/${rec.pid}`) && !/ [ZX] /.test(readFileSync(`/proc/${rec.pid}/stat`, 'utf8')) && Date.now() < end) await sleep(50)
      const gone = (pid: number) => !existsSync(`/proc/${pid}`) || / [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
      await sleep(200)
      expect(gone(rec.pid), 'supervisor').to.equal(true)
      expect(gone(rec.holderPid), 'holder').to.equal(true)
      expect(gone(rec.slirpPid), 'slirp4netns').to.equal(true)
      // And the next container gets a fresh one.
      expect(box.ok(['run', '--rm', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0'])).to.match(/inet 10\.88\./)
    })
  })

  describe('user-defined networks', () => {
    const box = new Sandbox()
    before(() => box.load('busybox.oci.tar'))
    after(() => box.destroy())

    it('network create, ls, inspect', () => {
      const id = box.ok(['network', 'create', 'appnet']).trim()
      expect(id).to.match(/^[0-9a-f]{64}$/)
      box.ok(['network', 'create', '--subnet', '10.90.7.0/24', '--gateway', '10.90.7.254', 'othernet'])
      const ls = box.ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']).trim().split('\n')
      expect(ls).to.deep.equal(['bridge bridge', 'appnet bridge', 'othernet bridge'])
      const doc = JSON.parse(box.ok(['network', 'inspect', 'othernet'])) as Array<{Name: string; IPAM: {Config: Array<{Subnet: string; Gateway: string}>}}>
      expect(doc[0].IPAM.Config[0]).to.deep.equal({Subnet: '10.90.7.0/24', Gateway: '10.90.7.254'})
      expect(box.ncx(['network', 'create', 'appnet']).code).to.not.equal(0)
      expect(box.ncx(['network', 'create', '--subnet', '10.90.7.128/25', 'clash']).stderr).to.include('overlaps')
    })

    it('containers on one network reach each other by name and alias, not across networks', () => {
      box.ok(['run', '-d', '--name', 'db', '--network', 'appnet', '--network-alias', 'database', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'])
      box.ok(['run', '-d', '--name', 'far', '--network', 'othernet', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'])
      const dbHost = box.ok(['exec', 'db', 'cat', '/etc/hostname']).trim()
      const byName = box.ok(['run', '--rm', '--network', 'appnet', 'busybox', 'wget', '-qO-', 'http://db/hostname']).trim()
      expect(byName).to.equal(dbHost)
      const byAlias = box.ok(['run', '--rm', '--network', 'appnet', 'busybox', 'wget', '-qO-', 'http://database/hostname']).trim()
      expect(byAlias).to.equal(dbHost)
      // The running db container learns names of containers that join later.
      box.ok(['run', '-d', '--name', 'late', '--network', 'appnet', 'busybox', 'sleep', '1000'])
      expect(box.ok(['exec', 'db', 'cat', '/etc/hosts'])).to.match(/\slate(\s|$)/m)
      const farIp = box.ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'far']).trim()
      expect(farIp).to.match(/^10\.90\.7\./)
      // (`; echo`: sh must not exec timeout as PID 1, which could not kill its own child.)
      const attempt = `timeout -s KILL 3 wget -qO- http://${farIp}/hostname; echo rc=$?`
      expect(box.ok(['run', '--rm', '--network', 'appnet', 'busybox', 'sh', '-c', attempt])).to.match(/^rc=[1-9]\d*\n$/)
      expect(box.ok(['run', '--rm', 'busybox', 'sh', '-c', attempt])).to.match(/^rc=[1-9]\d*\n$/)
      // Within the network the same request works.
      expect(box.ok(['run', '--rm', '--network', 'othernet', 'busybox', 'sh', '-c', attempt])).to.match(/^[0-9a-f]{12}\nrc=0\n$/)
    })

    it('network rm refuses a network in use; rm and prune remove unused ones', () => {
      const r = box.ncx(['network', 'rm', 'appnet'])
      expect(r.code).to.equal(1)
      expect(r.stderr).to.include('active endpoints')
      box.ok(['rm', '-f', 'late'])
      expect(box.ok(['exec', 'db', 'cat', '/etc/hosts'])).to.not.match(/\slate(\s|$)/m)
      box.ok(['rm', '-f', 'db'])
      expect(box.ok(['network', 'rm', 'appnet']).trim()).to.equal('appnet')
      box.ok(['network', 'create', 'spare'])
      box.ok(['rm', '-f', 'far'])
      expect(box.ok(['network', 'prune', '-f'])).to.include('othernet').and.include('spare')
      expect(box.ok(['network', 'ls', '-q']).trim().split('\n')).to.have.length(1)
      expect(box.ncx(['network', 'rm', 'bridge']).code).to.equal(1)
    })

    it('--dns and --add-host shape resolv.conf and hosts; --network host shares the host network', () => {
      const out = box.ok(['run', '--rm', '--dns', '10.0.2.3', '--dns-search', 'example.test', '--add-host', 'gw:host-gateway', '--add-host', 'x.test:10.1.2.3', 'busybox', 'sh', '-c', 'cat /etc/resolv.conf /etc/hosts'])
      expect(out).to.include('search example.test').and.include('nameserver 10.0.2.3')
      expect(out).to.match(/10\.0\.2\.2\tgw/).and.match(/10\.1\.2\.3\tx\.test/)
      const hostLinks = box.ok(['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link'])
      expect(hostLinks).to.not.match(/^\d+: eth0@/m)
      expect(hostLinks.trim().split('\n').length).to.be.greaterThan(1)
    })
  })

  describe('outbound traffic through slirp4netns to the host (host loopback enabled)', () => {
    const box = new Sandbox()
    const env = {NCX_NETWORK_HOST_LOOPBACK: '1'}
    before(() => box.load('busybox.oci.tar'))
    after(() => box.destroy())

    it('a container reaches a server the test runs on 127.0.0.1 through 10.0.2.2', async () => {
      const server = createServer((req, res) => res.end(`hello from the host ${req.url}\n`))
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      const {port} = server.address() as AddressInfo
      try {
        const r = await box.run(['run', '--rm', 'busybox', 'wget', '-qO-', `http://10.0.2.2:${port}/x`], {env})
        expect(r.code, r.stderr).to.equal(0)
        expect(r.stdout).to.equal('hello from the host /x\n')
      } finally {
        server.close()
      }
    })
  })
})
