/**
 * Docker-parity logic without containers (issue 16): the shapes and rules the parity table
 * (test/e2e/parity/cases.ts) checks end to end.
 */
import {expect} from 'chai'

import {commandText} from '../../src/cli/containers.js'
import {goTimeString, withLabelMethod} from '../../src/cli/output.js'
import {compileTemplate} from '../../src/cli/template.js'
import {mountOf} from '../../src/engine/container/cp.js'
import {portBindings} from '../../src/engine/container/inspect.js'
import {logSizeBytes} from '../../src/engine/container/log-file.js'
import {UsageError} from '../../src/engine/errors.js'
import {FilterableNetwork, matchesNetworkFilters, parseNetworkFilters} from '../../src/engine/network/filter.js'
import {PREDEFINED_NETWORKS, parseCidr} from '../../src/engine/network/networks.js'
import {configEnv} from '../../src/engine/spec/env.js'

describe('Docker parity (issue 16)', () => {
  describe('network ls --filter', () => {
    const nets: FilterableNetwork[] = [
      {id: 'aa11', name: 'bridge', driver: 'bridge', labels: {}, builtin: true, containers: 1},
      {id: 'bb22', name: 'fx-net', driver: 'bridge', labels: {fx: '1'}, builtin: false, containers: 0},
      {id: 'cc33', name: 'used', driver: 'bridge', labels: {fx: '2'}, builtin: false, containers: 2},
      {id: 'dd44', name: 'host', driver: 'host', labels: {}, builtin: true, containers: 0},
      {id: 'ee55', name: 'none', driver: 'null', labels: {}, builtin: true, containers: 0},
    ]
    const names = (...f: string[]) => nets.filter((n) => matchesNetworkFilters(n, parseNetworkFilters(f))).map((n) => n.name)
    it('type=builtin and custom', () => {
      expect(names('type=builtin')).to.deep.equal(['bridge', 'host', 'none'])
      expect(names('type=custom')).to.deep.equal(['fx-net', 'used'])
    })
    it('dangling=true: custom networks no container uses; false: the others', () => {
      expect(names('dangling=true')).to.deep.equal(['fx-net'])
      expect(names('dangling=false')).to.deep.equal(['bridge', 'used', 'host', 'none'])
    })
    it('driver, label (KEY and KEY=VALUE, all must hold), id and name as regular expressions', () => {
      expect(names('driver=bridge')).to.deep.equal(['bridge', 'fx-net', 'used'])
      expect(names('label=fx')).to.deep.equal(['fx-net', 'used'])
      expect(names('label=fx=1')).to.deep.equal(['fx-net'])
      expect(names('id=bb')).to.deep.equal(['fx-net'])
      expect(names('name=^fx-n.t$')).to.deep.equal(['fx-net'])
      expect(names('name=fx', 'name=none')).to.deep.equal(['fx-net', 'none'])
    })
    it("Docker's messages for a bad key or type", () => {
      expect(() => parseNetworkFilters(['bogus=1'])).to.throw(UsageError, "Invalid filter 'bogus'")
      expect(() => parseNetworkFilters(['type=bogus'])).to.throw(UsageError, "invalid filter: 'type'='bogus'")
    })
  })

  it('host and none have fixed IDs and Docker drivers', () => {
    expect(PREDEFINED_NETWORKS.map((n) => `${n.name}/${n.driver}`)).to.deep.equal(['host/host', 'none/null'])
    for (const n of PREDEFINED_NETWORKS) expect(n.id).to.match(/^[0-9a-f]{64}$/)
  })

  it('a subnet that is no CIDR: Go’s message', () => {
    expect(() => parseCidr('bogus')).to.throw(UsageError, 'invalid CIDR address: bogus')
  })

  it("Config.Env: the user's variables, then the image's the user did not set", () => {
    expect(configEnv(['PATH=/bin', 'A=image'], ['A=1', 'B=2'])).to.deep.equal(['A=1', 'B=2', 'PATH=/bin'])
    expect(configEnv(['PATH=/bin'], [])).to.deep.equal(['PATH=/bin'])
  })

  it('HostConfig.PortBindings from -p (an unset address or port is empty)', () => {
    expect(
      portBindings([
        {proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80},
        {proto: 'tcp', hostIp: '127.0.0.1', hostPort: 0, containerPort: 80},
        {proto: 'udp', hostIp: '0.0.0.0', hostPort: 53, containerPort: 53},
      ]),
    ).to.deep.equal({'80/tcp': [{HostIp: '', HostPort: '8080'}, {HostIp: '127.0.0.1', HostPort: ''}], '53/udp': [{HostIp: '', HostPort: '53'}]})
  })

  it("json-file max-size as Docker's FromHumanSize (decimal, fractions)", () => {
    expect(logSizeBytes('1.5m')).to.equal(1_500_000)
    expect(logSizeBytes('10k')).to.equal(10_000)
    expect(logSizeBytes('1g')).to.equal(1e9)
    expect(logSizeBytes('100')).to.equal(100)
    expect(logSizeBytes('10MB')).to.equal(10_000_000)
    expect(logSizeBytes('abc')).to.equal(undefined)
  })

  it("CreatedAt as Go's time.Time.String()", () => {
    const text = goTimeString(new Date('2024-01-01T00:00:00Z'))
    expect(text).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \S+$/)
    if (new Date().getTimezoneOffset() === 0 && process.env.TZ !== undefined && /^(UTC|Etc\/UTC)?$/.test(process.env.TZ)) expect(text).to.equal('2024-01-01 00:00:00 +0000 UTC')
  })

  it('{{.Label "k"}} on list rows, not in their JSON', () => {
    const row = withLabelMethod({Name: 'x'}, {fx: '1'})
    expect(compileTemplate('{{.Label "fx"}}|{{.Label "none"}}').render(row)).to.equal('1|')
    expect(JSON.stringify(row)).to.equal('{"Name":"x"}')
  })

  it("ps COMMAND quotes arguments with a space, as moby's list does", () => {
    expect(commandText(['sh', '-c', 'echo out; echo err >&2; exit 3'], true)).to.equal(`"sh -c 'echo out; echo err >&2; exit 3'"`)
    expect(commandText(['sh', '-c', 'echo out; echo err >&2; exit 3'], false)).to.equal(`"sh -c 'echo out; ec…"`)
    expect(commandText(['sleep', '100'], false)).to.equal('"sleep 100"')
  })

  it("cp into a stopped container: the deepest volume or bind mount holding the path", () => {
    const mounts = [
      {Type: 'volume' as const, Name: 'v', Source: '/store/v/_data', Destination: '/data', Mode: '', RW: true, Propagation: '', Options: []},
      {Type: 'bind' as const, Source: '/host/sub', Destination: '/data/sub', Mode: '', RW: true, Propagation: '', Options: []},
      {Type: 'tmpfs' as const, Source: '', Destination: '/tmp', Mode: '', RW: true, Propagation: '', Options: []},
    ]
    expect(mountOf({mounts}, '/data/f.txt')).to.deep.equal({source: '/store/v/_data', rest: '/f.txt'})
    expect(mountOf({mounts}, '/data')).to.deep.equal({source: '/store/v/_data', rest: '/'})
    expect(mountOf({mounts}, '/data/sub/g')).to.deep.equal({source: '/host/sub', rest: '/g'})
    expect(mountOf({mounts}, '/database/x')).to.equal(undefined)
    expect(mountOf({mounts}, '/tmp/x')).to.equal(undefined)
  })
})
