import {expect} from 'chai'

import {logPrefixer} from '../../src/cli/compose.js'
import {colorEnabled, interactive, palette, spinnersEnabled} from '../../src/cli/style.js'

describe('terminal niceties', () => {
  const tty = {isTTY: true}
  const pipe = {isTTY: false}

  it('colours only on a TTY, never with NO_COLOR or TERM=dumb', () => {
    expect(colorEnabled(tty, {})).to.equal(true)
    expect(colorEnabled(pipe, {})).to.equal(false)
    expect(colorEnabled(tty, {NO_COLOR: '1'})).to.equal(false)
    expect(colorEnabled(tty, {NO_COLOR: ''})).to.equal(true) // no-color.org: set and non-empty
    expect(colorEnabled(tty, {TERM: 'dumb'})).to.equal(false)
    expect(palette(pipe, {}).red('x')).to.equal('x')
    expect(palette(tty, {NO_COLOR: '1'}).red('x')).to.equal('x')
    expect(palette(tty, {}).red('x')).to.equal('\u001b[31mx\u001b[39m')
  })

  it('prompts only with a terminal on both ends and never in CI', () => {
    expect(interactive({}, tty, tty)).to.equal(true)
    expect(interactive({}, pipe, tty)).to.equal(false)
    expect(interactive({}, tty, pipe)).to.equal(false)
    expect(interactive({CI: 'true'}, tty, tty)).to.equal(false)
    expect(interactive({CI: '1'}, tty, tty)).to.equal(false)
    expect(interactive({CI: 'false'}, tty, tty)).to.equal(true)
  })

  it('spins only on a terminal with a size, not in CI, not with NO_COLOR', () => {
    const sized = {isTTY: true, columns: 80}
    expect(spinnersEnabled(sized, {})).to.equal(true)
    expect(spinnersEnabled({isTTY: true, columns: 0}, {})).to.equal(false)
    expect(spinnersEnabled(tty, {})).to.equal(false)
    expect(spinnersEnabled(sized, {CI: 'true'})).to.equal(false)
    expect(spinnersEnabled(pipe, {})).to.equal(false)
    expect(spinnersEnabled(tty, {CI: 'true'})).to.equal(false)
    expect(spinnersEnabled(tty, {NO_COLOR: '1'})).to.equal(false)
  })

  it('compose log prefixes colour exactly when asked (`--ansi always` on a pipe too), through style.ts', () => {
    const coloured = logPrefixer(['p-web-1', 'p-db-1'], true)
    expect(coloured('p-web-1')).to.equal('\u001b[36mp-web-1  | \u001b[39m')
    expect(coloured('p-db-1')).to.equal('\u001b[33mp-db-1   | \u001b[39m')
    expect(logPrefixer(['p-web-1'], false)('p-web-1')).to.equal('p-web-1  | ')
  })
})
