/**
 * Privacy between users (docs/security.md): private store roots (src/engine/store/private.ts),
 * modes of what ncx writes whatever the umask (store/files.ts, registry/credentials.ts), and
 * the free subordinate id range doctor and the userns warning suggest (rootless/session.ts).
 */
import {expect} from 'chai'
import {chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {addSubordinateIdsCommand, freeSubordinateRange, idRangeText, overlappingEntries, subordinateEntries} from '../../src/engine/rootless/session.js'
import {storeCredentials} from '../../src/engine/registry/credentials.js'
import {makeDirWithMode, writeFileAtomic, writeFileWithMode, writeJson} from '../../src/engine/store/files.js'
import {ensurePrivateDir, privateDirProblem} from '../../src/engine/store/private.js'

const mode = (p: string) => lstatSync(p).mode & 0o7777
const opts = {what: 'runtime directory', fix: 'the fix'}

/** Run `fn` under `umask`, then put the old one back. */
function underUmask<T>(umask: number, fn: () => T): T {
  const old = process.umask(umask)
  try {
    return fn()
  } finally {
    process.umask(old)
  }
}

describe('privacy between users', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-unit-privacy-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  describe('private roots (store/private.ts)', () => {
    /** A directory anyone may create entries in, as /tmp. */
    const sharedDir = () => {
      const shared = join(dir, 'tmp')
      mkdirSync(shared)
      chmodSync(shared, 0o1777)
      return shared
    }

    it('creates a missing root (and its parents) 0700 under umask 000', () => {
      const root = join(dir, 'a', 'b', 'ncx')
      expect(underUmask(0, () => ensurePrivateDir(root, opts))).to.equal(undefined)
      expect([mode(join(dir, 'a')), mode(join(dir, 'a', 'b')), mode(root)]).to.deep.equal([0o700, 0o700, 0o700])
    })

    it("tightens an older ncx's 0755 root silently, and warns about one others could write to", () => {
      const root = join(dir, 'old')
      mkdirSync(root)
      chmodSync(root, 0o755)
      expect(ensurePrivateDir(root, opts)).to.equal(undefined)
      expect(mode(root)).to.equal(0o700)
      chmodSync(root, 0o777)
      expect(ensurePrivateDir(root, opts)).to.match(/^runtime directory .* was writable by other users \(mode 0777\); it is 0700 now/)
      expect(mode(root)).to.equal(0o700)
    })

    it('refuses a root that belongs to another user, naming the path and the fix', () => {
      const root = join(dir, 'theirs')
      mkdirSync(root)
      const me = process.getuid!()
      const problem = privateDirProblem(root, opts, me + 1)
      expect(problem?.message).to.match(new RegExp(`^runtime directory ${root} belongs to uid ${me}( \\(\\S+\\))?, not to you \\(uid ${me + 1}\\): another user could read and control your containers through it$`))
      expect(problem?.hint).to.equal('the fix')
      expect(problem?.exitCode).to.equal(125)
    })

    it('in a directory anyone can write to: refuses a symbolic link and a group/other-writable directory, tightens 0755', () => {
      const shared = sharedDir()
      const target = join(dir, 'target')
      mkdirSync(target, {mode: 0o700})
      symlinkSync(target, join(shared, 'ncx-link'))
      expect(() => ensurePrivateDir(join(shared, 'ncx-link'), opts)).to.throw(`runtime directory ${join(shared, 'ncx-link')} is a symbolic link (to ${target})`)
      for (const m of [0o777, 0o770, 0o722, 0o702]) {
        const d = join(shared, `ncx-${m.toString(8)}`)
        mkdirSync(d)
        chmodSync(d, m)
        expect(() => ensurePrivateDir(d, opts), m.toString(8)).to.throw(`is writable by other users (mode 0${m.toString(8)})`)
        expect(mode(d)).to.equal(m) // left as it was: nothing of it is used
      }
      const old = join(shared, 'ncx-old')
      mkdirSync(old)
      chmodSync(old, 0o755)
      ensurePrivateDir(old, opts)
      expect(mode(old)).to.equal(0o700)
    })

    it('elsewhere, follows a symbolic link the user made (a data root moved to another disk) and checks its target', () => {
      const target = join(dir, 'big-disk')
      mkdirSync(target)
      chmodSync(target, 0o755)
      symlinkSync(target, join(dir, 'ncx'))
      expect(ensurePrivateDir(join(dir, 'ncx'), {what: 'data root', fix: 'x'})).to.equal(undefined)
      expect(mode(target)).to.equal(0o700)
      expect(privateDirProblem(join(dir, 'ncx'), opts, process.getuid!() + 1)?.message).to.contain('belongs to uid')
    })

    it('refuses a file where the root should be', () => {
      writeFileSync(join(dir, 'file'), '')
      expect(() => ensurePrivateDir(join(dir, 'file'), opts)).to.throw('is not a directory')
    })
  })

  describe('modes of what ncx writes, whatever the umask (store/files.ts)', () => {
    it('store files are 0600 and their new directories 0700, under umask 000 and 022', () => {
      for (const umask of [0, 0o022]) {
        const base = join(dir, `u${umask.toString(8)}`)
        underUmask(umask, () => {
          writeJson(join(base, 'sub', 'record.json'), {a: 1})
          writeFileAtomic(join(base, 'blob'), 'x')
        })
        expect([mode(join(base, 'sub')), mode(join(base, 'sub', 'record.json')), mode(join(base, 'blob'))]).to.deep.equal([0o700, 0o600, 0o600])
      }
    })

    it('container-visible files and directories get exactly their mode under umask 077', () => {
      underUmask(0o077, () => {
        writeFileWithMode(join(dir, 'hosts'), '127.0.0.1 localhost\n', 0o644)
        makeDirWithMode(join(dir, 'volumes', 'v', '_data'), 0o755)
        makeDirWithMode(join(dir, 'bind', 'a', 'b'), 0o755, 0o755)
      })
      expect(mode(join(dir, 'hosts'))).to.equal(0o644)
      expect([mode(join(dir, 'volumes')), mode(join(dir, 'volumes', 'v')), mode(join(dir, 'volumes', 'v', '_data'))]).to.deep.equal([0o700, 0o700, 0o755])
      expect([mode(join(dir, 'bind')), mode(join(dir, 'bind', 'a')), mode(join(dir, 'bind', 'a', 'b'))]).to.deep.equal([0o755, 0o755, 0o755])
    })

    it('login writes config.json 0600 in a 0700 ~/.docker under umask 000, and replaces a 0644 one with a 0600 one', () => {
      const env = {DOCKER_CONFIG: join(dir, 'docker')}
      underUmask(0, () => storeCredentials('registry.example', {username: 'u', password: 'p'}, env))
      expect([mode(env.DOCKER_CONFIG), mode(join(env.DOCKER_CONFIG, 'config.json'))]).to.deep.equal([0o700, 0o600])
      chmodSync(join(env.DOCKER_CONFIG, 'config.json'), 0o644)
      underUmask(0o022, () => storeCredentials('other.example', {username: 'u', password: 'p'}, env))
      expect(mode(join(env.DOCKER_CONFIG, 'config.json'))).to.equal(0o600)
      expect(statSync(join(env.DOCKER_CONFIG, 'config.json.lock')).mode & 0o077).to.equal(0)
    })
  })

  describe('a free subordinate id range (rootless/session.ts)', () => {
    it('is 100000-165535 when nobody has a range (empty or missing files)', () => {
      expect(freeSubordinateRange(['', ''])).to.deep.equal({start: 100000, count: 65536})
      expect(addSubordinateIdsCommand('alice', ['', ''])).to.equal('sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 alice')
    })

    it('skips the ranges of other users, by name or numeric uid, in both files', () => {
      const subuid = 'bob:100000:65536\n'
      const subgid = '1002:165536:65536\n'
      expect(freeSubordinateRange([subuid, ''])).to.deep.equal({start: 165536, count: 65536})
      // A range free in /etc/subuid but taken in /etc/subgid is not suggested: uids and gids stay the same.
      expect(freeSubordinateRange([subuid, subgid])).to.deep.equal({start: 231072, count: 65536})
      expect(idRangeText(freeSubordinateRange([subuid, subgid])!)).to.equal('231072-296607')
    })

    it('uses a gap that is big enough, and only one that is', () => {
      // 165536-200000 is free but short (34464 ids); 300000-365535 is the first gap that fits.
      const text = ['a:100000:65536', 'b:200000:100000', 'c:365536:65536'].join('\n')
      expect(freeSubordinateRange([text, ''])).to.deep.equal({start: 300000, count: 65536})
      // A gap of exactly 65536 ids fits.
      expect(freeSubordinateRange(['a:100000:65536\nb:231072:65536\n', ''])).to.deep.equal({start: 165536, count: 65536})
    })

    it('handles overlapping and unsorted ranges, ranges below 100000, comments and junk', () => {
      const text = ['# comment', 'x:130000:50000', 'y:100000:65536', 'old:1000:50000', 'junk', 'z:abc:10', 'w:170000:0', ''].join('\n')
      expect(freeSubordinateRange([text, 'v:99000:2000\n'])).to.deep.equal({start: 180000, count: 65536})
      expect(subordinateEntries(text).map((e) => e.owner)).to.deep.equal(['x', 'y', 'old'])
    })

    it('returns nothing when the allocatable space is full', () => {
      expect(freeSubordinateRange(['a:100000:600000001\n', ''])).to.equal(undefined)
      expect(addSubordinateIdsCommand('alice', ['a:100000:600000001\n', ''])).to.contain('--add-subuids FIRST-LAST')
    })

    it("finds the other users' ranges that overlap the user's own, by name or numeric uid", () => {
      const text = ['alice:100000:65536', 'bob:150000:65536', '1000:100000:10', '1003:165535:1', 'carol:165536:65536'].join('\n')
      const overlaps = overlappingEntries(text, {start: 100000, count: 65536}, 'alice', 1000)
      expect(overlaps.map((e) => `${e.owner}:${idRangeText(e)}`)).to.deep.equal(['bob:150000-215535', '1003:165535-165535'])
    })
  })
})
