import {expect} from 'chai'

import {UsageError} from '../../src/engine/errors.js'
import {familiarName, familiarRepository, formatReference, parseReference, repositoryName} from '../../src/engine/image/reference.js'

const HEX64 = 'a'.repeat(64)
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`

const full = (s: string) => formatReference(parseReference(s))

function expectInvalid(input: string, why?: RegExp): void {
  let caught: unknown
  try {
    parseReference(input)
  } catch (error) {
    caught = error
  }
  expect(caught, `parseReference(${JSON.stringify(input)}) should throw`).to.be.instanceOf(UsageError)
  expect((caught as Error).message).to.contain('invalid reference format')
  if (why) expect((caught as Error).message).to.match(why)
}

describe('image reference (src/engine/image/reference.ts)', () => {
  describe('Docker normalisation', () => {
    it('adds docker.io/library/ and :latest to an official image', () => {
      expect(parseReference('busybox')).to.deep.equal({domain: 'docker.io', path: 'library/busybox', tag: 'latest', digest: undefined})
      expect(full('busybox')).to.equal('docker.io/library/busybox:latest')
    })

    it('keeps a user namespace on Docker Hub without library/', () => {
      expect(full('user/app')).to.equal('docker.io/user/app:latest')
      expect(full('user/app:1.0')).to.equal('docker.io/user/app:1.0')
    })

    it('treats a first component with a port as a registry and keeps nested paths', () => {
      const ref = parseReference('localhost:5000/a/b:tag')
      expect(ref.domain).to.equal('localhost:5000')
      expect(ref.path).to.equal('a/b')
      expect(ref.tag).to.equal('tag')
      expect(full('localhost:5000/a/b:tag')).to.equal('localhost:5000/a/b:tag')
    })

    it('does not take the registry port for a tag', () => {
      const ref = parseReference('localhost:5000/a')
      expect(ref.domain).to.equal('localhost:5000')
      expect(ref.tag).to.equal('latest')
    })

    it('treats bare localhost as a registry and does not add library/', () => {
      expect(full('localhost/app')).to.equal('localhost/app:latest')
    })

    it('maps the legacy index.docker.io to docker.io with library/', () => {
      expect(full('index.docker.io/x')).to.equal('docker.io/library/x:latest')
      expect(full('index.docker.io/team/x:2')).to.equal('docker.io/team/x:2')
    })

    it('adds library/ to a docker.io name with a single component', () => {
      expect(full('docker.io/busybox')).to.equal('docker.io/library/busybox:latest')
    })

    it('treats a dotted first component as a registry and adds no library/', () => {
      const ref = parseReference('host.example.com/a')
      expect(ref.domain).to.equal('host.example.com')
      expect(ref.path).to.equal('a')
      expect(full('host.example.com/a')).to.equal('host.example.com/a:latest')
    })

    it('treats an uppercase first component as a registry, like Docker', () => {
      const ref = parseReference('Foo/bar')
      expect(ref.domain).to.equal('Foo')
      expect(ref.path).to.equal('bar')
    })

    it('takes a digest without adding :latest', () => {
      const ref = parseReference(`busybox@${DIGEST}`)
      expect(ref.digest).to.equal(DIGEST)
      expect(ref.tag).to.equal(undefined)
      expect(full(`busybox@${DIGEST}`)).to.equal(`docker.io/library/busybox@${DIGEST}`)
    })

    it('keeps both tag and digest', () => {
      const ref = parseReference(`busybox:1.36@${DIGEST}`)
      expect(ref.tag).to.equal('1.36')
      expect(ref.digest).to.equal(DIGEST)
      expect(full(`busybox:1.36@${DIGEST}`)).to.equal(`docker.io/library/busybox:1.36@${DIGEST}`)
    })

    it('accepts tags with upper case, dots, dashes and underscores', () => {
      expect(parseReference('busybox:V1.2_rc-3').tag).to.equal('V1.2_rc-3')
    })

    it('accepts path separators Docker accepts (., _, __, -, --)', () => {
      expect(parseReference('team/a.b_c__d-e--f').path).to.equal('team/a.b_c__d-e--f')
    })

    it('repositoryName drops tag and digest', () => {
      expect(repositoryName(parseReference(`busybox:1@${DIGEST}`))).to.equal('docker.io/library/busybox')
    })
  })

  describe('invalid references → UsageError "invalid reference format"', () => {
    it('rejects an uppercase repository', () => {
      expectInvalid('Busybox', /^invalid reference format: repository name \(library\/Busybox\) must be lowercase$/)
      expectInvalid('localhost:5000/user/App:1', /^invalid reference format: repository name \(user\/App\) must be lowercase$/)
    })
    it('rejects the empty string', () => expectInvalid('', /empty name/))
    it('rejects a tag with no name', () => expectInvalid(':tag', /empty name/))
    it('rejects a bad digest', () => {
      expectInvalid('busybox@sha256:abc', /invalid digest/)
      expectInvalid('busybox@', /invalid digest/)
      expectInvalid(`busybox@${HEX64}`, /invalid digest/)
    })
    it('rejects invalid characters', () => {
      expectInvalid('bus box', /invalid name component/)
      expectInvalid('busy!box')
      expectInvalid('busybox:', /invalid tag/)
      expectInvalid('busybox:-x', /invalid tag/)
      expectInvalid('a//b')
      expectInvalid('user/app/')
      expectInvalid('-busybox')
      expectInvalid('bad_host:xx/app', /invalid registry/)
    })
    it('rejects a tag longer than 128 characters', () => {
      expect(parseReference(`a:${'t'.repeat(128)}`).tag).to.have.length(128)
      expectInvalid(`a:${'t'.repeat(129)}`, /invalid tag/)
    })
    it('carries a usage hint', () => {
      try {
        parseReference('UPPER')
        expect.fail('should throw')
      } catch (error) {
        expect((error as UsageError).hint).to.contain('NAME[:TAG]')
        expect((error as UsageError).exitCode).to.equal(125)
      }
    })
  })

  describe('familiar forms', () => {
    it('strips docker.io/library/ for official images', () => {
      const ref = parseReference('busybox')
      expect(familiarRepository(ref)).to.equal('busybox')
      expect(familiarName(ref)).to.equal('busybox:latest')
    })
    it('strips only docker.io/ for user repositories', () => {
      expect(familiarRepository(parseReference('docker.io/user/app:1'))).to.equal('user/app')
      expect(familiarName(parseReference('docker.io/user/app:1'))).to.equal('user/app:1')
    })
    it('keeps other registries', () => {
      expect(familiarRepository(parseReference('localhost:5000/a/b:tag'))).to.equal('localhost:5000/a/b')
      expect(familiarName(parseReference('localhost:5000/a/b:tag'))).to.equal('localhost:5000/a/b:tag')
      expect(familiarName(parseReference('ghcr.io/library/x'))).to.equal('ghcr.io/library/x:latest')
    })
    it('shows tag and digest', () => {
      expect(familiarName(parseReference(`index.docker.io/library/busybox:1@${DIGEST}`))).to.equal(`busybox:1@${DIGEST}`)
      expect(familiarName(parseReference(`busybox@${DIGEST}`))).to.equal(`busybox@${DIGEST}`)
    })
  })

  describe('Docker parity', () => {
    // Docker (distribution/reference + go-digest) requires hex for the encoded part and a
    // known algorithm: "busybox@sha256:zzzz…" is "invalid reference format".
    it('rejects a sha256 digest that is not 64 lowercase hex characters', () => {
      expectInvalid(`busybox@sha256:${'z'.repeat(64)}`)
      expectInvalid(`busybox@sha256:${'a'.repeat(32)}`)
    })
    // Docker: "invalid repository name (…), cannot specify 64-byte hexadecimal strings".
    it('rejects a 64-hex-character repository name', () => {
      expect(() => parseReference(HEX64)).to.throw(UsageError)
    })
    // Docker limits the name (without tag/digest) to 255 characters, not the whole input.
    it('accepts a 200-character name with a digest (name ≤ 255)', () => {
      const name = `a/${'b'.repeat(198)}`
      expect(parseReference(`${name}@${DIGEST}`).path).to.equal(name)
    })
  })
})
