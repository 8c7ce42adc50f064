/**
 * Networking under faults: a SIGKILL inside bridge setup (default bridge and a user-defined
 * network) leaves a network the next `run` repairs, with no address held by the container the
 * kill left half-made; `doctor` sees the broken state meanwhile. Loopback is up in a network
 * namespace of the container's own (`--network none` too). Rootful ncx has Docker's default
 * network and publishes ports. Without slirp4netns or a usable /dev/net/tun, a container that
 * needs a network is refused with one error naming what is missing and the fix.
 */
import {expect} from 'chai'
import {execFileSync, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Sandbox, asRoot, images, repo, userDir} from './harness.js'
import {fetchText, freePort, sleep} from './net-helpers.js'

interface BridgeState {
  holderPid: number
  bridges: string[]
  pending?: string[]
}

interface DoctorCheck {
  id: string
  status: string
  detail: string
  fix?: string
}

/** A live process's name (undefined: gone or a zombie). */
function comm(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return undefined
    return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
  } catch {
    return undefined
  }
}

/** The interfaces of the network namespace `pid` is in. */
function linksOf(pid: number): Set<string> {
  try {
    return new Set(
      readFileSync(`/proc/${pid}/net/dev`, 'utf8')
        .split('\n')
        .slice(2)
        .map((l) => /^\s*([^:\s]+):/.exec(l)?.[1])
        .filter((n): n is string => n !== undefined),
    )
  } catch {
    return new Set()
  }
}

