import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {isatty} from 'node:tty'

import {expect} from 'chai'

import {ArgCountError, CliError} from '../../src/cli/errors.js'
import {parseRunArgv} from '../../src/cli/run-flags.js'
import {UsageError} from '../../src/engine/errors.js'

describe('parseRunArgv (src/cli/run-flags.ts)', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-unit-run-'))
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('builds options with Docker defaults', () => {
    const inv = parseRunArgv(['busybox'], {})
    expect(inv.options).to.deep.equal({
      image: 'busybox',
      command: [],
      entrypoint: undefined,
      env: [],
      workdir: undefined,
      user: undefined,
      hostname: undefined,
      name: undefined,
      rm: false,
      interactive: false,
      tty: false,
      // Docker's default, as root too (and whatever PATH holds: a missing slirp4netns is refused at create)
      network: 'bridge',
      readOnly: false,
    })
    expect(inv.detach).to.equal(false)
    expect(inv.debug).to.equal(false)
    expect(inv.root).to.equal(undefined)
  })

  it('splits image and command, passing command flags through', () => {
    const inv = parseRunArgv(['--rm', '--name', 'c1', '-u', '1000:1000', '-h', 'box', '--read-only', '-d', 'busybox', 'ls', '-l', '/'], {})
    expect(inv.options.image).to.equal('busybox')
    expect(inv.options.command).to.deep.equal(['ls', '-l', '/'])
    expect(inv.options.rm).to.equal(true)
    expect(inv.options.name).to.equal('c1')
    expect(inv.options.user).to.equal('1000:1000')
    expect(inv.options.hostname).to.equal('box')
    expect(inv.options.readOnly).to.equal(true)
    expect(inv.detach).to.equal(true)
  })

  it('keeps --entrypoint "" (clearing) distinct from no --entrypoint', () => {
    expect(parseRunArgv(['--entrypoint', '', 'img'], {}).options.entrypoint).to.equal('')
    expect(parseRunArgv(['--entrypoint=/bin/sh', 'img'], {}).options.entrypoint).to.equal('/bin/sh')
  })

  it('passes global flags through', () => {
    const inv = parseRunArgv(['--root', '/data', '--debug', 'img'], {})
    expect(inv.root).to.equal('/data')
    expect(inv.debug).to.equal(true)
  })

  it('copies a bare -e KEY from the given host env and drops it when absent', () => {
    const inv = parseRunArgv(['-e', 'FOO', '-e', 'MISSING', '-e', 'A=1', '-e', 'EMPTY', 'img'], {FOO: 'from host', EMPTY: ''})
    expect(inv.options.env).to.deep.equal(['FOO=from host', 'A=1', 'EMPTY='])
  })

  it('does not read process.env when an env object is given', () => {
    process.env.NCX_UNIT_ONLY_IN_PROCESS = 'leak'
    try {
      expect(parseRunArgv(['-e', 'NCX_UNIT_ONLY_IN_PROCESS', 'img'], {}).options.env).to.deep.equal([])
    } finally {
      delete process.env.NCX_UNIT_ONLY_IN_PROCESS
    }
  })

  it('rejects -e with an empty name', () => {
    expect(() => parseRunArgv(['-e', '=x', 'img'], {})).to.throw(UsageError, 'invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x')
  })

  it('requires an absolute working directory', () => {
    expect(() => parseRunArgv(['-w', 'src', 'img'], {})).to.throw(UsageError, "the working directory 'src' is invalid, it needs to be an absolute path")
    expect(parseRunArgv(['-w', '/src', 'img'], {}).options.workdir).to.equal('/src')
  })

  it('requires an image', () => {
    // Docker's cli/required.go message, exit 1 (not a flag error).
    expect(() => parseRunArgv([], {})).to.throw(ArgCountError, '"ncx run" requires at least 1 argument.\nSee \'ncx run --help\'.\n\nUsage:  ncx run [OPTIONS] IMAGE [COMMAND] [ARG...]')
    expect(() => parseRunArgv(['--rm'], {})).to.throw(ArgCountError, /requires at least 1 argument/)
  })

  it('accepts --network none|host|bridge|NAME|slirp4netns, several bridge networks and --mac-address', () => {
    expect(parseRunArgv(['--network', 'none', 'img'], {}).options.network).to.equal('none')
    expect(parseRunArgv(['--net=none', 'img'], {}).options.network).to.equal('none')
    expect(parseRunArgv(['--network', 'host', 'img'], {}).options.network).to.equal('host')
    expect(parseRunArgv(['--network', 'default', 'img'], {}).options.network).to.equal('bridge')
    expect(parseRunArgv(['--network', 'appnet', '--network-alias', 'db', 'img'], {}).options.networkAliases).to.deep.equal(['db'])
    expect(parseRunArgv(['img'], {NCX_DEFAULT_NETWORK: 'none'}).options.network).to.equal('none')
    expect(parseRunArgv(['--network', 'container:web', 'img'], {}).options.network).to.equal('container:web')
    expect(parseRunArgv(['--network', 'slirp4netns', '-p', '80', 'img'], {}).options.network).to.equal('slirp4netns')
    expect(parseRunArgv(['--network', 'slirp4netns:allow_host_loopback=true', 'img'], {}).options.network).to.equal('slirp4netns:allow_host_loopback=true')
    expect(() => parseRunArgv(['--network', 'slirp4netns:mtu=9000', 'img'], {})).to.throw(UsageError, /unknown slirp4netns option/)
    const multi = parseRunArgv(['--network', 'a', '--network', 'b', '--mac-address', '02:42:AC:11:00:09', 'img'], {}).options
    expect(multi.network).to.equal('a')
    expect(multi.networks).to.deep.equal(['b'])
    expect(multi.macAddress).to.equal('02:42:ac:11:00:09')
    expect(() => parseRunArgv(['--network', 'host', '--network', 'b', 'img'], {})).to.throw(UsageError, /conflicting options/)
    expect(() => parseRunArgv(['--mac-address', '02:42:zz:11:00:09', 'img'], {})).to.throw(UsageError, /invalid MAC address/)
    expect(() => parseRunArgv(['--mac-address', '03:42:ac:11:00:09', 'img'], {})).to.throw(UsageError, /multicast/)
    expect(() => parseRunArgv(['--network', 'none', '--mac-address', '02:42:ac:11:00:09', 'img'], {})).to.throw(UsageError, /bridged/)
  })

  it('parses -p, --add-host and --dns; refuses ports and aliases where they cannot apply', () => {
    const o = parseRunArgv(['-p', '8080:80', '-p', '127.0.0.1::53/udp', '--add-host', 'gw:host-gateway', '--dns', '1.1.1.1', '--network', 'bridge', 'img'], {}).options
    expect(o.publish).to.deep.equal([
      {proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80},
      {proto: 'udp', hostIp: '127.0.0.1', hostPort: 0, containerPort: 53},
    ])
    expect(o.addHosts).to.deep.equal(['10.0.2.2\tgw'])
    expect(o.dns).to.deep.equal(['1.1.1.1'])
    expect(() => parseRunArgv(['--network', 'none', '-p', '80', 'img'], {})).to.throw(UsageError, /published ports need a bridged network/)
    expect(() => parseRunArgv(['--network', 'bridge', '--network-alias', 'x', 'img'], {})).to.throw(UsageError, /user-defined networks/)
    expect(() => parseRunArgv(['-p', 'x:80', 'img'], {})).to.throw(UsageError, /invalid hostPort: x/)
  })

  it('takes --pull missing|never|always (default missing) and rejects other values', () => {
    expect(parseRunArgv(['img'], {}).pull).to.equal('missing')
    expect(parseRunArgv(['--pull=always', 'img'], {}).pull).to.equal('always')
    expect(parseRunArgv(['--pull', 'never', 'img'], {}).pull).to.equal('never')
    expect(() => parseRunArgv(['--pull=bogus', 'img'], {})).to.throw(UsageError, /invalid pull option: 'bogus'/)
  })

  it('-t alone allocates a terminal without needing one on stdin', () => {
    const inv = parseRunArgv(['-t', 'img'], {})
    expect(inv.options.tty).to.equal(true)
    expect(inv.options.interactive).to.equal(false)
  })

  it('-it requires stdin to be a terminal, as Docker does', () => {
    if (isatty(0)) {
      expect(parseRunArgv(['-it', 'img'], {}).options).to.include({interactive: true, tty: true})
    } else {
      // Docker exits 1 here (not 125): a client-side check.
      expect(() => parseRunArgv(['-it', 'img'], {})).to.throw(CliError, 'the input device is not a TTY').with.property('exitCode', 1)
    }
  })

  it('reads --env-file entries before -e entries', () => {
    const file = join(dir, 'vars.env')
    writeFileSync(file, '# comment\n\nA=from-file\nHOSTVAR\nGONE\nB=keep = spaces \n')
    const inv = parseRunArgv(['--env-file', file, '-e', 'A=from-flag', 'img'], {HOSTVAR: 'h'})
    expect(inv.options.env).to.deep.equal(['A=from-file', 'HOSTVAR=h', 'B=keep = spaces ', 'A=from-flag'])
  })

  it('reads several --env-file flags in order', () => {
    const one = join(dir, 'one.env')
    const two = join(dir, 'two.env')
    writeFileSync(one, 'X=1\n')
    writeFileSync(two, 'Y=2\n')
    expect(parseRunArgv(['--env-file', one, '--env-file=' + two, 'img'], {}).options.env).to.deep.equal(['X=1', 'Y=2'])
  })

  it('reports a missing --env-file as a UsageError naming the file', () => {
    const missing = join(dir, 'nope.env')
    expect(() => parseRunArgv(['--env-file', missing, 'img'], {})).to.throw(UsageError, `open ${missing}: no such file or directory`)
  })
})

