/**
 * bench/summary.js: the one table of `npm run bench` (every target of every suite, with the
 * load of each), built from the suites' results files. Fixed inputs, no timings.
 */
import {expect} from 'chai'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

interface Row {
  suite?: string
  benchmark: string
  ncx: number | null
  peer: number | null
  peerName: string | null
  unit: string | null
  ratio: number | null
  target: string | null
  met: boolean | null
  note?: string
}
interface SuiteResult {
  name: string
  status: 'ok' | 'failed'
  exitCode?: number | null
  seconds?: number
  load?: {start: number[]; end: number[]}
  error?: string
  json?: {summaryRows?: Row[]}
  fresh?: boolean
}
interface Summary {
  rows: Row[]
  suites: Array<{name: string; status: string; rows: number; problem?: string}>
  notRun: string[]
  counts: {rows: number; targets: number; met: number; missed: number}
}
interface SummaryModule {
  SUITE_NAMES: string[]
  parseOnly(list: string): string[]
  summaryRow(r: Record<string, unknown>): Row
  buildSummary(input: {run: Record<string, unknown>; results: SuiteResult[]}): Summary
  renderSummary(s: Summary): string
}

// (a plain JavaScript module of the benchmarks, loaded by path: it has no type declarations)
const modulePath = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'summary.js')).href
let m: SummaryModule

describe('bench/summary.js: the summary of npm run bench', () => {
  before(async () => {
    m = (await import(modulePath)) as SummaryModule
  })

  it('--only: names in the suites\' order, all = every suite, an unknown name is refused', () => {
    expect(m.parseOnly('commands,startup')).to.deep.equal(['startup', 'commands'])
    expect(m.parseOnly('all')).to.deep.equal(m.SUITE_NAMES)
    expect(m.SUITE_NAMES).to.include.members(['pull', 'net', 'api', 'compose', 'lifecycle', 'volumes', 'build', 'completion', 'oci-runtime'])
    expect(() => m.parseOnly('startup,nope')).to.throw(/unknown suite nope/)
    expect(() => m.parseOnly(' , ')).to.throw(/no suite/)
  })

  it('a row judges its target from the numbers: ratio ≤, ratio ≥, absolute limits; nothing measured is not judged', () => {
    const within = m.summaryRow({benchmark: 'a', ncx: 40, peer: 100, target: '≤ 0.5× podman', ratioMax: 0.5})
    expect(within.ratio).to.equal(0.4)
    expect(within.met).to.equal(true)
    expect(m.summaryRow({benchmark: 'b', ncx: 60, peer: 100, target: '≤ 0.5× podman', ratioMax: 0.5}).met).to.equal(false)
    expect(m.summaryRow({benchmark: 'c', ncx: 25, peer: 10, unit: 'Gbit/s', target: '≥ 20 and ≥ 2×', min: 20, ratioMin: 2}).met).to.equal(true)
    expect(m.summaryRow({benchmark: 'd', ncx: 19, peer: 5, unit: 'Gbit/s', target: '≥ 20 and ≥ 2×', min: 20, ratioMin: 2}).met).to.equal(false)
    expect(m.summaryRow({benchmark: 'e', ncx: 150, target: '< 150 ms', below: 150}).met).to.equal(false)
    const missing = m.summaryRow({benchmark: 'f', ncx: undefined, peer: 100, target: '≤ 0.5× podman', ratioMax: 0.5})
    expect(missing).to.include({ncx: null, ratio: null, met: null})
    const info = m.summaryRow({benchmark: 'g', ncx: 12, peer: 30})
    expect(info).to.include({target: null, met: null})
    expect(m.summaryRow({benchmark: 'h', ncx: 30, peer: 40, target: '≤ 1×', met: false}).met, 'a verdict given by the suite').to.equal(false)
  })

  it('the summary: every row of every suite, a failed or silent suite as a row saying so, the suites not run, the counts', () => {
    const load = {start: [0.5, 0.4, 0.3], end: [1.5, 0.6, 0.35]}
    const summary = m.buildSummary({
      run: {date: '2026-12-05T12:00:00Z', node: 'v20.20.2', load},
      results: [
        {name: 'startup', status: 'ok', exitCode: 0, seconds: 30, load, fresh: true, json: {summaryRows: [
          m.summaryRow({suite: 'startup', benchmark: 'run --rm', ncx: 50, peer: 150, target: '≤ 0.5×', ratioMax: 0.5}),
          m.summaryRow({suite: 'commands', benchmark: 'ps', ncx: 25, peer: 24, target: '≤ 1×', ratioMax: 1}),
        ]}},
        {name: 'pull', status: 'failed', exitCode: 1, seconds: 3, load, error: 'pulling…\nbench: podman not found\n', fresh: false},
        {name: 'completion', status: 'ok', exitCode: 0, seconds: 5, load, fresh: false, json: {summaryRows: []}},
      ],
    })
    // startup's file also holds the commands rows: only its own count here
    expect(summary.rows.map((r) => `${r.suite} ${r.benchmark} ${r.met}`)).to.deep.equal([
      'startup run --rm true',
      'pull (pull: not measured) null',
      'completion (completion: not measured) null',
    ])
    expect(summary.suites.map((s) => `${s.name} ${s.status}`)).to.deep.equal(['startup ok', 'pull failed', 'completion failed'])
    expect(summary.suites[1].problem).to.equal('bench: podman not found')
    expect(summary.suites[2].problem).to.match(/no new completion-latest.json/)
    expect(summary.notRun).to.include.members(['commands', 'net', 'oci-runtime'])
    expect(summary.counts).to.deep.equal({rows: 3, targets: 1, met: 1, missed: 0})

    const md = m.renderSummary(summary)
    expect(md).to.contain('| startup | run --rm | 50.0 ms | 150 ms (podman) | 0.33× | ≤ 0.5× | yes |')
    expect(md).to.contain('1 targets judged: 1 met, 0 missed')
    expect(md).to.contain('| pull | **failed** (exit 1): bench: podman not found | 3 s | 0.50 0.40 0.30 | 1.50 0.60 0.35 |')
    expect(md).to.match(/Not run: commands, net, /)
  })
})
