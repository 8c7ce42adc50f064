import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync, truncateSync} from 'node:fs'
import {join} from 'node:path'

import {Registry, fixture, inspectImage, pushImage, startRegistry} from '../registry/harness.js'
import {Sandbox, userDir} from './harness.js'

/** Every stored blob is complete and matches its name. */
function expectBlobsIntact(root: string): void {
  const blobs = join(root, 'blobs', 'sha256')
  if (!existsSync(blobs)) return
  for (const name of readdirSync(blobs)) {
    expect(createHash('sha256').update(readFileSync(join(blobs, name))).digest('hex'), `blob ${name}`).to.equal(name)
  }
}

/** The registry's on-disk copy of a blob (distribution's filesystem layout). */
function registryBlob(registry: Registry, digest: string): string {
  const hex = digest.replace('sha256:', '')
  return join(registry.dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data')
}

describe('e2e: registry pull and push', function () {
  this.timeout(180_000)
  let open: Registry
  let box: Sandbox
  let dockerConfig: string
  let env: Record<string, string>

  before(async () => {
    open = await startRegistry({auth: 'none'})
    await pushImage(open, fixture('busybox'), 'library/busybox:latest')
    await pushImage(open, fixture('multilayer'), 'team/multilayer:1')
    await pushImage(open, fixture('multiarch'), 'team/multiarch:1', {all: true})
    box = new Sandbox()
    dockerConfig = userDir('ncx-e2e-docker-config-')
    env = {DOCKER_CONFIG: dockerConfig, NCX_CONFIG_ROOT: userDir('ncx-e2e-config-')}
  })
  after(async () => {
    box.destroy()
    await open.stop()
  })

  it('pulls by tag with Docker-style output and runs the image', () => {
    const out = box.ok(['pull', `${open.host}/library/busybox`], {env})
    expect(out).to.match(new RegExp(`^latest: Pulling from ${open.host}/library/busybox\\n`))
    expect(out).to.match(/[a-f0-9]{12}: Pull complete\n/)
    expect(out).to.match(/\nDigest: sha256:[a-f0-9]{64}\nStatus: Downloaded newer image for .*\n.*library\/busybox:latest\n$/)
    expect(box.ok(['pull', '-q', `${open.host}/library/busybox`], {env})).to.equal(`${open.host}/library/busybox:latest\n`)
    expect(box.ok(['run', '--rm', `${open.host}/library/busybox`, 'echo', 'pulled'], {env})).to.equal('pulled\n')
    // The repository digest of a pulled image (a loaded one has none: <none>).
    const digest = /\nDigest: (sha256:[a-f0-9]{64})\n/.exec(out)![1]
    expect(box.ok(['images', `${open.host}/library/busybox`, '--format', '{{.Digest}}'], {env})).to.equal(`${digest}\n`)
    expect(box.ok(['image', 'inspect', '-f', '{{json .RepoDigests}}', `${open.host}/library/busybox`], {env})).to.equal(`["${open.host}/library/busybox@${digest}"]\n`)
    expectBlobsIntact(box.root)
    // On ext2/3/4 the layers are spread over block groups (FS_TOPDIR_FL on snapshots/, `chattr +T`).
    const snapshots = join(box.root, 'snapshots')
    if (execFileSync('stat', ['-f', '-c', '%T', snapshots], {encoding: 'utf8'}).trim().startsWith('ext')) {
      expect(execFileSync('lsattr', ['-d', snapshots], {encoding: 'utf8'}).split(' ')[0]).to.contain('T')
    }
    // Docker's pull event: the reference as the actor, its repository as the name.
    const pulls = box.ok(['events', '--since', '1h', '--until', '0s', '--filter', 'event=pull', '--format', '{{.Type}} {{.Actor.ID}} {{.Actor.Attributes.name}}'], {env})
    expect(pulls).to.contain(`image ${open.host}/library/busybox:latest ${open.host}/library/busybox\n`)
  })

  it('pulls by digest and skips layers it already has', async () => {
    const {digest} = await pushImage(open, fixture('busybox'), 'library/busybox:again')
    const out = box.ok(['pull', `${open.host}/team/multilayer:1`], {env})
    expect(out).to.match(/: Already exists\n/) // the busybox base layer
    expect(box.ok(['pull', `${open.host}/library/busybox@${digest}`], {env})).to.contain(`Digest: ${digest}`)
  })

  it('picks the host platform from an index, and another one with --platform', () => {
    expect(box.ok(['run', '--rm', `${open.host}/team/multiarch:1`, 'cat', '/arch'], {env})).to.equal(process.arch === 'arm64' ? 'arm64\n' : 'amd64\n')
    const other = process.arch === 'arm64' ? 'linux/amd64' : 'linux/arm64'
    box.ok(['pull', '--platform', other, `${open.host}/team/multiarch:1`], {env})
    const arch = box.ok(['images', '--format', '{{.ID}}'], {env})
    expect(arch.length).to.be.greaterThan(0)
    const bad = box.ncx(['pull', '--platform', 'linux/s390x', `${open.host}/team/multiarch:1`], {env})
    expect(bad.code).to.equal(1)
    expect(bad.stderr).to.match(/no image for linux\/s390x \(the index offers .*linux\/amd64.*\)/)
  })

  it('pulls when missing on run, and --pull never refuses', () => {
    const fresh = new Sandbox()
    try {
      const r = fresh.ncx(['run', '--rm', `${open.host}/team/multilayer:1`, 'cat', '/data/b.txt'], {env})
      expect(r.code).to.equal(0)
      expect(r.stderr).to.contain(`Unable to find image '${open.host}/team/multilayer:1' locally`)
      const never = fresh.ncx(['run', '--rm', '--pull', 'never', `${open.host}/library/busybox`, 'true'], {env})
      expect(never.code).to.equal(125)
      expect(never.stderr).to.contain('Unable to find image')
    } finally {
      fresh.destroy()
    }
  })

  it('resolves Docker Hub names through a configured mirror (docker.io/library/ normalisation)', () => {
    writeFileSync(join(env.NCX_CONFIG_ROOT, 'registries.json'), JSON.stringify({'registry-mirrors': [`http://${open.host}`]}), {mode: 0o644})
    try {
      const out = box.ok(['pull', 'busybox'], {env})
      expect(out).to.match(/^latest: Pulling from library\/busybox\n/)
      expect(out.trim().split('\n').pop()).to.equal('docker.io/library/busybox:latest')
      expect(box.ok(['images', 'busybox', '--format', '{{.Repository}}:{{.Tag}}'], {env})).to.equal('busybox:latest\n')
    } finally {
      writeFileSync(join(env.NCX_CONFIG_ROOT, 'registries.json'), '{}', {mode: 0o644})
    }
  })

  it('pushes an image that skopeo can read back, and skips blobs the registry has', async () => {
    const target = `${open.host}/pushed/box:7`
    box.ok(['import', join(userDirWithRootfs(), 'busybox.rootfs.tar'), target], {env})
    const first = box.ok(['push', target], {env})
    expect(first).to.match(new RegExp(`^The push refers to repository \\[${open.host}/pushed/box\\]\\n[a-f0-9]{12}: Pushing\\n[a-f0-9]{12}: Pushed\\n7: digest: sha256:[a-f0-9]{64} size: \\d+\\n$`))
    const second = box.ok(['push', target], {env})
    expect(second).to.match(/: Layer already exists\n/)
    const inspected = await inspectImage(open, 'pushed/box:7')
    expect(inspected.code, inspected.stderr).to.equal(0)
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(first)![1]
    expect((JSON.parse(inspected.stdout) as {Digest: string}).Digest).to.equal(digest)
    // The same image under another repository of that registry: mounted, not uploaded.
    const copy = `${open.host}/copies/box:1`
    box.ok(['tag', target, copy], {env})
    expect(box.ok(['push', copy], {env})).to.match(/[a-f0-9]{12}: Mounted from pushed\/box\n/)
    expect((await inspectImage(open, 'copies/box:1')).code).to.equal(0)
    const events = box.ok(['events', '--since', '1h', '--until', '0s', '--filter', 'type=image', '--filter', 'event=push', '--filter', 'event=import', '--format', '{{.Action}} {{.Actor.ID}}'], {env})
    expect(events).to.match(new RegExp(`import sha256:[0-9a-f]{64}\\npush ${open.host}/pushed/box:7\\npush ${open.host}/pushed/box:7\\npush ${open.host}/copies/box:1\\n$`))
  })

  it('ten parallel pulls of images sharing layers from separate processes leave one consistent store', async () => {
    const fresh = new Sandbox()
    try {
      const refs = Array.from({length: 10}, (_, i) => (i % 2 === 0 ? `${open.host}/library/busybox` : `${open.host}/team/multilayer:1`))
      const results = await Promise.all(refs.map((ref) => fresh.run(['pull', '-q', ref])))
      expect(results.map((r) => r.code), results.map((r) => r.stderr).join('')).to.deep.equal(Array(10).fill(0))
      expectBlobsIntact(fresh.root)
      expect(fresh.ok(['images', '--format', '{{.Repository}}:{{.Tag}}'], {env}).trim().split('\n').sort()).to.deep.equal([`${open.host}/library/busybox:latest`, `${open.host}/team/multilayer:1`])
      expect(readdirSync(join(fresh.root, 'snapshots')).filter((n) => !n.startsWith('.')).length).to.equal(3)
      expect(fresh.ok(['run', '--rm', `${open.host}/team/multilayer:1`, 'cat', '/data/b.txt'], {env}).length).to.be.greaterThan(0)
    } finally {
      fresh.destroy()
    }
  })

  it('resumes an interrupted layer download where it stopped', async () => {
    await pushImage(open, fixture('big'), 'bench/big:1')
    const fresh = new Sandbox()
    const partials = () => {
      const tmp = join(fresh.root, 'tmp')
      return existsSync(tmp) ? readdirSync(tmp).filter((n) => n.startsWith('partial-')).map((n) => statSync(join(tmp, n)).size) : []
    }
    try {
      for (const delay of [300, 600, 900, 1300, 1800]) {
        await fresh.killAfter(['pull', '-q', `${open.host}/bench/big:1`], delay)
        if (partials().some((n) => n > 0)) break
      }
      const kept = partials().reduce((a, b) => a + b, 0)
      expect(kept, 'bytes kept from the interrupted download').to.be.greaterThan(0)
      expect(fresh.ok(['pull', '-q', `${open.host}/bench/big:1`], {env})).to.equal(`${open.host}/bench/big:1\n`)
      expect(partials()).to.deep.equal([])
      expectBlobsIntact(fresh.root)
      expect(fresh.ok(['run', '--rm', `${open.host}/bench/big:1`, 'true'], {env})).to.equal('')
    } finally {
      fresh.destroy()
    }
  })

  it('a pull killed at any point is completed by the next one', async () => {
    const fresh = new Sandbox()
    try {
      for (const delay of [60, 150, 300, 500]) {
        await fresh.killAfter(['pull', '-q', `${open.host}/team/multilayer:1`], delay)
        expectBlobsIntact(fresh.root)
      }
      expect(fresh.ok(['pull', '-q', `${open.host}/team/multilayer:1`], {env})).to.equal(`${open.host}/team/multilayer:1\n`)
      expect(fresh.ok(['run', '--rm', `${open.host}/team/multilayer:1`, 'find', '/data'], {env}).trim().split('\n').sort()).to.deep.equal(['/data', '/data/b.txt', '/data/dir', '/data/dir/new.txt'])
    } finally {
      fresh.destroy()
    }
  })
})

describe('e2e: registry content that is corrupt', function () {
  this.timeout(120_000)
  // Its own registry: blobs are shared between repositories, so corrupting one here must
  // not break the other suites' images.
  let broken: Registry
  const env = {}
  before(async () => {
    broken = await startRegistry({auth: 'none'})
  })
  after(async () => broken.stop())

  it('rejects a blob whose content does not match its digest, storing nothing', async () => {
    const {digest} = await pushImage(broken, fixture('multilayer'), 'tampered/img:1')
    const manifest = JSON.parse((await inspectImage(broken, 'tampered/img:1', {raw: true})).stdout) as {layers: Array<{digest: string}>}
    const top = manifest.layers[manifest.layers.length - 1].digest
    const file = registryBlob(broken, top)
    const bytes = readFileSync(file)
    bytes[bytes.length - 20] ^= 0xff
    writeFileSync(file, bytes)
    const fresh = new Sandbox()
    try {
      const r = fresh.ncx(['pull', `${broken.host}/tampered/img:1`], {env})
      expect(r.code).to.equal(1)
      expect(r.stderr).to.match(/digest mismatch|failed verification|not valid|unpacking layer/)
      expect(fresh.ok(['images', '-q'], {env})).to.equal('')
      expect(existsSync(join(fresh.root, 'blobs', 'sha256', top.slice(7)))).to.equal(false)
      expectBlobsIntact(fresh.root)
      expect(readdirSync(join(fresh.root, 'snapshots')).filter((n) => n.startsWith('.tmp-'))).to.deep.equal([])
      expect(digest).to.match(/^sha256:/)
    } finally {
      fresh.destroy()
      // The registry keeps one copy of a blob for all repositories: later cases push this
      // fixture again and would be served the tampered layer.
      bytes[bytes.length - 20] ^= 0xff
      writeFileSync(file, bytes)
    }
  })

  it('rejects a layer whose content does not match its diff-id, found at the end of the one pass that unpacks it', async () => {
    // The blobs are intact (their digests match): only the config's diff-id of the top layer
    // is wrong. The unpack hashes the tar while it writes it, so the mismatch shows only when
    // the whole layer is on disk, in a temporary directory that must never become a snapshot.
    await pushImage(broken, fixture('multilayer'), 'wrongdiff/img:1')
    const manifest = JSON.parse((await inspectImage(broken, 'wrongdiff/img:1', {raw: true})).stdout) as {mediaType: string; config: {digest: string; size: number}; layers: unknown[]}
    const config = JSON.parse(readFileSync(registryBlob(broken, manifest.config.digest), 'utf8')) as {rootfs: {diff_ids: string[]}}
    const real = config.rootfs.diff_ids[config.rootfs.diff_ids.length - 1]
    const bogus = `sha256:${createHash('sha256').update('not this layer').digest('hex')}`
    config.rootfs.diff_ids[config.rootfs.diff_ids.length - 1] = bogus
    const configBytes = Buffer.from(JSON.stringify(config))
    const configDigest = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`
    const started = await fetch(`http://${broken.host}/v2/wrongdiff/img/blobs/uploads/`, {method: 'POST'})
    expect(started.status).to.equal(202)
    const location = new URL(started.headers.get('location')!, `http://${broken.host}`)
    location.searchParams.set('digest', configDigest)
    const put = await fetch(location, {method: 'PUT', body: configBytes, headers: {'content-type': 'application/octet-stream'}})
    expect(put.status).to.equal(201)
    const tampered = {...manifest, config: {...manifest.config, digest: configDigest, size: configBytes.length}}
    const stored = await fetch(`http://${broken.host}/v2/wrongdiff/img/manifests/2`, {method: 'PUT', body: JSON.stringify(tampered), headers: {'content-type': manifest.mediaType}})
    expect(stored.status).to.equal(201)
    const fresh = new Sandbox()
    try {
      const r = fresh.ncx(['pull', `${broken.host}/wrongdiff/img:2`], {env})
      expect(r.code).to.equal(1)
      expect(r.stderr).to.contain(`layer ${bogus} failed verification: its content has diff-id ${real}`)
      expect(fresh.ok(['images', '-q'], {env})).to.equal('')
      const snapshots = readdirSync(join(fresh.root, 'snapshots'))
      expect(snapshots).not.to.include(bogus.slice(7))
      expect(snapshots).not.to.include(real.slice(7))
      expect(snapshots.filter((n) => n.startsWith('.tmp-'))).to.deep.equal([])
    } finally {
      fresh.destroy()
    }
  })

  it('rejects a truncated blob and a manifest that is not JSON', async () => {
    const {digest} = await pushImage(broken, fixture('busybox'), 'broken/trunc:1')
    const manifest = JSON.parse((await inspectImage(broken, 'broken/trunc:1', {raw: true})).stdout) as {layers: Array<{digest: string}>}
    truncateSync(registryBlob(broken, manifest.layers[0].digest), 1000)
    const fresh = new Sandbox()
    try {
      const t = fresh.ncx(['pull', `${broken.host}/broken/trunc:1`], {env})
      expect(t.code).to.equal(1)
      expect(t.stderr).to.match(/^ncx: /)
      writeFileSync(registryBlob(broken, digest), 'this is not json')
      const m = fresh.ncx(['pull', `${broken.host}/broken/trunc@${digest}`], {env})
      // distribution refuses to serve a manifest it cannot parse (a 500); ncx names the ref.
      // A registry that does serve garbage is covered by the unit tests of the client.
      expect(m.code).to.equal(1)
      expect(m.stderr).to.match(/^ncx: .*broken\/trunc/)
      expect(fresh.ok(['images', '-q'], {env})).to.equal('')
      expectBlobsIntact(fresh.root)
    } finally {
      fresh.destroy()
    }
  })

})

describe('e2e: registry authentication', function () {
  this.timeout(120_000)
  for (const auth of ['basic', 'token'] as const) {
    describe(`${auth} auth`, () => {
      let reg: Registry
      let box: Sandbox
      let env: Record<string, string>
      before(async () => {
        reg = await startRegistry({auth})
        await pushImage(reg, fixture('busybox'), 'private/busybox:1')
        await pushImage(reg, fixture('busybox'), 'public/busybox:1')
        box = new Sandbox()
        env = {DOCKER_CONFIG: userDir('ncx-e2e-docker-config-'), NCX_CONFIG_ROOT: userDir('ncx-e2e-config-')}
      })
      after(async () => {
        box.destroy()
        await reg.stop()
      })

      it('refuses an anonymous pull of a private repository with the fix in the message', async () => {
        const r = await box.run(['pull', `${reg.host}/private/busybox:1`], {env})
        expect(r.code).to.equal(1)
        expect(r.stderr).to.match(/unauthorized/)
        expect(r.stderr).to.contain(`ncx login ${reg.host}`)
      })

      if (auth === 'token') {
        it('pulls anonymously where the token service allows it (Docker Hub challenge flow)', async () => {
          const before = reg.tokenRequests()
          expect((await box.run(['pull', '-q', `${reg.host}/public/busybox:1`], {env})).code).to.equal(0)
          expect(reg.tokenRequests()).to.be.greaterThan(before)
        })
      }

      it('rejects a wrong password at login and stores nothing', async () => {
        const r = await box.run(['login', '-u', reg.username, '--password-stdin', reg.host], {env, input: 'wrong\n'})
        expect(r.code).to.equal(1)
        expect(r.stderr).to.match(/unauthorized|incorrect username or password/)
        expect(existsSync(join(env.DOCKER_CONFIG, 'config.json')) && readFileSync(join(env.DOCKER_CONFIG, 'config.json'), 'utf8').includes(reg.host)).to.equal(false)
      })

      it('logs in with --password-stdin, then pulls and pushes; logout forgets', async () => {
        const login = await box.run(['login', '-u', reg.username, '--password-stdin', reg.host], {env, input: `${reg.password}\n`})
        expect(login.code, login.stderr).to.equal(0)
        expect(login.stdout).to.equal('Login Succeeded\n')
        const config = JSON.parse(readFileSync(join(env.DOCKER_CONFIG, 'config.json'), 'utf8')) as {auths: Record<string, {auth: string}>}
        expect(Buffer.from(config.auths[reg.host].auth, 'base64').toString()).to.equal(`${reg.username}:${reg.password}`)
        const ok = async (args: string[]) => {
          const r = await box.run(args, {env})
          expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(0)
          return r.stdout
        }
        await ok(['pull', '-q', `${reg.host}/private/busybox:1`])
        await ok(['import', join(userDirWithRootfs(), 'busybox.rootfs.tar'), `${reg.host}/private/mine:1`])
        await ok(['push', `${reg.host}/private/mine:1`])
        expect((await inspectImage(reg, 'private/mine:1')).code).to.equal(0)
        expect(await ok(['logout', reg.host])).to.equal(`Removing login credentials for ${reg.host}\n`)
        expect((await box.run(['pull', `${reg.host}/private/mine:1`], {env})).code).to.equal(1)
      })
    })
  }
})

let rootfsDir: string | undefined

/** A world-readable directory holding busybox.rootfs.tar (from scripts/mkimage.js). */
function userDirWithRootfs(): string {
  if (rootfsDir) return rootfsDir
  const dir = userDir('ncx-e2e-rootfs-')
  const source = join(fixture('busybox'), '..', 'busybox.rootfs.tar')
  writeFileSync(join(dir, 'busybox.rootfs.tar'), readFileSync(source))
  chmodSync(join(dir, 'busybox.rootfs.tar'), 0o644)
  rootfsDir = dir
  return dir
}
