import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

import {expect} from 'chai'

import {NcxError, UsageError} from '../../src/engine/errors.js'
import {ResolvedUser, readImageFile, resolveUser} from '../../src/engine/spec/user.js'

const PASSWD = ['root:x:0:0:root:/root:/bin/sh', 'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin', 'ncx:x:1000:1000:ncx user:/home/ncx:/bin/sh', 'nohome:x:1001:1001:::/bin/sh', ''].join('\n')
/**
 * A user with no supplementary groups: additionalGids may be empty or hold just the
 * primary gid (both leave the process with no extra groups), never anything else.
 */
function expectUser(got: ResolvedUser, want: Omit<ResolvedUser, 'additionalGids'>): void {
  expect({uid: got.uid, gid: got.gid, home: got.home}).to.deep.equal(want)
  expect(got.additionalGids.filter((g) => g !== want.gid), 'no supplementary groups beyond the primary gid').to.deep.equal([])
}

const GROUP = ['root:x:0:', 'tty:x:5:ncx', 'wheel:x:10:root,ncx', 'users:x:100:', 'ncx:x:1000:ncx', 'nohome:x:1001:', ''].join('\n')

describe('image users (src/engine/spec/user.ts)', () => {
  let base: string
  let n = 0
  /** A fresh layer directory with the given files (path → content). */
  const layer = (files: Record<string, string> = {}): string => {
    const dir = join(base, `layer${n++}`)
    mkdirSync(dir)
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), {recursive: true})
      writeFileSync(join(dir, path), text)
    }
    return dir
  }
  before(() => {
    base = mkdtempSync(join(tmpdir(), 'ncx-unit-user-'))
  })
  after(() => rmSync(base, {recursive: true, force: true}))

  describe('readImageFile (layers given top first)', () => {
    it('reads a file from the only layer', () => {
      expect(readImageFile([layer({'etc/passwd': 'p'})], '/etc/passwd')).to.equal('p')
    })

    it('lets an upper layer shadow a lower one', () => {
      const lower = layer({'etc/passwd': 'lower'})
      const upper = layer({'etc/passwd': 'upper'})
      expect(readImageFile([upper, lower], '/etc/passwd')).to.equal('upper')
      expect(readImageFile([lower, upper], '/etc/passwd')).to.equal('lower')
    })

    it('falls through to a lower layer when the upper lacks the file or its directory', () => {
      const lower = layer({'etc/passwd': 'lower'})
      expect(readImageFile([layer({'etc/group': 'g'}), lower], '/etc/passwd')).to.equal('lower')
      expect(readImageFile([layer({'bin/sh': 'x'}), lower], '/etc/passwd')).to.equal('lower')
    })

    it('returns undefined when no layer has the file', () => {
      expect(readImageFile([layer(), layer({'etc/group': ''})], '/etc/passwd')).to.equal(undefined)
      expect(readImageFile([], '/etc/passwd')).to.equal(undefined)
    })

    it('does not follow a symlinked file in the top layer (nor read lower layers)', () => {
      const secret = join(base, 'host-secret')
      writeFileSync(secret, 'HOST FILE')
      const upper = layer()
      mkdirSync(join(upper, 'etc'))
      symlinkSync(secret, join(upper, 'etc/passwd'))
      const lower = layer({'etc/passwd': 'lower'})
      expect(readImageFile([upper], '/etc/passwd')).to.equal(undefined)
      expect(readImageFile([upper, lower], '/etc/passwd')).to.equal(undefined)
    })

    it('does not follow a relative symlink either', () => {
      const upper = layer({'etc/real': 'real'})
      symlinkSync('real', join(upper, 'etc/passwd'))
      expect(readImageFile([upper], '/etc/passwd')).to.equal(undefined)
    })

    it('does not follow a symlinked directory on the way', () => {
      const hostEtc = join(base, 'host-etc')
      mkdirSync(hostEtc)
      writeFileSync(join(hostEtc, 'passwd'), 'HOST FILE')
      const upper = layer()
      symlinkSync(hostEtc, join(upper, 'etc'))
      expect(readImageFile([upper, layer({'etc/passwd': 'lower'})], '/etc/passwd')).to.equal(undefined)
    })

    it('treats a non-directory in an upper layer as hiding the lower directory', () => {
      const upper = layer({etc: 'a file, not a directory'})
      expect(readImageFile([upper, layer({'etc/passwd': 'lower'})], '/etc/passwd')).to.equal(undefined)
    })

    it('returns undefined when the path is a directory', () => {
      const upper = layer()
      mkdirSync(join(upper, 'etc/passwd'), {recursive: true})
      expect(readImageFile([upper], '/etc/passwd')).to.equal(undefined)
    })

    it('stops at an overlay whiteout (0:0 character device) in an upper layer', function () {
      const upper = layer()
      mkdirSync(join(upper, 'etc'))
      try {
        execFileSync('mknod', [join(upper, 'etc/passwd'), 'c', '0', '0'], {stdio: 'ignore'})
      } catch {
        this.skip() // creating a whiteout needs CAP_MKNOD
      }
      expect(readImageFile([upper, layer({'etc/passwd': 'lower'})], '/etc/passwd')).to.equal(undefined)
    })

    it('stops at a whiteout of a parent directory', function () {
      const upper = layer()
      try {
        execFileSync('mknod', [join(upper, 'etc'), 'c', '0', '0'], {stdio: 'ignore'})
      } catch {
        this.skip()
      }
      expect(readImageFile([upper, layer({'etc/passwd': 'lower'})], '/etc/passwd')).to.equal(undefined)
    })
  })

  describe('resolveUser', () => {
    let image: string[]
    before(() => {
      image = [layer({'etc/passwd': PASSWD, 'etc/group': GROUP})]
    })

    it('defaults to root with root\'s groups and home', () => {
      expect(resolveUser('', image)).to.deep.equal({uid: 0, gid: 0, additionalGids: [10], home: '/root'})
    })

    it('resolves a name from /etc/passwd with supplementary groups from /etc/group', () => {
      expect(resolveUser('ncx', image)).to.deep.equal({uid: 1000, gid: 1000, additionalGids: [5, 10], home: '/home/ncx'})
    })

    it('resolves a numeric uid that has a passwd entry like the name', () => {
      expect(resolveUser('1000', image)).to.deep.equal({uid: 1000, gid: 1000, additionalGids: [5, 10], home: '/home/ncx'})
    })

    it('takes a numeric uid without a passwd entry as uid N, gid 0, home /', () => {
      expectUser(resolveUser('4242', image), {uid: 4242, gid: 0, home: '/'})
      expectUser(resolveUser('1000', [layer()]), {uid: 1000, gid: 0, home: '/'})
    })

    it('resolves a group by name and drops supplementary groups (explicit group)', () => {
      expectUser(resolveUser('ncx:tty', image), {uid: 1000, gid: 5, home: '/home/ncx'})
    })

    it('takes a numeric group as given, even without a group entry', () => {
      expectUser(resolveUser('ncx:4321', image), {uid: 1000, gid: 4321, home: '/home/ncx'})
      expectUser(resolveUser('4242:4343', [layer()]), {uid: 4242, gid: 4343, home: '/'})
    })

    it('uses / as home when passwd has an empty home field', () => {
      expect(resolveUser('nohome', image).home).to.equal('/')
    })

    it('fails for an unknown user name with Docker\'s message', () => {
      expect(() => resolveUser('nobody', image)).to.throw(NcxError, 'unable to find user nobody: no matching entries in passwd file')
      expect(() => resolveUser('ncx', [layer()])).to.throw(NcxError, 'unable to find user ncx')
    })

    it('fails for an unknown group name', () => {
      expect(() => resolveUser('ncx:nogroup', image)).to.throw(NcxError, 'unable to find group nogroup')
    })

    it('rejects empty user or group parts', () => {
      expect(() => resolveUser(':5', image)).to.throw(UsageError, 'invalid user ":5"')
      expect(() => resolveUser('ncx:', image)).to.throw(UsageError, 'invalid user "ncx:"')
    })

    it('rejects ids out of range', () => {
      expect(() => resolveUser('4294967295', image)).to.throw(UsageError, /id out of range/)
      expect(() => resolveUser('0:4294967295', image)).to.throw(UsageError, /id out of range/)
      expect(resolveUser('4294967294', image).uid).to.equal(4294967294)
    })

    it('reads passwd and group from the topmost layer that has them', () => {
      const lower = layer({'etc/passwd': PASSWD, 'etc/group': GROUP})
      const upper = layer({'etc/passwd': 'ncx:x:2000:2000::/home/new:/bin/sh\n', 'etc/group': 'new:x:2000:\nextra:x:3000:ncx\n'})
      expect(resolveUser('ncx', [upper, lower])).to.deep.equal({uid: 2000, gid: 2000, additionalGids: [3000], home: '/home/new'})
      expect(resolveUser('ncx', [lower, upper]).uid).to.equal(1000)
    })

    it('does not follow a planted /etc/passwd symlink: the user is then unknown', () => {
      const hostPasswd = join(base, 'host-passwd')
      writeFileSync(hostPasswd, 'planted:x:0:0::/root:/bin/sh\n')
      const upper = layer()
      mkdirSync(join(upper, 'etc'))
      symlinkSync(hostPasswd, join(upper, 'etc/passwd'))
      expect(() => resolveUser('planted', [upper])).to.throw(NcxError, 'unable to find user planted')
    })

    it('skips short or malformed passwd lines', () => {
      const img = [layer({'etc/passwd': 'broken:x:5\n:x:1:1::/:/bin/sh\nok:x:7:8::/o:/bin/sh\n'})]
      expect(() => resolveUser('broken', img)).to.throw(NcxError, 'unable to find user broken')
      expectUser(resolveUser('ok', img), {uid: 7, gid: 8, home: '/o'})
    })
  })
})
