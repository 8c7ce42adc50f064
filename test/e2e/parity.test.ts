/**
 * The differential parity suite: every command line of test/e2e/parity/cases.ts is run
 * against ncx and judged against Docker's behaviour (exit code, stdout, gist of stderr).
 *
 * - ncx: a case that does not behave as Docker fails, unless it carries a `known` reason;
 *   such a case has to keep failing (when it starts to match, the marker must go), so the
 *   match rate printed at the end, and written in the README, stays measured.
 * - Reference (only where dockerd can run: root and Debian's docker.io): the same table
 *   against a private Docker Engine, once per Docker client on this machine, to check the
 *   expectations themselves. Without dockerd these tests are reported as pending, never
 *   as passed.
 */
import {expect} from 'chai'

import {CASES, FIXTURES} from './parity/cases.js'
import {Cli, DockerCli, NcxCli, dockerClients, dockerdAvailable} from './parity/driver.js'
import {Case, judge} from './parity/table.js'

function runCase(cli: Cli, c: Case): string[] {
  if (c.setup) {
    const s = cli.sh(c.setup, {timeout: 120_000})
    if (s.code !== 0) return [`setup failed (exit ${s.code}): ${s.stderr.slice(0, 500)}`]
  }
  try {
    return judge(c, cli.sh(c.sh, {input: c.input, timeout: c.timeout ?? 60_000}))
  } finally {
    if (c.cleanup) cli.sh(c.cleanup, {timeout: 120_000})
  }
}

function fixtures(cli: Cli): void {
  const r = cli.sh(FIXTURES, {timeout: 300_000})
  if (r.code !== 0) throw new Error(`parity fixtures failed on ${cli.label} (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
}

describe('parity with Docker: ncx against the table (test/e2e/parity/cases.ts)', function () {
  this.timeout(180_000)
  const cli = new NcxCli()
  const mismatched: Case[] = []
  let ran = 0
  before(() => fixtures(cli))
  after(() => {
    if (ran > 0) {
      const matched = ran - mismatched.length
      const byArea = new Map<string, number>()
      for (const c of mismatched) byArea.set(c.area, (byArea.get(c.area) ?? 0) + 1)
      const areas = [...byArea].map(([a, n]) => `${a} ${n}`).join(', ')
      const of = ran === CASES.length ? `${ran}` : `${ran} run (of ${CASES.length})`
      process.stdout.write(`\n    parity: ${matched} of ${of} command lines behave as Docker (${((100 * matched) / ran).toFixed(1)}%)${areas ? `; differing: ${areas}` : ''}\n`)
    }
    cli.close()
  })

  for (const c of CASES) {
    it(`${c.known ? '[known difference] ' : ''}${c.area}: ${c.title}`, function () {
      if (c.timeout) this.timeout(c.timeout + 60_000)
      const problems = runCase(cli, c)
      ran++
      if (problems.length > 0) mismatched.push(c)
      if (c.known) {
        expect(problems, `now behaves as Docker: remove its "known" marker (${c.known})`).to.not.be.empty
      } else {
        expect(problems, `${c.sh}\n  (expected per ${c.source})`).to.deep.equal([])
      }
    })
  }
})

describe('parity with Docker: the table against Docker Engine itself (reference)', function () {
  const available = dockerdAvailable()
  const clients = available.dockerd ? dockerClients() : []
  if (!available.dockerd || clients.length === 0) {
    it(`checks the expectations against dockerd (skipped: ${available.reason ?? 'no docker client'})`, function () {
      this.skip()
    })
    return
  }
  for (const client of clients) {
    describe(`with the client ${client}`, function () {
      this.timeout(180_000)
      const cli = new DockerCli(available.dockerd!, client)
      before(function () {
        this.timeout(300_000)
        cli.start()
        fixtures(cli)
      })
      after(function () {
        this.timeout(120_000)
        cli.close()
      })
      for (const c of CASES) {
        it(`${c.area}: ${c.title}`, function () {
          if (c.referenceSkip) this.skip()
          if (c.timeout) this.timeout(c.timeout + 60_000)
          expect(runCase(cli, c), `${c.sh}\n  (${cli.label}; expectation from ${c.source})`).to.deep.equal([])
        })
      }
    })
  }
})
