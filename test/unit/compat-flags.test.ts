import {expect} from 'chai'

import {parseAttach, parseLinks} from '../../src/cli/compat-flags.js'
import {RUN_FLAGS, parseRunArgv} from '../../src/cli/run-flags.js'
import {neededControllers, requestedLimits} from '../../src/engine/cgroup/resources.js'

const env = {NCX_DEFAULT_NETWORK: 'none'}

function refusal(flags: string[], command: 'run' | 'create' = 'run'): {message: string; exitCode: number} {
  try {
    parseRunArgv([...flags, 'busybox'], env, command)
  } catch (error) {
    return {message: (error as Error).message, exitCode: (error as {exitCode: number}).exitCode}
  }
  throw new Error(`${flags.join(' ')} was accepted`)
}

describe('run/create -q, -a and the flags ncx accepts as no-ops or refuses (src/cli/compat-flags.ts)', () => {
  it('-q/--quiet sets quiet; without it the pull output stays', () => {
    expect(parseRunArgv(['-q', 'busybox'], env).quiet).to.equal(true)
    expect(parseRunArgv(['--quiet', 'busybox'], env, 'create').quiet).to.equal(true)
    expect(parseRunArgv(['busybox'], env).quiet).to.equal(false)
  })

  it('-a/--attach: case-insensitive, repeatable, deduplicated; Docker\'s message for a bad stream', () => {
    expect(parseRunArgv(['-a', 'stdout', '--attach', 'STDERR', '-a', 'Stdout', 'busybox'], env).options.attach).to.deep.equal(['stdout', 'stderr'])
    expect(parseRunArgv(['busybox'], env).options).to.not.have.property('attach')
    expect(parseAttach([])).to.equal(undefined)
    expect(refusal(['-a', 'stdnothing'])).to.deep.equal({message: 'invalid argument "stdnothing" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR', exitCode: 125})
  })

  it('-a with -d is Docker\'s conflict', () => {
    expect(refusal(['-d', '-a', 'stdout']).message).to.contain('Conflicting options: -a and -d')
  })

  it('refuses what cannot apply here, each with the reason (exit 125)', () => {
    const cases: Array<[string[], string]> = [
      [['--volume-driver', 'convoy'], 'error looking up volume plugin convoy: plugin "convoy" not found'],
      [['--gpus', 'all'], 'could not select device driver "" with capabilities: [[gpu]]'],
      [['--ip6', 'fd00::5'], 'ncx networks are IPv4 only'],
      [['--link-local-ip', '169.254.1.1'], '--link-local-ip is not supported'],
      [['--storage-opt', 'size=1G'], '--storage-opt is not supported'],
      [['--memory-swappiness', '101'], 'invalid value: 101, valid memory swappiness range is 0-100'],
      [['--memory-swappiness', 'lots'], 'invalid argument "lots" for "--memory-swappiness" flag'],
      [['--device-cgroup-rule', 'c 1:3'], "invalid device cgroup format 'c 1:3'"],
      [['--health-start-interval', 'soon'], 'time: invalid duration "soon"'],
    ]
    for (const [flags, message] of cases) {
      const r = refusal(flags)
      expect(r.message, flags.join(' ')).to.contain(message)
      expect(r.exitCode, flags.join(' ')).to.equal(125)
    }
  })

  it('accepts the built-in runtime, the local volume driver and --disable-content-trust silently', () => {
    const inv = parseRunArgv(['--runtime', 'ncx-runtime', '--volume-driver', 'local', '--disable-content-trust', '--memory-swappiness', '-1', 'busybox'], env)
    expect(inv.warnings).to.deep.equal([])
  })

  it('warns once per flag it accepts but cannot apply', () => {
    const inv = parseRunArgv(['--memory-swappiness', '60', '--device-cgroup-rule', 'c 1:3 rwm', '--device-cgroup-rule', 'b *:* r', 'busybox'], env)
    expect(inv.warnings).to.have.length(2)
    expect(inv.warnings[0]).to.contain('Memory swappiness discarded')
    expect(inv.warnings[1]).to.contain('--device-cgroup-rule ignored')
  })

  it('resource flags without a cgroup v2 equivalent here: warned about, or refused; Windows-only ones warned about', () => {
    const inv = parseRunArgv(['--kernel-memory', '50m', '--blkio-weight-device', '/dev/sda:200', '--cpu-count', '2', '--isolation', 'default', 'busybox'], env)
    expect(inv.warnings).to.deep.equal([
      'Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.',
      'Your kernel does not support BLKIO weight_device or the cgroup is not mounted. Weight-device discarded.',
      '--cpu-count is a Windows option: ignored',
    ])
    const cases: Array<[string[], string]> = [
      [['--cpu-rt-runtime', '950000'], 'Your kernel does not support CPU real-time scheduler'],
      [['--cpu-rt-period', 'x'], 'invalid argument "x" for "--cpu-rt-period" flag'],
      [['--isolation', 'hyperv'], `invalid isolation: "hyperv" - linux only supports 'default'`],
      [['--blkio-weight-device', 'sda'], 'invalid argument "sda" for "--blkio-weight-device" flag: bad format: sda'],
      [['--device-read-iops', '/dev/sda:1k'], 'invalid rate for device: /dev/sda:1k. The correct format is <device-path>:<number>'],
      [['--kernel-memory', 'lots'], 'invalid argument "lots" for "--kernel-memory" flag'],
    ]
    for (const [flags, message] of cases) {
      const r = refusal(flags)
      expect(r.message, flags.join(' ')).to.contain(message)
      expect(r.exitCode, flags.join(' ')).to.equal(125)
    }
  })

  it('--device-read-iops/--device-write-iops are io limits (io.max riops/wiops), like the bps ones', () => {
    const r = parseRunArgv(['--device-read-iops', '/dev/sda:100', '--device-write-iops', '/dev/sdb:5', 'busybox'], env).options.resources
    expect(r).to.deep.equal({deviceReadIops: [{path: '/dev/sda', rate: 100}], deviceWriteIops: [{path: '/dev/sdb', rate: 5}]})
    expect(neededControllers(r)).to.deep.equal(['io'])
    expect(requestedLimits(r)).to.deep.equal(['--device-read-iops', '--device-write-iops'])
  })

  it('--health-start-interval is a health option (effective health check, monitor argument)', () => {
    expect(parseRunArgv(['--health-cmd', 'true', '--health-start-period', '1m', '--health-start-interval', '500ms', 'busybox'], env).options.health).to.deep.equal({cmd: 'true', startPeriod: 60e9, startInterval: 5e8})
  })

  it('--link NAME[:ALIAS]: alias defaults to the name; bad formats and non-bridge networks refused', () => {
    const bridged = {NCX_DEFAULT_NETWORK: 'bridge'}
    expect(parseRunArgv(['--link', 'db:database', '--link', '/cache', 'busybox'], bridged).options.links).to.deep.equal([{name: 'db', alias: 'database'}, {name: 'cache', alias: 'cache'}])
    expect(parseLinks([], true)).to.equal(undefined)
    expect(() => parseLinks(['a:b:c'], true)).to.throw('invalid argument "a:b:c" for "--link" flag: bad format for links: a:b:c')
    expect(() => parseLinks(['db:'], true)).to.throw('bad format for links')
    expect(refusal(['--network', 'host', '--link', 'db'])).to.deep.equal({message: "conflicting options: host type networking can't be used with links. This would result in undefined behavior", exitCode: 125})
  })

  it('every new flag is in the run table with help text', () => {
    for (const name of ['quiet', 'attach', 'link', 'disable-content-trust', 'runtime', 'volume-driver', 'memory-swappiness', 'device-cgroup-rule', 'health-start-interval', 'gpus', 'ip6', 'link-local-ip', 'storage-opt']) {
      expect(RUN_FLAGS.find((f) => f.name === name)?.description, name).to.be.a('string').and.not.equal('')
    }
  })
})
