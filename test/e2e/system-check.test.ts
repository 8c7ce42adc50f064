import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {chownSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync, closeSync} from 'node:fs'
import {join} from 'node:path'

import {Sandbox, asRoot, images, user, userDir} from './harness.js'

interface Problem {
  kind: string
  object: string
  ref: string
  repair: 'repair' | 'force'
  repaired?: boolean
  error?: string
}

interface Report {
  problems: Problem[]
  skipped: string[]
}

describe('e2e: system check finds and repairs what crashes and killed commands leave', function () {
  this.timeout(600_000)
  const box = new Sandbox()

  function check(...extra: string[]): {code: number; report: Report} {
    const r = box.ncx(['system', 'check', '--format', 'json', ...extra])
    expect(r.stderr, r.stderr).to.equal('')
    return {code: r.code, report: JSON.parse(r.stdout) as Report}
  }
  const kinds = (report: Report) => report.problems.map((p) => p.kind).sort()
  /** Give a file the test made to the test user (the store is theirs). */
  const own = (path: string) => {
    if (asRoot) chownSync(path, user.uid, user.gid)
  }

  before(() => {
    box.load('busybox.oci.tar')
    box.ok(['run', '--rm', '--network', 'none', 'busybox', 'true']) // the user namespace and layers exist
  })
  after(() => box.destroy())

  it('a consistent store: no problems, exit 0, and the table says so', () => {
    const {code, report} = check()
    expect(report.problems, JSON.stringify(report.problems)).to.deep.equal([])
    expect(code).to.equal(0)
    const plain = box.ncx(['system', 'check'])
    expect(plain.code).to.equal(0)
    expect(plain.stdout).to.match(/^No problems found \(\d+ containers, 1 images, 1 layers, 3 blobs/m)
  })

  it('a run -d killed while creating leaves a half-made container: reported, then removed by --repair', async () => {
    const containers = join(box.root, 'containers')
    const creating = () => existsSync(containers) && readdirSync(containers).some((d) => existsSync(join(containers, d, 'creating')))
    let found: Problem | undefined
    for (let attempt = 0; attempt < 10 && !found; attempt++) {
      await box.killWhen(['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000'], creating)
      found = check().report.problems.find((p) => p.kind === 'container-half-made')
      // A run that got through before the kill: its container is whole; take it away and try again.
      const whole = box.ok(['ps', '-aq', '--no-trunc']).trim()
      if (whole) box.ok(['rm', '-f', ...whole.split('\n')])
    }
    expect(found, 'no kill landed while a container was being created').to.not.equal(undefined)
    expect(check().code).to.equal(1)
    const {code, report} = check('--repair')
    expect(report.problems.filter((p) => p.kind === 'container-half-made').every((p) => p.repaired), JSON.stringify(report)).to.equal(true)
    expect(existsSync(join(box.root, 'containers', found!.ref))).to.equal(false)
    expect(code, JSON.stringify(report)).to.equal(0)
    expect(check().report.problems).to.deep.equal([])
  })

  it('an rm killed mid-removal leaves .rm-<id> and an address: both repaired', async () => {
    // A writable layer with many files, so the removal takes a while after its rename.
    const id = box.ok(['run', '-d', 'busybox', 'sh', '-c', 'mkdir /many && cd /many && for i in $(seq 3000); do echo $i > f$i; done; touch /done; sleep 1000']).trim()
    for (let i = 0; i < 300 && box.ncx(['exec', id, 'test', '-e', '/done']).code !== 0; i++) await new Promise((r) => setTimeout(r, 100))
    box.ok(['stop', '-t', '0', id])
    const doomed = join(box.root, 'containers', `.rm-${id}`)
    expect(await box.killWhen(['rm', id], () => existsSync(doomed)), 'the removal finished before the kill').to.equal(true)
    expect(existsSync(doomed)).to.equal(true)
    const before = check().report
    expect(kinds(before)).to.include('container-removal-leftover')
    expect(kinds(before)).to.include('address-stale')
    const {code, report} = check('--repair')
    expect(code, JSON.stringify(report)).to.equal(0)
    expect(readdirSync(join(box.root, 'containers')).filter((d) => d.startsWith('.rm-'))).to.deep.equal([])
    const nets = JSON.parse(readFileSync(join(box.root, 'networks.json'), 'utf8')) as {networks: Record<string, {allocations: Record<string, string>}>}
    expect(Object.keys(nets.networks.bridge.allocations)).to.deep.equal([])
    expect(check().report.problems).to.deep.equal([])
  })

  it('a load that failed leaves nothing behind; one killed midway leaves leftovers that --repair reclaims', async () => {
    // An OCI archive whose index names a manifest it does not hold: the load fails after storing every blob.
    const dir = userDir('ncx-check-arch-')
    execFileSync('tar', ['-xf', join(images(), 'busybox.oci.tar'), '-C', dir])
    const index = readFileSync(join(dir, 'index.json'), 'utf8').replace(/sha256:[a-f0-9]{64}/, `sha256:${'1'.repeat(64)}`)
    writeFileSync(join(dir, 'index.json'), index)
    execFileSync('tar', ['-cf', join(dir, 'bad.tar'), '-C', dir, 'oci-layout', 'index.json', 'blobs'])
    own(join(dir, 'bad.tar'))
    const other = new Sandbox()
    try {
      const r = other.ncx(['load', '-i', join(dir, 'bad.tar')])
      expect(r.code).to.equal(1) // Docker's rule since the parity merge: 125 is for run/create/exec
      expect(r.stderr).to.contain('is missing from the archive')
      // The blobs the failed load stored were collected at once.
      const blobs = join(other.root, 'blobs', 'sha256')
      expect(existsSync(blobs) ? readdirSync(blobs) : []).to.deep.equal([])
      expect(JSON.parse(other.ok(['system', 'check', '--format', 'json'])).problems).to.deep.equal([])

      // A load of a big archive killed while it streams: tmp/ingest-* and unreferenced blobs.
      const big = join(dir, 'big.tar')
      // A large file first (stored as it streams), so the load takes long enough to be killed while it stores.
      execFileSync('sh', ['-c', `mkdir -p ${dir}/m && tar -xf ${join(images(), 'multilayer.oci.tar')} -C ${dir}/m && head -c 200000000 /dev/urandom > ${dir}/m/aaa-pad && tar -cf ${big} -C ${dir}/m aaa-pad oci-layout index.json blobs`])
      own(big)
      const tmp = join(other.root, 'tmp')
      const storing = () => existsSync(tmp) && readdirSync(tmp).some((f) => f.startsWith('ingest-'))
      expect(await other.killWhen(['load', '-i', big], storing), 'the load finished before the kill').to.equal(true)
      const leftovers = kinds(JSON.parse(other.ncx(['system', 'check', '--format', 'json']).stdout) as Report).filter((k) => k === 'download-partial' || k === 'blob-unreferenced')
      expect(leftovers.length, 'no kill landed while the load was storing blobs').to.be.greaterThan(0)
      const repaired = JSON.parse(other.ncx(['system', 'check', '--repair', '--format', 'json']).stdout) as Report
      expect(repaired.problems.every((p) => p.repaired), JSON.stringify(repaired)).to.equal(true)
      expect(readdirSync(join(other.root, 'tmp'))).to.deep.equal([])
      // And the same archive loads whole afterwards.
      other.ok(['load', '-i', big])
      expect(JSON.parse(other.ok(['system', 'check', '--format', 'json'])).problems).to.deep.equal([])
    } finally {
      other.destroy()
    }
  })

  it('an OCI archive that lacks a layer does not load, even when the store has the blob from an earlier load', () => {
    const dir = userDir('ncx-check-lack-')
    execFileSync('tar', ['-xf', join(images(), 'busybox.oci.tar'), '-C', dir])
    const layers = readdirSync(join(dir, 'blobs', 'sha256')).filter((b) => readFileSync(join(dir, 'blobs', 'sha256', b)).length > 100_000)
    expect(layers.length).to.equal(1)
    rmSync(join(dir, 'blobs', 'sha256', layers[0]))
    execFileSync('tar', ['-cf', join(dir, 'lacking.tar'), '-C', dir, 'oci-layout', 'index.json', 'blobs'])
    own(join(dir, 'lacking.tar'))
    box.ok(['tag', 'busybox', 'keep:me']) // the layer blob is in this store
    const r = box.ncx(['load', '-i', join(dir, 'lacking.tar')])
    expect(r.code).to.equal(1)
    expect(r.stderr).to.contain(`blob sha256:${layers[0]} named in manifest`)
    expect(r.stderr).to.contain('is missing from the archive')
    box.ok(['rmi', 'keep:me'])
  })

  it('damaged images: a missing blob, a corrupt blob; --repair removes them, and --force the container using one', () => {
    box.ok(['tag', 'busybox', 'damaged:one'])
    // A second image (its own config) so removing it does not take busybox.
    const id = box.ok(['import', join(images(), 'busybox.rootfs.tar'), 'damaged:two']).trim()
    const config = (JSON.parse(box.ok(['image', 'inspect', 'damaged:two'])) as Array<{RootFS: {Layers: string[]}}>)[0]
    expect(config.RootFS.Layers).to.have.length(1)
    const c = box.ok(['create', '--name', 'user-of-two', 'damaged:two', 'true']).trim()
    // Corrupt the config blob of damaged:two (bytes changed in place: what a bad disk does).
    const blob = join(box.root, 'blobs', 'sha256', id.replace(/^sha256:/, ''))
    const fd = openSync(blob, 'r+')
    writeSync(fd, Buffer.from('XX'), 0, 2, 0)
    closeSync(fd)
    const quick = check('--quick').report
    expect(quick.skipped.join(' ')).to.contain('--quick')
    expect(kinds(quick)).to.not.include('blob-corrupt') // not re-hashed
    const full = check().report
    expect(kinds(full)).to.include('blob-corrupt')
    const damaged = full.problems.find((p) => p.kind === 'image-damaged')!
    expect(damaged.ref).to.equal(id.startsWith('sha256:') ? id : `sha256:${id}`)
    expect(damaged.repair).to.equal('force')
    // Without --force the image used by a container stays, and the check says why.
    const first = check('--repair')
    expect(first.code).to.equal(1)
    expect(first.report.problems.find((p) => p.kind === 'image-damaged')!.error).to.contain('--force')
    const listed = () => box.ok(['images', '--format', '{{.Repository}}:{{.Tag}}']).split('\n')
    expect(listed()).to.include('damaged:two')
    expect(box.ncx(['image', 'inspect', 'damaged:two']).stderr).to.contain('its config blob is missing from the store')
    const forced = check('--repair', '--force')
    expect(forced.code, JSON.stringify(forced.report)).to.equal(0)
    expect(listed()).to.not.include('damaged:two')
    expect(box.ncx(['inspect', c]).code).to.not.equal(0)
    // busybox is whole and runs.
    expect(box.ok(['run', '--rm', '--network', 'none', 'damaged:one', 'echo', 'ok']).trim()).to.equal('ok')
    box.ok(['rmi', 'damaged:one'])
    expect(check().report.problems).to.deep.equal([])
  })

  it('a container whose unpacked layer is gone: unpacked again from its blob by --repair, and it runs', () => {
    const id = box.ok(['create', '--network', 'none', 'busybox', 'echo', 'back']).trim()
    const layer = (JSON.parse(readFileSync(join(box.root, 'containers', id, 'container.json'), 'utf8')) as {layers: string[]}).layers[0]
    const snapshot = join(box.root, 'snapshots', layer.replace(/^sha256:/, ''))
    execFileSync('mv', [snapshot, `${snapshot}.gone`])
    try {
      const problem = check().report.problems.find((p) => p.kind === 'container-damaged')!
      expect(problem.repair).to.equal('repair')
      const {code, report} = check('--repair')
      expect(code, JSON.stringify(report)).to.equal(0)
      expect(box.ok(['start', '-a', id]).trim()).to.equal('back')
    } finally {
      if (existsSync(`${snapshot}.gone`)) box.ok(['system', 'check', '--repair']) // (never leave the moved copy behind)
      execFileSync('rm', ['-rf', `${snapshot}.gone`])
      box.ok(['rm', id])
    }
  })

  it('stale lock files of removed layers, and a volume directory without its record', () => {
    box.ok(['import', join(images(), 'busybox.rootfs.tar'), 'short:lived'])
    box.ok(['rmi', 'short:lived']) // its layer is shared with busybox: import a different one below
    const dir = userDir('ncx-check-tar-')
    execFileSync('sh', ['-c', `mkdir -p ${dir}/r && echo unique-$$ > ${dir}/r/file && tar -cf ${dir}/r.tar -C ${dir}/r .`])
    own(join(dir, 'r.tar'))
    box.ok(['import', join(dir, 'r.tar'), 'short:lived'])
    box.ok(['rmi', 'short:lived'])
    const locks = check().report.problems.filter((p) => p.kind === 'lock-stale')
    expect(locks.length).to.be.greaterThan(0)
    // A volume create killed between its directory and its record (with data a container wrote).
    const vol = join(box.root, 'volumes', 'orphaned')
    mkdirSync(join(vol, '_data'), {recursive: true})
    writeFileSync(join(vol, '_data', 'kept'), 'data\n')
    for (const p of [join(box.root, 'volumes'), vol, join(vol, '_data'), join(vol, '_data', 'kept')]) own(p)
    expect(kinds(check().report)).to.include('volume-without-record')
    expect(box.ok(['volume', 'ls', '-q']).split('\n')).to.not.include('orphaned')
    const {code, report} = check('--repair')
    expect(code, JSON.stringify(report)).to.equal(0)
    expect(box.ok(['volume', 'ls', '-q']).split('\n')).to.include('orphaned')
    expect(box.ok(['run', '--rm', '--network', 'none', '-v', 'orphaned:/v', 'busybox', 'cat', '/v/kept']).trim()).to.equal('data')
    box.ok(['volume', 'rm', 'orphaned'])
    expect(check().report.problems).to.deep.equal([])
  })

  it('doctor reports the store check (read-only), and --repair is safe beside a running load', async () => {
    box.ok(['tag', 'busybox', 'lock:me'])
    const blob = join(box.root, 'blobs', 'sha256', 'f'.repeat(64))
    writeFileSync(blob, 'stray')
    own(blob)
    const doctor = box.ncx(['system', 'doctor', '--format', 'json'])
    const store = (JSON.parse(doctor.stdout) as {checks: Array<{id: string; status: string; detail: string; fix?: string}>}).checks.find((c) => c.id === 'store')!
    expect(store.status).to.equal('warn')
    expect(store.detail).to.contain('blob-unreferenced') // (doctor does not re-hash: --quick)
    expect(store.fix).to.contain('ncx system check --repair')
    expect(existsSync(blob)).to.equal(true) // doctor changed nothing
    check('--repair')
    expect(existsSync(blob)).to.equal(false)

    // Loads running while repairs run: every load completes, the images are whole.
    const other = new Sandbox()
    try {
      const loads = Array.from({length: 3}, () => other.run(['load', '-i', join(images(), 'multilayer.oci.tar')]))
      for (let i = 0; i < 10; i++) other.ncx(['system', 'check', '--repair', '--quick'])
      for (const r of await Promise.all(loads)) expect(r.code, r.stderr).to.equal(0)
      expect(JSON.parse(other.ok(['system', 'check', '--format', 'json'])).problems).to.deep.equal([])
      expect(other.ok(['run', '--rm', '--network', 'none', 'multilayer', 'true'])).to.equal('')
    } finally {
      other.destroy()
    }
    box.ok(['rmi', 'lock:me'])
  })

  it('--force without --repair is a usage error', () => {
    const r = box.ncx(['system', 'check', '--force'])
    expect(r.code).to.equal(1)
    expect(r.stderr).to.contain('--force only applies with --repair')
  })
})
