// bench/summary.js — the one results table of `npm run bench` (bench/run.js): every target of
// every benchmark, read from each suite's bench/results/*-latest.json, with the load average
// around each suite. Pure functions only (no I/O): test/unit/bench-summary.test.ts runs them on
// fixed inputs.
//
// Every suite writes `summaryRows` into its JSON, built with summaryRow():
//   {suite?, benchmark, ncx, peer, peerName, unit, ratio, target, met, note?}
// ncx and peer are numbers in `unit` (or null), ratio is ncx ÷ peer, target is the text of the
// target (null: reported only), met is true, false or null (no target, or nothing measured).

/**
 * The suites, in the order `--only all` runs them. `script`: run as a child process (bench/run.js
 * runs startup and commands itself, as one child of its own). `options`: the options of
 * bench/run.js the script also takes, passed through when given. `json`: its results file.
 */
export const SUITES = [
  {name: 'startup', script: 'run.js', json: 'startup-latest.json', about: '`run --rm`, `--version`, ncx-runtime alone (issue 2)'},
  {name: 'commands', script: 'run.js', json: 'startup-latest.json', about: 'every-day commands vs podman and `node -e 0` (issue 17)'},
  {name: 'pull', script: 'pull.js', json: 'pull-latest.json', options: ['runs', 'warmup', 'user', 'podman', 'keep'], about: 'cold pull of a 180 MB image (issues 3, 17)'},
  {name: 'net', script: 'net.js', json: 'net-latest.json', options: ['runs', 'user', 'podman', 'runc', 'keep'], about: 'iperf3 through -p and outbound, start with a network (issues 5, 17)'},
  {name: 'api', script: 'api.js', json: 'api-latest.json', options: ['runs', 'warmup', 'user', 'image', 'podman', 'runc', 'keep'], about: 'the docker client through the Engine API socket (issue 18)'},
  {name: 'compose', script: 'compose.js', json: 'compose-latest.json', options: ['runs', 'warmup', 'user', 'podman', 'runc', 'keep'], about: '`compose up -d` / `down` vs podman-compose (issue 8)'},
  {name: 'lifecycle', script: 'lifecycle.js', json: 'lifecycle-latest.json', options: ['runs', 'warmup', 'user', 'image', 'podman', 'runc', 'keep'], about: '`run -d`, `exec`, monitor memory (issue 4)'},
  {name: 'volumes', script: 'volumes.js', json: 'volumes-latest.json', options: ['runs', 'warmup', 'user', 'podman', 'runc', 'keep'], about: '`run --rm` with mounts (issue 6; no targets)'},
  {name: 'build', script: 'build.js', json: 'build-latest.json', options: ['runs', 'warmup', 'user', 'podman', 'runc', 'keep'], about: '`ncx build` vs `podman build` (issue 14)'},
  {name: 'completion', script: 'completion.js', json: 'completion-latest.json', options: ['runs', 'warmup', 'user', 'image', 'keep'], about: '`ncx stop <TAB>` (issues 9, 17)'},
  {name: 'oci-runtime', script: 'oci-runtime.js', json: 'oci-runtime-latest.json', options: ['runs'], about: 'ncx-runtime vs runc and crun on a bundle (issue 19)'},
]
export const SUITE_NAMES = SUITES.map((s) => s.name)
export const DEFAULT_SUITES = ['startup', 'commands']

/** `--only` → the suite names, in SUITES order; throws on an unknown name. `all` = every suite. */
export function parseOnly(list) {
  const asked = String(list).split(',').map((x) => x.trim()).filter(Boolean)
  if (asked.length === 0) throw new Error(`--only: no suite named (${SUITE_NAMES.join(', ')}, all)`)
  for (const n of asked) if (n !== 'all' && !SUITE_NAMES.includes(n)) throw new Error(`--only: unknown suite ${n} (${SUITE_NAMES.join(', ')}, all)`)
  return asked.includes('all') ? [...SUITE_NAMES] : SUITE_NAMES.filter((n) => asked.includes(n))
}

const finite = (x) => typeof x === 'number' && Number.isFinite(x)

/**
 * One row of a suite's `summaryRows`; ratio = ncx ÷ peer when both are numbers. `met` is given,
 * or judged here from the checks given: ratioMax (ratio ≤), ratioMin (ratio ≥), max (ncx ≤),
 * below (ncx <), min (ncx ≥); null when a number a check needs is missing, or there is no target.
 */
export function summaryRow({suite, benchmark, ncx, peer, peerName = 'podman', unit = 'ms', target = null, met, ratioMax, ratioMin, max, below, min, note}) {
  const ratio = finite(ncx) && finite(peer) && peer !== 0 ? ncx / peer : null
  const checks = [
    [ratioMax, () => ratio <= ratioMax, ratio],
    [ratioMin, () => ratio >= ratioMin, ratio],
    [max, () => ncx <= max, ncx],
    [below, () => ncx < below, ncx],
    [min, () => ncx >= min, ncx],
  ].filter(([limit]) => limit !== undefined)
  let verdict = null
  if (target != null && finite(ncx)) {
    if (typeof met === 'boolean') verdict = met
    else if (checks.length > 0 && checks.every(([, , value]) => finite(value))) verdict = checks.every(([, ok]) => ok())
  }
  return {
    ...(suite ? {suite} : {}),
    benchmark,
    ncx: finite(ncx) ? ncx : null,
    peer: finite(peer) ? peer : null,
    peerName: finite(peer) ? peerName : null,
    unit,
    ratio,
    target: target ?? null,
    met: verdict,
    ...(note ? {note} : {}),
  }
}

