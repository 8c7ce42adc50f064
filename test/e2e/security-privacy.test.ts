/**
 * Privacy between users (docs/security.md): a second unprivileged user can read, write, list
 * or connect to nothing of what the owner's ncx keeps, whether the owner runs ncx under umask
 * 022 or 000: container records and OCI configs (`-e` secrets), logs, volumes, events, login
 * credentials, state files, the attach socket. The container still sees what it must (its
 * /etc files as a non-root user, volumes, compose secrets, umask 0022). Without
 * XDG_RUNTIME_DIR, a /tmp/ncx-UID planted by someone else is refused.
 *
 * Needs root (as CI runs the tests): a second user, and a look at the owner's files.
 */
import {expect} from 'chai'
import {SpawnSyncReturns, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'

import {fixture, pushImage, Registry, startRegistry} from '../registry/harness.js'
import {asRoot, ensureUser, images, installation, Result, Sandbox, TestUser, user, userDir} from './harness.js'

const result = (r: SpawnSyncReturns<string>): Result => {
  // EPIPE: the command ended before it read all its input (an attach client hung up on).
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'EPIPE') throw r.error
  return {code: r.status ?? 137, stdout: r.stdout, stderr: r.stderr}
}

/** `argv` as `who` (root only), under `umask`. */
function runAs(who: TestUser, argv: string[], options: {umask?: string; input?: string; timeout?: number} = {}): Result {
  const setpriv = ['setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, '--init-groups']
  return result(spawnSync(setpriv[0], [...setpriv.slice(1), 'sh', '-c', `umask ${options.umask ?? '022'} && exec "$@"`, 'sh', ...argv], {encoding: 'utf8', input: options.input, timeout: options.timeout ?? 60_000}))
}

/** `ncx ARGS` as the sandbox's owner under `umask` (the harness's command line, after a umask). */
function ncxUnder(box: Sandbox, umask: string, args: string[], options: {input?: string; env?: Record<string, string>} = {}): Result {
  return result(spawnSync('sh', ['-c', `umask ${umask} && exec "$@"`, 'sh', ...box.commandLine(args, options.env)], {encoding: 'utf8', input: options.input, timeout: 60_000}))
}

interface Entry {
  path: string
  type: 'dir' | 'file' | 'socket' | 'link' | 'other'
  mode: number
}

/** Everything under `root` (as root sees it), `root` itself first. */
function walk(root: string, out: Entry[] = []): Entry[] {
  const st = lstatSync(root)
  const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSocket() ? 'socket' : st.isSymbolicLink() ? 'link' : 'other'
  out.push({path: root, type, mode: st.mode & 0o7777})
  if (type === 'dir') for (const name of readdirSync(root)) walk(join(root, name), out)
  return out
}

/**
 * What the second user manages to do with each entry: stat it, read it, open it for writing,
 * list it, create a file in it, connect to it (a stream connect to the SEQPACKET attach socket
 * fails with EPROTOTYPE once the socket is reachable; EACCES when it is not).
 */
const PROBE = `
const fs = require('node:fs'), net = require('node:net'), path = require('node:path')
const entries = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'))
const done = []
const attempt = (what, p, fn) => { try { fn(); done.push(what + ' ' + p) } catch {} }
;(async () => {
  for (const {path: p, type, top} of entries) {
    if (!top) attempt('stat', p, () => fs.lstatSync(p))
    if (type === 'dir') {
      attempt('list', p, () => fs.readdirSync(p))
      attempt('create-in', p, () => fs.writeFileSync(path.join(p, '.spy-' + process.pid), 'x'))
    } else if (type === 'file') {
      attempt('read', p, () => fs.closeSync(fs.openSync(p, 'r')))
      attempt('write', p, () => fs.closeSync(fs.openSync(p, 'r+')))
    } else if (type === 'socket') {
      const reached = await new Promise((resolve) => {
        const s = net.connect(p)
        s.on('connect', () => { s.destroy(); resolve(true) })
        s.on('error', (e) => resolve(e.code !== 'EACCES' && e.code !== 'EPERM'))
      })
      if (reached) done.push('connect ' + p)
    }
  }
  process.stdout.write(JSON.stringify(done))
})()
`

describe('e2e: privacy between users (docs/security.md)', function () {
  this.timeout(300_000)
  let spy: TestUser
  let probeDir: string

  before(function () {
    if (!asRoot) this.skip() // a second user takes root to create (CI runs the tests as root)
    spy = ensureUser('ncxspy')
    probeDir = userDir('ncx-e2e-spy-', spy)
  })

  /** What the spy manages to do with `entries` (the roots themselves it may stat: their names are no secret). */
  function spyAttempts(entries: Entry[], tops: string[]): string[] {
    const list = join(probeDir, `entries-${Date.now()}.json`)
    writeFileSync(list, JSON.stringify(entries.map((e) => ({...e, top: tops.includes(e.path)}))))
    chmodSync(list, 0o644)
    const r = runAs(spy, [process.execPath, '-e', PROBE, list])
    expect(r.code, r.stderr).to.equal(0)
    return JSON.parse(r.stdout) as string[]
  }

  for (const umask of ['022', '000']) {
    describe(`the owner runs ncx under umask ${umask}`, () => {
      const box = new Sandbox()
      let reg: Registry
      let dockerConfig: string
      let id: string
      const ncx = (args: string[], options: {input?: string; env?: Record<string, string>} = {}) => ncxUnder(box, umask, args, {...options, env: {DOCKER_CONFIG: dockerConfig, ...options.env}})
      const ok = (args: string[], options: {input?: string; env?: Record<string, string>} = {}) => {
        const r = ncx(args, options)
        expect(r.code, `ncx ${args.join(' ')}: ${r.stderr}`).to.equal(0)
        return r.stdout
      }
      const runDir = () => join(box.xdg, 'ncx')

      before(async function () {
        if (!asRoot) this.skip()
        // An older ncx's store (0755, as the harness makes it) under a runtime dir others may
        // enter (as /tmp/ncx-UID is): only ncx's own modes keep them out.
        chmodSync(box.root, 0o755)
        chmodSync(box.xdg, 0o755)
        dockerConfig = join(userDir('ncx-e2e-home-'), 'docker')
        reg = await startRegistry({auth: 'basic'})
        await pushImage(reg, fixture('busybox'), 'private/busybox:1')
        ok(['load', '-i', join(images(), 'busybox.oci.tar')])
        id = ok(['run', '-d', '-i', '--name', 'secretive', '-e', `SECRET=hunter2-${umask}`, '-v', 'data:/data', 'busybox', 'sh', '-c', `echo topsecret-log-${umask} > /data/file && echo topsecret-log-${umask} && cat`]).trim()
        // The volume's file is written by then: wait for the log line.
        for (let i = 0; i < 50 && !ok(['logs', id]).includes('topsecret-log'); i++) await new Promise((r) => setTimeout(r, 100))
        ok(['exec', id, 'true'])
        const login = ncx(['login', '-u', reg.username, '--password-stdin', reg.host], {input: `${reg.password}\n`})
        expect(login.code, login.stderr).to.equal(0)
      })
      after(async () => {
        box.destroy()
        await reg?.stop()
      })

      it('the store, the runtime dir and the credentials are 0700 directories with 0600 files (container-visible files aside)', () => {
        const bad: string[] = []
        const expectMode = (e: Entry, want: number) => e.mode !== want && bad.push(`${e.path} ${e.type} 0${e.mode.toString(8)} (want 0${want.toString(8)})`)
        for (const top of [box.root, runDir(), dockerConfig]) {
          for (const e of walk(top)) {
            const rel = relative(box.root, e.path).split('/')
            // What containers see keeps the image's or the container's own modes, inside the 0700 dirs.
            const content =
              (rel[0] === 'snapshots' && (rel.length > 3 || rel[2]?.startsWith('keepid-'))) ||
              (rel[0] === 'containers' && ['rootfs', 'upper', 'work'].includes(rel[2]) && rel.length > 3) ||
              (rel[0] === 'volumes' && rel[2] === '_data' && rel.length > 3)
            if (content) continue
            if (e.type === 'link') bad.push(`${e.path} is a symbolic link`)
            else if (rel[0] === 'containers' && rel.length === 3 && ['hosts', 'hostname', 'resolv.conf'].includes(rel[2])) expectMode(e, 0o644)
            else if (rel[0] === 'containers' && rel.length === 3 && ['rootfs', 'upper'].includes(rel[2])) expectMode(e, 0o755)
            else if (rel[0] === 'volumes' && rel[2] === '_data') expectMode(e, 0o755)
            else if (rel[0] === 'snapshots' && rel[2] === 'fs') expectMode(e, 0o755)
            else if (rel[0] === 'compose' && rel.length === 4 && e.type === 'file') expectMode(e, 0o644) // a secret a service user reads
            else expectMode(e, e.type === 'dir' ? 0o700 : 0o600)
          }
        }
        expect(bad).to.deep.equal([])
        // What the second user is after is all there.
        expect(readFileSync(join(box.root, 'containers', id, 'config.json'), 'utf8')).to.contain(`SECRET=hunter2-${umask}`)
        expect(readFileSync(join(box.root, 'containers', id, `${id}-json.log`), 'utf8')).to.contain(`topsecret-log-${umask}`)
        expect(readFileSync(join(dockerConfig, 'config.json'), 'utf8')).to.contain(reg.host)
        expect(existsSync(join(box.root, 'containers', id, 'attach.sock'))).to.equal(true)
      })

      it('a second user reads, writes, lists and connects to nothing of it', () => {
        const tops = [box.root, runDir(), dockerConfig]
        const entries = tops.flatMap((t) => walk(t))
        expect(entries.length).to.be.greaterThan(50)
        expect(spyAttempts(entries, tops)).to.deep.equal([])
      })

      it("ncx run by the second user refuses the owner's data root instead of using it", () => {
        const r = runAs(spy, ['env', '-i', 'PATH=/usr/bin:/bin', `HOME=${spy.home}`, `NCX_ROOT=${box.root}`, `XDG_RUNTIME_DIR=${probeDir}`, process.execPath, join(installation(), 'bin', 'run.cjs'), 'ps'])
        expect(r.code).to.equal(1)
        expect(r.stderr).to.contain(`data root ${box.root} belongs to uid ${user.uid} (${user.name}), not to you (uid ${spy.uid})`)
      })

      it('the container still sees what it must: /etc files as a non-root user, volumes, a 0755 root, umask 0022', () => {
        expect(ok(['run', '--rm', '-u', '1000', 'busybox', 'cat', '/etc/hosts', '/etc/resolv.conf', '/etc/hostname'])).to.contain('localhost')
        expect(ok(['run', '--rm', 'busybox', 'sh', '-c', 'umask; stat -c %a / /etc/hosts'])).to.equal('0022\n755\n644\n')
        expect(ok(['exec', id, 'sh', '-c', 'umask'])).to.equal('0022\n')
        expect(ok(['exec', '-u', '1000', id, 'cat', '/data/file'])).to.equal(`topsecret-log-${umask}\n`)
        expect(ok(['run', '--rm', '-u', '1000', '-v', 'data:/data', '-v', 'fresh:/fresh/deep', 'busybox', 'sh', '-c', 'cat /data/file; stat -c %a /data /fresh /fresh/deep'])).to.equal(`topsecret-log-${umask}\n755\n755\n755\n`)
        // A missing bind source is made 0755 at every level, as Docker's daemon makes it.
        const host = userDir('ncx-e2e-bind-')
        ok(['run', '--rm', '-u', '1000', '-v', `${join(host, 'a', 'b')}:/mnt`, 'busybox', 'ls', '/mnt'])
        expect([lstatSync(join(host, 'a')).mode & 0o777, lstatSync(join(host, 'a', 'b')).mode & 0o777]).to.deep.equal([0o755, 0o755])
      })

      it("a detached --rm container's monitor still releases its address (its exit command runs as root of the held user namespace)", async () => {
        ok(['network', 'create', 'privnet'])
        const gone = ok(['run', '-d', '--rm', '--network', 'privnet', 'busybox', 'true']).trim()
        let held = true
        for (let i = 0; i < 100 && held; i++) {
          await new Promise((r) => setTimeout(r, 100))
          held = readFileSync(join(box.root, 'networks.json'), 'utf8').includes(gone)
        }
        expect(held, 'the address of the removed container is still allocated').to.equal(false)
      })

      it('a compose secret is readable by a non-root service user, and by nobody else on the host', () => {
        const project = userDir('ncx-e2e-compose-')
        writeFileSync(join(project, 'compose.yaml'), 'services:\n  app:\n    image: busybox\n    user: "1000"\n    secrets: [token]\nsecrets:\n  token:\n    environment: TOKEN\n')
        chmodSync(join(project, 'compose.yaml'), 0o644)
        const out = ok(['compose', '--project-directory', project, '-f', join(project, 'compose.yaml'), 'run', '--rm', 'app', 'cat', '/run/secrets/token'], {env: {TOKEN: `compose-secret-${umask}`}})
        expect(out).to.contain(`compose-secret-${umask}`)
        const secrets = walk(join(box.root, 'compose'))
        expect(secrets.filter((e) => e.type === 'file').map((e) => e.mode)).to.deep.equal([0o644])
        expect(spyAttempts(secrets, [])).to.deep.equal([])
      })

      it('ncx login keeps config.json 0600, also when it replaces one (and ~/.docker is made 0700)', () => {
        const config = join(dockerConfig, 'config.json')
        expect(lstatSync(dockerConfig).mode & 0o777).to.equal(0o700)
        expect(lstatSync(config).mode & 0o777).to.equal(0o600)
        const again = ncx(['login', '-u', reg.username, '--password-stdin', reg.host], {input: `${reg.password}\n`})
        expect(again.code, again.stderr).to.equal(0)
        expect(lstatSync(config).mode & 0o777).to.equal(0o600)
        // One an older ncx left readable by others is replaced by a 0600 one.
        chmodSync(config, 0o644)
        expect(ncx(['login', '-u', reg.username, '--password-stdin', reg.host], {input: `${reg.password}\n`}).code).to.equal(0)
        expect(lstatSync(config).mode & 0o777).to.equal(0o600)
        expect(ok(['logout', reg.host])).to.contain('Removing login credentials')
        expect(lstatSync(config).mode & 0o777).to.equal(0o600)
      })

      it('--cidfile and compose config -o keep the user\'s umask (they are the user\'s files, not the store\'s)', () => {
        const dir = userDir('ncx-e2e-cid-')
        const cid = join(dir, 'cid')
        ok(['run', '--rm', '--cidfile', cid, 'busybox', 'true'])
        expect(lstatSync(cid).mode & 0o777).to.equal(0o666 & ~parseInt(umask, 8))
        writeFileSync(join(dir, 'compose.yaml'), 'services:\n  app:\n    image: busybox\n')
        chmodSync(join(dir, 'compose.yaml'), 0o644)
        ok(['compose', '-f', join(dir, 'compose.yaml'), 'config', '-o', join(dir, 'out.yaml')])
        expect(lstatSync(join(dir, 'out.yaml')).mode & 0o777).to.equal(0o666 & ~parseInt(umask, 8))
      })

      // Last: attaching and closing stdin ends the container's `cat`.
      it('the attach socket hangs up on another user even where the directories let them reach it', () => {
        const bundle = join(box.root, 'containers', id)
        const socket = join(bundle, 'attach.sock')
        // Open the way on purpose (a mistake of the owner's): only the monitor's peer check is left.
        for (const d of [box.root, join(box.root, 'containers'), bundle]) chmodSync(d, 0o711)
        chmodSync(socket, 0o666)
        try {
          const runtime = join(installation(), 'native', 'ncx-runtime')
          // ctrl-p ctrl-q after the line: an attached client detaches (and says so) instead of staying.
          const attach = (who: TestUser, line: string) => runAs(who, [runtime, 'attach', '--bundle', bundle, '--detach-keys', '16,17'], {input: `${line}\n\x10\x11`, timeout: 20_000})
          attach(spy, 'pwned-by-spy')
          // The owner, through the very same socket, does get through (the test can see a relay).
          attach(user, 'owner-was-here')
        } finally {
          for (const d of [box.root, join(box.root, 'containers'), bundle]) chmodSync(d, 0o700)
          chmodSync(socket, 0o600)
        }
        let log = ''
        for (let i = 0; i < 50 && !log.includes('owner-was-here'); i++) {
          log = ok(['logs', id])
          spawnSync('sleep', ['0.1'])
        }
        expect(log).to.contain('owner-was-here')
        expect(log).to.not.contain('pwned-by-spy')
      })
    })
  }

  describe('a runtime directory in /tmp (no XDG_RUNTIME_DIR)', () => {
    let owner: TestUser
    let tmpRun: string
    let root: string
    const ncx = (args: string[]) =>
      runAs(owner, ['env', '-i', 'PATH=/usr/bin:/bin', `HOME=${owner.home}`, `NCX_ROOT=${root}`, 'NO_COLOR=1', process.execPath, join(installation(), 'bin', 'run.cjs'), ...args], {umask: '000'})
    const plantedBy = (who: TestUser, make: (path: string) => void) => {
      rmSync(tmpRun, {recursive: true, force: true})
      make(tmpRun)
      spawnSync('chown', ['-h', `${who.uid}:${who.gid}`, tmpRun])
    }

    before(function () {
      if (!asRoot) this.skip()
      // A user of its own: nobody else's tests use its /tmp/ncx-UID.
      owner = ensureUser('ncxplanted')
      tmpRun = `/tmp/ncx-${owner.uid}`
      root = join(userDir('ncx-e2e-planted-', owner), 'data')
    })
    after(() => {
      if (tmpRun) rmSync(tmpRun, {recursive: true, force: true})
    })

    it('is refused when another user created it (0777), naming the path and the fix', () => {
      plantedBy(spy, (p) => mkdirSync(p, {mode: 0o777}))
      chmodSync(tmpRun, 0o777)
      const r = ncx(['ps'])
      expect(r.code).to.equal(1)
      expect(r.stderr).to.contain(`runtime directory ${tmpRun} belongs to uid ${spy.uid} (${spy.name}), not to you (uid ${owner.uid})`)
      expect(r.stderr).to.contain('XDG_RUNTIME_DIR').and.contain(`rm -rf ${tmpRun}`)
      expect(readdirSync(tmpRun)).to.deep.equal([])
    })

    it('is refused when it is a symbolic link, even to a directory of the owner', () => {
      const target = userDir('ncx-e2e-link-target-', owner)
      chmodSync(target, 0o700)
      plantedBy(spy, (p) => symlinkSync(target, p))
      const r = ncx(['ps'])
      expect(r.code).to.equal(1)
      expect(r.stderr).to.contain(`runtime directory ${tmpRun} is a symbolic link (to ${target})`)
      expect(readdirSync(target)).to.deep.equal([])
    })

    it('is refused when group or others may write to it, even if it is the owner\'s', () => {
      for (const mode of [0o777, 0o770, 0o703]) {
        plantedBy(owner, (p) => mkdirSync(p))
        chmodSync(tmpRun, mode)
        const r = ncx(['ps'])
        expect(r.code, mode.toString(8)).to.equal(125)
        expect(r.stderr).to.contain(`runtime directory ${tmpRun} is writable by other users (mode 0${mode.toString(8)})`)
        expect(r.stderr).to.contain('XDG_RUNTIME_DIR')
      }
    })

    it("an older ncx's 0755 one is tightened to 0700; a missing one is made 0700 under umask 000", () => {
      plantedBy(owner, (p) => mkdirSync(p))
      chmodSync(tmpRun, 0o755)
      const r = ncx(['ps'])
      expect(r.code, r.stderr).to.equal(0)
      expect(lstatSync(tmpRun).mode & 0o7777).to.equal(0o700)
      rmSync(tmpRun, {recursive: true, force: true})
      expect(ncx(['ps']).code).to.equal(0)
      expect(lstatSync(tmpRun).mode & 0o7777).to.equal(0o700)
      expect(lstatSync(tmpRun).uid).to.equal(owner.uid)
      expect(lstatSync(root).mode & 0o7777).to.equal(0o700)
    })

    it('a data root of another user is refused too', () => {
      const theirs = userDir('ncx-e2e-theirs-', spy)
      const r = runAs(owner, ['env', '-i', 'PATH=/usr/bin:/bin', `HOME=${owner.home}`, `NCX_ROOT=${theirs}`, process.execPath, join(installation(), 'bin', 'run.cjs'), 'ps'])
      expect(r.code).to.equal(1)
      expect(r.stderr).to.contain(`data root ${theirs} belongs to uid ${spy.uid} (${spy.name})`)
    })
  })

  describe('rootful (as root)', () => {
    it('keeps working under umask 000: a private /var/lib-style store, 0666 devices and readable /etc files for -u 1000', function () {
      if (!asRoot) this.skip()
      const root = userDir('ncx-e2e-rootful-', {name: 'root', uid: 0, gid: 0, home: '/root'})
      const env = ['env', `NCX_ROOT=${join(root, 'data')}`, `NCX_RUN_ROOT=${join(root, 'run')}`]
      const ncx = (args: string[]) => result(spawnSync('sh', ['-c', 'umask 000 && exec "$@"', 'sh', ...env, process.execPath, join(installation(), 'bin', 'run.cjs'), ...args], {encoding: 'utf8'}))
      expect(ncx(['load', '-i', join(images(), 'busybox.oci.tar')]).code).to.equal(0)
      const r = ncx(['run', '--rm', '-u', '1000', 'busybox', 'sh', '-c', 'cat /etc/hosts >/dev/null && echo x > /dev/null && umask && stat -c %a /dev/null /'])
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout).to.equal('0022\n666\n755\n')
      for (const top of [join(root, 'data'), join(root, 'run')]) expect(lstatSync(top).mode & 0o777, top).to.equal(0o700)
      expect(lstatSync(join(root, 'data', 'images.json')).mode & 0o777).to.equal(0o600)
    })
  })
})