describe('parseRunArgv: limits and security options', () => {
  it('parses limits with Docker units and checks', () => {
    const o = parseRunArgv(['-m', '512m', '--memory-swap', '1g', '--cpus=1.5', '--pids-limit', '100', '-c', '512', 'img'], {}).options
    expect(o.resources).to.deep.equal({memory: 512 * 1024 ** 2, memorySwap: 1024 ** 3, nanoCpus: 1.5e9, pidsLimit: 100, cpuShares: 512})
    expect(() => parseRunArgv(['-m', '1k', 'img'], {})).to.throw(UsageError, 'Minimum memory limit allowed is 6MB')
    expect(() => parseRunArgv(['--memory-swap', '1g', 'img'], {})).to.throw(UsageError, /always set the Memory limit/)
    expect(() => parseRunArgv(['-m', '1g', '--memory-swap', '512m', 'img'], {})).to.throw(UsageError, /larger than memory limit/)
    expect(() => parseRunArgv(['--cpus', '1', '--cpu-quota', '50000', 'img'], {})).to.throw(UsageError, /Conflicting options/)
    expect(() => parseRunArgv(['--blkio-weight', '5', 'img'], {})).to.throw(UsageError, /from 10 to 1000/)
    expect(() => parseRunArgv(['--cgroup-manager', 'systemd', 'img'], {})).to.throw(UsageError, /systemd is not supported/)
    expect(parseRunArgv(['--cgroup-manager', 'none', '--cgroupns', 'host', 'img'], {}).options.cgroup).to.deep.equal({manager: 'none', namespace: 'host'})
  })

  it('parses security options and refuses what it cannot honour', () => {
    const o = parseRunArgv(['--cap-drop', 'ALL', '--cap-add', 'net_bind_service', '--security-opt', 'no-new-privileges', '--security-opt', 'seccomp=unconfined', '--sysctl', 'net.ipv4.ip_forward=1', '--ulimit', 'nofile=512:1024', '--init', '--network', 'none', 'img'], {}).options
    expect(o.security).to.deep.equal({capAdd: ['net_bind_service'], capDrop: ['ALL'], noNewPrivileges: true, seccomp: 'unconfined', sysctls: {'net.ipv4.ip_forward': '1'}, ulimits: [{name: 'nofile', soft: 512, hard: 1024}], init: true})
    expect(() => parseRunArgv(['--cap-add', 'CAP_NOPE', 'img'], {})).to.throw(UsageError, /unknown capability: "CAP_NOPE"/)
    expect(() => parseRunArgv(['--sysctl', 'vm.swappiness=1', 'img'], {})).to.throw(UsageError, /"vm.swappiness" is not allowed/)
    expect(() => parseRunArgv(['--network', 'host', '--sysctl', 'net.ipv4.ip_forward=1', 'img'], {})).to.throw(UsageError, /not allowed in host network namespace/)
    expect(() => parseRunArgv(['--security-opt', 'apparmor=x', 'img'], {})).to.throw(UsageError, /AppArmor/)
    expect(() => parseRunArgv(['--ulimit', 'bogus=1', 'img'], {})).to.throw(UsageError, /invalid ulimit type: bogus/)
    expect(() => parseRunArgv(['--oom-score-adj', '1001', 'img'], {})).to.throw(UsageError, /range for oom score adj is \[-1000, 1000\]/)
    expect(() => parseRunArgv(['--security-opt', 'seccomp=/nonexistent.json', 'img'], {})).to.throw(UsageError, /opening seccomp profile/)
  })
})

describe('parseRunArgv: Docker flags ncx cannot honour yet', () => {
  it('has no refused run flags left: the image\'s own command flags are not ncx\'s', () => {
    // The image's own command flags are not ncx's: `-v` after IMAGE belongs to the container.
    expect(parseRunArgv(['img', 'ls', '-v'], {}).options.command).to.deep.equal(['ls', '-v'])
  })
})
