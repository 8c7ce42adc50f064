import {expect} from 'chai'

import {Column, humanDuration, humanSize, lazyField, renderList, renderTable} from '../../src/cli/output.js'
import {UsageError} from '../../src/engine/errors.js'

interface Row {
  repo: string
  tag: string
  size: string
}
const rows: Row[] = [
  {repo: 'busybox', tag: 'latest', size: '4.26MB'},
  {repo: 'localhost:5000/team/app', tag: '1', size: '12MB'},
]
const columns: Column<Row>[] = [
  {header: 'REPOSITORY', value: (r) => r.repo},
  {header: 'TAG', value: (r) => r.tag},
  {header: 'SIZE', value: (r) => r.size},
]
const toData = (r: Row) => ({Repository: r.repo, Tag: r.tag, Size: r.size})

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

describe('output (src/cli/output.ts)', () => {
  describe('renderTable', () => {
    it('pads each column to its widest cell plus three spaces, except the last', () => {
      const cols: Column<Row>[] = [
        {header: 'REPOSITORY', value: (r) => r.repo},
        {header: 'SIZE', value: (r) => r.size},
      ]
      expect(renderTable(rows, cols)).to.equal(
        ['REPOSITORY                SIZE', 'busybox                   4.26MB', 'localhost:5000/team/app   12MB', ''].join('\n'),
      )
    })

    it('uses the header width when it is the widest cell', () => {
      const out = renderTable([{repo: 'a', tag: 'b', size: 'c'}], [columns[0], columns[2]])
      expect(out).to.equal('REPOSITORY   SIZE\na            c\n')
    })

    it('prints only the header for no rows', () => {
      // As `docker images` on an empty store: "TAG" padded to the 10-column minimum.
      expect(renderTable([], columns)).to.equal("REPOSITORY   TAG       SIZE\n")
    })

    it('does not leave trailing spaces when the last cell is empty', () => {
      const out = renderTable([{repo: 'x', tag: '', size: ''}], [columns[0], columns[1]])
      for (const line of out.split('\n')) expect(line).to.equal(line.trimEnd())
    })

    // Docker's formatter uses tabwriter.NewWriter(out, 10, 1, 3, ' ', 0): minwidth 10, so
    // `docker images` prints "TAG       " / "latest    " (a 10-wide column), not 9.
    it('gives every padded column a minimum width of 10, like Docker\'s tabwriter', () => {
      expect(renderTable([rows[0]], columns)).to.equal('REPOSITORY   TAG       SIZE\nbusybox      latest    4.26MB\n')
    })
  })

  describe('renderList', () => {
    it('renders the default table for no format, "" and "table"', () => {
      const table = renderTable(rows, columns)
      expect(renderList(rows, columns, undefined, toData)).to.equal(table)
      expect(renderList(rows, columns, '', toData)).to.equal(table)
      expect(renderList(rows, columns, 'table', toData)).to.equal(table)
    })

    it('renders json as one object per line', () => {
      const out = renderList(rows, columns, 'json', toData)
      const lines = out.split('\n')
      expect(lines).to.have.length(3)
      expect(lines[2]).to.equal('')
      expect(JSON.parse(lines[0])).to.deep.equal({Repository: 'busybox', Tag: 'latest', Size: '4.26MB'})
      expect(JSON.parse(lines[1]).Repository).to.equal('localhost:5000/team/app')
      expect(renderList([], columns, 'json', toData)).to.equal('')
    })

    it('renders a plain template one line per row, without a header', () => {
      expect(renderList(rows, columns, '{{.Repository}}:{{.Tag}}', toData)).to.equal('busybox:latest\nlocalhost:5000/team/app:1\n')
    })

    it('aligns a table template with a derived header', () => {
      expect(renderList(rows, columns, 'table {{.Repository}}\\t{{.Size}}', toData)).to.equal(
        ['REPOSITORY                SIZE', 'busybox                   4.26MB', 'localhost:5000/team/app   12MB', ''].join('\n'),
      )
    })

    it('propagates template errors', () => {
      expect(() => renderList(rows, columns, '{{nope .X}}', toData)).to.throw(UsageError)
    })
  })

  describe('humanSize (go-units HumanSizeWithPrecision(n, 3))', () => {
    const cases: Array<[number, string]> = [
      [0, '0B'],
      [999, '999B'],
      [1000, '1kB'],
      [1500, '1.5kB'],
      [2130000, '2.13MB'],
      [4_261_000, '4.26MB'],
      [1_234_567_890, '1.23GB'],
      [5e12, '5TB'],
      [7e15, '7PB'],
    ]
    for (const [bytes, want] of cases) {
      it(`${bytes} → ${want}`, () => expect(humanSize(bytes)).to.equal(want))
    }
  })

  describe('humanDuration (go-units HumanDuration)', () => {
    const cases: Array<[number, string]> = [
      [0, 'Less than a second'],
      [400, 'Less than a second'],
      [SECOND, '1 second'],
      [30 * SECOND, '30 seconds'],
      [59 * SECOND, '59 seconds'],
      [MINUTE, 'About a minute'],
      [5 * MINUTE, '5 minutes'],
      [59 * MINUTE, '59 minutes'],
      [HOUR, 'About an hour'],
      [2 * HOUR, '2 hours'],
      [47 * HOUR, '47 hours'],
      [3 * DAY, '3 days'],
      [13 * DAY, '13 days'],
      [3 * 7 * DAY, '3 weeks'],
      [90 * DAY, '3 months'],
      [3 * 365 * DAY, '3 years'],
    ]
    for (const [ms, want] of cases) {
      it(`${ms}ms → ${want}`, () => expect(humanDuration(ms)).to.equal(want))
    }

    // go-units truncates seconds and minutes (int(d.Seconds()), int(d.Minutes())); only hours
    // are rounded. ncx rounds all three.
    it('truncates seconds: 600ms → "Less than a second", 1.5s → "1 second", 59.5s → "59 seconds"', () => {
      expect(humanDuration(600)).to.equal('Less than a second')
      expect(humanDuration(1500)).to.equal('1 second')
      expect(humanDuration(59_500)).to.equal('59 seconds')
    })
    it('truncates minutes: 90s → "About a minute"', () => {
      expect(humanDuration(90 * SECOND)).to.equal('About a minute')
    })
  })
})

describe('lazyField', () => {
  it('computes on first read only, in the key\'s own place for JSON, templates and spreads', () => {
    let calls = 0
    const row = lazyField({ID: 'a', CreatedAt: '', Size: '1B'}, 'CreatedAt', () => `t${++calls}`)
    expect(calls).to.equal(0)
    expect(JSON.stringify(row)).to.equal('{"ID":"a","CreatedAt":"t1","Size":"1B"}')
    expect({...row}).to.deep.equal({ID: 'a', CreatedAt: 't1', Size: '1B'})
    expect(renderList([row], [], '{{.ID}} {{.CreatedAt}}', (r) => r)).to.equal('a t1\n')
    expect(calls).to.equal(1)
  })
})

