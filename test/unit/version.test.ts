import {expect} from 'chai'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {RUNTIME_VERSION_CACHE_ENTRIES, cachedRuntimeVersionText, runtimeVersionCacheFile, versionInfo} from '../../src/engine/version.js'

describe('ncx version: the runtime version cache (src/engine/version)', () => {
  let dir: string
  let runtime: string
  let spawns: string
  let cache: string
  /** A runtime that answers `version` with `text` and counts its calls in `spawns`. */
  const install = (text: string) => {
    const tmp = `${runtime}.new`
    writeFileSync(tmp, `#!/bin/sh\necho x >> ${spawns}\necho "${text}"\n`)
    chmodSync(tmp, 0o755)
    renameSync(tmp, runtime)
  }
  const spawned = () => (existsSync(spawns) ? readFileSync(spawns, 'utf8').split('\n').filter(Boolean).length : 0)

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-version-'))
    runtime = join(dir, 'ncx-runtime')
    spawns = join(dir, 'spawns')
    cache = join(dir, 'cache', 'ncx', 'runtime-version.json')
    install('ncx-runtime 1.2.3')
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('answers as the spawned runtime does, and spawns it once for the same binary', () => {
    expect(cachedRuntimeVersionText(runtime, cache)).to.equal('ncx-runtime 1.2.3\n')
    expect(spawned()).to.equal(1)
    expect(existsSync(cache)).to.equal(true)
    expect(cachedRuntimeVersionText(runtime, cache)).to.equal('ncx-runtime 1.2.3\n')
    expect(spawned()).to.equal(1)
  })

  it('asks the runtime again when the binary was replaced', () => {
    cachedRuntimeVersionText(runtime, cache)
    install('ncx-runtime 1.2.40')
    expect(cachedRuntimeVersionText(runtime, cache)).to.equal('ncx-runtime 1.2.40\n')
    expect(spawned()).to.equal(2)
  })

  it('asks the runtime again for another path, and after a corrupt cache', () => {
    cachedRuntimeVersionText(runtime, cache)
    const other = join(dir, 'other-runtime')
    writeFileSync(other, '#!/bin/sh\necho "ncx-runtime 7.0.0"\n')
    chmodSync(other, 0o755)
    expect(cachedRuntimeVersionText(other, cache)).to.equal('ncx-runtime 7.0.0\n')
    expect(cachedRuntimeVersionText(runtime, cache)).to.equal('ncx-runtime 1.2.3\n')
    expect(cachedRuntimeVersionText(other, cache)).to.equal('ncx-runtime 7.0.0\n')
    expect(spawned(), 'two runtimes, each cached').to.equal(1)
    writeFileSync(cache, '{not json')
    expect(cachedRuntimeVersionText(runtime, cache)).to.equal('ncx-runtime 1.2.3\n')
    expect(spawned()).to.equal(2)
  })

  it('answers without a usable cache (no home, an unwritable place) and never caches a failure', () => {
    expect(cachedRuntimeVersionText(runtime, undefined)).to.equal('ncx-runtime 1.2.3\n')
    mkdirSync(join(dir, 'file-not-dir'))
    writeFileSync(join(dir, 'file-not-dir', 'ncx'), '')
    expect(cachedRuntimeVersionText(runtime, join(dir, 'file-not-dir', 'ncx', 'runtime-version.json'))).to.equal('ncx-runtime 1.2.3\n')
    writeFileSync(runtime, '#!/bin/sh\nexit 3\n')
    expect(() => cachedRuntimeVersionText(runtime, cache)).to.throw(/exit status 3/)
    expect(existsSync(cache)).to.equal(false)
  })

  it(`remembers the last ${RUNTIME_VERSION_CACHE_ENTRIES} runtime paths`, () => {
    const paths = Array.from({length: RUNTIME_VERSION_CACHE_ENTRIES + 1}, (_, i) => join(dir, `rt${i}`))
    for (const p of paths) {
      writeFileSync(p, `#!/bin/sh\necho x >> ${spawns}\necho "ncx-runtime 0.0.1"\n`)
      chmodSync(p, 0o755)
      cachedRuntimeVersionText(p, cache)
    }
    const entries = Object.keys((JSON.parse(readFileSync(cache, 'utf8')) as {entries: Record<string, unknown>}).entries)
    expect(entries).to.deep.equal(paths.slice(1))
  })

  it('keeps the cache in XDG_CACHE_HOME, else ~/.cache', () => {
    expect(runtimeVersionCacheFile({XDG_CACHE_HOME: '/c', HOME: '/h'})).to.equal('/c/ncx/runtime-version.json')
    expect(runtimeVersionCacheFile({XDG_CACHE_HOME: 'relative', HOME: '/h'})).to.equal('/h/.cache/ncx/runtime-version.json')
    expect(runtimeVersionCacheFile({HOME: '/h'})).to.equal('/h/.cache/ncx/runtime-version.json')
  })

  it('versionInfo gives the same runtime version from the cache as spawned', () => {
    const saved = {bin: process.env.NCX_RUNTIME_BINARY, xdg: process.env.XDG_CACHE_HOME}
    process.env.NCX_RUNTIME_BINARY = runtime
    process.env.XDG_CACHE_HOME = join(dir, 'cache')
    try {
      const first = versionInfo('0.0.1', true)
      const second = versionInfo('0.0.1', true)
      expect(first.Server.Runtime.Version).to.equal('1.2.3')
      expect(second).to.deep.equal(first)
      expect(spawned()).to.equal(1)
    } finally {
      for (const [k, v] of [['NCX_RUNTIME_BINARY', saved.bin], ['XDG_CACHE_HOME', saved.xdg]] as const) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })
})
