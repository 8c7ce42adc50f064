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
