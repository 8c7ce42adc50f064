import {expect} from 'chai'
import {chownSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import {Sandbox, asRoot, images, user, userDir} from './harness.js'

/**
 * Images that plant symlinks where the runtime creates things (/dev, /proc, /sys, /etc/hosts …,
 * tmpfs and bind destinations, the working directory), pointing at host directories (the
 * canary, made writable for the test user so a runtime that followed the links would succeed
 * in writing there). Whatever the container does, the canary stays empty.
 */
describe('e2e security: every path the runtime creates resolves inside the container root', function () {
  this.timeout(300_000)
  const box = new Sandbox()
  const canary = () => join(images(), 'canary')
  const SUBDIRS = ['dev', 'devrel', 'proc', 'sys', 'etc', 'run', 'mnt', 'work']

  /** Every file under the canary (it must stay a set of empty directories). */
  function canaryFiles(): string[] {
    const out: string[] = []
    for (const d of SUBDIRS) for (const f of readdirSync(join(canary(), d))) out.push(`${d}/${f}`)
    return out
  }

  before(() => {
    for (const d of SUBDIRS) {
      mkdirSync(join(canary(), d), {recursive: true, mode: 0o777})
      if (asRoot) chownSync(join(canary(), d), user.uid, user.gid)
    }
    if (asRoot) chownSync(canary(), user.uid, user.gid)
    for (const kind of ['dev', 'devrel', 'proc', 'sys', 'etc', 'dirs']) box.load(`hostile-${kind}.oci.tar`)
  })
  afterEach(() => expect(canaryFiles(), 'files were created on the host through a planted symlink').to.deep.equal([]))
  after(() => box.destroy())

  for (const image of ['hostile-dev', 'hostile-devrel']) {
    it(`${image}: /dev planted as a symlink to a host directory gets its devices inside the rootfs (run, run -d + exec, create + start, --privileged)`, () => {
      const r = box.ncx(['run', '--rm', '--network', 'none', image, 'sh', '-c', 'echo x > /dev/null && ls /dev/null /dev/fd /dev/ptmx /dev/shm >/dev/null && echo ok'])
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout.trim()).to.equal('ok')
      const id = box.ok(['run', '-d', '--network', 'none', image, 'sleep', '1000']).trim()
      expect(box.ok(['exec', id, 'sh', '-c', 'test -c /dev/null && echo exec-ok']).trim()).to.equal('exec-ok')
      box.ok(['rm', '-f', id])
      const c = box.ok(['create', '--network', 'none', image, 'sh', '-c', 'test -c /dev/zero && echo start-ok']).trim()
      expect(box.ok(['start', '-a', c]).trim()).to.equal('start-ok')
      box.ok(['rm', c])
      const p = box.ncx(['run', '--rm', '--privileged', '--network', 'none', image, 'sh', '-c', 'test -c /dev/null && echo priv-ok'])
      expect(p.code, p.stderr).to.equal(0)
      expect(p.stdout.trim()).to.equal('priv-ok')
    })
  }

  for (const [image, dest, fs] of [['hostile-proc', '/proc', 'proc'], ['hostile-sys', '/sys', 'sysfs']]) {
    it(`${image}: ${dest} planted as a symlink is refused, as runc refuses it (run, run -d, --privileged)`, () => {
      for (const extra of [[], ['-d'], ['--privileged']]) {
        const r = box.ncx(['run', '--rm', ...extra, '--network', 'none', image, 'true'])
        expect(r.code, `${extra.join(' ')}: ${r.stdout}`).to.equal(125)
        expect(r.stderr).to.contain(`mount ${fs} on ${dest}: the destination is a symlink in the image`)
      }
      expect(box.ok(['ps', '-aq'])).to.equal('') // nothing left half-made
    })
  }

  it('hostile-etc: /etc/hosts, /etc/resolv.conf and /etc/hostname planted as symlinks: the files are mounted inside the rootfs', () => {
    const r = box.ncx(['run', '--rm', '--hostname', 'inside', '--network', 'none', 'hostile-etc', 'sh', '-c', 'grep -c localhost /etc/hosts; cat /etc/hostname; test -r /etc/resolv.conf && echo resolv'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout.split('\n').slice(1, 3)).to.deep.equal(['inside', 'resolv'])
  })

  it('hostile-dirs: --tmpfs, -v and -w destinations under planted symlinks are made inside the rootfs', () => {
    const vol = userDir('ncx-paths-vol-')
    const r = box.ncx(['run', '--rm', '--network', 'none', '--tmpfs', '/run', '-v', `${vol}:/mnt/x`, '-w', '/work/sub', 'hostile-dirs', 'sh', '-c', 'touch /run/r /mnt/x/written; pwd'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout.trim()).to.match(/\/work\/sub$/)
    expect(readdirSync(vol)).to.deep.equal(['written'])
  })

  it('a mount on or inside /proc is refused before anything runs, whatever the flag or the spelling', () => {
    for (const args of [
      ['-v', '/tmp:/proc'],
      ['-v', '/tmp:/proc/sys/kernel'],
      ['--tmpfs', '/proc/sys'],
      ['--mount', 'type=bind,src=/tmp,dst=/x/../proc/self'],
      ['-v', 'vol:/proc//'],
    ]) {
      const r = box.ncx(['run', '--rm', '--network', 'none', ...args, 'busybox', 'true'])
      expect(r.code, args.join(' ')).to.equal(125)
      expect(r.stderr, args.join(' ')).to.match(/cannot be mounted because it is inside \/proc/)
    }
    expect(box.ok(['ps', '-aq'])).to.equal('')
    expect(box.ok(['volume', 'ls', '-q'])).to.equal('')
  })
})
