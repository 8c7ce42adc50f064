/** The Engine API server's pure parts: request mapping, header decoding, generated files. */
import {expect} from 'chai'

import {createOptions} from '../../src/server/create.js'

describe('api server: POST /containers/create mapping', () => {
  it('Config.Volumes covered by a bind or a mount is no anonymous volume (docker-compose sends both)', () => {
    const {options} = createOptions({Image: 'busybox', Volumes: {'/www': {}, '/anon': {}, '/m/': {}}, HostConfig: {Binds: ['demo_data:/www:rw'], Mounts: [{Type: 'volume', Source: 'vol', Target: '/m'}]}}, undefined, undefined, {})
    const mounts = (options.mounts ?? []).map((m) => `${m.type}:${m.source ?? ''}:${m.target}`)
    expect(mounts.sort()).to.deep.equal(['volume::/anon', 'volume:demo_data:/www', 'volume:vol:/m'])
  })
})

describe('api server: X-Registry-Auth', () => {
  it('decodes base64url JSON; no username means the stored credentials; garbage is a 400', async () => {
    const {registryAuth} = await import('../../src/server/images.js')
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
    expect(registryAuth(enc({username: 'u', password: 'p?>', serveraddress: 'r'}))).to.deep.equal({username: 'u', password: 'p?>'})
    expect(registryAuth(Buffer.from(JSON.stringify({username: 'u', password: 'p?>'})).toString('base64'))).to.deep.equal({username: 'u', password: 'p?>'})
    expect(registryAuth(enc({}))).to.equal(undefined)
    expect(registryAuth(undefined)).to.equal(undefined)
    expect(() => registryAuth('%%%not-base64')).to.throw(/X-Registry-Auth/)
    expect(() => registryAuth(enc({identitytoken: 'tok'}))).to.throw(/identity tokens/)
  })
})

describe('api server: POST /containers/{id}/update', () => {
  it("maps Docker's fields onto ncx update's flags (0: unchanged) and warns about the rest", async () => {
    const {updateFlags} = await import('../../src/server/operations.js')
    const r = updateFlags({Memory: 67108864, MemorySwap: 0, NanoCpus: 500000000, CpuShares: 0, PidsLimit: 100, KernelMemory: 10485760, CpusetCpus: '', RestartPolicy: {Name: 'on-failure', MaximumRetryCount: 2}})
    expect(r.flags).to.deep.equal({memory: '67108864', cpus: '0.5', 'pids-limit': '100'})
    expect(r.restart).to.equal('on-failure:2')
    expect(r.warnings).to.deep.equal(['KernelMemory is not supported by ncx and was ignored'])
    expect(updateFlags({RestartPolicy: {Name: ''}}).restart).to.equal(undefined)
    expect(() => updateFlags({Memory: 'lots'})).to.throw(/invalid Memory/)
  })
})

describe('api server: POST /build query', () => {
  const request = (query: string) => ({query: new URLSearchParams(query)}) as unknown as import('../../src/server/http.js').Request
  it("maps Docker's query onto the builder's options", async () => {
    const {buildRequestOptions} = await import('../../src/server/build.js')
    const {options, quiet, warnings} = buildRequestOptions(request(`t=a:1&t=b&dockerfile=sub/D&buildargs=${encodeURIComponent('{"A":"1","B":null}')}&target=base&q=1&nocache=1&networkmode=none&cachefrom=${encodeURIComponent('["x"]')}`))
    expect(options).to.include({context: '-', dockerfile: 'sub/D', target: 'base', noCache: true, network: 'none'})
    expect(options.tags).to.deep.equal(['a:1', 'b'])
    expect(options.buildArgs).to.deep.equal({A: '1'})
    expect(quiet).to.equal(true)
    expect(warnings).to.deep.equal(['cachefrom is not supported by the API builder of ncx and was ignored'])
    expect(buildRequestOptions(request('')).options.dockerfile).to.equal('Dockerfile')
  })
  it('refuses a Dockerfile outside the context, a remote context, bad JSON', async () => {
    const {buildRequestOptions} = await import('../../src/server/build.js')
    expect(() => buildRequestOptions(request('dockerfile=/etc/passwd'))).to.throw(/inside the build context/)
    expect(() => buildRequestOptions(request('dockerfile=../x'))).to.throw(/inside the build context/)
    expect(() => buildRequestOptions(request('remote=https://example.com/x.git'))).to.throw(/remote context/)
    expect(() => buildRequestOptions(request('buildargs=nope'))).to.throw(/invalid buildargs/)
  })
})

describe('build context archives (POST /build, ncx build -)', () => {
  type Entry = {name: string; type?: 'file' | 'symlink' | 'link'; linkname?: string; body?: string}
  async function tarOf(entries: Entry[]): Promise<Buffer> {
    const {pack} = await import('tar-stream')
    const p = pack()
    for (const e of entries) {
    const header = {name: e.name, type: e.type ?? 'file', mode: 0o644, ...(e.linkname ? {linkname: e.linkname} : {})} as const
    if (e.type === undefined || e.type === 'file') p.entry(header, e.body ?? '')
    else p.entry(header)
  }
    p.finalize()
    const chunks: Buffer[] = []
    for await (const c of p) chunks.push(c as Buffer)
    return Buffer.concat(chunks)
  }
  async function unpack(entries: Entry[]) {
    const {mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync} = await import('node:fs')
    const {join} = await import('node:path')
    const {tmpdir} = await import('node:os')
    const {Readable} = await import('node:stream')
    const {loadContext} = await import('../../src/engine/build/context.js')
    const root = mkdtempSync(join(tmpdir(), 'ncx-ctx-test-'))
    const outside = join(root, 'outside')
    mkdirSync(outside)
    writeFileSync(join(outside, 'target'), 'original\n')
    const tar = await tarOf(entries.map((e) => ({...e, linkname: e.linkname?.replace('OUTSIDE', outside)})))
    let error: unknown
    try {
      await loadContext({context: '-', stdin: Readable.from([tar]), tmpDir: join(root, 'tmp')})
    } catch (e) {
      error = e
    }
    const state = {error, outside: readdirSync(outside).sort(), target: readFileSync(join(outside, 'target'), 'utf8')}
    rmSync(root, {recursive: true, force: true})
    return state
  }
  it('refuses entries under a symlink and hard links through one; replaces a symlink by a later file', async () => {
    const under = await unpack([{name: 'Dockerfile', body: 'FROM x'}, {name: 'e', type: 'symlink', linkname: 'OUTSIDE'}, {name: 'e/pwned', body: 'x'}])
    expect(String(under.error)).to.match(/lies under the symbolic link "e"/)
    expect(under.outside).to.deep.equal(['target'])
    const over = await unpack([{name: 'Dockerfile', body: 'FROM x'}, {name: 'f', type: 'symlink', linkname: 'OUTSIDE/target'}, {name: 'f', body: 'replaced\n'}])
    expect(over.error).to.equal(undefined)
    expect(over.target).to.equal('original\n')
    const link = await unpack([{name: 'Dockerfile', body: 'FROM x'}, {name: 'd', type: 'symlink', linkname: 'OUTSIDE'}, {name: 'h', type: 'link', linkname: 'd/target'}, {name: 'h', body: 'pwned\n'}])
    expect(String(link.error)).to.match(/lies under the symbolic link "d"/)
    expect(link.target).to.equal('original\n')
  })
})
