import {expect} from 'chai'

import {UsageError} from '../../src/engine/errors.js'
import {portBypassAnnotation, resolvContent, withExposedPorts} from '../../src/engine/network/container.js'
import {checkMac, hostsContent, isBridged, macFor, sameHostAddress, slirpOptions} from '../../src/engine/network/attach.js'
import {firstFree, formatPorts, inSubnet, intToIp, ipToInt, parseCidr, parsePublish, parsePublishRange, ruleset} from '../../src/engine/network/networks.js'

describe('network (src/engine/network)', () => {
  it('parses Docker -p specs', () => {
    expect(parsePublish('80')).to.deep.equal({proto: 'tcp', hostIp: '0.0.0.0', hostPort: 0, containerPort: 80})
    expect(parsePublish('8080:80')).to.deep.equal({proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80})
    expect(parsePublish('127.0.0.1::80/tcp')).to.deep.equal({proto: 'tcp', hostIp: '127.0.0.1', hostPort: 0, containerPort: 80})
    expect(parsePublish('127.0.0.1:5353:53/udp')).to.deep.equal({proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53})
    for (const bad of ['', 'x', '0', '70000', '80/sctp', '1:2:3:4', '300.1.1.1:80:80', ':80:', '[::1:80:80', 'zz::1:80:80']) expect(() => parsePublish(bad), bad).to.throw(UsageError, /invalid/)
  })

  it('takes IPv6 host addresses as nat.ParsePortSpec does', () => {
    expect(parsePublish('[::]:18931:80')).to.deep.equal({proto: 'tcp', hostIp: '::', hostPort: 18931, containerPort: 80})
    expect(parsePublish('[::1]::53/udp')).to.deep.equal({proto: 'udp', hostIp: '::1', hostPort: 0, containerPort: 53})
    expect(parsePublish('::1:8080:80')).to.deep.equal({proto: 'tcp', hostIp: '::1', hostPort: 8080, containerPort: 80})
    expect(parsePublishRange('[::1]:8000-8001:80-81').map((p) => `${p.hostIp} ${p.hostPort}:${p.containerPort}`)).to.deep.equal(['::1 8000:80', '::1 8001:81'])
    expect(sameHostAddress('::', '0.0.0.0'), 'IPv6 wildcard vs IPv4 wildcard').to.equal(false)
    expect(sameHostAddress('::', '::1')).to.equal(true)
    expect(sameHostAddress('127.0.0.1', '0.0.0.0')).to.equal(true)
    expect(sameHostAddress('127.0.0.1', '127.0.0.2')).to.equal(false)
  })

  it("words bad -p values as Docker's nat.ParsePortSpec", () => {
    expect(() => parsePublish('99999:80')).to.throw(UsageError, /^invalid hostPort: 99999$/)
    expect(() => parsePublish('8080:0')).to.throw(UsageError, /^invalid containerPort: 0$/)
    expect(() => parsePublish('8080:x')).to.throw(UsageError, /^invalid containerPort: x$/)
    expect(() => parsePublish('1.2.3:80:80')).to.throw(UsageError, /^invalid IP address: 1.2.3$/)
    expect(() => parsePublish('80/sctp')).to.throw(UsageError, /^invalid proto: sctp$/)
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

  it('writes own aliases on the container\'s line, once', () => {
    const text = hostsContent({ip: '10.89.0.2', hostname: 'abc', name: 'web', aliases: ['www', 'web']}, [], [])
    expect(text).to.include('10.89.0.2\tabc web www\n')
  })

  it('gives Docker\'s MAC addresses and checks --mac-address', () => {
    expect(macFor('172.17.0.2')).to.equal('02:42:ac:11:00:02')
    expect(macFor('10.88.0.255')).to.equal('02:42:0a:58:00:ff')
    expect(checkMac('02:AB:cd:00:11:22')).to.equal('02:ab:cd:00:11:22')
    for (const bad of ['02:42:ac:11:00', '02-42-ac-11-00-02', '01:00:5e:00:00:01', 'zz:42:ac:11:00:02']) expect(() => checkMac(bad), bad).to.throw(UsageError)
  })

  it('knows which modes are bridged and the slirp4netns options', () => {
    expect(['bridge', 'appnet'].every(isBridged)).to.equal(true)
    expect(['none', 'host', 'container:x', 'slirp4netns', 'slirp4netns:allow_host_loopback=true'].some(isBridged)).to.equal(false)
    expect(slirpOptions('slirp4netns')).to.deep.equal({hostLoopback: false})
    expect(slirpOptions('slirp4netns:allow_host_loopback=true')).to.deep.equal({hostLoopback: true})
    expect(() => slirpOptions('slirp4netns:allow_host_loopback=maybe')).to.throw(UsageError)
  })

  it('replaces the whole nftables table, with rules only for the bridges there are', () => {
    const a = {bridge: 'ncx0', subnet: '10.88.0.0/16', internal: false}
    const b = {bridge: 'br-1', subnet: '10.89.0.0/24', internal: true}
    const both = ruleset([a, b])
    expect(both.split('\n').slice(0, 2)).to.deep.equal(['table ip ncx {}', 'delete table ip ncx'])
    expect(both).to.include('ip saddr 10.88.0.0/16 oifname "tap0" masquerade').and.include('iifname "br-1" drop')
    // an internal network gets no masquerading and no way out
    expect(both).to.not.include('10.89.0.0/24 oifname "tap0"').and.not.include('iifname "br-1" oifname "tap0"')
    // drops come after every accept
    expect(both.lastIndexOf('accept')).to.be.lessThan(both.indexOf(' drop'))
    expect(ruleset([a])).to.not.include('br-1')
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

  it('reads the port bypass switch from ncx\'s or nerdctl\'s annotation', () => {
    expect(portBypassAnnotation(undefined)).to.equal(undefined)
    expect(portBypassAnnotation({other: 'x'})).to.equal(undefined)
    expect(portBypassAnnotation({'ncx.bypass4netns': 'true'})).to.equal(true)
    expect(portBypassAnnotation({'nerdctl/bypass4netns': '1'})).to.equal(true)
    expect(portBypassAnnotation({'ncx.bypass4netns': 'false', 'nerdctl/bypass4netns': 'true'})).to.equal(false)
    expect(() => portBypassAnnotation({'ncx.bypass4netns': 'yes'})).to.throw(UsageError, 'invalid annotation ncx.bypass4netns=yes: must be true or false')
  })

  it('formats ports as ps does', () => {
    expect(formatPorts([{proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80}])).to.equal('0.0.0.0:8080->80/tcp')
    expect(formatPorts([{proto: 'tcp', hostIp: '::', hostPort: 18931, containerPort: 80}, {proto: 'udp', hostIp: '::1', hostPort: 53, containerPort: 53}])).to.equal('[::]:18931->80/tcp, [::1]:53->53/udp')
  })
})
