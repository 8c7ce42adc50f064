import {expect} from 'chai'
import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {DoctorHost, runDoctor} from '../../src/engine/doctor.js'
import {networkBackendProblem} from '../../src/engine/network/netns.js'
import {NetworkRecord, bridgeCommands, bridgeProblems, isBridgeName, namespaceLinks, planBridges} from '../../src/engine/network/networks.js'
import {storePaths} from '../../src/engine/store/paths.js'

const net = (name: string, bridge: string, subnet: string, gateway: string): NetworkRecord => ({
  id: bridge,
  name,
  driver: 'bridge',
  subnet,
  gateway,
  bridge,
  internal: false,
  labels: {},
  created: '',
  allocations: {},
})

describe('bridges of the network namespace: crash-safe convergence', () => {
  const dflt = net('bridge', 'ncx0', '10.88.0.0/16', '10.88.0.1')
  const app = net('app', 'br-0123456789ab', '10.89.0.0/24', '10.89.0.1')
  const nets = [dflt, app]

  it('names bridges ncx0 and br-<12 hex> only (veths, lo and tap0 are not bridges)', () => {
    expect(['ncx0', 'br-0123456789ab'].every(isBridgeName)).to.equal(true)
    expect(['lo', 'tap0', 'veth1a2b3c4d', 'br-xyz', 'br-0123456789abc'].some(isBridgeName)).to.equal(false)
  })

  it('finds nothing wrong when the record and the links agree', () => {
    expect(bridgeProblems({bridges: ['ncx0']}, new Set(['lo', 'tap0', 'ncx0', 'veth01']), nets)).to.deep.equal([])
    expect(planBridges({bridges: ['ncx0']}, new Set(['ncx0']), nets, 'ncx0')).to.deep.equal({setUp: [], remove: [], touched: []})
  })

  it('a first setup: intent covers the wanted bridge, which is created', () => {
    const plan = planBridges({bridges: []}, new Set(['lo', 'tap0']), nets, 'ncx0')
    expect(plan.touched).to.deep.equal(['ncx0'])
    expect(bridgeCommands(plan, new Set())).to.equal('link add ncx0 type bridge\naddr replace 10.88.0.1/16 dev ncx0\nlink set ncx0 up\n')
  })

  it('a link left by a killed setup (recorded pending, or not at all, as before this fix) is adopted, never created twice', () => {
    const links = new Set(['lo', 'tap0', 'ncx0', 'br-0123456789ab'])
    // the old code's crash: the link exists, the record does not name it
    expect(bridgeProblems({bridges: ['ncx0']}, links, nets)).to.deep.equal([{bridge: 'br-0123456789ab', network: 'app', kind: 'unrecorded'}])
    // the new code's crash: the intent names it
    expect(bridgeProblems({bridges: ['ncx0'], pending: ['br-0123456789ab']}, links, nets)).to.deep.equal([{bridge: 'br-0123456789ab', network: 'app', kind: 'interrupted'}])
    for (const s of [{bridges: ['ncx0']}, {bridges: ['ncx0'], pending: ['br-0123456789ab']}]) {
      const plan = planBridges(s, links, nets, 'br-0123456789ab')
      expect(plan.touched).to.deep.equal(['br-0123456789ab'])
      const cmds = bridgeCommands(plan, links)
      expect(cmds).to.not.include('link add').and.not.include('link del')
      expect(cmds).to.equal('addr replace 10.89.0.1/24 dev br-0123456789ab\nlink set br-0123456789ab up\n')
    }
  })

  it('a recorded bridge whose link is gone is created again; one whose network is gone is deleted', () => {
    expect(bridgeProblems({bridges: ['ncx0', 'br-0123456789ab']}, new Set(['ncx0']), nets)).to.deep.equal([{bridge: 'br-0123456789ab', network: 'app', kind: 'missing'}])
    const orphanLinks = new Set(['ncx0', 'br-ffffffffffff'])
    expect(bridgeProblems({bridges: ['ncx0', 'br-ffffffffffff']}, orphanLinks, nets)).to.deep.equal([{bridge: 'br-ffffffffffff', kind: 'orphaned'}])
    // A removal interrupted after the network's record went (pending), and an unrecorded orphan link.
    const plan = planBridges({bridges: ['ncx0'], pending: ['br-ffffffffffff']}, orphanLinks, nets, 'br-0123456789ab')
    expect(plan.remove).to.deep.equal(['br-ffffffffffff'])
    expect(plan.setUp.map((n) => n.bridge)).to.deep.equal(['br-0123456789ab'])
    expect(bridgeCommands(plan, orphanLinks).split('\n')[0]).to.equal('link del br-ffffffffffff')
    // (a pending bridge whose link never came and whose network is gone: only forgotten)
    const gone = planBridges({bridges: [], pending: ['br-eeeeeeeeeeee']}, new Set(), nets)
    expect(gone).to.deep.equal({setUp: [], remove: [], touched: ['br-eeeeeeeeeeee']})
    expect(bridgeCommands(gone, new Set())).to.equal('')
  })

  it('reads the interfaces of a namespace from /proc/PID/net/dev', () => {
    const links = namespaceLinks(process.pid)
    expect(links?.has('lo')).to.equal(true)
    expect(namespaceLinks(2 ** 22 + 1)).to.equal(undefined)
  })
})

