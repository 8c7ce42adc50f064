import {expect} from 'chai'

import {CgroupInfo} from '../../src/engine/cgroup/detect.js'
import {planCgroup} from '../../src/engine/cgroup/manager.js'
import {toOciResources} from '../../src/engine/cgroup/resources.js'
import {NcxError} from '../../src/engine/errors.js'
import {DEFAULT_CAPABILITIES} from '../../src/engine/spec/oci.js'
import {toOciSeccomp} from '../../src/engine/spec/seccomp.js'
import {DEFAULT_SECCOMP_PROFILE} from '../../src/engine/spec/seccomp-default.js'
import {effectiveCapabilities, parseDevice, parseUlimit} from '../../src/engine/spec/security.js'

describe('security options (src/engine/spec/security.ts)', () => {
  it('does Docker\'s capability arithmetic', () => {
    expect(effectiveCapabilities()).to.deep.equal([...DEFAULT_CAPABILITIES])
    expect(effectiveCapabilities(['NET_ADMIN'], ['CHOWN'])).to.include('CAP_NET_ADMIN').and.not.include('CAP_CHOWN')
    expect(effectiveCapabilities(['cap_net_bind_service'], ['ALL'])).to.deep.equal(['CAP_NET_BIND_SERVICE'])
    const all = effectiveCapabilities(['ALL'], ['SYS_ADMIN'])
    expect(all).to.include('CAP_SYS_PTRACE').and.not.include('CAP_SYS_ADMIN')
    expect(effectiveCapabilities([], [], true)).to.include('CAP_SYS_ADMIN')
  })

  it('parses --ulimit and --device as Docker does', () => {
    expect(parseUlimit('nofile=1024')).to.deep.equal({name: 'nofile', soft: 1024, hard: 1024})
    expect(parseUlimit('core=-1')).to.deep.equal({name: 'core', soft: -1, hard: -1})
    expect(() => parseUlimit('nofile=2048:1024')).to.throw(/soft limit must be less than or equal to hard limit/)
    expect(parseDevice('/dev/fuse')).to.deep.equal({host: '/dev/fuse', container: '/dev/fuse', permissions: 'rwm'})
    expect(parseDevice('/dev/fuse:r')).to.deep.equal({host: '/dev/fuse', container: '/dev/fuse', permissions: 'r'})
    expect(parseDevice('/dev/net/tun:/dev/tun0:rw')).to.deep.equal({host: '/dev/net/tun', container: '/dev/tun0', permissions: 'rw'})
    expect(() => parseDevice('/dev/x:/y:q')).to.throw(/invalid device mode/)
  })
})

describe('default seccomp profile (src/engine/spec/seccomp*.ts)', () => {
  const names = (caps: readonly string[]) => toOciSeccomp(DEFAULT_SECCOMP_PROFILE, caps, 'x64', '6.1.0')
  it('gates namespace calls on CAP_SYS_ADMIN: clone without namespace flags, clone3 ENOSYS', () => {
    const p = names(DEFAULT_CAPABILITIES)
    expect(p.defaultAction).to.equal('SCMP_ACT_ERRNO')
    expect(p.defaultErrnoRet).to.equal(1)
    expect(p.architectures).to.deep.equal(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'])
    const allowed = p.syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW' && !s.args).flatMap((s) => s.names)
    for (const never of ['unshare', 'mount', 'keyctl', 'add_key', 'request_key', 'kexec_load', 'setns', 'bpf', 'ptrace_never']) expect(allowed).to.not.include(never)
    expect(allowed).to.include('read').and.include('ptrace')
    const clone = p.syscalls.find((s) => s.names.includes('clone'))
    expect(clone?.args).to.deep.equal([{index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ'}])
    expect(p.syscalls.find((s) => s.names.includes('clone3'))).to.include({action: 'SCMP_ACT_ERRNO', errnoRet: 38})
    const admin = names([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'])
    const adminAllowed = admin.syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW' && !s.args).flatMap((s) => s.names)
    expect(adminAllowed).to.include('unshare').and.include('mount').and.include('clone3')
    expect(admin.syscalls.find((s) => s.names.includes('clone3') && s.action === 'SCMP_ACT_ERRNO')).to.equal(undefined)
    expect(adminAllowed).to.not.include('keyctl')
  })

  it('keeps arch-specific rules for this architecture only', () => {
    expect(names([]).syscalls.some((s) => s.names.includes('arch_prctl'))).to.equal(true)
    expect(toOciSeccomp(DEFAULT_SECCOMP_PROFILE, [], 'arm64', '6.1.0').syscalls.some((s) => s.names.includes('arch_prctl'))).to.equal(false)
  })
})

describe('cgroup plan (src/engine/cgroup/manager.ts)', () => {
  const hybrid: CgroupInfo = {version: 'hybrid', controllers: [], delegated: [], limitation: 'hybrid layout'}
  const delegated: CgroupInfo = {version: 'v2', path: '/deleg/shell', controllers: [], delegated: ['cpu', 'memory', 'pids'], delegationRoot: '/deleg'}

  it('warns once, naming the limits, where nothing is delegated; none silences; ENFORCE makes it an error', () => {
    const r = {memory: 64 << 20, nanoCpus: 5e8}
    const plan = planCgroup('c1', r, {}, hybrid, {})
    expect(plan.path).to.equal(undefined)
    expect(plan.warning).to.match(/^resource limits not applied \(--memory, --cpus\): hybrid layout; --cgroup-manager none silences this/)
    expect(planCgroup('c1', r, {manager: 'none'}, hybrid, {})).to.deep.equal({})
    expect(planCgroup('c1', undefined, {}, hybrid, {})).to.deep.equal({})
    expect(() => planCgroup('c1', r, {}, hybrid, {NCX_CGROUP_ENFORCE: '1'})).to.throw(NcxError, /cannot be enforced/)
  })

  it('puts the container below the delegated subtree, or --cgroup-parent', () => {
    expect(planCgroup('c1', {memory: 1 << 30}, {}, delegated, {})).to.deep.equal({path: '/deleg/ncx/c1'})
    expect(planCgroup('c1', undefined, {parent: 'jobs'}, delegated, {})).to.deep.equal({path: '/deleg/jobs/c1'})
    expect(planCgroup('c1', {blkioWeight: 100}, {}, delegated, {}).warning).to.match(/controller io not delegated/)
  })

  it('converts Docker limits to OCI resources (swap defaults to twice the memory)', () => {
    expect(toOciResources({memory: 100, nanoCpus: 5e8, pidsLimit: 0})).to.deep.equal({memory: {limit: 100, swap: 200}, cpu: {period: 100000, quota: 50000}, pids: {limit: -1}})
    expect(toOciResources(undefined)).to.equal(undefined)
  })
})