/**
 * The summary of one `npm run bench`: `run` = {date, node, kernel?, cpus?, load: {start, end}},
 * `results` = one entry per suite that was asked for: {name, status: 'ok' | 'failed',
 * exitCode, seconds, load: {start, end}, error?, json?, fresh?} (json: the parsed results file,
 * fresh: whether this run wrote it). Suites not in `results` are listed as not run.
 */
export function buildSummary({run, results}) {
  const rows = []
  const suites = []
  for (const r of results) {
    const def = SUITES.find((s) => s.name === r.name)
    const own = r.fresh && Array.isArray(r.json?.summaryRows) ? r.json.summaryRows.filter((x) => !x.suite || x.suite === r.name) : []
    let status = r.status
    let problem = r.error ? oneLine(r.error) : undefined
    if (r.status === 'ok' && !r.fresh) {
      status = 'failed'
      problem = `exit 0 but no new ${def?.json ?? 'results file'} was written`
    } else if (r.status === 'ok' && !Array.isArray(r.json?.summaryRows)) {
      status = 'failed'
      problem = `${def?.json ?? 'the results file'} has no summaryRows`
    }
    for (const x of own) rows.push({suite: r.name, ...x})
    if (status !== 'ok') rows.push({suite: r.name, benchmark: `(${r.name}: ${own.length ? 'incomplete' : 'not measured'})`, ncx: null, peer: null, peerName: null, unit: null, ratio: null, target: null, met: null, note: problem ?? 'failed'})
    suites.push({name: r.name, status, exitCode: r.exitCode ?? null, seconds: r.seconds ?? null, load: r.load ?? null, rows: own.length, ...(problem ? {problem} : {})})
  }
  const asked = new Set(results.map((r) => r.name))
  const notRun = SUITE_NAMES.filter((n) => !asked.has(n))
  const judged = rows.filter((x) => x.met !== null)
  return {
    run,
    rows,
    suites,
    notRun,
    counts: {rows: rows.length, targets: judged.length, met: judged.filter((x) => x.met).length, missed: judged.filter((x) => !x.met).length},
  }
}

function oneLine(text) {
  const lines = String(text).split('\n').map((l) => l.trim()).filter(Boolean)
  const line = lines.find((l) => /^(bench: |Error:)/.test(l)) ?? lines.find((l) => /error|fail|not found|not installed|missing/i.test(l)) ?? lines.at(-1) ?? ''
  return line.length > 300 ? `${line.slice(0, 297)}…` : line
}

/** A number in its unit, to about three significant digits. */
export function formatValue(x, unit) {
  if (!finite(x)) return '—'
  const n = Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)
  return unit ? `${n} ${unit}` : n
}

const loadText = (l) => (Array.isArray(l) ? l.map((x) => x.toFixed(2)).join(' ') : '—')
const cell = (s) => String(s).replaceAll('|', '\\|').replaceAll('\n', ' ')

/** The Markdown of a summary: the table of every target, then the suites with their load. */
export function renderSummary(summary) {
  const {run, rows, suites, notRun, counts} = summary
  const met = (x) => (x.met === null ? (x.target ? '—' : '— (info)') : x.met ? 'yes' : 'no')
  const table = [
    '| suite | benchmark | ncx | peer | ratio | target | met? |',
    '|---|---|---:|---:|---:|---|---|',
    ...rows.map(
      (x) =>
        `| ${x.suite} | ${cell(x.benchmark)} | ${formatValue(x.ncx, x.unit)} | ${x.peer === null ? '—' : `${formatValue(x.peer, x.unit)} (${cell(x.peerName)})`} | ` +
        `${x.ratio === null ? '—' : `${x.ratio.toFixed(2)}×`} | ${x.target === null ? '—' : cell(x.target)} | ${met(x)}${x.note ? `: ${cell(x.note)}` : ''} |`,
    ),
  ].join('\n')
  const suiteTable = [
    '| suite | status | time | load at start (1, 5, 15 min) | load at end |',
    '|---|---|---:|---|---|',
    ...suites.map((s) => `| ${s.name} | ${s.status === 'ok' ? 'ok' : `**${s.status}**${s.exitCode !== null && s.exitCode !== 0 ? ` (exit ${s.exitCode})` : ''}${s.problem ? `: ${cell(s.problem)}` : ''}`} | ${s.seconds === null ? '—' : `${s.seconds.toFixed(0)} s`} | ${loadText(s.load?.start)} | ${loadText(s.load?.end)} |`),
  ].join('\n')
  return [
    '## Summary: every target',
    '',
    `${run.date}; Node ${run.node}${run.kernel ? `; ${run.kernel}` : ''}${run.cpus ? `; ${run.cpus}` : ''}; load average (1, 5, 15 min) ${loadText(run.load?.start)} at the start, ${loadText(run.load?.end)} at the end.`,
    `${counts.targets} targets judged: ${counts.met} met, ${counts.missed} missed. ratio = ncx ÷ peer (for throughput, higher is better; the target says which way). Timings on a loaded machine are upper bounds: read the load of each suite below. Benchmarks, not tests: a missed target is a result.`,
    '',
    table,
    '',
    suiteTable,
    '',
    `Not run: ${notRun.length ? notRun.join(', ') : 'none'}${notRun.length ? ' (`npm run bench -- --only all`, or name them)' : ''}.`,
    '',
  ].join('\n')
}
