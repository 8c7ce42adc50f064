/**
 * Security options and the limits warning path, on the host as the unprivileged test user:
 * capabilities, no_new_privs, the default seccomp profile (and unconfined), sysctls, devices,
 * ulimits, --init, and the one-line warning when limits cannot be applied here.
 */
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {chmodSync} from 'node:fs'
import {join} from 'node:path'

import {CgroupInfo} from '../../src/engine/cgroup/detect.js'
import {Sandbox, repo, userDir} from './harness.js'

const status = (out: string, key: string) => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(out)?.[1]

describe('e2e: security options', function () {
  this.timeout(120_000)
  const box = new Sandbox()
  let probe: string

  before(() => {
    box.load('busybox.oci.tar')
    // A tiny static program that tries one system call (busybox has no keyctl or clone3).
    const dir = userDir('ncx-e2e-probe-')
    probe = join(dir, 'probe')
    execFileSync('cc', ['-static', '-O2', '-o', probe, join(repo, 'test', 'fixtures', 'syscall-probe.c')])
    chmodSync(probe, 0o755)
  })
  after(() => box.destroy())

  const run = (args: string[]) => box.ok(['run', '--rm', '--network', 'none', ...args])

  it('--cap-drop ALL --cap-add X leaves exactly X in every set', () => {
    const out = run(['--cap-drop', 'ALL', '--cap-add', 'NET_BIND_SERVICE', 'busybox', 'cat', '/proc/self/status'])
    for (const set of ['CapPrm', 'CapEff', 'CapBnd']) expect(status(out, set), set).to.equal('0000000000000400')
    expect(status(out, 'CapInh')).to.equal('0000000000000000')
    // Docker's default set otherwise (chown, dac_override, … audit_write = 0xa80425fb).
    expect(status(run(['busybox', 'cat', '/proc/self/status']), 'CapEff')).to.equal('00000000a80425fb')
  })

  it('--security-opt no-new-privileges is visible in NoNewPrivs', () => {
    expect(status(run(['busybox', 'cat', '/proc/self/status']), 'NoNewPrivs')).to.equal('0')
    expect(status(run(['--security-opt', 'no-new-privileges', 'busybox', 'cat', '/proc/self/status']), 'NoNewPrivs')).to.equal('1')
  })

  it('the default seccomp profile blocks unshare, mount and keyctl with EPERM, clone3 with ENOSYS; exec gets it too', () => {
    const out = run(['busybox', 'sh', '-c', 'grep Seccomp: /proc/self/status; unshare -U true; echo unshare=$?; mount -t tmpfs x /mnt; echo mount=$?'])
    expect(status(out, 'Seccomp')).to.equal('2')
    expect(out).to.contain('unshare=1').and.contain('mount=1')
    const id = box.ok(['run', '-d', '--network', 'none', 'busybox', 'sleep', '60']).trim()
    box.ok(['cp', probe, `${id}:/probe`])
    const calls = box.ok(['exec', id, '/probe', 'unshare', 'mount', 'keyctl', 'clone3', 'getpid'])
    expect(calls).to.contain('unshare errno=1\n').and.contain('mount errno=1\n').and.contain('keyctl errno=1\n')
    expect(calls).to.contain('clone3 errno=38\n').and.contain('getpid ok\n')
    box.ok(['rm', '-f', id])
  })

  it('seccomp=unconfined lets them through to the user namespace\'s own rules', () => {
    const out = run(['--security-opt', 'seccomp=unconfined', 'busybox', 'sh', '-c', 'grep Seccomp: /proc/self/status; unshare -U true; echo unshare=$?'])
    expect(status(out, 'Seccomp')).to.equal('0')
    expect(out).to.contain('unshare=0')
    const id = box.ok(['run', '-d', '--network', 'none', '--security-opt', 'seccomp=unconfined', 'busybox', 'sleep', '60']).trim()
    box.ok(['cp', probe, `${id}:/probe`])
    const calls = box.ok(['exec', id, '/probe', 'keyctl', 'clone3'])
    expect(calls).to.not.contain('keyctl errno=1\n')
    expect(calls).to.contain('clone3 errno=22\n') // EINVAL from the kernel itself: a NULL argument
    box.ok(['rm', '-f', id])
  })

  it('a seccomp profile file in Docker\'s format is applied', () => {
    const dir = userDir('ncx-e2e-seccomp-')
    const file = join(dir, 'profile.json')
    execFileSync('sh', ['-c', `cat > ${file}`], {input: JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13}]})})
    chmodSync(file, 0o644)
    const r = box.ncx(['run', '--rm', '--network', 'none', '--security-opt', `seccomp=${file}`, 'busybox', 'mkdir', '/tmp/x'])
    expect(r.code).to.equal(1)
    expect(r.stderr).to.match(/Permission denied/)
    const bad = box.ncx(['run', '--rm', '--security-opt', `seccomp=${join(dir, 'missing.json')}`, 'busybox', 'true'])
    expect(bad.code).to.equal(125)
    expect(bad.stderr).to.contain('opening seccomp profile')
  })

  it('--privileged: all capabilities of the user namespace, no seccomp, no masked paths', () => {
    const out = run(['--privileged', 'busybox', 'sh', '-c', 'cat /proc/self/status; mount | grep -c " /proc/timer_list " || true'])
    expect(status(out, 'CapEff')).to.match(/^0000001fffffffff$|^000001ffffffffff$|^0000003fffffffff$/)
    expect(status(out, 'Seccomp')).to.equal('0')
    expect(out.trim().split('\n').pop()).to.equal('0')
    expect(run(['busybox', 'sh', '-c', 'mount | grep -c " /proc/timer_list "']).trim()).to.equal('1')
  })

  it('--sysctl sets namespaced ones and refuses the others; --ulimit, --group-add, --oom-score-adj, --device', () => {
    const out = run(['--sysctl', 'net.ipv4.ip_forward=1', '--sysctl', 'kernel.shmmax=1000000', '--ulimit', 'nofile=512:1024', '--group-add', '10', '--oom-score-adj', '500', '--device', '/dev/null:/dev/extra-null',
      'busybox', 'sh', '-c', 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax; ulimit -n; ulimit -Hn; id -G; cat /proc/self/oom_score_adj; ls -l /dev/extra-null'])
    const lines = out.trim().split('\n')
    expect(lines.slice(0, 6)).to.deep.equal(['1', '1000000', '512', '1024', '0 10', '500'])
    expect(lines[6]).to.match(/^crw-rw-rw-.*1,\s+3 .*\/dev\/extra-null$/)
    const r = box.ncx(['run', '--rm', '--sysctl', 'kernel.panic=1', 'busybox', 'true'])
    expect(r.code).to.equal(125)
    expect(r.stderr).to.contain('sysctl "kernel.panic" is not allowed')
  })

  it('--init reaps zombies that the command never waits for', async () => {
    const zombies = (init: boolean) => {
      const id = box.ok(['run', '-d', '--network', 'none', ...(init ? ['--init'] : []), 'busybox', 'sh', '-c', '(sleep 0.2 &); exec sleep 30']).trim()
      execFileSync('sleep', ['1.5'])
      const ps = box.ok(['exec', id, 'ps', '-o', 'stat,comm'])
      box.ok(['rm', '-f', id])
      return ps.split('\n').filter((l) => /^Z/.test(l.trim())).length
    }
    expect(zombies(false), 'without --init the orphan stays a zombie').to.equal(1)
    expect(zombies(true), 'with --init it is reaped').to.equal(0)
    // Signals reach the command through the init: stop is quick, not the 10 s timeout.
    const id = box.ok(['run', '-d', '--network', 'none', '--init', 'busybox', 'sleep', '30']).trim()
    const t = Date.now()
    box.ok(['stop', id])
    expect(Date.now() - t).to.be.below(8000)
    box.ok(['rm', id])
  })

  it('limits that cannot be applied here: one warning line, --cgroup-manager none silences it, NCX_CGROUP_ENFORCE=1 refuses', function () {
    const info = JSON.parse(box.ok(['info', '--format', 'json'])).Cgroup as CgroupInfo
    if (info.delegated.length > 0) this.skip() // a host with delegation: the VM suite covers enforcement
    expect(info.limitation).to.be.a('string').and.not.equal('')
    const r = box.ncx(['run', '--rm', '--network', 'none', '-m', '64m', '--cpus', '0.5', '--pids-limit', '10', 'busybox', 'echo', 'ran'])
    expect(r.code).to.equal(0)
    expect(r.stdout).to.equal('ran\n')
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('WARNING:'))
    expect(warnings).to.have.length(1)
    expect(warnings[0]).to.contain('--memory, --cpus, --pids-limit').and.contain('Delegate=')
    const quiet = box.ncx(['run', '--rm', '--network', 'none', '-m', '64m', '--cgroup-manager', 'none', 'busybox', 'true'])
    expect(quiet.code).to.equal(0)
    expect(quiet.stderr).to.not.contain('WARNING')
    const strict = box.ncx(['run', '--rm', '--network', 'none', '-m', '64m', 'busybox', 'true'], {env: {NCX_CGROUP_ENFORCE: '1'}})
    expect(strict.code).to.equal(125)
    expect(strict.stderr).to.contain('resource limits cannot be enforced (--memory)')
  })
})
