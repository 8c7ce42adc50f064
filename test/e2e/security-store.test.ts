/**
 * The store under faults: a full disk (a small loop-mounted ext4 file system as the data
 * root), a registry that stalls (a TCP server that never answers, and a proxy in front of
 * the real registry that stops mid-blob: no real registry stalls on demand), a registry on a
 * port fetch refuses (the real docker-registry on 5060 or another WHATWG "bad port"), and
 * `rmi -f` racing `run -d` of the same image.
 */
import {expect} from 'chai'
import {ChildProcess, execFileSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync} from 'node:fs'
import {createServer, request as httpRequest, Server} from 'node:http'
import {AddressInfo, Server as NetServer, Socket, createServer as createNetServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Registry, portFree, startRegistry} from '../registry/harness.js'
import {Result, Sandbox, asRoot, images, user, userDir} from './harness.js'

/** Every stored blob is complete and matches its name. */
function expectBlobsIntact(root: string): void {
  const blobs = join(root, 'blobs', 'sha256')
  if (!existsSync(blobs)) return
  for (const name of readdirSync(blobs)) {
    expect(createHash('sha256').update(readFileSync(join(blobs, name))).digest('hex'), `blob ${name}`).to.equal(name)
  }
}

/** Nothing half-written is left: no ingest or partial file in tmp/, no unpack in progress. */
function expectNoLeftovers(root: string): void {
  const tmp = join(root, 'tmp')
  expect(existsSync(tmp) ? readdirSync(tmp) : [], 'tmp/').to.deep.equal([])
  const snapshots = join(root, 'snapshots')
  expect(existsSync(snapshots) ? readdirSync(snapshots).filter((n) => n.startsWith('.tmp-')) : [], 'snapshots/.tmp-*').to.deep.equal([])
}

/** Every listed image has its blobs and unpacked layers; every container its layers. */
function expectStoreConsistent(root: string): void {
  const file = join(root, 'images.json')
  const list = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as {images: Array<{id: string; manifestDigest: string; layers: Array<{digest: string; diffId: string}>}>}).images : []
  const blob = (d: string) => join(root, 'blobs', 'sha256', d.slice(7))
  const snapshot = (d: string) => join(root, 'snapshots', d.slice(7), 'fs')
  for (const image of list) {
    for (const d of [image.id, image.manifestDigest, ...image.layers.map((l) => l.digest)]) expect(existsSync(blob(d)), `blob ${d} of image ${image.id}`).to.equal(true)
    for (const l of image.layers) expect(existsSync(snapshot(l.diffId)), `layer ${l.diffId} of image ${image.id}`).to.equal(true)
  }
  const containers = join(root, 'containers')
  for (const id of existsSync(containers) ? readdirSync(containers).filter((n) => /^[a-f0-9]{64}$/.test(n)) : []) {
    const record = JSON.parse(readFileSync(join(containers, id, 'container.json'), 'utf8')) as {layers: string[]}
    for (const l of record.layers) expect(existsSync(snapshot(l)), `layer ${l} of container ${id}`).to.equal(true)
  }
  expectBlobsIntact(root)
}

/** A rootfs tarball: busybox plus `mb` MB of random (incompressible) data in /big. */
function fatRootfs(dir: string, name: string, mb: number): string {
  const tar = join(dir, `${name}.tar`)
  copyFileSync(join(images(), 'busybox.rootfs.tar'), tar)
  writeFileSync(join(dir, 'big'), randomBytes(mb << 20))
  execFileSync('tar', ['--append', '-f', tar, '-C', dir, 'big'])
  rmSync(join(dir, 'big'))
  chmodSync(tar, 0o644)
  return tar
}

/** Run ncx without blocking this process (servers run in it), killed if it outlives `ms`. */
async function runWithin(box: Sandbox, args: string[], env: Record<string, string>, ms: number): Promise<Result & {ms: number; killed: boolean}> {
  const started = Date.now()
  const child: ChildProcess = box.spawn(args, {stdio: ['ignore', 'pipe', 'pipe'], detached: true}, env)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => (stdout += d))
  child.stderr!.on('data', (d: Buffer) => (stderr += d))
  let killed = false
  const timer = setTimeout(() => {
    killed = true
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // gone already
    }
  }, ms)
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 137)))
  clearTimeout(timer)
  return {code, stdout, stderr, ms: Date.now() - started, killed}
}

