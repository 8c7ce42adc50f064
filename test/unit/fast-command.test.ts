import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {join, relative} from 'node:path'

import {plainLocaleCompare} from '../../src/cli/collate.js'

// The start-up path of every other command (bin/run.cjs → dist/fast-command.cjs, see
// scripts/build-fast.cjs and src/cli/fast-command.ts). test/e2e/fast-path.test.ts compares
// its results with oclif's module-by-module path.
describe('plainLocaleCompare (localeCompare without ICU for plain strings)', () => {
  const icu = (a: string, b: string) => Math.sign(a.localeCompare(b))

  it("agrees with ICU's order for ASCII letters, digits and _-:./", () => {
    const alphabet = '_-:./0123456789abcdefghijklmnopqrstuvwxyzAZTQ'
    let seed = 12345
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const word = () => Array.from({length: Math.floor(random() * 6)}, () => alphabet[Math.floor(random() * alphabet.length)]).join('')
    const samples = ['', 'compose', 'compose:ps', 'compose-ps', 'container:ls', 'a.b', 'a/b', 'a_b', '2026-12-04T19:16:55.123Z', '2026-12-04T19:16:55.1Z', 'ps', 'ps1']
    for (let i = 0; i < 4000; i++) samples.push(word())
    for (let i = 0; i < samples.length; i++) {
      const a = samples[i]
      const b = samples[(i * 7 + 3) % samples.length]
      const plain = plainLocaleCompare(a, b)
      if (a.toLowerCase() !== b.toLowerCase()) expect(plain, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).to.equal(icu(a, b))
      else expect(plain, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).to.be.oneOf(a === b ? [0] : [undefined])
    }
    for (const a of alphabet) for (const b of alphabet) if (a.toLowerCase() !== b.toLowerCase()) expect(plainLocaleCompare(a, b), `${a} vs ${b}`).to.equal(icu(a, b))
  })

  it('leaves other strings to ICU', () => {
    for (const [a, b] of [['Abc', 'abc'], ['a b', 'ab'], ['é', 'e'], ['x+y', 'x']]) expect(plainLocaleCompare(a, b)).to.equal(undefined)
  })
})

describe('command bundle (dist/fast-command.cjs)', () => {
  const root = join(import.meta.dirname, '..', '..')
  const file = join(root, 'dist', 'fast-command.cjs')

  before(function () {
    if (!existsSync(file)) this.skip() // not built: npm run build:ts
  })

  it('has a code cache that V8 accepts', () => {
    const probe = `
      const fs = require('node:fs'), vm = require('node:vm'), Module = require('node:module')
      const file = ${JSON.stringify(file)}
      const s = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), {filename: file, cachedData: fs.readFileSync(file + '.cache')})
      process.stdout.write(JSON.stringify(s.cachedDataRejected))`
    const r = spawnSync(process.execPath, ['-e', probe], {encoding: 'utf8'})
    expect(r.status, r.stderr).to.equal(0)
    expect(JSON.parse(r.stdout)).to.equal(false)
  })

  it('carries every command module, the help class and the hook, and loads none of them up front', () => {
    const built: string[] = []
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, {withFileTypes: true})) {
        if (e.isDirectory()) walk(join(dir, e.name))
        else if (e.name.endsWith('.js')) built.push(relative(root, join(dir, e.name)))
      }
    }
    walk(join(root, 'dist', 'src', 'commands'))
    const probe = `
      const before = new Set(process.moduleLoadList)
      const {modules} = require(${JSON.stringify(file)})
      const loaded = process.moduleLoadList.filter((m) => !before.has(m))
      process.stdout.write(JSON.stringify({names: Object.keys(modules), loaded}))`
    const r = spawnSync(process.execPath, ['-e', probe], {encoding: 'utf8'})
    expect(r.status, r.stderr).to.equal(0)
    const {names, loaded} = JSON.parse(r.stdout) as {names: string[]; loaded: string[]}
    expect(names).to.include.members([...built, 'dist/src/cli/help.js', 'dist/src/cli/not-found.js'])
    // (node:net comes with node:tty, which oclif's colour detection loads.)
    for (const m of ['NativeModule crypto', 'NativeModule child_process', 'NativeModule http', 'NativeModule zlib']) expect(loaded).to.not.include(m)
  })
})
