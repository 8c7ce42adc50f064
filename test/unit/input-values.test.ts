import {expect} from 'chai'
import {isUtf8} from 'node:buffer'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {parseRunArgv} from '../../src/cli/run-flags.js'
import {ComposeError} from '../../src/engine/compose/errors.js'
import {loadProject} from '../../src/engine/compose/loader.js'
import {UsageError} from '../../src/engine/errors.js'
import {parseEnvFile} from '../../src/engine/spec/env.js'
import {ContainerOptions} from '../../src/engine/spec/generate.js'
import {checkContainerValues, checkDnsSearch, checkIpAddress, invalidUtf8At, parseExtraHost} from '../../src/engine/spec/values.js'

describe('values written into /etc files, labels and the environment (src/engine/spec/values.ts)', () => {
  let dir: string
  let n = 0
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-unit-values-'))
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  const refused = (argv: string[]): string => {
    try {
      parseRunArgv([...argv, 'img'], {})
    } catch (error) {
      expect(error).to.be.instanceOf(UsageError)
      return (error as Error).message
    }
    throw new Error(`expected ${argv.join(' ')} to be refused`)
  }

  it("refuses what Docker's CLI refuses, with its messages", () => {
    expect(refused(['--dns', 'x'])).to.equal('invalid argument "x" for "--dns" flag: IP address is not correctly formatted: x')
    expect(refused(['--dns', '[::1]'])).to.equal('invalid argument "[::1]" for "--dns" flag: IP address is not correctly formatted: [::1]')
    expect(refused(['--dns', '1.2.3.4%eth0'])).to.contain('IP address is not correctly formatted')
    expect(refused(['--dns', '1.2.3.4\nnameserver 6.6.6.6'])).to.contain('for "--dns" flag: IP address is not correctly formatted')
    expect(refused(['--dns-search', 'a\nb'])).to.equal('invalid argument "a\\nb" for "--dns-search" flag: a\nb is not a valid domain')
    for (const bad of ['a..b', '-a', '123', 'a b']) expect(refused(['--dns-search', bad])).to.equal(`invalid argument ${JSON.stringify(bad)} for "--dns-search" flag: ${bad} is not a valid domain`)
    expect(refused(['--add-host', 'a:1.2.3.4\n5.6.7.8 evil'])).to.equal('invalid argument "a:1.2.3.4\\n5.6.7.8 evil" for "--add-host" flag: invalid IP address in add-host: "1.2.3.4\\n5.6.7.8 evil"')
    expect(refused(['--add-host', 'a:x'])).to.equal('invalid argument "a:x" for "--add-host" flag: invalid IP address in add-host: "x"')
    expect(refused(['--add-host', 'a'])).to.equal('invalid argument "a" for "--add-host" flag: bad format for add-host: "a"')
    expect(refused(['--add-host', ':1.2.3.4'])).to.equal('invalid argument ":1.2.3.4" for "--add-host" flag: bad format for add-host: ":1.2.3.4"')
    expect(refused(['--label', ' =c'])).to.equal(`invalid argument " =c" for "-l, --label" flag: invalid label ' =c': empty name`)
    expect(refused(['--label', 'a b=c'])).to.equal(`invalid argument "a b=c" for "-l, --label" flag: label 'a b' contains whitespaces`)
    expect(refused(['-e', '=x'])).to.equal('invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x')
  })

  it('refuses newlines Docker lets through into resolv.conf, /etc/hosts and /etc/hostname', () => {
    expect(refused(['--dns-option', 'ndots:1\nnameserver 6.6.6.6'])).to.equal('invalid argument "ndots:1\\nnameserver 6.6.6.6" for "--dns-option" flag: "ndots:1\\nnameserver 6.6.6.6" is not a valid DNS option: it contains whitespace')
    expect(refused(['--add-host', 'a\n6.6.6.6 evil:1.2.3.4'])).to.equal('invalid argument "a\\n6.6.6.6 evil:1.2.3.4" for "--add-host" flag: invalid hostname in add-host: "a\\n6.6.6.6 evil"')
    expect(refused(['-h', 'box\n6.6.6.6 evil'])).to.match(/^invalid argument "box\\n6.6.6.6 evil" for "-h, --hostname" flag: invalid hostname "box\\n6.6.6.6 evil"/)
    expect(refused(['-h', 'x'.repeat(65)])).to.contain('at most 64 characters')
    expect(refused(['--domainname', 'a\nb'])).to.contain('for "--domainname" flag: invalid domainname')
    expect(refused(['--label', 'a\nb=c'])).to.equal(`invalid argument "a\\nb=c" for "-l, --label" flag: label 'a\nb' contains whitespaces`)
    expect(refused(['--network', 'net1', '--network-alias', 'a\n6.6.6.6 evil'])).to.contain('for "--network-alias" flag: invalid network alias')
  })

  it('accepts and normalises what Docker accepts', () => {
    const o = parseRunArgv(['--dns', ' 1.1.1.1 ', '--dns', '::1', '--dns-search', '.', '--dns-search', 'example.com.', '--dns-option', 'ndots:2', '--add-host', 'a:::1', '--add-host', 'b=10.0.0.1', '--add-host', 'c:[fe80::1]', '--add-host', 'd:host-gateway', '-h', 'my_host-1.local', '--label', 'k=v w', 'img'], {}).options
    expect(o.dns).to.deep.equal(['1.1.1.1', '::1'])
    expect(o.dnsSearch).to.deep.equal(['.', 'example.com'])
    expect(o.dnsOptions).to.deep.equal(['ndots:2'])
    // host-gateway: the host as the default network (a bridge, rootless or not) reaches it
    expect(o.addHosts).to.deep.equal(['::1\ta', '10.0.0.1\tb', 'fe80::1\tc', '10.0.2.2\td'])
    expect(o.hostname).to.equal('my_host-1.local')
    expect(o.labels).to.deep.equal({k: 'v w'})
    expect(checkIpAddress('0.0.0.0')).to.equal('0.0.0.0')
    expect(() => checkIpAddress('01.2.3.4')).to.throw('IP address is not correctly formatted')
    expect(() => checkIpAddress('256.1.1.1')).to.throw()
    for (const ok of ['::', '::1', 'fe80::1', '2001:db8::8a2e:370:7334', '1:2:3:4:5:6:7:8', '::ffff:1.2.3.4', '1:2:3:4:5:6:1.2.3.4', 'FE80::A']) expect(checkIpAddress(ok), ok).to.equal(ok)
    for (const bad of ['1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', ':::1', '12345::', 'fe80::1%eth0', '::1.2.3', 'g::1', '1:2:3:4:5:6:7:1.2.3.4', '']) expect(() => checkIpAddress(bad), bad).to.throw('IP address is not correctly formatted')
    expect(checkDnsSearch('a-b.c')).to.equal('a-b.c')
    expect(parseExtraHost('h=::ffff:1.2.3.4')).to.deep.equal({name: 'h', address: '::ffff:1.2.3.4'})
  })

  it('the engine checks the options itself before it writes anything (whoever built them)', () => {
    const base: ContainerOptions = {image: 'img', command: [], env: [], network: 'none', rm: false, interactive: false, tty: false, readOnly: false}
    expect(() => checkContainerValues({...base, dnsOptions: ['a\nnameserver 6.6.6.6']})).to.throw(UsageError, 'for "--dns-option" flag')
    expect(() => checkContainerValues({...base, addHosts: ['1.2.3.4\tx\n6.6.6.6 evil']})).to.throw(UsageError, 'invalid hostname in add-host')
    expect(() => checkContainerValues({...base, addHosts: ['1.2.3.4\nx\ty']})).to.throw(UsageError, 'invalid IP address in add-host')
    expect(() => checkContainerValues({...base, env: ['A=b\0c']})).to.throw(UsageError, 'a NUL byte is not allowed')
    expect(() => checkContainerValues({...base, hostname: 'a b'})).to.throw(UsageError, 'invalid hostname')
    expect(() => checkContainerValues({...base, dns: ['1.1.1.1'], addHosts: ['127.0.0.1\tgw'], hostname: 'h', env: ['A=1'], labels: {a: 'b'}})).to.not.throw()
  })

  describe('--env-file', () => {
    const file = (bytes: Buffer | string) => {
      const path = join(dir, `e${n++}.env`)
      writeFileSync(path, bytes)
      return path
    }
    it('refuses a line with a NUL byte, naming file and line (it was dropped silently)', () => {
      const path = file('A=1\n# c\nB=x\0y\nC=3\n')
      expect(() => parseEnvFile(path, {})).to.throw(UsageError, `${path}:3: invalid env file: variable 'B' holds a NUL byte`)
      const bare = file('A\0B\n')
      expect(() => parseEnvFile(bare, {})).to.throw(UsageError, `${bare}:1: invalid env file`)
    })
    it('refuses invalid UTF-8 with the line, as Docker does; drops a BOM', () => {
      const path = file(Buffer.concat([Buffer.from('A=1\n\n  # c\nB='), Buffer.from([0xff]), Buffer.from('\n')]))
      expect(() => parseEnvFile(path, {})).to.throw(UsageError, `${path}:4: invalid env file: invalid UTF-8 (byte 0xff at offset 13)`)
      expect(parseEnvFile(file('\uFEFFA=1\r\nB=2\r\n'), {})).to.deep.equal(['A=1', 'B=2'])
      expect(parseEnvFile(file('A=ünï\n'), {})).to.deep.equal(['A=ünï'])
    })
    it("Docker's other rules: no name, whitespace in a name, comments, leading whitespace, a bare KEY from the environment", () => {
      const noName = file('=1\n')
      expect(() => parseEnvFile(noName, {})).to.throw(UsageError, `${noName}:1: invalid env file: no variable name on line '=1'`)
      expect(parseEnvFile(file('  # c\n\tA=1 \nHOSTVAR\nUNSET\n'), {HOSTVAR: 'h'})).to.deep.equal(['A=1 ', 'HOSTVAR=h'])
    })
  })

  describe('compose', () => {
    const load = (text: string | Buffer, files: Record<string, string | Buffer> = {}) => {
      const d = join(dir, `p${n++}`)
      mkdirSync(d)
      writeFileSync(join(d, 'compose.yaml'), text)
      for (const [name, body] of Object.entries(files)) writeFileSync(join(d, name), body)
      return loadProject({cwd: d, env: {}})
    }
    const refusedCompose = (text: string | Buffer, files: Record<string, string | Buffer> = {}): string => {
      try {
        load(text, files)
      } catch (error) {
        expect(error).to.be.instanceOf(ComposeError)
        return (error as Error).message
      }
      throw new Error('expected the project to be refused')
    }
    const svc = (body: string) => `services:\n  web:\n    image: busybox\n${body}`

    it('checks dns, dns_search, dns_opt, extra_hosts, hostname, labels, aliases and environment like the flags, with file:line', () => {
      expect(refusedCompose(svc('    dns: ["1.1.1.1", "x"]\n'))).to.match(/compose\.yaml:4: services\.web\.dns\[1\]: IP address is not correctly formatted: x$/)
      expect(refusedCompose(svc('    dns: "8.8.8.8\\nnameserver 6.6.6.6"\n'))).to.match(/compose\.yaml:4: services\.web\.dns: IP address is not correctly formatted/)
      expect(refusedCompose(svc('    dns_search:\n      - example.com\n      - "a\\nb"\n'))).to.match(/compose\.yaml:6: services\.web\.dns_search\[1\]: a\nb is not a valid domain$/)
      expect(refusedCompose(svc('    dns_opt: ["ndots:1\\nnameserver 6.6.6.6"]\n'))).to.match(/compose\.yaml:4: services\.web\.dns_opt\[0\]: .* is not a valid DNS option/)
      expect(refusedCompose(svc('    extra_hosts:\n      - "ok:1.2.3.4"\n      - "a:1.2.3.4\\n6.6.6.6 evil"\n'))).to.match(/compose\.yaml:6: services\.web\.extra_hosts\[1\]: invalid IP address in add-host: "1\.2\.3\.4\\n6\.6\.6\.6 evil"$/)
      expect(refusedCompose(svc('    extra_hosts:\n      "a b": 1.2.3.4\n'))).to.match(/compose\.yaml:5: services\.web\.extra_hosts\.a b: invalid hostname in add-host: "a b"$/)
      expect(refusedCompose(svc('    hostname: "h\\n6.6.6.6 evil"\n'))).to.match(/compose\.yaml:4: services\.web\.hostname: invalid hostname/)
      expect(refusedCompose(svc('    labels:\n      "a b": c\n'))).to.match(/compose\.yaml:5: services\.web\.labels\.a b: label 'a b' contains whitespaces$/)
      expect(refusedCompose(svc('    environment:\n      A: "1"\n      B: "x\\0y"\n'))).to.match(/compose\.yaml:6: services\.web\.environment\.B: invalid environment variable "B": a NUL byte is not allowed$/)
      expect(refusedCompose(svc('    environment:\n      - A=1\n      - "B=x\\0y"\n'))).to.match(/compose\.yaml:6: services\.web\.environment\[1\]: invalid environment variable "B": a NUL byte/)
      expect(refusedCompose(`${svc('    networks:\n      front:\n        aliases: ["a\\nb"]\n')}networks:\n  front: {}\n`)).to.match(/compose\.yaml:6: services\.web\.networks\.front\.aliases\[0\]: invalid network alias/)
      const p = load(svc('    dns: 1.1.1.1\n    dns_search: [example.com]\n    extra_hosts: ["a:::1", "b=10.0.0.1", "c:[fe80::1]"]\n    hostname: web_1\n'))
      expect(p.services.web.dns).to.deep.equal(['1.1.1.1'])
      expect(p.services.web.extra_hosts).to.deep.equal(['a=::1', 'b=10.0.0.1', 'c=fe80::1'])
    })

    it('env_file with a NUL byte or invalid UTF-8 is refused with file:line', () => {
      expect(refusedCompose(svc('    env_file: app.env\n'), {'app.env': 'A=1\nB=x\0y\n'})).to.match(/app\.env:2: env file holds a NUL byte/)
      expect(refusedCompose(svc('    env_file: app.env\n'), {'app.env': Buffer.from([0x41, 0x3d, 0x31, 0x0a, 0x42, 0x3d, 0xc3, 0x28, 0x0a])})).to.match(/app\.env:2: env file is not valid UTF-8 \(byte 0xc3 at offset 6\)/)
    })

    it('a compose file with invalid UTF-8 is refused with file:line (it was read with replacement characters)', () => {
      const text = Buffer.concat([Buffer.from(svc('    environment:\n      A: "caf')), Buffer.from([0xe9]), Buffer.from('"\n')])
      expect(refusedCompose(text)).to.match(/compose\.yaml:5: compose file is not valid UTF-8 \(byte 0xe9 at offset \d+\)/)
      // UTF-8 itself is fine.
      expect(load(svc('    environment:\n      A: "café ✓ 𝄞"\n')).services.web.environment).to.deep.equal({A: 'café ✓ 𝄞'})
    })
  })

  it('invalidUtf8At finds the first byte of the first invalid sequence', () => {
    const cases: Array<[number[], number | undefined]> = [
      [[0x61, 0x62], undefined],
      [[0xc3, 0xa9], undefined],
      [[0x61, 0xc3], 1], // truncated
      [[0xc0, 0x80], 0], // overlong
      [[0xe0, 0x80, 0x80], 0], // overlong
      [[0xed, 0xa0, 0x80], 0], // surrogate
      [[0xf4, 0x90, 0x80, 0x80], 0], // past U+10FFFF
      [[0xf0, 0x9d, 0x84, 0x9e, 0xff], 4],
      [[0x61, 0x80], 1],
    ]
    for (const [bytes, at] of cases) expect(invalidUtf8At(Uint8Array.from(bytes)), JSON.stringify(bytes)).to.equal(at)
    // Agrees with Node's own validator on random input; the prefix before the offset is valid.
    let seed = 7
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256
    for (let i = 0; i < 2000; i++) {
      const b = Uint8Array.from({length: 1 + (i % 12)}, () => (rnd() < 200 ? 0x61 + (rnd() % 20) : rnd()))
      const at = invalidUtf8At(b)
      expect(at === undefined, `${b}`).to.equal(isUtf8(b))
      if (at !== undefined) expect(isUtf8(b.subarray(0, at)), `${b}`).to.equal(true)
    }
  })
})