const sizeOfPartials = (root: string) => {
  const tmp = join(root, 'tmp')
  return existsSync(tmp) ? readdirSync(tmp).filter((n) => n.startsWith('partial-')).reduce((a, n) => a + statSync(join(tmp, n)).size, 0) : 0
}

describe('e2e: a full disk (a 64 MB loop-mounted ext4 file system as the data root)', function () {
  this.timeout(300_000)
  let registry: Registry
  let box: Sandbox
  let maker: Sandbox
  let work: string
  let diskDir: string | undefined
  let mounted = false
  let fatArchive: string
  let fatTar: string
  let fat: string
  let medium: string
  const env = {NCX_REGISTRY_TIMEOUT: '20'}

  before(async function () {
    if (!asRoot) return this.skip() // mounting a file system needs root (CI runs the e2e tests as root)
    registry = await startRegistry({auth: 'none'})
    box = new Sandbox()
    maker = new Sandbox()
    work = userDir('ncx-e2e-fulldisk-')
    // fat: busybox + 22 MB (a pull needs ~48 MB: the blob, and the same unpacked); medium: + 12 MB (~28 MB).
    fat = `${registry.host}/store/fat:1`
    medium = `${registry.host}/store/medium:1`
    fatTar = fatRootfs(work, 'fat', 22)
    maker.ok(['import', fatTar, fat])
    maker.ok(['push', fat])
    maker.ok(['import', fatRootfs(work, 'medium', 12), medium])
    maker.ok(['push', medium])
    fatArchive = join(work, 'fat.docker.tar')
    maker.ok(['save', '-o', fatArchive, fat])
    chmodSync(fatArchive, 0o644)
    // 64 MB, all of it usable (no reserved blocks, no journal), minus a 16 MB filler root owns:
    // ~45 MB free for ncx. The filler goes in the last test ("after freeing space").
    diskDir = mkdtempSync(join(tmpdir(), 'ncx-e2e-disk-'))
    const disk = join(diskDir, 'disk.img')
    execFileSync('truncate', ['-s', '64M', disk])
    execFileSync('mkfs.ext4', ['-q', '-F', '-m', '0', '-O', '^has_journal', disk])
    execFileSync('mount', ['-o', 'loop', disk, box.root])
    mounted = true
    rmdirSync(join(box.root, 'lost+found'))
    chownSync(box.root, user.uid, user.gid)
    chmodSync(box.root, 0o755)
    execFileSync('fallocate', ['-l', '16M', join(box.root, '.filler')])
  })

  after(async () => {
    if (box) {
      const ids = box.ncx(['ps', '-aq', '--no-trunc']).stdout.trim()
      if (ids) box.ncx(['rm', '-f', ...ids.split('\n')])
      if (mounted) execFileSync('umount', ['-l', box.root])
      box.destroy()
    }
    if (diskDir) rmSync(diskDir, {recursive: true, force: true})
    maker?.destroy()
    await registry?.stop()
  })

  /** The message names the cause, a path in the data root and the file system there. */
  const expectNoSpace = (r: Result, code = 1) => {
    expect(r.code, r.stderr).to.equal(code)
    expect(r.stderr).to.match(new RegExp(`^ncx: no space left on device: [^\\n]*${box.root}/[^\\n]* \\(the file system at ${box.root} has \\S+ free of \\S+\\)\\n`, 'm'))
    expect(r.stderr).to.not.match(/receiving side closed early|not a valid tar/)
  }

  it('pull of an image larger than the free space: exit 1 naming the cause and the place, nothing half-written kept, and the next smaller pull fits', () => {
    expectNoSpace(box.ncx(['pull', fat], {env}))
    expect(box.ok(['images', '-q'])).to.equal('')
    // The partial download is dropped on a full disk: it would make the next pull fail too.
    expectNoLeftovers(box.root)
    expectStoreConsistent(box.root)
    expect(box.ok(['pull', '-q', medium], {env})).to.equal(`${medium}\n`)
    expect(box.ok(['run', '--rm', medium, 'wc', '-c', '/big'])).to.equal(`${12 << 20} /big\n`)
  })

  it('run with the automatic pull fails the same way, in bounded time, and leaves no container', async () => {
    const r = await runWithin(box, ['run', '--rm', fat, 'true'], env, 60_000)
    expect(r.killed, 'run hung').to.equal(false)
    expectNoSpace(r, 125)
    expect(r.stderr).to.contain(`Unable to find image '${fat}' locally`)
    expect(box.ok(['ps', '-aq'])).to.equal('')
    expect(box.ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).to.equal(`${medium}\n`)
    expectNoLeftovers(box.root)
    expectStoreConsistent(box.root)
  })

  it('load of an archive larger than the free space: exit 1 naming the cause, no image, nothing left in tmp/', () => {
    const r = box.ncx(['load', '-i', fatArchive])
    expectNoSpace(r)
    expect(r.stderr).to.contain(`${box.root}/tmp/`)
    expect(box.ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).to.equal(`${medium}\n`)
    expectNoLeftovers(box.root)
    expectStoreConsistent(box.root)
  })

  it('import of a tarball larger than the free space: exit 1 naming the cause, no image', () => {
    // 24 MB of tarball where ~17 MB are free.
    const r = box.ncx(['import', fatTar, 'fat:imported'])
    expectNoSpace(r)
    expect(box.ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).to.equal(`${medium}\n`)
    expectNoLeftovers(box.root)
    expectStoreConsistent(box.root)
  })

  it('after space is freed, the same pull succeeds and the image runs', () => {
    rmSync(join(box.root, '.filler'))
    box.ok(['rmi', medium])
    expect(box.ok(['pull', '-q', fat], {env})).to.equal(`${fat}\n`)
    expect(box.ok(['run', '--rm', fat, 'wc', '-c', '/big'])).to.equal(`${22 << 20} /big\n`)
    expectNoLeftovers(box.root)
    expectStoreConsistent(box.root)
  })
})

