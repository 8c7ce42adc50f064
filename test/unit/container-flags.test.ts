import {expect} from 'chai'

import {keyValues} from '../../src/cli/container-flags.js'
import {parseExpose} from '../../src/engine/spec/expose.js'
import {parseRunArgv} from '../../src/cli/run-flags.js'
import {applyNamespaceOptions} from '../../src/engine/spec/namespaces.js'
import {ContainerOptions, generateSpec} from '../../src/engine/spec/generate.js'

const env = {NCX_DEFAULT_NETWORK: 'none'}

function spec(extra: Partial<ContainerOptions>) {
  const options: ContainerOptions = {image: 'busybox', command: ['true'], env: [], rm: false, interactive: false, tty: false, network: 'none', readOnly: false, ...extra}
  const s = generateSpec({options, image: {}, user: {uid: 0, gid: 0, additionalGids: [], home: '/root'}, hostname: 'h', rootless: true, ttyGroupMapped: true, etcFiles: {hosts: '/h', hostname: '/n', resolvConf: '/r'}})
  applyNamespaceOptions(s, options, false)
  return s
}

describe('run/create metadata and namespace flags (src/cli/container-flags.ts, src/engine/spec/namespaces.ts)', () => {
  it('parses labels, annotations, domainname, shm size, modes, expose and platform into options', () => {
    const {options} = parseRunArgv(['-l', 'a=1', '--label', 'b', '--annotation', 'k=v=w', '--domainname', 'ex.org', '--shm-size', '128m', '--pid', 'host', '--ipc', 'container:db', '--uts', 'host', '--expose', '80', '--expose', '53/udp', '--platform', 'linux/amd64', 'busybox'], env)
    expect(options.labels).to.deep.equal({a: '1', b: ''})
    expect(options.annotations).to.deep.equal({k: 'v=w'})
    expect(options).to.include({domainname: 'ex.org', shmSize: 128 * 1024 * 1024, pid: 'host', ipc: 'container:db', uts: 'host', platform: 'linux/amd64'})
    expect(options.expose).to.deep.equal(['80/tcp', '53/udp'])
  })

  it('expands --expose ranges and refuses bad ones', () => {
    expect(parseExpose('8000-8002/udp')).to.deep.equal(['8000/udp', '8001/udp', '8002/udp'])
    for (const bad of ['0', '65536', '9-8', 'http', '80/icmp']) expect(() => parseExpose(bad), bad).to.throw(/invalid range format for --expose/)
  })

  it('KEY=VALUE lists: later wins, bare keys are empty values or errors', () => {
    expect(keyValues(['a=1', 'a=2', 'b'], '--label', 'empty')).to.deep.equal({a: '2', b: ''})
    expect(() => keyValues(['b'], '--annotation', 'error')).to.throw('invalid argument "b" for "--annotation" flag')
    expect(() => keyValues(['=x'], '--label', 'empty')).to.throw('expected KEY=VALUE')
  })

  it('refuses bad modes with exit 125', () => {
    for (const [flags, msg] of [[['--pid', 'x'], 'invalid PID mode: x'], [['--ipc', 'container:'], 'invalid IPC mode'], [['--uts', 'private'], 'invalid UTS mode'], [['--uts', 'host', '-h', 'n'], 'Conflicting options: hostname and the UTS mode']] as const) {
      let error: unknown
      try {
        parseRunArgv([...flags, 'busybox'], env)
      } catch (e) {
        error = e
      }
      expect(String(error), flags.join(' ')).to.contain(msg)
      expect((error as {exitCode: number}).exitCode).to.equal(125)
    }
  })

  it('applies the modes to the spec: host namespaces and bind mounts, /dev/shm size, none without /dev/shm', () => {
    const types = (s: ReturnType<typeof spec>) => s.linux.namespaces.map((n) => n.type)
    const dflt = spec({})
    expect(types(dflt)).to.include.members(['pid', 'ipc', 'uts'])
    expect(dflt.mounts.find((m) => m.destination === '/dev/shm')?.options).to.include('size=67108864')
    const host = spec({pid: 'host', ipc: 'host', uts: 'host', shmSize: 1024})
    expect(types(host)).to.not.include.members(['pid']).and.not.include('ipc').and.not.include('uts')
    expect(host.mounts.find((m) => m.destination === '/proc')).to.include({type: 'bind', source: '/proc'})
    expect(host.mounts.find((m) => m.destination === '/dev/shm')).to.include({type: 'bind', source: '/dev/shm'})
    expect(host.mounts.some((m) => m.destination === '/dev/mqueue')).to.equal(false) // no /dev/mqueue on the host
    expect(spec({shmSize: 1024}).mounts.find((m) => m.destination === '/dev/shm')?.options).to.include('size=1024').and.not.include('size=67108864')
    expect(spec({ipc: 'none'}).mounts.some((m) => m.destination === '/dev/shm')).to.equal(false)
    // container:X keeps the namespace entry: the runtime joins X's (--ns-join) instead of creating one.
    const joined = spec({pid: 'container:x', ipc: 'container:x'})
    expect(types(joined)).to.include.members(['pid', 'ipc'])
    // …and its /dev/shm is X's, attached by the runtime (--shm-from), not a tmpfs of its own.
    expect(joined.mounts.some((m) => m.destination === '/dev/shm')).to.equal(false)
    const meta = spec({domainname: 'ex.org', annotations: {a: 'b'}})
    expect(meta).to.include({domainname: 'ex.org'})
    expect(meta.annotations).to.deep.equal({a: 'b'})
  })
})
