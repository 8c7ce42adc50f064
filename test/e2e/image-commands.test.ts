import {expect} from 'chai'
import {execFileSync, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pack} from 'tar-stream'

import {hostArchitecture} from '../../src/engine/image/platform.js'
import {MediaType} from '../../src/engine/image/types.js'
import {Result, Sandbox, asRoot, images, installation, userDir} from './harness.js'

const count = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => !n.startsWith('.')).length : 0)
const have = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0
const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** One file out of a tar archive (as the test runner, which can read the 0600 files save -o writes). */
const tarFile = (archive: string, name: string) => execFileSync('tar', ['-xOf', archive, name], {maxBuffer: 64 << 20})
const tarList = (archive: string) => execFileSync('tar', ['-tf', archive], {encoding: 'utf8'}).trim().split('\n')

/** Run ncx with a terminal as stdin and stdout (through script(1)); the output comes back with \r\n. */
function inTerminal(box: Sandbox, args: string[], input = ''): Result {
  const env = Object.entries(box.env()).map(([k, v]) => `${k}=${v}`)
  const cli = [process.execPath, join(installation(), 'bin', 'run.cjs'), ...args]
  const command = asRoot ? ['runuser', '-u', box.owner.name, '--', 'env', '-i', ...env, ...cli] : ['env', '-i', ...env, ...cli]
  const r = spawnSync('script', ['-qec', command.map(quote).join(' '), '/dev/null'], {input, encoding: 'utf8', timeout: 60_000})
  return {code: r.status ?? 137, stdout: r.stdout.replace(/\r\n/g, '\n'), stderr: r.stderr}
}

/** `ncx save` to stdout, as bytes. */
function saveToStdout(box: Sandbox, args: string[]): Promise<{code: number; data: Buffer; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = box.spawn(['save', ...args], {stdio: ['ignore', 'pipe', 'pipe']})
    const out: Buffer[] = []
    let stderr = ''
    child.stdout!.on('data', (d: Buffer) => out.push(d))
    child.stderr!.on('data', (d: Buffer) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code: code ?? 1, data: Buffer.concat(out), stderr}))
  })
}

/** An OCI archive whose one layer is the busybox rootfs compressed with zstd. */
async function zstdArchive(path: string): Promise<string> {
  const rootfs = readFileSync(join(images(), 'busybox.rootfs.tar'))
  const layer = execFileSync('zstd', ['-q', '-c', join(images(), 'busybox.rootfs.tar')], {maxBuffer: 64 << 20})
  const created = '2024-01-01T00:00:00Z'
  const config = Buffer.from(JSON.stringify({
    architecture: hostArchitecture(),
    os: 'linux',
    created,
    config: {Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh']},
    rootfs: {type: 'layers', diff_ids: [sha256(rootfs)]},
    history: [{created, created_by: 'ADD rootfs.tar.zst /'}],
  }))
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: {mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length},
    layers: [{mediaType: MediaType.ociLayerZstd, digest: sha256(layer), size: layer.length}],
  }))
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    manifests: [{mediaType: MediaType.ociManifest, digest: sha256(manifest), size: manifest.length, annotations: {'io.containerd.image.name': 'docker.io/library/zbox:latest', 'org.opencontainers.image.ref.name': 'latest'}}],
  }))
  const tar = pack()
  tar.entry({name: 'oci-layout'}, '{"imageLayoutVersion":"1.0.0"}')
  for (const blob of [config, manifest, layer]) tar.entry({name: `blobs/sha256/${sha256(blob).slice(7)}`}, blob)
  tar.entry({name: 'index.json'}, index)
  tar.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of tar) chunks.push(chunk as Buffer)
  writeFileSync(path, Buffer.concat(chunks))
  chmodSync(path, 0o644)
  return sha256(config)
}

