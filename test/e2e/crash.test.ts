import {expect} from 'chai'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import {Sandbox} from './harness.js'

describe('e2e: a CLI killed mid-create leaves whole containers or nothing', function () {
  this.timeout(300_000)
  const box = new Sandbox()

  before(() => {
    box.load('busybox.oci.tar')
    box.ok(['run', '--rm', '--network', 'none', 'busybox', 'true']) // the user namespace and layers exist
  })
  after(() => box.destroy())

  /** The monitors of this sandbox's containers (by the bundle on their command line). */
  function monitorBundles(): string[] {
    const out: string[] = []
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'ncx-monitor') continue
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
        const bundle = args[args.indexOf('--bundle') + 1]
        if (bundle.startsWith(box.root)) out.push(bundle.split('/').pop()!)
      } catch {
        // gone
      }
    }
    return out
  }

  it('SIGKILL at random points of run -d, create and run: each container is whole or gone, and its name free', async () => {
    const verbs = [['run', '-d'], ['create'], ['run']]
    const rounds = 15
    for (let i = 0; i < rounds; i++) {
      // Spread over the whole command: from before the record exists to after the start.
      const delay = Math.floor(((i % 5) / 5) * 500 + Math.random() * 100)
      await box.killAfter([...verbs[i % 3], '--name', `k${i}`, 'busybox', 'sleep', '1000'], delay)
    }
    // Whatever is listed is whole: record, config, bundle, no creating marker.
    const listed = box.ok(['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}}']).trim().split('\n').filter(Boolean).map((l) => l.split(' '))
    const names = new Set(listed.map(([, n]) => n))
    for (const [id] of listed) {
      const dir = join(box.root, 'containers', id)
      expect(existsSync(join(dir, 'config.json')), `${id} config.json`).to.equal(true)
      expect(existsSync(join(dir, 'creating')), `${id} marker`).to.equal(false)
      expect((JSON.parse(readFileSync(join(dir, 'container.json'), 'utf8')) as {config?: unknown}).config).to.be.an('object')
    }
    // The names of the others are free (and that create reaps what was left half-made).
    for (let i = 0; i < rounds; i++) {
      if (!names.has(`k${i}`)) box.ok(['create', '--name', `k${i}`, 'busybox', 'true'])
    }
    const all = new Set(box.ok(['ps', '-aq', '--no-trunc']).trim().split('\n'))
    expect(all.size).to.equal(rounds)
    // Nothing dangling: every directory is a listed container, every monitor runs a listed one.
    const dirs = readdirSync(join(box.root, 'containers')).filter((d) => !d.startsWith('.') || d.startsWith('.rm-'))
    expect(dirs.filter((d) => !all.has(d))).to.deep.equal([])
    expect(monitorBundles().filter((id) => !all.has(id))).to.deep.equal([])
    box.ok(['rm', '-f', ...all])
    expect(readdirSync(join(box.root, 'containers')).filter((d) => /^[a-f0-9]{64}$|^\.rm-/.test(d))).to.deep.equal([])
  })
})
