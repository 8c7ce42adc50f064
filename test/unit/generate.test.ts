import {expect} from 'chai'

import {UsageError} from '../../src/engine/errors.js'
import {ImageConfig} from '../../src/engine/image/types.js'
import {ContainerOptions, SpecInput, generateSpec, processArgs} from '../../src/engine/spec/generate.js'

type ImageCfg = NonNullable<ImageConfig['config']>

const options = (o: Partial<ContainerOptions> = {}): ContainerOptions => ({
  image: 'busybox',
  command: [],
  env: [],
  rm: false,
  interactive: false,
  tty: false,
  network: 'none',
  readOnly: false,
  ...o,
})

const input = (o: Partial<ContainerOptions> = {}, image: ImageCfg = {Cmd: ['sh']}, extra: Partial<SpecInput> = {}): SpecInput => ({
  options: options(o),
  image,
  user: {uid: 0, gid: 0, additionalGids: [], home: '/root'},
  hostname: 'abc123def456',
  rootless: true,
  ttyGroupMapped: false,
  etcFiles: {hosts: '/b/hosts', hostname: '/b/hostname', resolvConf: '/b/resolv.conf'},
  ...extra,
})

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** Docker's default capability set (moby oci/caps/defaults.go). */
const DOCKER_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE'].map((c) => `CAP_${c}`)