describe('network backend problems and doctor', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-netbackend-'))
    mkdirSync(join(dir, 'bin'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('names what is missing (slirp4netns, the TUN device, its permission) and the fix', () => {
    const env = {PATH: join(dir, 'bin')}
    expect(networkBackendProblem(env)).to.deep.include({problem: 'slirp4netns was not found on PATH'})
    expect(networkBackendProblem(env)?.fix).to.match(/^sudo apt-get install slirp4netns/)
    writeFileSync(join(dir, 'bin', 'slirp4netns'), '#!/bin/sh\n')
    chmodSync(join(dir, 'bin', 'slirp4netns'), 0o755)
    expect(networkBackendProblem(env, join(dir, 'tun'))).to.deep.equal({problem: `${join(dir, 'tun')} does not exist (no TUN/TAP support loaded)`, fix: 'sudo modprobe tun'})
    writeFileSync(join(dir, 'tun'), '')
    chmodSync(join(dir, 'tun'), 0o600)
    expect(networkBackendProblem(env, join(dir, 'tun'))).to.equal(undefined)
    if (process.getuid!() !== 0) {
      chmodSync(join(dir, 'tun'), 0)
      expect(networkBackendProblem(env, join(dir, 'tun'))?.fix).to.match(/chmod 0666/)
    }
  })

  it('doctor reports bridges that are not whole, and how they get repaired', () => {
    const host: DoctorHost = {
      env: {PATH: '/usr/bin:/bin'},
      user: {name: 'alice', uid: process.getuid!(), gid: process.getgid!()},
      subuidFile: join(dir, 'subuid'),
      subgidFile: join(dir, 'subgid'),
      procSys: join(dir, 'sys'),
      runtimeBinary: () => '/usr/bin/true',
      cgroups: () => ({version: 'v2', controllers: [], delegated: ['cpu', 'memory', 'pids']}),
      bridges: () => ({holderPid: 42, bridges: ['ncx0'], problems: [{bridge: 'br-0123456789ab', network: 'app', kind: 'unrecorded'}]}),
    }
    const paths = storePaths({dataRoot: join(dir, 'data'), env: {HOME: dir, XDG_RUNTIME_DIR: dir}, uid: 1000})
    const bad = runDoctor(paths, host).checks.find((c) => c.id === 'bridges')
    expect(bad?.status).to.equal('warn')
    expect(bad?.detail).to.include('bridge br-0123456789ab (network app): its link exists but is not recorded')
    expect(bad?.fix).to.include('ncx run --rm --network app IMAGE true')
    host.bridges = () => ({holderPid: 42, bridges: ['ncx0'], problems: []})
    expect(runDoctor(paths, host).checks.find((c) => c.id === 'bridges')).to.include({status: 'ok'})
    host.bridges = () => undefined
    expect(runDoctor(paths, host).checks.find((c) => c.id === 'bridges')?.detail).to.match(/no network namespace running/)
  })
})
