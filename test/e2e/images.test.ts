import {expect} from 'chai'
import {existsSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {Sandbox, images} from './harness.js'

const count = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => !n.startsWith('.')).length : 0)

describe('e2e: images', function () {
  this.timeout(120_000)
  const box = new Sandbox()
  after(() => box.destroy())

  it('loads an OCI archive and lists it with Docker\'s columns', () => {
    expect(box.ok(['load', '-i', join(images(), 'busybox.oci.tar')])).to.equal('Loaded image: busybox:latest\n')
    const lines = box.ok(['images']).trim().split('\n')
    expect(lines[0]).to.match(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/)
    expect(lines[1]).to.match(/^busybox\s+latest\s+[a-f0-9]{12}\s+\d+ \w+ ago\s+[\d.]+[kM]B$/)
    expect(box.ok(['images', '-q'])).to.match(/^[a-f0-9]{12}\n$/)
    expect(box.ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).to.equal('busybox:latest\n')
    const json = JSON.parse(box.ok(['images', '--format', 'json']).trim()) as Record<string, string>
    expect(json.Repository).to.equal('busybox')
    expect(json.ID).to.match(/^[a-f0-9]{12}$/)
  })

  it('loads a docker-archive (docker save format) of the same image', () => {
    expect(box.ok(['load', '-i', join(images(), 'busybox.docker.tar')])).to.equal('Loaded image: busybox:latest\n')
    expect(box.ok(['images', '-q'])).to.match(/^[a-f0-9]{12}\n$/) // same config digest → same image
  })

  it('imports a rootfs tarball as a one-layer image with --change', () => {
    const id = box.ok(['import', '--change', 'CMD ["echo", "from-import"]', join(images(), 'busybox.rootfs.tar'), 'mybox:1']).trim()
    expect(id).to.match(/^sha256:[a-f0-9]{64}$/)
    expect(box.ok(['run', '--rm', 'mybox:1'])).to.equal('from-import\n')
    expect(box.ok(['images', 'mybox', '--format', '{{.Tag}}'])).to.equal('1\n')
  })

  it('imports from an http URL, with --platform; other OSes are refused', async () => {
    const {createServer} = await import('node:http')
    const {createReadStream} = await import('node:fs')
    const server = createServer((req, res) => {
      if (req.url !== '/rootfs.tar') return res.writeHead(404).end()
      res.writeHead(200)
      createReadStream(join(images(), 'busybox.rootfs.tar')).pipe(res)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const url = `http://127.0.0.1:${(server.address() as {port: number}).port}`
    try {
      // box.run: the file server answers from this process, which spawnSync would block.
      const r = await box.run(['import', '--platform', 'linux/arm64/v8', `${url}/rootfs.tar`, 'fromurl:1'])
      expect(r.code, r.stderr).to.equal(0)
      expect(box.ok(['image', 'inspect', '-f', '{{.Os}}/{{.Architecture}}/{{.Variant}}', 'fromurl:1']).trim()).to.equal('linux/arm64/v8')
      const missing = await box.run(['import', `${url}/nosuch.tar`, 'fromurl:2'])
      expect(missing.code).to.not.equal(0)
      expect(missing.stderr).to.match(/cannot fetch http:\/\/127\.0\.0\.1:\d+\/nosuch\.tar: 404/)
    } finally {
      server.close()
    }
    const os = box.ncx(['import', '--platform', 'windows/amd64', join(images(), 'busybox.rootfs.tar'), 'win:1'])
    expect(os.code).to.equal(1)
    expect(os.stderr).to.match(/cannot import an image for windows: ncx runs linux images only/)
  })

  it('honours whiteouts and opaque directories across layers', () => {
    box.ok(['load', '-i', join(images(), 'multilayer.oci.tar')])
    const out = box.ok(['run', '--rm', 'multilayer', 'find', '/data'])
    expect(out.trim().split('\n').sort()).to.deep.equal(['/data', '/data/b.txt', '/data/dir', '/data/dir/new.txt'])
  })

  it('rmi untags, then deletes blobs and unpacked layers nothing else uses', () => {
    box.ok(['load', '-i', join(images(), 'busybox.oci.tar')])
    const snapshots = join(box.root, 'snapshots')
    const before = count(snapshots)
    const out = box.ok(['rmi', 'multilayer'])
    expect(out).to.match(/^Untagged: multilayer:latest\nDeleted: sha256:[a-f0-9]{64}\n$/)
    expect(count(snapshots)).to.equal(before - 2) // its two own layers; the busybox base stays
    expect(box.ok(['run', '--rm', 'busybox', 'true'])).to.equal('')
    const missing = box.ncx(['rmi', 'multilayer'])
    expect(missing.code).to.equal(1)
    expect(missing.stderr).to.contain('No such image: multilayer')
  })

  it('refuses to delete an image a container uses, unless forced', () => {
    box.ok(['run', '--name', 'user-of-mybox', 'mybox:1'])
    const r = box.ncx(['rmi', 'mybox:1'])
    expect(r.code).to.equal(1)
    expect(r.stderr).to.match(/conflict: unable to remove image mybox:1 \(must be forced\) - container [a-f0-9]{12} is using/)
    expect(box.ok(['rmi', '-f', 'mybox:1'])).to.match(/^Untagged: mybox:1\nDeleted: /)
  })

  it('rejects a layer with ../ entries and writes nothing outside', () => {
    const canary = join(images(), 'canary')
    const r = box.ncx(['load', '-i', join(images(), 'hostile-dotdot.oci.tar')])
    expect(r.code).to.equal(1)
    expect(r.stderr).to.contain('points outside the layer; the layer is rejected')
    expect(existsSync(join(box.root, '..', 'canary-dotdot'))).to.equal(false)
    expect(existsSync(canary)).to.equal(false)
    expect(box.ok(['images', '--format', '{{.Repository}}'])).to.not.contain('hostile')
    expect(readdirSync(join(box.root, 'snapshots')).filter((n) => n.startsWith('.tmp-'))).to.deep.equal([])
  })

  it('contains symlink, hardlink and absolute-path tricks inside the layer', () => {
    const canary = join(images(), 'canary')
    for (const name of ['hostile-symlink', 'hostile-abs', 'hostile-hardlink']) {
      const r = box.ncx(['load', '-i', join(images(), `${name}.oci.tar`)])
      // Either rejected with a clear error or loaded with everything inside the layer.
      if (r.code !== 0) expect(r.stderr, name).to.match(/^ncx: .+/)
      expect(existsSync(join(canary, 'pwned')), name).to.equal(false)
      expect(existsSync('/abs-pwned'), name).to.equal(false)
    }
    // Each layer is unpacked on its own: the file written "through" the link of a lower
    // layer is a plain file of the image, visible only inside the container.
    expect(box.ncx(['run', '--rm', 'hostile-symlink', 'test', '-f', '/escape/pwned']).code).to.equal(0)
  })

  it('fails clearly on a file that is not an image archive, storing nothing', () => {
    const junk = join(box.root, 'junk.tar')
    writeFileSync(junk, 'this is not a tar archive at all'.repeat(40), {mode: 0o644})
    const blobsBefore = count(join(box.root, 'blobs', 'sha256'))
    const r = box.ncx(['load', '-i', junk])
    expect(r.code).to.equal(1)
    expect(r.stderr).to.match(/^ncx: .*(not a valid tar archive|neither an OCI archive)/)
    expect(count(join(box.root, 'blobs', 'sha256'))).to.be.at.most(blobsBefore)
    const missing = box.ncx(['load', '-i', '/nonexistent.tar'])
    expect(missing.code).to.equal(1)
    expect(missing.stderr).to.contain('no such file or directory')
  })
})
