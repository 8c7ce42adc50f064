import {expect} from 'chai'
import {createHash} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {NotFoundError} from '../../src/engine/errors.js'
import {chainIds, ociIndex, selectImages} from '../../src/engine/image/save.js'
import {ImageStore} from '../../src/engine/image/store.js'
import {ImageRecord, MediaType} from '../../src/engine/image/types.js'
import {storePaths} from '../../src/engine/store/paths.js'

const hex = (c: string) => c.repeat(64)
const image = (c: string, names: string[]): ImageRecord => ({id: `sha256:${hex(c)}`, manifestDigest: `sha256:${hex('f')}`, names, layers: [], size: 0, addedAt: ''})

describe('save (src/engine/image/save.ts)', () => {
  let root: string
  let store: ImageStore
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'ncx-unit-save-'))
    const images = [
      image('a', ['docker.io/library/busybox:latest', 'docker.io/library/busybox:1', 'docker.io/library/other:x']),
      image('b', ['docker.io/library/busybox:old', `docker.io/library/busybox@sha256:${hex('c')}`]),
      image('d', []),
    ]
    writeFileSync(join(root, 'images.json'), JSON.stringify({version: 1, images}))
    store = new ImageStore(storePaths({dataRoot: root}))
  })
  after(() => rmSync(root, {recursive: true, force: true}))

  const select = (...args: string[]) => selectImages({images: store}, args).map((i) => [i.image.id.slice(7, 8), i.names])

  it('saves a tagged name under that name', () => {
    expect(select('busybox:1')).to.deep.equal([['a', ['docker.io/library/busybox:1']]])
  })

  it('saves every tag of a bare repository, as Docker does', () => {
    expect(select('busybox')).to.deep.equal([
      ['a', ['docker.io/library/busybox:latest', 'docker.io/library/busybox:1']],
      ['b', ['docker.io/library/busybox:old']],
    ])
  })

  it('saves an image named by ID without names, and an image asked for twice once', () => {
    expect(select('dddd')).to.deep.equal([['d', []]])
    expect(select('other:x', `sha256:${hex('a')}`, 'busybox:latest')).to.deep.equal([['a', ['docker.io/library/other:x', 'docker.io/library/busybox:latest']]])
  })

  it('fails on an unknown image', () => {
    expect(() => select('nope')).to.throw(NotFoundError, 'No such image: nope')
    expect(() => select(hex('9'))).to.throw(NotFoundError)
  })

  it('derives chain IDs as the OCI image spec defines them', () => {
    const [d1, d2] = [`sha256:${hex('1')}`, `sha256:${hex('2')}`]
    const ids = chainIds([d1, d2])
    expect(ids[0]).to.equal(d1)
    expect(ids[1]).to.equal(`sha256:${createHash('sha256').update(`${d1} ${d2}`).digest('hex')}`)
  })

  it('annotates one index entry per name as Docker does, and leaves an unnamed image bare', () => {
    const manifest = {schemaVersion: 2, config: {mediaType: MediaType.dockerConfig, digest: `sha256:${hex('a')}`, size: 1}, layers: []}
    const index = ociIndex([
      {item: {image: image('a', []), names: ['docker.io/library/busybox:latest', 'localhost:5000/x:2']}, manifest, size: 10},
      {item: {image: image('d', []), names: []}, manifest: {...manifest, mediaType: MediaType.ociManifest}, size: 20},
    ])
    expect(index.mediaType).to.equal(MediaType.ociIndex)
    expect(index.manifests).to.deep.equal([
      {mediaType: MediaType.dockerManifest, digest: `sha256:${hex('f')}`, size: 10, annotations: {'io.containerd.image.name': 'docker.io/library/busybox:latest', 'org.opencontainers.image.ref.name': 'latest'}},
      {mediaType: MediaType.dockerManifest, digest: `sha256:${hex('f')}`, size: 10, annotations: {'io.containerd.image.name': 'localhost:5000/x:2', 'org.opencontainers.image.ref.name': '2'}},
      {mediaType: MediaType.ociManifest, digest: `sha256:${hex('f')}`, size: 20},
    ])
  })
})
