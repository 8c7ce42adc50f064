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