/**
 * A proxy in front of the real registry that, while `stallAfter` is set, sends the headers
 * and the first `stallAfter` bytes of every blob, then nothing more (the connection stays open).
 */
async function stallingProxy(target: Registry): Promise<{host: string; stallAfter: number | undefined; close(): Promise<void>}> {
  const [targetHost, targetPort] = target.host.split(':')
  const state: {stallAfter: number | undefined} = {stallAfter: undefined}
  const server: Server = createServer((req, res) => {
    const up = httpRequest({host: targetHost, port: Number(targetPort), path: req.url, method: req.method, headers: {...req.headers, host: target.host}}, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      const limit = state.stallAfter
      if (limit === undefined || req.method !== 'GET' || !/\/blobs\/sha256:/.test(req.url ?? '')) return void answer.pipe(res)
      let sent = 0
      answer.on('data', (chunk: Buffer) => {
        if (sent >= limit) return
        const part = chunk.subarray(0, limit - sent)
        sent += part.length
        res.write(part)
      })
      answer.on('end', () => {
        if (sent < limit) res.end() // a small blob (the config) goes through whole
      })
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const proxy = {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    get stallAfter() {
      return state.stallAfter
    },
    set stallAfter(n: number | undefined) {
      state.stallAfter = n
    },
    async close() {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }
  return proxy
}

describe('e2e: a registry that stalls (NCX_REGISTRY_TIMEOUT=2)', function () {
  this.timeout(240_000)
  const env = {NCX_REGISTRY_TIMEOUT: '2'}
  let registry: Registry
  let proxy: Awaited<ReturnType<typeof stallingProxy>>
  let silent: NetServer
  const sockets = new Set<Socket>()
  let silentHost: string
  let box: Sandbox
  let image: string

  before(async () => {
    registry = await startRegistry({auth: 'none'})
    const maker = new Sandbox()
    try {
      image = `${registry.host}/stall/medium:1`
      maker.ok(['import', fatRootfs(userDir('ncx-e2e-stall-'), 'medium', 12), image])
      maker.ok(['push', image])
    } finally {
      maker.destroy()
    }
    proxy = await stallingProxy(registry)
    // Accepts connections and never answers.
    silent = createNetServer((socket) => void sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()))
    silentHost = `127.0.0.1:${(silent.address() as AddressInfo).port}`
    box = new Sandbox()
  })

  after(async () => {
    box?.destroy()
    for (const s of sockets) s.destroy()
    silent?.close()
    await proxy?.close()
    await registry?.stop()
  })

  it('pull and run against a registry that accepts and never answers fail within seconds, saying so', async () => {
    for (const args of [['pull', `${silentHost}/x:1`], ['run', '--rm', `${silentHost}/x:1`, 'true']]) {
      const r = await runWithin(box, args, env, 60_000)
      expect(r.killed, `${args[0]} hung`).to.equal(false)
      // Docker: 125 for run's failures, 1 for every other command's.
      expect(r.code, r.stderr).to.equal(args[0] === 'run' ? 125 : 1)
      expect(r.ms).to.be.below(30_000)
      expect(r.stderr).to.contain(`ncx: cannot reach registry ${silentHost} (GET /v2/x/manifests/1): ${silentHost} sent nothing for 2 s`)
      expect(r.stderr).to.contain('NCX_REGISTRY_TIMEOUT')
    }
  })

  it('a blob that stalls mid-way fails pull and run; the partial download shows in system df and image prune -a reclaims it', async () => {
    const ref = `${proxy.host}/stall/medium:1`
    proxy.stallAfter = 4 << 20
    for (const args of [['pull', ref], ['run', '--rm', ref, 'true']]) {
      const r = await runWithin(box, args, env, 60_000)
      expect(r.killed, `${args[0]} hung`).to.equal(false)
      // Docker: 125 for run's failures, 1 for every other command's.
      expect(r.code, r.stderr).to.equal(args[0] === 'run' ? 125 : 1)
      expect(r.stderr, r.stderr).to.match(new RegExp(`ncx: layer sha256:[a-f0-9]{64} of ${ref}: download interrupted: ${proxy.host} sent nothing for 2 s\\n`))
    }
    const kept = sizeOfPartials(box.root)
    expect(kept, 'bytes kept to resume').to.be.at.least(1 << 20)
    expect(box.ok(['images', '-q'])).to.equal('')
    const df = box.ok(['system', 'df', '--format', '{{.Type}}|{{.TotalCount}}|{{.Size}}|{{.Reclaimable}}'])
    expect(df.split('\n')[0]).to.match(/^Images\|0\|[1-9][\d.]*MB\|[1-9][\d.]*MB \(100%\)$/)
    expect(box.ok(['system', 'df', '-v'])).to.match(/\nPartial downloads: [1-9][\d.]*MB \(kept to resume a pull; "ncx image prune" removes them\)\n/)
    const pruned = box.ok(['image', 'prune', '-a', '-f'])
    expect(pruned).to.match(/Total reclaimed space: [1-9][\d.]*MB\n$/)
    expect(sizeOfPartials(box.root)).to.equal(0)
    expect(box.ok(['system', 'df', '--format', '{{.Type}} {{.Size}}']).split('\n')[0]).to.equal('Images 0B')
  })

  it('system prune -a reclaims partial downloads too, and the same pull succeeds once the registry answers', async () => {
    const ref = `${proxy.host}/stall/medium:1`
    proxy.stallAfter = 4 << 20
    expect((await runWithin(box, ['pull', ref], env, 60_000)).code).to.equal(1)
    expect(sizeOfPartials(box.root)).to.be.at.least(1 << 20)
    expect(box.ok(['system', 'prune', '-a', '-f'])).to.match(/Total reclaimed space: [1-9][\d.]*MB\n$/)
    expect(sizeOfPartials(box.root)).to.equal(0)
    proxy.stallAfter = undefined
    const r = await runWithin(box, ['pull', '-q', ref], env, 60_000)
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.equal(`${ref}\n`)
    expectNoLeftovers(box.root)
    expectStoreConsistent(box.root)
  })
})

describe('e2e: a registry on a port fetch refuses (WHATWG "bad ports": 5060 …)', function () {
  this.timeout(180_000)
  let registry: Registry | undefined
  let box: Sandbox
  let env: Record<string, string>

  before(async () => {
    for (const port of [5060, 5061, 6665, 6666, 6667, 6668, 6669, 10080]) {
      if (!(await portFree(port))) continue
      try {
        registry = await startRegistry({auth: 'basic', port})
        break
      } catch {
        // taken meanwhile: the next one
      }
    }
    if (!registry) throw new Error('every WHATWG bad port is in use on 127.0.0.1')
    box = new Sandbox()
    env = {DOCKER_CONFIG: userDir('ncx-e2e-docker-config-'), NCX_CONFIG_ROOT: userDir('ncx-e2e-config-')}
  })
  after(async () => {
    box?.destroy()
    await registry?.stop()
  })

  it('logs in, pushes and pulls there, and runs what it pulled', () => {
    const reg = registry!
    const login = box.ncx(['login', '-u', reg.username, '--password-stdin', reg.host], {env, input: `${reg.password}\n`})
    expect(login.code, login.stderr).to.equal(0)
    expect(login.stdout).to.equal('Login Succeeded\n')
    const ref = `${reg.host}/badport/box:1`
    box.ok(['import', join(images(), 'busybox.rootfs.tar'), ref], {env})
    expect(box.ok(['push', ref], {env})).to.match(/\n1: digest: sha256:[a-f0-9]{64} size: \d+\n$/)
    box.ok(['rmi', ref], {env})
    expect(box.ok(['pull', '-q', ref], {env})).to.equal(`${ref}\n`)
    expect(box.ok(['run', '--rm', ref, 'echo', 'port', reg.host.split(':')[1]], {env})).to.equal(`port ${reg.host.split(':')[1]}\n`)
  })
})

describe('e2e: rmi -f racing run -d of the same image', function () {
  this.timeout(300_000)
  const box = new Sandbox()
  before(() => box.load('busybox.oci.tar'))
  after(() => box.destroy())

  it('a run that succeeds always finds its image still listed; one that fails says the image is missing and leaves no container', async () => {
    const outcomes = {ran: 0, refused: 0}
    const id = box.ok(['images', '-q', '--no-trunc', 'busybox']).trim()
    for (let i = 0; i < 10; i++) {
      // One name only, so that rmi -f deletes the image unless a container keeps it.
      if (i > 0) box.ok(box.ok(['images', '-q', '--no-trunc']).includes(id) ? ['tag', id, 'busybox'] : ['load', '-i', join(images(), 'busybox.oci.tar')])
      // Both orders and near-ties: even turns hold the run back (0–1.4 s), odd turns the rmi
      // (0–160 ms; a run -d takes ~50 ms). (rmi used to start slower, through oclif; since the
      // lite path it is as fast as run, so a run started with it always lost.)
      const runDelay = i % 2 === 0 ? (i % 5) * 350 : 0
      const rmiDelay = i % 2 === 1 ? (i % 5) * 40 : 0
      const later = (ms: number, argv: string[]) => new Promise<Result>((resolve) => setTimeout(() => resolve(box.run(argv)), ms))
      const [run, rmi] = await Promise.all([later(runDelay, ['run', '-d', '--pull', 'never', 'busybox', 'sleep', '60']), later(rmiDelay, ['rmi', '-f', 'busybox'])])
      expect(rmi.code, rmi.stderr).to.equal(0)
      const listed = box.ok(['images', '-q', '--no-trunc']).trim().split('\n')
      if (run.code === 0) {
        outcomes.ran++
        const container = run.stdout.trim()
        expect(box.ok(['inspect', '--format', '{{.Image}} {{.State.Running}}', container])).to.equal(`${id} true\n`)
        expect(listed, `iteration ${i}: the running container's image ${id} is gone from the image list`).to.include(id)
        box.ok(['rm', '-f', container])
      } else {
        outcomes.refused++
        expect(run.code, run.stderr).to.equal(125)
        expect(run.stderr).to.match(/^ncx: (Unable to find image 'busybox' locally|No such image: busybox)/m)
        expect(box.ok(['ps', '-aq'])).to.equal('')
      }
      expectStoreConsistent(box.root)
    }
    expect(outcomes.ran, JSON.stringify(outcomes)).to.be.greaterThan(0)
    expect(outcomes.refused, JSON.stringify(outcomes)).to.be.greaterThan(0)
  })
})
