import {expect} from 'chai'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {parsePlatform} from '../../src/engine/image/platform.js'
import {parseChallenge, RegistryClient} from '../../src/engine/registry/client.js'
import {isInsecure, registryBase} from '../../src/engine/registry/config.js'
import {authKey, lookupCredentials, removeCredentials, storeCredentials} from '../../src/engine/registry/credentials.js'
import {parseServer} from '../../src/engine/registry/server.js'

describe('registry (src/engine/registry)', () => {
  describe('parseChallenge', () => {
    it("parses Docker Hub's Bearer challenge", () => {
      const c = parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')
      expect(c).to.deep.equal({scheme: 'bearer', params: {realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull'}})
    })
    it('parses Basic and unquoted values', () => {
      expect(parseChallenge('Basic realm="Registry Realm"')).to.deep.equal({scheme: 'basic', params: {realm: 'Registry Realm'}})
      expect(parseChallenge('Bearer realm=http://h/token,service=s')?.params).to.deep.equal({realm: 'http://h/token', service: 's'})
    })
    it('returns undefined for an empty header', () => {
      expect(parseChallenge('')).to.equal(undefined)
    })
  })

  describe('endpoints', () => {
    const settings = {insecure: ['reg.internal:5000'], mirrors: []}
    it('uses registry-1.docker.io for Docker Hub and https elsewhere', () => {
      expect(registryBase('docker.io', settings)).to.equal('https://registry-1.docker.io')
      expect(registryBase('ghcr.io', settings)).to.equal('https://ghcr.io')
    })
    it('uses http for loopback and configured insecure registries', () => {
      expect(isInsecure('localhost:5000', settings)).to.equal(true)
      expect(isInsecure('127.0.0.1:5055', settings)).to.equal(true)
      expect(isInsecure('[::1]:5000', settings)).to.equal(true)
      expect(registryBase('reg.internal:5000', settings)).to.equal('http://reg.internal:5000')
      expect(isInsecure('quay.io', settings)).to.equal(false)
    })
  })

  describe('parseServer / parsePlatform', () => {
    it('maps Docker Hub spellings to docker.io and strips URL parts', () => {
      expect(parseServer(undefined)).to.equal('docker.io')
      expect(parseServer('https://index.docker.io/v1/')).to.equal('docker.io')
      expect(parseServer('https://registry.example.com/v2/')).to.equal('registry.example.com')
      expect(parseServer('localhost:5000')).to.equal('localhost:5000')
      expect(() => parseServer('bad host!')).to.throw('invalid registry')
    })
    it('parses os/arch[/variant]', () => {
      expect(parsePlatform('linux/arm64/v8')).to.deep.equal({os: 'linux', architecture: 'arm64', variant: 'v8'})
      expect(parsePlatform(undefined).os).to.equal('linux')
      expect(() => parsePlatform('linux')).to.throw('invalid platform')
    })
  })

  describe('credentials in a Docker config.json', () => {
    let dir: string
    let env: NodeJS.ProcessEnv
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'ncx-cred-'))
      env = {DOCKER_CONFIG: dir, HOME: dir}
    })
    afterEach(() => rmSync(dir, {recursive: true, force: true}))

    it('stores base64 user:pass under the registry key, as docker login does', () => {
      storeCredentials('localhost:5000', {username: 'u', password: 'p:w'}, env)
      const file = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {auths: Record<string, {auth: string}>}
      expect(file.auths['localhost:5000'].auth).to.equal(Buffer.from('u:p:w').toString('base64'))
      expect(lookupCredentials('localhost:5000', env)).to.deep.equal({username: 'u', password: 'p:w'})
    })
    it('uses index.docker.io/v1/ as the Docker Hub key and keeps other settings', () => {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({psFormat: 'table {{.ID}}'}))
      storeCredentials('docker.io', {username: 'hub', password: 'x'}, env)
      const file = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {psFormat: string; auths: Record<string, unknown>}
      expect(Object.keys(file.auths)).to.deep.equal([authKey('docker.io')])
      expect(file.psFormat).to.equal('table {{.ID}}')
    })
    it('logout removes only that registry', () => {
      storeCredentials('a.example', {username: 'a', password: '1'}, env)
      storeCredentials('b.example', {username: 'b', password: '2'}, env)
      expect(removeCredentials('a.example', env)).to.equal(true)
      expect(removeCredentials('a.example', env)).to.equal(false)
      expect(lookupCredentials('a.example', env)).to.equal(undefined)
      expect(lookupCredentials('b.example', env)?.username).to.equal('b')
    })
    it('asks a configured credential helper (docker-credential-* protocol) before auths', () => {
      const bin = join(dir, 'bin')
      mkdirSync(bin)
      const helper = join(bin, 'docker-credential-ncxfake')
      // A real executable speaking the protocol: server URL on stdin, JSON on stdout.
      writeFileSync(helper, '#!/bin/sh\nread server\n[ "$1" = get ] && printf \'{"ServerURL":"%s","Username":"helper-user","Secret":"s3cret"}\' "$server"\n', {mode: 0o755})
      writeFileSync(join(dir, 'config.json'), JSON.stringify({credHelpers: {'reg.example': 'ncxfake'}, auths: {'reg.example': {auth: Buffer.from('file:pw').toString('base64')}}}))
      const saved = process.env.PATH
      process.env.PATH = `${bin}:${saved}`
      try {
        expect(lookupCredentials('reg.example', env)).to.deep.equal({username: 'helper-user', password: 's3cret'})
        expect(lookupCredentials('other.example', env)).to.equal(undefined)
      } finally {
        process.env.PATH = saved
      }
    })

    it('names a missing credential helper', () => {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({credsStore: 'nonexistent-ncx-helper'}))
      expect(() => lookupCredentials('x.example', env)).to.throw('docker-credential-nonexistent-ncx-helper is configured but not installed')
    })
  })

  describe('RegistryClient errors and auth flow (injected fetch)', () => {
    const settings = {insecure: [], mirrors: []}
    it('answers a Bearer challenge with a token request carrying the scope, then retries', async () => {
      const calls: string[] = []
      const fetchImpl = (async (url: string | URL, init?: RequestInit) => {
        calls.push(`${init?.method ?? 'GET'} ${String(url)} ${(init?.headers as Record<string, string> | undefined)?.authorization ?? ''}`)
        const u = String(url)
        if (u.startsWith('https://auth.example/token')) return new Response(JSON.stringify({token: 'T1'}), {status: 200})
        if ((init?.headers as Record<string, string>)?.authorization === 'Bearer T1') return new Response('{}', {status: 200, headers: {'content-type': 'application/vnd.oci.image.manifest.v1+json'}})
        return new Response('', {status: 401, headers: {'www-authenticate': 'Bearer realm="https://auth.example/token",service="reg"'}})
      }) as typeof fetch
      const client = new RegistryClient({domain: 'reg.example', settings, fetchImpl})
      const m = await client.getManifest('team/app', 'v1')
      expect(m.mediaType).to.equal('application/vnd.oci.image.manifest.v1+json')
      expect(calls[1]).to.equal('GET https://auth.example/token?service=reg&scope=repository%3Ateam%2Fapp%3Apull ')
      expect(calls[2]).to.contain('Bearer T1')
    })
    it('retries a 503 then succeeds; gives a clear message for 429 and 404', async () => {
      let n = 0
      const flaky = (async () => (++n < 2 ? new Response('', {status: 503}) : new Response('{}', {status: 200}))) as typeof fetch
      await new RegistryClient({domain: 'r', settings, fetchImpl: flaky, retries: 2}).getManifest('a', 'b')
      expect(n).to.equal(2)
      const limited = (async () => new Response('', {status: 429})) as typeof fetch
      await new RegistryClient({domain: 'r', settings, fetchImpl: limited, retries: 0}).getManifest('a', 'b').then(
        () => expect.fail('no error'),
        (e: Error) => expect(e.message).to.contain('toomanyrequests: r rate limit reached'),
      )
      const missing = (async () => new Response(JSON.stringify({errors: [{code: 'MANIFEST_UNKNOWN', message: 'manifest unknown'}]}), {status: 404})) as typeof fetch
      await new RegistryClient({domain: 'r', settings, fetchImpl: missing}).getManifest('a', 'b').then(
        () => expect.fail('no error'),
        (e: Error) => expect(e.message).to.equal('r/a:b: not found (manifest unknown: manifest unknown)'),
      )
    })
  })
})
