import {expect} from 'chai'
import {chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {DoctorHost, apparmorProfile, runDoctor} from '../../src/engine/doctor.js'
import {storePaths} from '../../src/engine/store/paths.js'

describe('system doctor checks', () => {
  let dir: string
  let host: DoctorHost
  const uid = process.getuid!()
  const paths = () => storePaths({dataRoot: join(dir, 'data'), env: {HOME: dir, XDG_RUNTIME_DIR: join(dir, 'xdg')}, uid: 1000})
  const status = (id: string) => runDoctor(paths(), host).checks.find((c) => c.id === id)

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-doctor-'))
    // A sysctl tree where everything is fine.
    const sys = join(dir, 'sys')
    mkdirSync(join(sys, 'user'), {recursive: true})
    mkdirSync(join(sys, 'kernel'), {recursive: true})
    mkdirSync(join(sys, 'net', 'ipv4'), {recursive: true})
    writeFileSync(join(sys, 'user', 'max_user_namespaces'), '63000\n')
    writeFileSync(join(sys, 'net', 'ipv4', 'ip_unprivileged_port_start'), '80\n')
    writeFileSync(join(sys, 'net', 'ipv4', 'ping_group_range'), '0\t2147483647\n')
    writeFileSync(join(dir, 'subuid'), 'alice:100000:65536\n')
    writeFileSync(join(dir, 'subgid'), 'alice:100000:65536\n')
    // A PATH with executable (not setuid) stand-ins, plus slirp4netns.
    const bin = join(dir, 'bin')
    mkdirSync(bin)
    for (const tool of ['newuidmap', 'newgidmap', 'slirp4netns']) {
      writeFileSync(join(bin, tool), '#!/bin/sh\n')
      chmodSync(join(bin, tool), 0o755)
    }
    mkdirSync(join(dir, 'xdg'), {mode: 0o700})
    host = {
      env: {PATH: bin, XDG_RUNTIME_DIR: join(dir, 'xdg')},
      user: {name: 'alice', uid, gid: process.getgid!()},
      subuidFile: join(dir, 'subuid'),
      subgidFile: join(dir, 'subgid'),
      procSys: sys,
      runtimeBinary: () => '/usr/bin/true',
      cgroups: () => ({version: 'v2', controllers: ['cpu', 'memory', 'pids'], delegated: ['cpu', 'memory', 'pids']}),
      storageDriver: () => ({name: 'overlay'}),
      apparmor: {securityfs: join(dir, 'security'), profileDir: join(dir, 'apparmor.d')},
    }
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('is all ok on a well-prepared host (newuidmap without setuid aside)', () => {
    const report = runDoctor(paths(), host)
    const notOk = report.checks.filter((c) => c.status !== 'ok').map((c) => c.id)
    // The stand-in newuidmap/newgidmap are not setuid root: exactly those warn.
    expect(notOk).to.deep.equal(['newuidmap', 'newgidmap'])
    expect(report.ok).to.equal(true)
    expect(status('newuidmap')?.fix).to.match(/chmod u\+s/)
  })

  it('fails when user.max_user_namespaces is 0, with the sysctl fix', () => {
    writeFileSync(join(dir, 'sys', 'user', 'max_user_namespaces'), '0\n')
    const report = runDoctor(paths(), host)
    expect(report.ok).to.equal(false)
    expect(status('max_user_namespaces')).to.include({status: 'fail', fix: 'sudo sysctl -w user.max_user_namespaces=28633'})
    // The storage probe needs the namespace: not run, said so.
    expect(status('storage')?.detail).to.match(/not probed/)
  })

  it('fails on Debian kernel.unprivileged_userns_clone=0', () => {
    writeFileSync(join(dir, 'sys', 'kernel', 'unprivileged_userns_clone'), '0\n')
    expect(status('unprivileged_userns_clone')).to.include({status: 'fail', fix: 'sudo sysctl -w kernel.unprivileged_userns_clone=1'})
  })

  it("fails on Ubuntu's AppArmor restriction, with the profile and the sysctl fix", () => {
    writeFileSync(join(dir, 'sys', 'kernel', 'apparmor_restrict_unprivileged_userns'), '1\n')
    const c = status('apparmor_userns')!
    expect(c.status).to.equal('fail')
    expect(c.fix).to.contain('apparmor_parser -r /etc/apparmor.d/ncx-runtime').and.contain('kernel.apparmor_restrict_unprivileged_userns=0')
    expect(c.detail).to.contain('no AppArmor profile for /usr/bin/true')
    expect(apparmorProfile('/opt/ncx/ncx-runtime')).to.contain('profile ncx-runtime /opt/ncx/ncx-runtime flags=(unconfined) {\n  userns,')
    expect(status('userns')).to.equal(undefined) // one failure, not two
  })

  it('is ok under the AppArmor restriction when the profile for ncx-runtime is loaded', () => {
    writeFileSync(join(dir, 'sys', 'kernel', 'apparmor_restrict_unprivileged_userns'), '1\n')
    const loaded = join(dir, 'security', 'apparmor', 'policy', 'profiles', 'ncx-runtime.2')
    mkdirSync(loaded, {recursive: true})
    writeFileSync(join(loaded, 'name'), 'ncx-runtime\n')
    writeFileSync(join(loaded, 'mode'), 'unconfined\n')
    writeFileSync(join(loaded, 'attach'), '/usr/bin/true\n')
    expect(status('apparmor_userns')).to.include({status: 'ok', detail: 'is 1; the profile ncx-runtime (unconfined) for ncx-runtime is loaded'})
    expect(status('userns')).to.equal(undefined)
    expect(runDoctor(paths(), host).ok).to.equal(true)
  })

  it('warns on an empty subuid file, a missing one, and a short range', () => {
    writeFileSync(join(dir, 'subuid'), '')
    // 100000-165535 is alice's in the subgid file: the fix names a range free in both files.
    expect(status('subuid')).to.include({status: 'warn', fix: 'sudo usermod --add-subuids 165536-231071 alice'})
    rmSync(join(dir, 'subgid'))
    expect(status('subgid')?.detail).to.match(/does not exist/)
    writeFileSync(join(dir, 'subuid'), 'bob:100000:65536\nalice:200000:1000\n')
    expect(status('subuid')?.detail).to.match(/^1000 ids from 200000: fewer than 65536/)
  })

  it("suggests a range no other user has, and warns when the user's range overlaps another's", () => {
    writeFileSync(join(dir, 'subuid'), 'bob:100000:65536\ncarol:165536:65536\n')
    writeFileSync(join(dir, 'subgid'), 'bob:100000:65536\n1001:231072:65536\n')
    expect(status('subuid')?.fix).to.equal('sudo usermod --add-subuids 296608-362143 alice')
    expect(status('subgid')?.fix).to.equal('sudo usermod --add-subgids 296608-362143 alice')
    writeFileSync(join(dir, 'subuid'), 'bob:100000:65536\nalice:150000:65536\n')
    writeFileSync(join(dir, 'subgid'), 'alice:300000:65536\n')
    const c = status('subuid')!
    expect(c.status).to.equal('warn')
    expect(c.detail).to.equal("your range 150000-215535 overlaps bob's 100000-165535: your containers and theirs can run as the same host ids (and reach each other's files)")
    expect(c.fix).to.equal('sudo usermod --del-subuids 150000-215535 --add-subuids 215536-281071 alice')
    expect(status('subgid')?.status).to.equal('ok')
  })

  it('checks that the data root and the runtime directory are private', () => {
    expect(status('data_root_private')).to.include({status: 'ok'})
    mkdirSync(join(dir, 'data'), {mode: 0o755})
    chmodSync(join(dir, 'data'), 0o755)
    expect(status('data_root_private')).to.include({status: 'warn', fix: `chmod 700 ${join(dir, 'data')}`})
    chmodSync(join(dir, 'data'), 0o700)
    expect(status('data_root_private')?.detail).to.equal(`${join(dir, 'data')} (0700)`)
    host.user = {...host.user, uid: uid + 1}
    const c = status('data_root_private')!
    expect(c.status).to.equal('fail')
    expect(c.detail).to.contain(`data root ${join(dir, 'data')} belongs to uid ${uid}`)
    expect(c.fix).to.contain('ncx --root DIR')
  })

  it('warns when newuidmap or slirp4netns is missing from PATH', () => {
    rmSync(join(dir, 'bin', 'newuidmap'))
    rmSync(join(dir, 'bin', 'slirp4netns'))
    expect(status('newuidmap')).to.include({status: 'warn', fix: 'sudo apt-get install uidmap  (Fedora/Arch: shadow-utils / shadow)'})
    expect(status('slirp4netns')?.status).to.equal('warn')
    expect(status('slirp4netns')?.fix).to.match(/^sudo apt-get install slirp4netns/)
  })

  it('accepts a setuid-root newuidmap found through a symlink on PATH', () => {
    const bin2 = join(dir, 'bin2')
    mkdirSync(bin2)
    symlinkSync('/usr/bin/newuidmap', join(bin2, 'newuidmap'))
    host.env = {...host.env, PATH: `${bin2}:${host.env.PATH}`}
    // The uidmap package (installed in CI, see .ci/run) ships it setuid root.
    const c = status('newuidmap')!
    expect(c).to.include({status: 'ok', detail: `${join(bin2, 'newuidmap')} (setuid root)`})
  })

  it('checks the low-port and ping sysctls', () => {
    writeFileSync(join(dir, 'sys', 'net', 'ipv4', 'ip_unprivileged_port_start'), '1024\n')
    writeFileSync(join(dir, 'sys', 'net', 'ipv4', 'ping_group_range'), '1\t0\n')
    expect(status('ports')).to.include({status: 'warn'})
    expect(status('ports')?.fix).to.contain('ip_unprivileged_port_start=80')
    expect(status('ping')?.fix).to.equal('sudo sysctl -w net.ipv4.ping_group_range="0 2147483647"')
  })

  it('fails on an XDG_RUNTIME_DIR that does not exist; warns when unset', () => {
    host.env = {...host.env, XDG_RUNTIME_DIR: join(dir, 'gone')}
    expect(status('xdg_runtime_dir')?.status).to.equal('fail')
    host.env = {PATH: host.env.PATH}
    expect(status('xdg_runtime_dir')?.status).to.equal('warn')
  })

  it('warns on hybrid cgroups and on missing delegated controllers', () => {
    host.cgroups = () => ({version: 'hybrid', controllers: [], delegated: [], limitation: 'cgroup hybrid hierarchy: …'})
    expect(status('cgroup')).to.include({status: 'warn', fix: 'cgroup hybrid hierarchy: …'})
    host.cgroups = () => ({version: 'v2', controllers: ['memory', 'pids'], delegated: ['memory', 'pids']})
    expect(status('cgroup')?.detail).to.contain('missing cpu')
  })

  it('fails when the runtime binary is missing; warns on the copy driver with its reason', () => {
    host.runtimeBinary = () => {
      throw new Error('ncx-runtime not found')
    }
    host.storageDriver = () => ({name: 'copy', reason: 'mount: invalid argument'})
    const report = runDoctor(paths(), host)
    expect(report.ok).to.equal(false)
    expect(status('runtime')?.status).to.equal('fail')
    expect(status('storage')?.detail).to.contain('overlay failed: mount: invalid argument')
  })
})
