import {expect} from 'chai'

import {UsageError} from '../../src/engine/errors.js'
import {resolvContent, withExposedPorts} from '../../src/engine/network/container.js'
import {firstFree, formatPorts, hostsContent, inSubnet, intToIp, ipToInt, parseCidr, parsePublish, parsePublishRange} from '../../src/engine/network/networks.js'

describe('network (src/engine/network)', () => {
  it('parses Docker -p specs', () => {
    expect(parsePublish('80')).to.deep.equal({proto: 'tcp', hostIp: '0.0.0.0', hostPort: 0, containerPort: 80})
    expect(parsePublish('8080:80')).to.deep.equal({proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80})
    expect(parsePublish('127.0.0.1::80/tcp')).to.deep.equal({proto: 'tcp', hostIp: '127.0.0.1', hostPort: 0, containerPort: 80})
    expect(parsePublish('127.0.0.1:5353:53/udp')).to.deep.equal({proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53})
    for (const bad of ['', 'x', '0', '70000', '80/sctp', '1:2:3:4', '300.1.1.1:80:80', ':80:']) expect(() => parsePublish(bad), bad).to.throw(UsageError, /invalid/)
  })

  it('expands port ranges', () => {
    expect(parsePublishRange('8000-8001:80-81').map((p) => `${p.hostPort}:${p.containerPort}`)).to.deep.equal(['8000:80', '8001:81'])
    expect(parsePublishRange('127.0.0.1::80-81/udp').map((p) => `${p.hostIp}:${p.hostPort}:${p.containerPort}/${p.proto}`)).to.deep.equal(['127.0.0.1:0:80/udp', '127.0.0.1:0:81/udp'])
    expect(parsePublishRange('8080:80')).to.have.length(1)
    expect(() => parsePublishRange('8000-8002:80-81')).to.throw(UsageError, /differ in size/)
    expect(() => parsePublishRange('82-80')).to.throw(UsageError, /range/)
  })

  it('does IPv4 arithmetic and subnets', () => {
    expect(ipToInt('10.88.0.1')).to.equal(0x0a580001)
    expect(intToIp(0x0a580001)).to.equal('10.88.0.1')
    expect(parseCidr('10.89.3.0/24')).to.deep.equal({base: 0x0a590300, prefix: 24, size: 256})
    expect(() => parseCidr('10.89.3.1/24')).to.throw(UsageError, /host bits set/)
    expect(() => parseCidr('10.0.0.0/31')).to.throw(UsageError)
    expect(inSubnet('10.89.3.7', '10.89.3.0/24')).to.equal(true)
    expect(inSubnet('10.89.4.7', '10.89.3.0/24')).to.equal(false)
  })

  it('allocates the first free host address, skipping the gateway', () => {
    expect(firstFree({subnet: '10.9.0.0/29', gateway: '10.9.0.1', allocations: {}})).to.equal('10.9.0.2')
    expect(firstFree({subnet: '10.9.0.0/29', gateway: '10.9.0.6', allocations: {'10.9.0.1': 'a'}})).to.equal('10.9.0.2')
    const full = {'10.9.0.2': 'a', '10.9.0.3': 'b', '10.9.0.4': 'c', '10.9.0.5': 'd', '10.9.0.6': 'e'}
    expect(firstFree({subnet: '10.9.0.0/29', gateway: '10.9.0.1', allocations: full})).to.equal(undefined)
  })

  it('writes /etc/hosts with the container, extra hosts and peers', () => {
    const text = hostsContent({ip: '10.89.0.2', hostname: 'abc', name: 'web'}, ['10.0.2.2\tgw'], [{ip: '10.89.0.3', names: ['db', 'database']}])
    expect(text).to.include('127.0.0.1\tlocalhost\n').and.include('10.0.2.2\tgw\n').and.include('10.89.0.2\tabc web\n').and.include('10.89.0.3\tdb database\n')
  })

  it('writes resolv.conf from --dns flags over a base', () => {
    expect(resolvContent('nameserver 10.0.2.3\n', {})).to.equal('nameserver 10.0.2.3\n')
    expect(resolvContent('search a\nnameserver 10.0.2.3\n', {dns: ['1.1.1.1'], dnsOptions: ['ndots:2']})).to.equal('search a\nnameserver 1.1.1.1\noptions ndots:2\n')
  })

  it('-P publishes every exposed port not published already, on random host ports', () => {
    const base = {image: 'x', command: [], env: [], rm: false, interactive: false, tty: false, network: 'bridge', readOnly: false}
    const o = withExposedPorts({...base, publishAll: true, publish: [{proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80}]}, {'80/tcp': {}, '53/udp': {}, '443': {}})
    expect(o.publish).to.deep.equal([
      {proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80},
      // (integer-like keys come first in a JS object)
      {proto: 'tcp', hostIp: '0.0.0.0', hostPort: 0, containerPort: 443},
      {proto: 'udp', hostIp: '0.0.0.0', hostPort: 0, containerPort: 53},
    ])
    expect(withExposedPorts(base, {'80/tcp': {}}).publish).to.equal(undefined)
  })

  it('formats ports as ps does', () => {
    expect(formatPorts([{proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80}])).to.equal('0.0.0.0:8080->80/tcp')
  })
})