describe('spec generation (src/engine/spec/generate.ts)', () => {
  describe('processArgs (Docker ENTRYPOINT/CMD rules)', () => {
    const img: ImageCfg = {Entrypoint: ['/entry', '-x'], Cmd: ['default', 'cmd']}

    it('runs entrypoint followed by the image CMD', () => {
      expect(processArgs(img, options())).to.deep.equal(['/entry', '-x', 'default', 'cmd'])
    })
    it('replaces CMD with the command-line arguments', () => {
      expect(processArgs(img, options({command: ['a', 'b']}))).to.deep.equal(['/entry', '-x', 'a', 'b'])
    })
    it('runs CMD alone when there is no entrypoint', () => {
      expect(processArgs({Cmd: ['sh']}, options())).to.deep.equal(['sh'])
      expect(processArgs({Cmd: ['sh'], Entrypoint: null}, options({command: ['ls', '-l']}))).to.deep.equal(['ls', '-l'])
    })
    it('--entrypoint replaces the entrypoint and drops the image CMD', () => {
      expect(processArgs(img, options({entrypoint: '/bin/sh'}))).to.deep.equal(['/bin/sh'])
    })
    it('--entrypoint with arguments uses the arguments as CMD', () => {
      expect(processArgs(img, options({entrypoint: '/bin/sh', command: ['-c', 'echo hi']}))).to.deep.equal(['/bin/sh', '-c', 'echo hi'])
    })
    it('--entrypoint "" clears the entrypoint (and the image CMD)', () => {
      expect(processArgs(img, options({entrypoint: '', command: ['echo', 'hi']}))).to.deep.equal(['echo', 'hi'])
      expect(() => processArgs(img, options({entrypoint: ''}))).to.throw(UsageError, 'no command specified')
    })
    it('fails with "no command specified" when nothing is left', () => {
      expect(() => processArgs({}, options())).to.throw(UsageError, 'no command specified')
      expect(() => processArgs({Cmd: null, Entrypoint: null}, options())).to.throw(UsageError, 'no command specified')
      expect(() => processArgs({Cmd: [], Entrypoint: []}, options())).to.throw(UsageError, 'no command specified')
    })
    it('does not modify the image config', () => {
      const cfg: ImageCfg = {Entrypoint: ['/e'], Cmd: ['c']}
      processArgs(cfg, options({command: ['x']}))
      expect(cfg).to.deep.equal({Entrypoint: ['/e'], Cmd: ['c']})
    })
  })

  describe('generateSpec', () => {
    it('grants exactly Docker\'s 14 default capabilities, none inheritable or ambient', () => {
      const caps = generateSpec(input()).process.capabilities
      expect(caps.bounding).to.have.length(14)
      expect(caps.bounding).to.have.members(DOCKER_CAPS)
      expect(caps.effective).to.have.members(DOCKER_CAPS).and.have.length(14)
      expect(caps.permitted).to.have.members(DOCKER_CAPS).and.have.length(14)
      expect(caps.inheritable).to.deep.equal([])
      expect(caps.ambient).to.deep.equal([])
      expect(caps.bounding).not.to.include('CAP_SYS_ADMIN')
    })

    it('builds env with precedence defaults < image Env < -e, plus HOSTNAME and HOME', () => {
      const spec = generateSpec(input({env: ['B=flag', 'C=flag']}, {Cmd: ['sh'], Env: ['PATH=/image/bin', 'A=image', 'B=image']}))
      const env = spec.process.env
      expect(env).to.have.members(['PATH=/image/bin', 'HOSTNAME=abc123def456', 'A=image', 'B=flag', 'C=flag', 'HOME=/root'])
      expect(env).to.have.length(6)
    })

    it('uses the default PATH when the image sets none', () => {
      expect(generateSpec(input()).process.env).to.include(DEFAULT_PATH)
    })

    it('lets -e override HOSTNAME and HOME', () => {
      const env = generateSpec(input({env: ['HOSTNAME=mine', 'HOME=/tmp']})).process.env
      expect(env).to.include('HOSTNAME=mine').and.include('HOME=/tmp')
      expect(env.filter((e) => e.startsWith('HOSTNAME='))).to.have.length(1)
      expect(env.filter((e) => e.startsWith('HOME='))).to.have.length(1)
    })

    it('takes HOME from the image Env before the user\'s home', () => {
      const env = generateSpec(input({}, {Cmd: ['sh'], Env: ['HOME=/imagehome']})).process.env
      expect(env.filter((e) => e.startsWith('HOME='))).to.deep.equal(['HOME=/imagehome'])
    })

    it('sets HOME from the resolved user', () => {
      const env = generateSpec(input({}, {Cmd: ['sh']}, {user: {uid: 1000, gid: 1000, additionalGids: [5], home: '/home/ncx'}})).process.env
      expect(env).to.include('HOME=/home/ncx')
    })

    it('sets TERM=xterm only with a tty', () => {
      const tty = generateSpec(input({tty: true}))
      expect(tty.process.env).to.include('TERM=xterm')
      expect(tty.process.terminal).to.equal(true)
      const plain = generateSpec(input())
      expect(plain.process.env.some((e) => e.startsWith('TERM='))).to.equal(false)
      expect(plain.process.terminal).to.equal(false)
    })

    it('lets the image override TERM', () => {
      expect(generateSpec(input({tty: true}, {Cmd: ['sh'], Env: ['TERM=vt100']})).process.env).to.include('TERM=vt100').and.not.include('TERM=xterm')
    })

    it('defaults cwd to /, then the image WorkingDir, then -w', () => {
      expect(generateSpec(input()).process.cwd).to.equal('/')
      expect(generateSpec(input({}, {Cmd: ['sh'], WorkingDir: '/app'})).process.cwd).to.equal('/app')
      expect(generateSpec(input({workdir: '/override'}, {Cmd: ['sh'], WorkingDir: '/app'})).process.cwd).to.equal('/override')
      expect(generateSpec(input({}, {Cmd: ['sh'], WorkingDir: ''})).process.cwd).to.equal('/')
    })

    it('puts the resolved user and supplementary groups in the process', () => {
      const spec = generateSpec(input({}, {Cmd: ['sh']}, {user: {uid: 1000, gid: 100, additionalGids: [5, 10], home: '/h'}}))
      expect(spec.process.user).to.deep.equal({uid: 1000, gid: 100, additionalGids: [5, 10]})
      expect(generateSpec(input()).process.user).to.deep.equal({uid: 0, gid: 0})
    })

    it('mounts devpts with gid=5 only when the tty group is mapped', () => {
      const devpts = (mapped: boolean) => generateSpec(input({}, {Cmd: ['sh']}, {ttyGroupMapped: mapped})).mounts.find((m) => m.destination === '/dev/pts')!
      expect(devpts(true).type).to.equal('devpts')
      expect(devpts(true).options).to.include('gid=5').and.include('newinstance').and.include('ptmxmode=0666')
      expect(devpts(false).options).not.to.include('gid=5')
      expect(devpts(false).options).to.include('mode=0620')
    })

    it('bind-mounts /etc/hosts, /etc/hostname and /etc/resolv.conf from the given files', () => {
      const mounts = generateSpec(input()).mounts
      const bind = (dest: string) => mounts.find((m) => m.destination === dest)
      expect(bind('/etc/hosts')).to.deep.include({type: 'bind', source: '/b/hosts'})
      expect(bind('/etc/hostname')).to.deep.include({type: 'bind', source: '/b/hostname'})
      expect(bind('/etc/resolv.conf')).to.deep.include({type: 'bind', source: '/b/resolv.conf'})
      for (const dest of ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf']) expect(bind(dest)!.options).to.include('rbind')
    })

    it('mounts proc, a tmpfs /dev, read-only sysfs, mqueue and shm', () => {
      const mounts = generateSpec(input()).mounts
      const byDest = Object.fromEntries(mounts.map((m) => [m.destination, m]))
      expect(byDest['/proc'].type).to.equal('proc')
      expect(byDest['/dev'].type).to.equal('tmpfs')
      expect(byDest['/sys'].type).to.equal('sysfs')
      expect(byDest['/sys'].options).to.include('ro')
      expect(byDest['/dev/mqueue'].type).to.equal('mqueue')
      expect(byDest['/dev/shm'].options).to.include('mode=1777').and.include('size=67108864')
      expect(mounts.map((m) => m.destination).indexOf('/dev')).to.be.lessThan(mounts.map((m) => m.destination).indexOf('/dev/pts'))
      expect(new Set(mounts.map((m) => m.destination)).size).to.equal(mounts.length)
    })

    it('creates a network namespace for --network none', () => {
      const types = generateSpec(input({network: 'none'})).linux.namespaces.map((n) => n.type)
      expect(types).to.include.members(['pid', 'ipc', 'uts', 'mount', 'network'])
      expect(generateSpec(input({network: 'host'})).linux.namespaces.map((n) => n.type)).not.to.include('network')
    })

    it('masks and write-protects the usual kernel paths', () => {
      const linux = generateSpec(input()).linux
      expect(linux.maskedPaths).to.include.members(['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/sys/firmware', '/proc/acpi', '/proc/scsi'])
      expect(linux.readonlyPaths).to.include.members(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'])
    })

    it('sets hostname, args, rootfs and read-only root', () => {
      const spec = generateSpec(input({readOnly: true, command: ['echo', 'x']}))
      expect(spec.hostname).to.equal('abc123def456')
      expect(spec.process.args).to.deep.equal(['echo', 'x'])
      expect(spec.root).to.deep.equal({path: 'rootfs', readonly: true})
      expect(generateSpec(input()).root.readonly).to.equal(false)
      expect(spec.ociVersion).to.match(/^1\.\d+\.\d+$/)
    })

    it('propagates "no command specified"', () => {
      expect(() => generateSpec(input({}, {}))).to.throw(UsageError, 'no command specified')
    })

    // `docker run busybox env` prints PATH first: Docker replaces the default PATH in place
    // with the image's. ncx moves it after HOSTNAME (see mergeEnv).
    it('keeps PATH first when the image overrides it (Docker env order)', () => {
      const env = generateSpec(input({}, {Cmd: ['sh'], Env: [DEFAULT_PATH]})).process.env
      expect(env).to.deep.equal([DEFAULT_PATH, 'HOSTNAME=abc123def456', 'HOME=/root'])
    })
  })
})
