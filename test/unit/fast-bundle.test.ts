import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

// The fast path of `run`/`exec` (bin/run.cjs → dist/fast.cjs, scripts/build-fast.cjs and
// fast-cache.cjs): its V8 code cache must be accepted, and loading it must not load the
// built-ins a `run -d` does without. Needs the build (npm run build:ts).
describe('fast-path bundle (dist/fast.cjs)', () => {
  const root = join(import.meta.dirname, '..', '..')
  const file = join(root, 'dist', 'fast.cjs')

  before(function () {
    if (!existsSync(file)) this.skip() // not built: npm run build:ts
  })

  it('has a code cache that V8 accepts, with every function compiled', () => {
    const probe = `
      const fs = require('node:fs'), vm = require('node:vm'), Module = require('node:module')
      const file = ${JSON.stringify(file)}
      const data = fs.readFileSync(file + '.cache')
      const s = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), {filename: file, cachedData: data})
      process.stdout.write(JSON.stringify({rejected: s.cachedDataRejected, bytes: data.length}))`
    const r = spawnSync(process.execPath, ['-e', probe], {encoding: 'utf8'})
    expect(r.status, r.stderr).to.equal(0)
    const {rejected, bytes} = JSON.parse(r.stdout) as {rejected: boolean; bytes: number}
    expect(rejected).to.equal(false)
    expect(bytes, 'an eager cache is several times the top-level-only one').to.be.above(200_000)
  })

  it('loads without node:crypto, node:child_process or the stream machinery', () => {
    const probe = `
      const before = new Set(process.moduleLoadList)
      require(${JSON.stringify(file)})
      const loaded = process.moduleLoadList.filter((m) => !before.has(m))
      process.stdout.write(JSON.stringify(loaded))`
    const r = spawnSync(process.execPath, ['-e', probe], {encoding: 'utf8'})
    expect(r.status, r.stderr).to.equal(0)
    const loaded = JSON.parse(r.stdout) as string[]
    for (const m of ['NativeModule crypto', 'NativeModule child_process', 'NativeModule stream', 'NativeModule net']) expect(loaded).to.not.include(m)
  })

  it("is launched so that Node leaves ncx's --env-file alone (Node 20-22 read it anywhere before --)", () => {
    // As the installed `ncx` runs: through the #! line of bin/run.cjs.
    const r = spawnSync(join(root, 'bin', 'run.cjs'), ['run', '--rm', '--env-file', '/nonexistent-ncx-env', 'busybox', 'true'], {encoding: 'utf8', env: {...process.env, NCX_ROOT: join(root, 'nonexistent-root')}})
    expect(r.stderr).to.include('open /nonexistent-ncx-env: no such file or directory')
    expect(r.status).to.equal(125)
  })
})