describe('e2e: image commands (save, tag, image inspect/history/prune, images --filter)', function () {
  this.timeout(180_000)
  const box = new Sandbox()
  const out = userDir('ncx-e2e-save-')
  let busyboxId: string
  let multilayerId: string

  before(() => {
    box.load('busybox.oci.tar')
    box.load('multilayer.oci.tar')
    busyboxId = box.ok(['images', 'busybox', '--no-trunc', '-q']).trim()
    multilayerId = box.ok(['images', 'multilayer', '--no-trunc', '-q']).trim()
  })
  after(() => {
    box.destroy()
    rmSync(out, {recursive: true, force: true})
  })

  describe('save', () => {
    it('writes a docker-archive as docker save does: manifest.json, config, uncompressed layer.tar per layer, repositories', () => {
      const file = join(out, 'both.docker.tar')
      expect(box.ok(['save', '-o', file, 'busybox', 'multilayer'])).to.equal('')
      const manifest = JSON.parse(tarFile(file, 'manifest.json').toString()) as Array<{Config: string; RepoTags: string[]; Layers: string[]}>
      expect(manifest.map((m) => m.RepoTags)).to.deep.equal([['busybox:latest'], ['multilayer:latest']])
      expect(manifest.map((m) => m.Config)).to.deep.equal([`${busyboxId.slice(7)}.json`, `${multilayerId.slice(7)}.json`])
      expect(manifest[1].Layers).to.have.length(3)
      expect(manifest[1].Layers[0]).to.equal(manifest[0].Layers[0]) // the shared base layer, written once
      const names = tarList(file)
      expect(names.filter((n) => n.endsWith('/layer.tar'))).to.have.length(3)
      for (const layer of manifest[1].Layers) {
        const head = tarFile(file, layer).subarray(0, 512)
        expect(head.subarray(257, 262).toString()).to.equal('ustar') // a plain tar, not gzip
      }
      expect(sha256(tarFile(file, manifest[0].Config))).to.equal(busyboxId)
      const repositories = JSON.parse(tarFile(file, 'repositories').toString()) as Record<string, Record<string, string>>
      expect(repositories.busybox.latest).to.equal(manifest[0].Layers[0].split('/')[0])
    })

    it('round-trips both formats through ncx load with the image IDs preserved', () => {
      box.ok(['save', '-o', join(out, 'both.oci.tar'), '--format', 'oci-archive', 'busybox', 'multilayer'])
      for (const format of ['docker', 'oci']) {
        const other = new Sandbox()
        try {
          expect(other.ok(['load', '-i', join(out, `both.${format}.tar`)])).to.equal('Loaded image: busybox:latest\nLoaded image: multilayer:latest\n')
          expect(other.ok(['images', '--no-trunc', '--format', '{{.Repository}} {{.ID}}']).trim().split('\n').sort()).to.deep.equal([`busybox ${busyboxId}`, `multilayer ${multilayerId}`])
          expect(other.ok(['run', '--rm', 'multilayer', 'cat', '/data/b.txt'])).to.not.equal('')
        } finally {
          other.destroy()
        }
      }
    })

    it('writes an OCI archive with Docker\'s index annotations and the blobs as stored', () => {
      const file = join(out, 'both.oci.tar')
      const index = JSON.parse(tarFile(file, 'index.json').toString()) as {manifests: Array<{digest: string; annotations: Record<string, string>}>}
      expect(index.manifests.map((m) => m.annotations)).to.deep.equal([
        {'io.containerd.image.name': 'docker.io/library/busybox:latest', 'org.opencontainers.image.ref.name': 'latest'},
        {'io.containerd.image.name': 'docker.io/library/multilayer:latest', 'org.opencontainers.image.ref.name': 'latest'},
      ])
      expect(JSON.parse(tarFile(file, 'oci-layout').toString())).to.deep.equal({imageLayoutVersion: '1.0.0'})
      const blobs = tarList(file).filter((n) => /^blobs\/sha256\/[a-f0-9]{64}$/.test(n))
      expect(blobs).to.have.length(7) // 2 manifests + 2 configs + 3 distinct layers
      for (const b of blobs) expect(sha256(tarFile(file, b))).to.equal(`sha256:${b.slice(13)}`)
    })

    it('streams to stdout when there is no -o, and refuses a terminal', async () => {
      const r = await saveToStdout(box, ['--format', 'oci-archive', 'busybox'])
      expect(r.code, r.stderr).to.equal(0)
      const file = join(out, 'stdout.oci.tar')
      writeFileSync(file, r.data)
      expect(JSON.parse(tarFile(file, 'index.json').toString()).manifests).to.have.length(1)
      const tty = inTerminal(box, ['save', 'busybox'])
      expect(tty.code).to.equal(1)
      expect(tty.stdout).to.contain('ncx: cowardly refusing to save to a terminal. Use the -o flag or redirect')
    })

    it('saves every tag of a bare repository name, and an image named by ID without names', () => {
      box.ok(['tag', 'busybox', 'busybox:other'])
      try {
        const file = join(out, 'repo.tar')
        box.ok(['save', '-o', file, 'busybox', busyboxId.slice(7, 19)])
        const manifest = JSON.parse(tarFile(file, 'manifest.json').toString()) as Array<{RepoTags: string[] | null}>
        expect(manifest).to.have.length(1)
        expect(manifest[0].RepoTags).to.have.members(['busybox:latest', 'busybox:other'])
        box.ok(['save', '-o', file, busyboxId.slice(7, 19)])
        expect(JSON.parse(tarFile(file, 'manifest.json').toString())[0].RepoTags).to.equal(null)
      } finally {
        box.ok(['rmi', 'busybox:other'])
      }
    })

    it('is readable by skopeo in both formats', function () {
      if (!have('skopeo')) this.skip()
      const file = join(out, 'one.docker.tar')
      box.ok(['save', '-o', file, 'multilayer'])
      const docker = JSON.parse(execFileSync('skopeo', ['inspect', `docker-archive:${file}`], {encoding: 'utf8'})) as {Layers: string[]; Architecture: string}
      expect(docker.Layers).to.have.length(3)
      expect(docker.Architecture).to.equal(hostArchitecture())
      const ociFile = join(out, 'one.oci.tar')
      box.ok(['save', '-o', ociFile, '--format', 'oci-archive', 'multilayer'])
      const oci = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${ociFile}`], {encoding: 'utf8'})) as {Layers: string[]; Digest: string}
      expect(oci.Layers).to.have.length(3)
      const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci-archive:${ociFile}`], {encoding: 'utf8'})) as {rootfs: {diff_ids: string[]}}
      expect(config.rootfs.diff_ids).to.have.length(3)
    })

    it('decompresses gzip layers even without a recorded size (one counting pass, diff-id checked)', () => {
      const plain = new Sandbox()
      const other = new Sandbox()
      try {
        plain.load('multilayer.oci.tar')
        for (const name of readdirSync(join(plain.root, 'snapshots'))) rmSync(join(plain.root, 'snapshots', name, 'size'), {force: true})
        const file = join(out, 'nosize.tar')
        plain.ok(['save', '-o', file, 'multilayer'])
        other.ok(['load', '-i', file])
        expect(other.ok(['images', '--no-trunc', '-q']).trim()).to.equal(multilayerId)
      } finally {
        plain.destroy()
        other.destroy()
      }
    })

    it('refuses zstd layers in a docker-archive (suggesting oci-archive), leaving no file behind; oci-archive keeps them', async function () {
      if (!have('zstd')) this.skip()
      const source = join(out, 'zbox.oci.tar')
      const id = await zstdArchive(source)
      box.ok(['load', '-i', source])
      const target = join(out, 'zbox.docker.tar')
      const before = readdirSync(out)
      const r = box.ncx(['save', '-o', target, 'zbox'])
      expect(r.code).to.equal(1)
      expect(r.stderr).to.match(/^ncx: zbox:latest: layer sha256:[a-f0-9]{64} is zstd-compressed/)
      expect(r.stderr).to.contain('--format oci-archive')
      expect(readdirSync(out)).to.deep.equal(before) // neither the archive nor a temporary file
      const ociTarget = join(out, 'zbox.resaved.tar')
      box.ok(['save', '-o', ociTarget, '--format', 'oci-archive', 'zbox'])
      const other = new Sandbox()
      try {
        other.ok(['load', '-i', ociTarget])
        expect(other.ok(['images', '--no-trunc', '-q']).trim()).to.equal(id)
        expect(other.ok(['run', '--rm', 'zbox', 'echo', 'zstd-ok'])).to.equal('zstd-ok\n')
      } finally {
        other.destroy()
      }
      box.ok(['rmi', 'zbox'])
    })

    it('fails cleanly on a missing image or output directory', () => {
      const missing = box.ncx(['save', '-o', join(out, 'x.tar'), 'nope'])
      expect(missing.code).to.equal(1)
      expect(missing.stderr).to.contain('No such image: nope')
      const noDir = box.ncx(['save', '-o', join(out, 'no', 'x.tar'), 'busybox'])
      expect(noDir.code).to.equal(1)
      expect(noDir.stderr).to.contain('does not exist')
      expect(existsSync(join(out, 'x.tar'))).to.equal(false)
    })
  })

  describe('tag', () => {
    it('adds a name; rmi of one name only untags while another remains', () => {
      expect(box.ok(['tag', 'busybox', 'mybox:2'])).to.equal('')
      box.ok(['tag', busyboxId.slice(7, 19), 'localhost:5000/team/box'])
      expect(box.ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']).trim().split('\n').sort()).to.deep.equal(
        [`busybox:latest ${busyboxId.slice(7, 19)}`, `localhost:5000/team/box:latest ${busyboxId.slice(7, 19)}`, `multilayer:latest ${multilayerId.slice(7, 19)}`, `mybox:2 ${busyboxId.slice(7, 19)}`].sort(),
      )
      expect(box.ok(['rmi', 'mybox:2'])).to.equal('Untagged: mybox:2\n')
      expect(box.ok(['image', 'rm', 'localhost:5000/team/box'])).to.equal('Untagged: localhost:5000/team/box:latest\n')
      expect(box.ok(['images', '-q', 'busybox'])).to.equal(`${busyboxId.slice(7, 19)}\n`)
    })

    it('moves a name from one image to another (the old one keeps its other names)', () => {
      box.ok(['image', 'tag', 'multilayer', 'moving:1'])
      box.ok(['tag', 'busybox', 'moving:1'])
      expect(box.ok(['images', 'moving', '--no-trunc', '-q']).trim()).to.equal(busyboxId)
      expect(box.ok(['images', 'multilayer', '--no-trunc', '-q']).trim()).to.equal(multilayerId)
      box.ok(['rmi', 'moving:1'])
    })

    it('fails on an unknown source and refuses a digest as target', () => {
      const r = box.ncx(['tag', 'nope', 'x'])
      expect(r.code).to.equal(1)
      expect(r.stderr).to.contain('No such image: nope')
      const d = box.ncx(['tag', 'busybox', `x@sha256:${'a'.repeat(64)}`])
      expect(d.code).to.equal(1)
      expect(d.stderr).to.contain('refusing to create a tag with a digest reference')
      const bad = box.ncx(['tag', 'busybox', 'UPPER'])
      expect(bad.stderr).to.contain('invalid reference format')
    })
  })

  describe('image inspect', () => {
    it('prints Docker\'s JSON array', () => {
      const [doc, ...rest] = JSON.parse(box.ok(['image', 'inspect', 'busybox'])) as Array<Record<string, unknown>>
      expect(rest).to.deep.equal([])
      expect(Object.keys(doc)).to.include.members(['Id', 'RepoTags', 'RepoDigests', 'Parent', 'Comment', 'Created', 'Config', 'Architecture', 'Os', 'Size', 'RootFS', 'Metadata'])
      expect(doc.Id).to.equal(busyboxId)
      expect(doc.RepoTags).to.deep.equal(['busybox:latest'])
      // Loaded, not pulled: no registry knows it by a digest (Docker: []).
      expect(doc.RepoDigests).to.deep.equal([])
      expect(doc.Parent).to.equal('')
      expect(doc.Created).to.equal('2024-01-01T00:00:00Z')
      expect(doc.Config).to.deep.equal({Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh']})
      expect(doc.Architecture).to.equal(hostArchitecture())
      expect(doc.Os).to.equal('linux')
      expect(doc.Size).to.be.a('number').above(2_000_000)
      expect(doc.RootFS).to.deep.equal({Type: 'layers', Layers: [(doc.RootFS as {Layers: string[]}).Layers[0]]})
      expect((doc.Metadata as {LastTagTime: string}).LastTagTime).to.match(/^\d{4}-\d\d-\d\dT/)
    })

    it('takes -f with a Go template, one line per image', () => {
      expect(box.ok(['image', 'inspect', '-f', '{{.Id}} {{.Config.Cmd}} {{.Config.Entrypoint}} {{json .Config.Labels}}', 'busybox', multilayerId.slice(7, 19)])).to.equal(
        `${busyboxId} [sh] [] null\n${multilayerId} [sh] [] null\n`,
      )
      expect(box.ok(['image', 'inspect', '--format', '{{len .RootFS.Layers}} {{index .RepoTags 0}}', 'multilayer'])).to.equal('3 multilayer:latest\n')
    })

    it('prints what it found and fails for the rest', () => {
      const r = box.ncx(['image', 'inspect', 'busybox', 'nope'])
      expect(r.code).to.equal(1)
      expect(JSON.parse(r.stdout)).to.have.length(1)
      expect(r.stderr).to.equal('ncx: No such image: nope\n')
      const none = box.ncx(['image', 'inspect', 'nope'])
      expect(none.stdout).to.equal('[]\n')
      expect(none.code).to.equal(1)
    })
  })

  describe('image history', () => {
    it('shows one row per step with Docker\'s columns, sizes from the layers', () => {
      const lines = box.ok(['image', 'history', 'multilayer']).trimEnd().split('\n')
      expect(lines[0]).to.match(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/)
      expect(lines).to.have.length(4)
      expect(lines[1]).to.match(new RegExp(`^${multilayerId.slice(7, 19)}\\s+\\d+ years? ago\\s+RUN .{40,41}…\\s+4\\.1kB$`))
      expect(lines[2]).to.match(/^<missing>\s+\d+ years? ago\s+ADD .+\s+5\.12kB$/)
      expect(lines[3]).to.match(/^<missing>\s+\d+ years? ago\s+ADD busybox-static rootfs .+\s+2\.13MB$/)
    })

    it('takes -q, --no-trunc, -H=false and --format', () => {
      expect(box.ok(['image', 'history', '-q', 'multilayer'])).to.equal(`${multilayerId.slice(7, 19)}\n<missing>\n<missing>\n`)
      expect(box.ok(['history', '-q', '--no-trunc', 'busybox'])).to.equal(`${busyboxId}\n`)
      const raw = box.ok(['image', 'history', '-H=false', 'busybox']).trimEnd().split('\n')
      expect(raw[0]).to.match(/^IMAGE\s+CREATED AT\s+CREATED BY\s+SIZE\s+COMMENT$/)
      expect(raw[1]).to.match(/\s2024-01-01T00:00:00Z\s+ADD .+\s+\d{7}$/)
      expect(box.ok(['image', 'history', '--format', '{{.ID}}|{{.Size}}', 'multilayer'])).to.equal(`${multilayerId.slice(7, 19)}|4.1kB\n<missing>|5.12kB\n<missing>|2.13MB\n`)
      const json = JSON.parse(box.ok(['image', 'history', '--format', 'json', 'busybox']).trim()) as Record<string, string>
      expect(Object.keys(json)).to.deep.equal(['Comment', 'CreatedAt', 'CreatedBy', 'CreatedSince', 'ID', 'Size'])
      expect(box.ok(['image', 'history', '--format', 'table {{.ID}}\\t{{.CreatedBy}}', 'busybox']).split('\n')[0]).to.match(/^IMAGE\s+CREATED BY$/)
    })
  })

  describe('images --filter', () => {
    it('filters by reference (Docker glob on the familiar name), dangling, before and since', () => {
      box.ok(['tag', 'busybox', 'busybox:1.36'])
      try {
        const refs = (...args: string[]) => box.ok(['images', ...args, '--format', '{{.Repository}}:{{.Tag}}']).trim().split('\n').filter(Boolean).sort()
        expect(refs('--filter', 'reference=busybox')).to.deep.equal(['busybox:1.36', 'busybox:latest'])
        expect(refs('--filter', 'reference=busybox:1.*')).to.deep.equal(['busybox:1.36'])
        expect(refs('-f', 'reference=*layer*')).to.deep.equal(['multilayer:latest'])
        expect(refs('-f', 'reference=busy*', '-f', 'reference=multi*')).to.deep.equal(['busybox:1.36', 'busybox:latest', 'multilayer:latest'])
        expect(refs('--filter', 'dangling=true')).to.deep.equal([])
        expect(refs('--filter', 'dangling=false')).to.have.length(3)
        expect(refs('--filter', 'since=busybox')).to.deep.equal([]) // same creation time
        expect(refs('--filter', 'before=busybox')).to.deep.equal([])
      } finally {
        box.ok(['rmi', 'busybox:1.36'])
      }
      const bad = box.ncx(['images', '--filter', 'color=blue'])
      expect(bad.code).to.equal(1)
      expect(bad.stderr).to.contain("Invalid filter 'color'") // dockerd's wording
    })
  })

  describe('image prune', () => {
    const pbox = new Sandbox()
    after(() => pbox.destroy())

    it('makes a dangling image by moving its name, lists it, and requires confirmation without -f', () => {
      pbox.load('busybox.oci.tar')
      pbox.load('multilayer.oci.tar')
      pbox.ok(['tag', 'multilayer', 'busybox'])
      expect(pbox.ok(['images', '--filter', 'dangling=true', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).to.equal(`<none>:<none> ${busyboxId.slice(7, 19)}\n`)
      const r = pbox.ncx(['image', 'prune'], {input: ''})
      expect(r.code).to.equal(1)
      expect(r.stderr).to.equal('ncx: image prune deletes data and needs confirmation, but there is no terminal to ask on\n  hint: add -f (--force) to image prune in scripts and CI\n')
      expect(pbox.ok(['images', '-q', '--filter', 'dangling=true']).trim()).to.equal(busyboxId.slice(7, 19))
    })

    it('asks on a terminal and does nothing when the answer is no', function () {
      if (!have('script')) this.skip()
      const r = inTerminal(pbox, ['image', 'prune'], 'n\n')
      expect(r.code).to.equal(0)
      expect(r.stdout).to.contain('WARNING! This will remove all dangling images.')
      expect(r.stdout).to.not.contain('Total reclaimed space')
      expect(pbox.ok(['images', '-q', '--filter', 'dangling=true']).trim()).to.equal(busyboxId.slice(7, 19))
    })

    it('removes the dangling image with -f; its shared layer stays for the image still using it', () => {
      expect(pbox.ok(['image', 'prune', '-f'])).to.equal(`Deleted Images:\ndeleted: ${busyboxId}\n\nTotal reclaimed space: 0B\n`)
      expect(pbox.ok(['images', '--no-trunc', '-q'])).to.equal(`${multilayerId}\n`)
      expect(pbox.ok(['run', '--rm', 'busybox', 'cat', '/data/b.txt'])).to.not.equal('')
      expect(pbox.ok(['image', 'prune', '-f'])).to.equal('Total reclaimed space: 0B\n')
    })

    it('-a removes every image no container uses, and everything only they referenced', () => {
      pbox.ok(['import', join(images(), 'busybox.rootfs.tar'), 'mybox:1'])
      const myboxId = pbox.ok(['images', 'mybox', '--no-trunc', '-q']).trim()
      pbox.ok(['run', '--name', 'keeper', 'multilayer', 'true'])
      const r = pbox.ok(['image', 'prune', '-a', '-f'])
      expect(r).to.equal(`Deleted Images:\nuntagged: mybox:1\ndeleted: ${myboxId}\n\nTotal reclaimed space: 0B\n`)
      expect(pbox.ok(['images', '--format', '{{.Repository}}']).trim().split('\n').sort()).to.deep.equal(['busybox', 'multilayer'])
      expect(existsSync(join(pbox.root, 'blobs', 'sha256', myboxId.slice(7)))).to.equal(false)
    })

    it('-a reclaims the layers of an image nothing else uses and reports their size', () => {
      const fresh = new Sandbox()
      try {
        fresh.load('multilayer.oci.tar')
        const size = fresh.ok(['images', '--format', '{{.Size}}']).trim()
        const r = fresh.ok(['image', 'prune', '-a', '-f'])
        expect(r).to.equal(`Deleted Images:\nuntagged: multilayer:latest\ndeleted: ${multilayerId}\n\nTotal reclaimed space: ${size}\n`)
        expect(count(join(fresh.root, 'snapshots'))).to.equal(0)
        expect(count(join(fresh.root, 'blobs', 'sha256'))).to.equal(0)
      } finally {
        fresh.destroy()
      }
    })
  })
})
