import {expect} from 'chai'
import {appendFileSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {eventLine, eventTime} from '../../src/commands/system/events.js'
import {reclaimableText} from '../../src/commands/system/df.js'
import {containerEvent, eventMatches, eventsPath, followEvents, objectEvent, parseEventFilters, readEvents, recordContainerEvent} from '../../src/engine/events.js'
import {matchesPrune, parsePruneFilters, parseUntil} from '../../src/engine/prune.js'
import {storePaths} from '../../src/engine/store/paths.js'

describe('system prune filters', () => {
  const now = Date.parse('2024-06-01T12:00:00Z')

  it('parses until as a timestamp, a date or a duration back from now', () => {
    expect(parseUntil('1700000000', now)).to.equal(1_700_000_000_000)
    expect(parseUntil('2024-01-02T15:04:05Z', now)).to.equal(Date.parse('2024-01-02T15:04:05Z'))
    expect(parseUntil('24h', now)).to.equal(now - 86_400_000)
    expect(parseUntil('1h30m', now)).to.equal(now - 5_400_000)
    expect(() => parseUntil('yesterday', now)).to.throw(/invalid until filter "yesterday"/)
  })

  it('matches until and label / label! as Docker does', () => {
    const f = parsePruneFilters(['until=1h', 'label=env=test', 'label!=keep'], now)
    expect(matchesPrune(f, '2024-06-01T10:00:00Z', {env: 'test'})).to.equal(true)
    expect(matchesPrune(f, '2024-06-01T11:30:00Z', {env: 'test'})).to.equal(false) // too recent
    expect(matchesPrune(f, '2024-06-01T10:00:00Z', {env: 'prod'})).to.equal(false)
    expect(matchesPrune(f, '2024-06-01T10:00:00Z', {env: 'test', keep: ''})).to.equal(false)
    // Unknown labels (images in ncx's index): never matched by a label filter, so never pruned by one.
    expect(matchesPrune(f, '2024-06-01T10:00:00Z', undefined)).to.equal(false)
    expect(matchesPrune(parsePruneFilters([], now), undefined, undefined)).to.equal(true)
    expect(() => parsePruneFilters(['dangling=true'])).to.throw(/invalid filter "dangling=true"/)
  })
})

describe('system df cells', () => {
  it("prints RECLAIMABLE as Docker: size and integer percent, none when the total is 0", () => {
    expect(reclaimableText(9220, 2_140_000)).to.equal('9.22kB (0%)')
    expect(reclaimableText(307_000, 307_000)).to.equal('307kB (100%)')
    expect(reclaimableText(1_386_000_000, 1_390_000_000)).to.equal('1.39GB (99%)')
    expect(reclaimableText(0, 0)).to.equal('0B')
  })
})

describe('events', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-events-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))
  const paths = () => storePaths({dataRoot: dir, env: {HOME: dir}, uid: 1000})
  const web = {id: 'a'.repeat(64), name: 'web', image: 'busybox', labels: {tier: 'front'}}

  it("has Docker's event shape", () => {
    const e = containerEvent('start', web, {}, 1_700_000_000_123)
    expect(e).to.deep.include({status: 'start', id: web.id, from: 'busybox', Type: 'container', Action: 'start', scope: 'local', time: 1_700_000_000})
    expect(e.Actor).to.deep.equal({ID: web.id, Attributes: {tier: 'front', image: 'busybox', name: 'web'}})
  })

  it("prints Docker's text line with sorted attributes and the time with nanoseconds", () => {
    const e = containerEvent('die', web, {exitCode: '3'}, Date.parse('2024-01-02T15:04:05.123Z'))
    expect(eventLine(e, 0)).to.equal(`2024-01-02T15:04:05.123000000Z container die ${web.id} (exitCode=3, image=busybox, name=web, tier=front)`)
    expect(eventTime(Date.parse('2024-01-02T15:04:05.5Z') * 1e6, 60)).to.equal('2024-01-02T16:04:05.500000000+01:00')
  })

  it('filters by container (name or id prefix), event, image, label and type', () => {
    const e = containerEvent('die', web, {exitCode: '0'})
    const m = (...f: string[]) => eventMatches(e, parseEventFilters(f))
    expect(m('container=web')).to.equal(true)
    expect(m('container=aaa')).to.equal(true)
    expect(m('container=db')).to.equal(false)
    expect(m('event=die', 'event=stop')).to.equal(true)
    expect(m('event=start')).to.equal(false)
    expect(m('status=die')).to.equal(true)
    expect(m('image=busybox', 'type=container', 'label=tier=front')).to.equal(true)
    expect(m('label=tier=back')).to.equal(false)
    expect(() => m('colour=red')).to.throw(/invalid filter "colour=red"/)
  })

  it("image, network and volume events: Docker's shape, and each object filter selects its own type", () => {
    const pulled = objectEvent('image', 'pull', 'busybox:latest', {name: 'busybox'}, 1_700_000_000_000)
    expect(pulled).to.deep.include({status: 'pull', id: 'busybox:latest', Type: 'image', Action: 'pull', scope: 'local'})
    const net = objectEvent('network', 'create', 'f'.repeat(64), {name: 'back', type: 'bridge'})
    expect(net).to.not.have.property('status')
    expect(eventLine(net, 0)).to.match(/ network create f{64} \(name=back, type=bridge\)$/)
    const vol = objectEvent('volume', 'destroy', 'pgdata', {driver: 'local'})
    const tagged = objectEvent('image', 'tag', 'sha256:' + 'a'.repeat(64), {name: 'app:v1'})
    const m = (e: ReturnType<typeof objectEvent>, ...f: string[]) => eventMatches(e, parseEventFilters(f))
    expect(m(net, 'network=back')).to.equal(true)
    expect(m(net, 'network=fff')).to.equal(true)
    expect(m(net, 'network=front')).to.equal(false)
    expect(m(vol, 'volume=pgdata', 'type=volume', 'event=destroy')).to.equal(true)
    expect(m(vol, 'volume=other')).to.equal(false)
    expect(m(pulled, 'image=busybox')).to.equal(true)
    expect(m(tagged, 'image=app:v1')).to.equal(true)
    expect(m(tagged, 'image=sha256:aaaa')).to.equal(true)
    // An object filter never selects events of another type (a volume named like a container).
    expect(m(vol, 'container=pgdata')).to.equal(false)
    expect(m(containerEvent('start', {...web, name: 'pgdata'}), 'volume=pgdata')).to.equal(false)
    expect(m(pulled, 'network=busybox')).to.equal(false)
  })

  it('records, reads back in time order, skips a torn line, and follows appends', async () => {
    recordContainerEvent(paths(), 'create', web)
    recordContainerEvent(paths(), 'start', web)
    appendFileSync(eventsPath(paths()), '{"torn":')
    const {events, offset} = readEvents(paths())
    expect(events.map((e) => e.Action)).to.deep.equal(['create', 'start'])
    writeFileSync(eventsPath(paths()), '') // a rotation: the follower starts again at 0
    const seen: string[] = []
    const stop = followEvents(paths(), offset, (e) => seen.push(e.Action), 20)
    try {
      recordContainerEvent(paths(), 'stop', web)
      await new Promise((r) => setTimeout(r, 150))
      // A line written in two pieces is delivered once complete.
      const line = JSON.stringify(containerEvent('destroy', web))
      appendFileSync(eventsPath(paths()), line.slice(0, 20))
      await new Promise((r) => setTimeout(r, 100))
      appendFileSync(eventsPath(paths()), line.slice(20) + '\n')
      await new Promise((r) => setTimeout(r, 150))
    } finally {
      stop()
    }
    expect(seen).to.deep.equal(['stop', 'destroy'])
  })
})