describe('e2e: networking faults', function () {
  this.timeout(600_000)
  before(function () {
    if (spawnSync('slirp4netns', ['--version']).status !== 0) throw new Error('slirp4netns is not installed: apt-get install slirp4netns')
  })

  describe('a SIGKILL inside bridge setup', () => {
    const box = new Sandbox()
    before(() => {
      box.load('busybox.oci.tar')
      box.ok(['run', '--rm', '--network', 'none', 'busybox', 'true']) // the user namespace and the layers exist
    })
    after(() => box.destroy())

    const runDir = () => join(box.xdg, 'ncx')
    const readJson = <T>(file: string, fallback: T): T => {
      try {
        return JSON.parse(readFileSync(join(runDir(), file), 'utf8')) as T
      } catch {
        return fallback
      }
    }
    /** The live namespace's holder (0: none). */
    const holder = (): number => {
      const r = readJson<{pid: number; holderPid: number} | undefined>('netns.json', undefined)
      return r && comm(r.pid) === 'ncx-netns' && comm(r.holderPid) === 'ncx-netns-hold' ? r.holderPid : 0
    }
    /** End the network namespace (the next container that needs it makes a new one, with no bridges). */
    const endNetns = async () => {
      const r = readJson<{pid: number; holderPid: number} | undefined>('netns.json', undefined)
      if (!r || !holder()) return
      process.kill(r.pid, 'SIGKILL')
      for (let i = 0; i < 100 && (comm(r.pid) || comm(r.holderPid)); i++) await sleep(20)
    }
    const networksFile = () => JSON.parse(readFileSync(join(box.root, 'networks.json'), 'utf8')) as {networks: Record<string, {bridge: string; subnet: string; allocations: Record<string, string>}>}
    const doctorBridges = (): DoctorCheck | undefined => (JSON.parse(box.ncx(['system', 'doctor', '--format', 'json']).stdout) as {checks: DoctorCheck[]}).checks.find((c) => c.id === 'bridges')

    type Outcome = 'early' | 'hit' | 'late'
    /** Where a kill landed for `bridge`: before its setup, inside it (begun, not whole), or after it. */
    const outcome = (bridge: string): Outcome => {
      const h = holder()
      if (!h) return 'early'
      const links = linksOf(h)
      const s = readJson<BridgeState>('bridges.json', {holderPid: 0, bridges: []})
      const current = s.holderPid === h
      const whole = current && s.bridges.includes(bridge) && !(s.pending ?? []).includes(bridge) && links.has(bridge)
      const begun = links.has(bridge) || (current && (s.pending ?? []).includes(bridge))
      return whole ? 'late' : begun ? 'hit' : 'early'
    }

    /**
     * SIGKILL the whole `ncx run` on a fresh bridge at increasing delays, narrowing down on the
     * setup, until a kill lands inside it. `fresh` makes the bridge fresh again (returns its
     * network and bridge names).
     */
    async function killInsideBridgeSetup(fresh: () => Promise<{network: string; bridge: string}>): Promise<{network: string; bridge: string; attempts: number; delay: number}> {
      let target = await fresh()
      // Calibrate: how long a whole first run on a fresh bridge takes here.
      const t0 = Date.now()
      box.ok(['run', '--rm', '--network', target.network, 'busybox', 'true'])
      const whole = Date.now() - t0
      expect(outcome(target.bridge)).to.equal('late')
      target = await fresh()
      let early = 0
      let late = whole + 200
      let delay = Math.round(whole * 0.3)
      for (let attempt = 1; attempt <= 150; attempt++) {
        await box.killAfter(['run', '--rm', '--network', target.network, 'busybox', 'true'], delay)
        const o = outcome(target.bridge)
        if (o === 'hit') return {...target, attempts: attempt, delay}
        if (o === 'early') early = Math.max(early, delay)
        else {
          late = Math.min(late, delay)
          target = await fresh()
        }
        // (timing is noisy: bounds that crossed are widened again)
        if (late <= early + 4) [early, late] = [Math.max(0, early - 40), late + 40]
        delay = Math.round(early + 2 + Math.random() * (late - early - 2))
      }
      throw new Error(`no kill landed inside the setup of a bridge in 150 attempts (a whole run takes ${whole} ms)`)
    }

    /** Containers' directories that are not listed containers (half-made ones left behind). */
    const strayContainerDirs = () => {
      const listed = new Set(box.ok(['ps', '-aq', '--no-trunc']).trim().split('\n').filter(Boolean))
      const dir = join(box.root, 'containers')
      return existsSync(dir) ? readdirSync(dir).filter((d) => /^[0-9a-f]{64}$/.test(d) && !listed.has(d)) : []
    }

    it('default bridge: the next run works and gets an address, nothing holds an address, doctor saw it', async () => {
      const hit = await killInsideBridgeSetup(async () => {
        await endNetns()
        return {network: 'bridge', bridge: 'ncx0'}
      })
      console.log(`      (kill landed inside the setup of ncx0 after ${hit.delay} ms, attempt ${hit.attempts})`)
      const doctorBefore = doctorBridges()
      const inspectBefore = JSON.parse(box.ok(['network', 'inspect', 'bridge'])) as Array<{Containers: Record<string, unknown>}>
      const r = box.ncx(['run', '--rm', 'busybox', 'sh', '-c', 'ip -o -4 addr show eth0; ping -c1 -W3 10.0.2.2 >/dev/null && echo outbound-ok'])
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout).to.match(/eth0\s+inet 10\.88\.\d+\.\d+\/16/)
      expect(r.stdout).to.include('outbound-ok')
      // A second container too (the address of the half-made one is free again).
      box.ok(['run', '-d', '--name', 'after-crash', 'busybox', 'sleep', '1000'])
      expect(box.ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'after-crash']).trim()).to.match(/^10\.88\.\d+\.\d+$/)
      // The container the kill left half-made never held an address visibly, and is gone now.
      expect(inspectBefore[0].Containers).to.deep.equal({})
      expect(strayContainerDirs()).to.deep.equal([])
      const id = box.ok(['inspect', '-f', '{{.Id}}', 'after-crash']).trim()
      expect(Object.values(networksFile().networks.bridge.allocations)).to.deep.equal([id])
      box.ok(['rm', '-f', 'after-crash'])
      expect(doctorBefore?.status, JSON.stringify(doctorBefore)).to.equal('warn')
      expect(doctorBefore?.detail).to.include('bridge ncx0 (network bridge)')
      expect(doctorBefore?.fix).to.match(/ncx repairs every bridge/)
      expect(doctorBridges()?.status).to.equal('ok')
    })

    let serial = 0
    const freshNetwork = async () => {
      // (whatever a late kill left: a whole container, a network in use)
      const ids = box.ok(['ps', '-aq']).trim()
      if (ids) box.ok(['rm', '-f', ...ids.split('\n')])
      const name = `crash${serial++}`
      box.ok(['network', 'create', name])
      return {network: name, bridge: networksFile().networks[name].bridge}
    }

    it('user-defined network: doctor sees it, the next run works, network rm works and removes the link', async () => {
      const hit = await killInsideBridgeSetup(freshNetwork)
      console.log(`      (kill landed inside the setup of ${hit.bridge} after ${hit.delay} ms, attempt ${hit.attempts})`)
      const doctorBefore = doctorBridges()
      const inspectBefore = JSON.parse(box.ok(['network', 'inspect', hit.network])) as Array<{Containers: Record<string, unknown>}>
      const r = box.ncx(['run', '--rm', '--network', hit.network, 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0'])
      expect(r.code, r.stderr).to.equal(0)
      const subnet = networksFile().networks[hit.network].subnet
      expect(r.stdout).to.include(`inet ${subnet.split('.').slice(0, 3).join('.')}.`)
      expect(inspectBefore[0].Containers).to.deep.equal({})
      expect(strayContainerDirs()).to.deep.equal([])
      expect(networksFile().networks[hit.network].allocations).to.deep.equal({})
      expect(doctorBefore?.status, JSON.stringify(doctorBefore)).to.equal('warn')
      expect(doctorBefore?.detail).to.include(`bridge ${hit.bridge} (network ${hit.network})`)
      box.ok(['network', 'rm', hit.network])
      expect(linksOf(holder()).has(hit.bridge)).to.equal(false)
      const s = readJson<BridgeState>('bridges.json', {holderPid: 0, bridges: []})
      expect([...s.bridges, ...(s.pending ?? [])]).to.not.include(hit.bridge)
      expect(doctorBridges()?.status).to.equal('ok')
    })

    it('system check reports a bridge a kill left not whole, and --repair makes it whole', async () => {
      const hit = await killInsideBridgeSetup(freshNetwork)
      const before = JSON.parse(box.ncx(['system', 'check', '--quick', '--format', 'json']).stdout) as {problems: Array<{kind: string; ref: string}>}
      expect(before.problems.filter((p) => p.kind === 'bridge-not-whole').map((p) => p.ref)).to.include(hit.bridge)
      const repaired = box.ncx(['system', 'check', '--quick', '--repair', '--format', 'json'])
      const report = JSON.parse(repaired.stdout) as {problems: Array<{kind: string; repaired?: boolean}>}
      expect(report.problems.filter((p) => p.kind === 'bridge-not-whole').every((p) => p.repaired), repaired.stdout).to.equal(true)
      expect(doctorBridges()?.status).to.equal('ok')
      expect(linksOf(holder()).has(hit.bridge)).to.equal(true) // adopted: the network still exists
      box.ok(['network', 'rm', hit.network])
    })

    it('user-defined network: network rm straight after the crash works and leaves no link', async () => {
      const hit = await killInsideBridgeSetup(freshNetwork)
      console.log(`      (kill landed inside the setup of ${hit.bridge} after ${hit.delay} ms, attempt ${hit.attempts})`)
      const r = box.ncx(['network', 'rm', hit.network])
      expect(r.code, r.stderr).to.equal(0)
      expect(linksOf(holder()).has(hit.bridge)).to.equal(false)
      const s = readJson<BridgeState>('bridges.json', {holderPid: 0, bridges: []})
      expect([...s.bridges, ...(s.pending ?? [])]).to.not.include(hit.bridge)
      expect(doctorBridges()?.status).to.equal('ok')
      // and the default bridge still works
      expect(box.ok(['run', '--rm', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0'])).to.match(/inet 10\.88\./)
    })
  })

  describe('loopback in a network namespace of its own', () => {
    const box = new Sandbox()
    before(() => box.load('busybox.oci.tar'))
    after(() => box.destroy())

    const serveAndFetch = 'ip -o link show lo; httpd -p 127.0.0.1:8080 -h /etc && wget -qO- http://127.0.0.1:8080/hostname && echo loopback-ok'

    it('--network none: lo is UP and 127.0.0.1 reachable (run and run -d + exec)', () => {
      const out = box.ok(['run', '--rm', '--network', 'none', '--hostname', 'solo', 'busybox', 'sh', '-c', serveAndFetch])
      expect(out).to.match(/^1: lo: <LOOPBACK,UP,LOWER_UP>/)
      expect(out).to.include('solo\nloopback-ok')
      box.ok(['run', '-d', '--name', 'none-d', '--network', 'none', 'busybox', 'sleep', '1000'])
      try {
        expect(box.ok(['exec', 'none-d', 'ip', '-o', 'link', 'show', 'lo'])).to.match(/<LOOPBACK,UP,LOWER_UP>/)
        // and after a restart (a new namespace)
        box.ok(['restart', '-t', '0', 'none-d'])
        expect(box.ok(['exec', 'none-d', 'sh', '-c', serveAndFetch])).to.include('loopback-ok')
      } finally {
        box.ok(['rm', '-f', 'none-d'])
      }
    })

    it('the default bridge has lo UP as well', () => {
      expect(box.ok(['run', '--rm', 'busybox', 'sh', '-c', serveAndFetch])).to.include('loopback-ok')
    })
  })

  describe('no network backend: one clear error instead of an offline container', () => {
    const box = new Sandbox()
    before(() => {
      box.load('busybox.oci.tar')
      box.ok(['run', '--rm', '--network', 'none', 'busybox', 'true'])
    })
    after(() => box.destroy())

    const expectRefused = (r: {code: number; stdout: string; stderr: string}, what: RegExp, fix: RegExp) => {
      expect(r.code, r.stderr).to.equal(125)
      const lines = r.stderr.trim().split('\n')
      expect(lines[0]).to.match(/^ncx: cannot give the container a network \(--network bridge\): /).and.match(what)
      expect(r.stderr.match(/cannot give the container a network/g)).to.have.length(1)
      expect(r.stderr).to.match(fix).and.include('--network none')
      // nothing was created
      expect(box.ok(['ps', '-aq']).trim()).to.equal('')
    }

    it('slirp4netns not on PATH: run is refused naming it and how to install it; --network none still runs', () => {
      const bin = userDir('ncx-e2e-nopath-')
      const env = {PATH: bin}
      expectRefused(box.ncx(['run', '--rm', 'busybox', 'true'], {env}), /slirp4netns was not found on PATH/, /sudo apt-get install slirp4netns/)
      expectRefused(box.ncx(['create', 'busybox', 'true'], {env}), /slirp4netns/, /apt-get install slirp4netns/)
      expect(box.ncx(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'offline-ok'], {env}).stdout).to.equal('offline-ok\n')
      // doctor and info say it as well
      expect(box.ncx(['info'], {env}).stdout).to.match(/Not available: slirp4netns was not found on PATH/)
    })

    it('/dev/net/tun not usable: run is refused naming it and the fix', function () {
      if (!asRoot) return expect(process.getuid!()).to.not.equal(0) // needs a private mount namespace set up by root
      // A /dev/net/tun that the test user cannot open, in a mount namespace of this command only.
      const fake = join(mkdtempSync(join(tmpdir(), 'ncx-e2e-tun-')), 'tun')
      writeFileSync(fake, '')
      chmodSync(fake, 0o600)
      const [cmd, ...args] = box.commandLine(['run', '--rm', 'busybox', 'true'])
      const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind "$0" /dev/net/tun && exec "$@"`, fake, cmd, ...args], {encoding: 'utf8'})
      rmSync(fake, {force: true})
      expectRefused({code: r.status ?? 137, stdout: r.stdout, stderr: r.stderr}, /\/dev\/net\/tun is not usable by this user/, /chmod 0666 \/dev\/net\/tun/)
    })
  })

  describe('rootful', () => {
    let root = ''
    const env = () => ({...process.env, NCX_ROOT: join(root, 'data'), NCX_RUN_ROOT: join(root, 'run'), NO_COLOR: '1'})
    const ncx = (args: string[]) => spawnSync(process.execPath, [join(repo, 'bin', 'run.cjs'), ...args], {env: env(), encoding: 'utf8', timeout: 60_000})
    const ok = (args: string[]) => {
      const r = ncx(args)
      if (r.status !== 0) throw new Error(`ncx ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
      return r.stdout
    }

    before(function () {
      if (!asRoot) return
      root = mkdtempSync(join(tmpdir(), 'ncx-e2e-rootful-net-'))
      execFileSync(process.execPath, [join(repo, 'bin', 'run.cjs'), 'load', '-i', join(images(), 'busybox.oci.tar')], {env: env()})
    })
    after(() => {
      if (!root) return
      const ids = ncx(['ps', '-aq']).stdout.trim()
      if (ids) ncx(['rm', '-f', ...ids.split('\n')])
      // The rootful namespace lives on (like a daemon's bridge) until its supervisor is stopped.
      try {
        process.kill((JSON.parse(readFileSync(join(root, 'run', 'netns.json'), 'utf8')) as {pid: number}).pid, 'SIGKILL')
      } catch {
        // never started
      }
      rmSync(root, {recursive: true, force: true})
    })

    it('the default network is bridge: an address, lo up, the way out', function () {
      if (!asRoot) return expect(process.getuid!()).to.not.equal(0)
      const out = ok(['run', '--rm', 'busybox', 'sh', '-c', 'ip -o -4 addr show eth0; ip -o link show lo; ping -c1 -W3 10.0.2.2 >/dev/null && echo outbound-ok'])
      expect(out).to.match(/eth0\s+inet 10\.88\.\d+\.\d+\/16/)
      expect(out).to.match(/lo: <LOOPBACK,UP,LOWER_UP>/)
      expect(out).to.include('outbound-ok')
      expect(existsSync(join(root, 'run', 'userns.json'))).to.equal(false)
    })

    it('-p publishes without --network, low ports included (Docker as root)', async function () {
      if (!asRoot) return expect(process.getuid!()).to.not.equal(0)
      const high = await freePort()
      let low = 0
      for (let p = 700; p < 1000 && !low; p++) {
        const free = await new Promise<boolean>((resolve) => {
          const s = createServer()
          s.once('error', () => resolve(false))
          s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)))
        })
        if (free) low = p
      }
      const id = ok(['run', '-d', '-p', `127.0.0.1:${high}:80`, '-p', `127.0.0.1:${low}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']).trim()
      expect(await fetchText(high, '/hostname')).to.equal(`${id.slice(0, 12)}\n`)
      expect(await fetchText(low, '/hostname')).to.equal(`${id.slice(0, 12)}\n`)
      ok(['rm', '-f', id])
    })

    it('the rootful namespace (no user-namespace holder to follow) ends when its run root is removed', async function () {
      if (!asRoot) return expect(process.getuid!()).to.not.equal(0)
      const rec = JSON.parse(readFileSync(join(root, 'run', 'netns.json'), 'utf8')) as {pid: number; holderPid: number; slirpPid: number}
      expect([rec.pid, rec.holderPid, rec.slirpPid].map(comm)).to.deep.equal(['ncx-netns', 'ncx-netns-hold', 'slirp4netns'])
      rmSync(join(root, 'run'), {recursive: true, force: true})
      const end = Date.now() + 10_000
      while ([rec.pid, rec.holderPid, rec.slirpPid].some(comm) && Date.now() < end) await sleep(50)
      expect([rec.pid, rec.holderPid, rec.slirpPid].map(comm)).to.deep.equal([undefined, undefined, undefined])
      // and the next run sets everything up again
      expect(ok(['run', '--rm', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0'])).to.match(/inet 10\.88\./)
    })
  })
})
