import {expect} from 'chai'

import {UsageError} from '../../src/engine/errors.js'
import {FilterContext, filterImages, matchPath, parseImageFilters} from '../../src/engine/image/filter.js'
import {ImageRecord} from '../../src/engine/image/types.js'

const image = (id: string, names: string[], created: string, labels: Record<string, string> = {}): ImageRecord & {labels: Record<string, string>} => ({
  id: `sha256:${id.padEnd(64, '0')}`,
  manifestDigest: `sha256:${'f'.repeat(64)}`,
  names,
  layers: [],
  created,
  size: 1,
  addedAt: created,
  labels,
})

const busybox = image('aa', ['docker.io/library/busybox:latest', 'docker.io/library/busybox:1.36'], '2024-01-01T00:00:00Z', {team: 'core'})
const app = image('bb', ['localhost:5000/team/app:v1'], '2024-02-01T00:00:00Z', {team: 'apps', tier: 'web'})
const dangling = image('cc', [], '2023-12-01T00:00:00Z')
const all = [busybox, app, dangling]

const context: FilterContext = {
  resolve: (name) => {
    const found = all.find((i) => i.id.slice(7).startsWith(name) || i.names.some((n) => n.includes(`/${name}:`)))
    if (!found) throw new Error(`No such image: ${name}`)
    return found
  },
  labels: (i) => (i as typeof busybox).labels,
}

const run = (...filters: string[]) => filterImages(all, parseImageFilters(filters), context)
const ids = (images: ImageRecord[]) => images.map((i) => i.id.slice(7, 9))

describe('image filters (src/engine/image/filter.ts)', () => {
  it('matches like Go path.Match', () => {
    expect(matchPath('busy*', 'busybox')).to.equal(true)
    expect(matchPath('*', 'team/app')).to.equal(false) // * stops at /
    expect(matchPath('*/*', 'team/app')).to.equal(true)
    expect(matchPath('b?sybox', 'busybox')).to.equal(true)
    expect(matchPath('[a-c]usybox', 'busybox')).to.equal(true)
    expect(matchPath('[^a-c]usybox', 'busybox')).to.equal(false)
    expect(matchPath('busybox:1.3[0-9]', 'busybox:1.36')).to.equal(true)
    expect(matchPath('a.b', 'axb')).to.equal(false) // . is literal
    expect(matchPath('\\*', '*')).to.equal(true)
    for (const bad of ['[', '[]', '[a-', 'x\\', '[z-a]']) expect(() => matchPath(bad, 'x'), bad).to.throw(UsageError, /syntax error in pattern/)
  })

  it('dangling=true keeps images without names, dangling=false the others', () => {
    expect(ids(run('dangling=true'))).to.deep.equal(['cc'])
    expect(ids(run('dangling=false'))).to.deep.equal(['aa', 'bb'])
  })

  it('reference matches the familiar name or repository and narrows the names listed', () => {
    const out = run('reference=busybox:1.*')
    expect(ids(out)).to.deep.equal(['aa'])
    expect(out[0].names).to.deep.equal(['docker.io/library/busybox:1.36'])
    expect(run('reference=busybox')[0].names).to.have.length(2)
    expect(ids(run('reference=localhost:5000/team/*'))).to.deep.equal(['bb'])
    expect(ids(run('reference=nothing*'))).to.deep.equal([])
    // Several values of one key: any may match.
    expect(ids(run('reference=busybox', 'reference=*/team/app'))).to.deep.equal(['aa', 'bb'])
  })

  it('combines different keys with AND', () => {
    expect(ids(run('dangling=false', 'reference=busy*'))).to.deep.equal(['aa'])
    expect(ids(run('dangling=true', 'reference=busy*'))).to.deep.equal([])
  })

  it('before and since compare creation times with the named image', () => {
    expect(ids(run('before=app'))).to.deep.equal(['aa', 'cc'])
    expect(ids(run('since=busybox'))).to.deep.equal(['bb'])
    expect(() => run('since=nope')).to.throw('No such image: nope')
  })

  it('label=KEY and label=KEY=VALUE, all of them required', () => {
    expect(ids(run('label=team'))).to.deep.equal(['aa', 'bb'])
    expect(ids(run('label=team=apps'))).to.deep.equal(['bb'])
    expect(ids(run('label=team', 'label=tier=web'))).to.deep.equal(['bb'])
  })

  it('rejects unknown keys, bad values and malformed filters like Docker', () => {
    expect(() => parseImageFilters(['bogus=1'])).to.throw(UsageError, "Invalid filter 'bogus'")
    expect(() => parseImageFilters(['dangling=maybe'])).to.throw(UsageError, "Invalid filter 'dangling=maybe'")
    expect(() => parseImageFilters(['dangling'])).to.throw(UsageError, 'bad format of filter (expected name=value)')
    expect(() => parseImageFilters(['reference=['])).to.throw(UsageError, 'syntax error in pattern')
  })
})
