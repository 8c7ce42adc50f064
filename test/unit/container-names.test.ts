import {expect} from 'chai'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {CREATING, ContainerRecord, ContainerStore} from '../../src/engine/container/store.js'
import {NcxError, UsageError} from '../../src/engine/errors.js'
import {StorePaths} from '../../src/engine/store/paths.js'

// Names are unique under the containers lock, checked against container-names.json (see
// ContainerStore.names) instead of every record; these cases are the ways it can be stale.
describe('container names (src/engine/container/store.ts)', () => {
  let dir: string
  let store: ContainerStore
  const make = (name?: string) =>
    store.create({name, image: 'busybox', imageId: 'sha256:x', layers: [], created: new Date().toISOString(), options: {image: 'busybox'} as ContainerRecord['options'], args: [], state: {status: 'created', pid: 0, exitCode: 0}})
  const index = () => JSON.parse(readFileSync(join(dir, 'container-names.json'), 'utf8')) as {byId: Record<string, string>}

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-names-'))
    const paths: StorePaths = {rootless: true, data: dir, run: join(dir, 'run'), config: join(dir, 'config')}
    store = new ContainerStore(paths)
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('refuses a name in use, and generates unique ones', () => {
    const web = make('web')
    expect(() => make('web')).to.throw(NcxError, `The container name "/web" is already in use by container "${web.id}"`)
    const names = Array.from({length: 40}, () => make().name)
    expect(new Set(names).size).to.equal(40)
    expect(Object.keys(index().byId)).to.have.length(41)
  })

  it('still sees every name when the index is missing or torn', () => {
    make('web')
    unlinkSync(join(dir, 'container-names.json'))
    expect(() => make('web')).to.throw(NcxError, /already in use/)
    writeFileSync(join(dir, 'container-names.json'), '{"byId": {')
    expect(() => make('web')).to.throw(NcxError, /already in use/)
    make('other') // rewrites it whole
    expect(Object.values(index().byId).sort()).to.deep.equal(['other', 'web'])
  })

  it('sees a container the index does not know (made by an ncx without it)', () => {
    make('first')
    const id = 'a'.repeat(64)
    mkdirSync(join(dir, 'containers', id))
    writeFileSync(join(dir, 'containers', id, 'container.json'), JSON.stringify({id, name: 'old'}))
    expect(() => make('old')).to.throw(NcxError, `in use by container "${id}"`)
  })

  it('frees the names of removed and of abandoned containers', () => {
    const gone = make('gone')
    rmSync(store.dir(gone.id), {recursive: true}) // as a --rm container's monitor does
    expect(make('gone').name).to.equal('gone')
    const half = make('half')
    writeFileSync(join(store.dir(half.id), CREATING), JSON.stringify({pid: 999_999_999, start: 1})) // its creator died
    expect(make('half').name).to.equal('half')
  })

  it('moves a name with rename, and refuses one in use', () => {
    const a = make('aa')
    make('bb')
    expect(() => store.rename(a.id, 'bb')).to.throw(NcxError, /already in use/)
    store.rename(a.id, 'cc')
    expect(make('aa').name).to.equal('aa')
    expect(() => make('cc')).to.throw(NcxError, `in use by container "${a.id}"`)
    expect(index().byId[a.id]).to.equal('cc')
  })

  it('finds by full ID, by name before ID prefix, by unique prefix, without reading every record', () => {
    const web = make('web')
    const other = make('other')
    // A container named like another one's ID prefix: the name wins (Docker's order).
    const tricky = make(other.id.slice(0, 6))
    expect(store.find(web.id)?.name).to.equal('web')
    expect(store.find('web')?.id).to.equal(web.id)
    expect(store.find('/web')?.id).to.equal(web.id)
    expect(store.find(other.id.slice(0, 6))?.id).to.equal(tricky.id)
    expect(store.find(other.id.slice(0, 12).toUpperCase())?.id).to.equal(other.id)
    expect(store.find('nope')).to.equal(undefined)
    expect(store.find('')).to.equal(undefined)
    // A stale index entry (renamed by an ncx without the index) is checked against the record.
    writeFileSync(join(dir, 'container-names.json'), JSON.stringify({byId: {...index().byId, [web.id]: 'stale'}}))
    expect(store.find('stale')).to.equal(undefined)
    // Without an index, every record is read, with the same answers.
    unlinkSync(join(dir, 'container-names.json'))
    expect(store.find('web')?.id).to.equal(web.id)
    expect(store.find(other.id.slice(0, 6))?.id).to.equal(tricky.id)
  })

  it('an ambiguous ID prefix is an error; an abandoned container is not found', () => {
    const ids = Array.from({length: 40}, () => make().id)
    const shared = ids.map((id) => id[0]).find((c, i, all) => all.indexOf(c) !== i)!
    expect(() => store.find(shared)).to.throw(NcxError, `multiple IDs found with provided prefix: ${shared}`)
    const half = make('half')
    writeFileSync(join(store.dir(half.id), CREATING), JSON.stringify({pid: 999_999_999, start: 1}))
    expect(store.find('half')).to.equal(undefined)
    expect(store.find(half.id.slice(0, 16))).to.equal(undefined)
  })

  it("moby's name rules: two characters at least, a leading slash dropped", () => {
    expect(() => make('x')).to.throw(UsageError, 'Invalid container name (x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
    expect(make('/slashed').name).to.equal('slashed')
  })
})
