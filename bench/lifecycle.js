#!/usr/bin/env node
// bench/lifecycle.js — detached containers, side by side with podman+runc, in one run:
//   1. `run -d busybox sleep 1000`: wall time until the CLI returns (the container's process runs)
//   2. `exec C true`: the round trip of an exec into a running container
//   3. the per-container monitor's memory with 20 containers running: VmRSS (and Pss) of every
//      `ncx-monitor` versus every `conmon`
//
//   node bench/lifecycle.js [--runs N] [--warmup N] [--containers N] [--user NAME] [--image FILE]
//                           [--podman PATH] [--runc PATH] [--keep]
//
// Targets (issue 4): run -d ≤ 0.5× podman; exec ≤ 0.5× podman; monitor RSS ≤ 2 MiB per container.
// Both tools run as the same unprivileged user (`ncxtest` when started as root), with private
// stores deleted afterwards, on the same image (scripts/mkimage.js busybox) and without a network
// (`--network none` / `--net=none`). The timings are taken by a worker running as that user
// (spawnSync + hrtime, the two tools interleaved), so `runuser` is in none of them.
// Writes bench/RESULTS-lifecycle.md and bench/results/lifecycle-latest.json. Exit 0 whenever
// everything could run (a missed target is a result, not a failure); 1 when a tool could not run.

import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {BENCH_DIR, benchImage, benchOptions, benchTeardown, benchUser, failText, hostInfo, loadNcx, log, NCX_BIN, NODE, podmanStore, requireBuilt, sh, shJoin, stats, which} from './lib.js'
import {summaryRow} from './summary.js'

const TARGETS = {runDetached: 0.5, exec: 0.5, monitorMiB: 2}

// ------------------------------------------------------------------------------------------
// Worker: runs as the benchmark user.
// ------------------------------------------------------------------------------------------
if (process.argv[2] === '--worker') {
  worker(JSON.parse(fs.readFileSync(process.argv[3], 'utf8')))
  process.exit(0)
}

function timed(argv) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8'})
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.error || r.status !== 0) throw new Error(`${shJoin(argv)} failed (${r.error?.message ?? `exit ${r.status}`}):\n${(r.stderr ?? '').trim()}`)
  return {ms, stdout: r.stdout}
}

/** VmRSS and Pss (kB) of this user's processes named `comm` whose command line mentions `match` (this run's stores). */
function memoryOf(comm, match) {
  const rows = []
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== comm) continue
      if (fs.statSync(`/proc/${pid}`).uid !== process.getuid()) continue
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(match)) continue
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN)
      let pss = NaN
      try {
        pss = Number(/^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN)
      } catch {}
      rows.push({pid: Number(pid), rssKiB: rss, pssKiB: pss})
    } catch {}
  }
  return rows
}

function worker(spec) {
  const result = {tools: {}}
  const tools = spec.tools
  for (const t of tools) result.tools[t.key] = {runDetached: [], exec: [], errors: []}
  const run = (t, name) => [...t.cli, ...t.runArgs.map((a) => (a === '{NAME}' ? name : a))]
  const rm = (t, names) => spawnSync(t.cli[0], [...t.cli.slice(1), ...t.rm, ...names], {stdio: 'ignore'})
  // 1 + 2: interleaved (A B, B A, …): run -d a fresh container, exec into it, remove it.
  for (let i = 0; i < spec.warmup + spec.runs; i++) {
    for (const t of i % 2 ? [...tools].reverse() : tools) {
      const r = result.tools[t.key]
      if (r.errors.length > 0) continue
      const name = `lc-${t.key}-${i}`
      try {
        const a = timed(run(t, name))
        const b = timed([...t.cli, 'exec', name, 'true'])
        if (i >= spec.warmup) {
          r.runDetached.push(a.ms)
          r.exec.push(b.ms)
        }
      } catch (e) {
        r.errors.push(e.message)
      } finally {
        rm(t, [name])
      }
    }
  }
  // 3: N containers of each tool at once, then the monitors' memory.
  for (const t of tools) {
    const r = result.tools[t.key]
    const names = Array.from({length: spec.containers}, (_, i) => `mem-${t.key}-${i}`)
    try {
      for (const n of names) timed(run(t, n))
      r.monitors = memoryOf(t.monitorComm, spec.match)
    } catch (e) {
      r.errors.push(e.message)
    } finally {
      rm(t, names)
    }
  }
  fs.writeFileSync(spec.out, JSON.stringify(result, null, 2))
}

// ------------------------------------------------------------------------------------------
// Driver
// ------------------------------------------------------------------------------------------
const USAGE = `usage: node bench/lifecycle.js [options]
  --runs N          timed run -d / exec pairs per tool (default 15)
  --warmup N        untimed pairs first (default 2)
  --containers N    containers running at once for the memory measurement (default 20)
  --user NAME       unprivileged user when started as root (default ncxtest)
  --image FILE      busybox OCI tar (default: built with scripts/mkimage.js)
  --podman PATH     podman binary (default podman)
  --runc PATH       runc for podman --runtime (default /usr/sbin/runc)
  --keep            keep the temporary stores
`
const opts = benchOptions(USAGE, {
  runs: {type: 'string', default: '15'},
  warmup: {type: 'string', default: '2'},
  containers: {type: 'string', default: '20'},
  user: {type: 'string', default: 'ncxtest'},
  image: {type: 'string'},
  podman: {type: 'string', default: 'podman'},
  runc: {type: 'string', default: '/usr/sbin/runc'},
  keep: {type: 'boolean', default: false},
})
const RUNS = Number(opts.runs)
const WARMUP = Number(opts.warmup)
const CONTAINERS = Number(opts.containers)
if (![RUNS, CONTAINERS].every((n) => Number.isInteger(n) && n > 0) || !Number.isInteger(WARMUP) || WARMUP < 0) {
  process.stderr.write('bench: --runs and --containers must be positive integers, --warmup a non-negative integer\n')
  process.exit(2)
}
requireBuilt('node bench/lifecycle.js')

const U = benchUser({userName: opts.user, xdgBase: '/tmp/ncx-bench-lc-xdg'})
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'ncx-bench-lc-'))
U.ownedBy(WORK)
fs.chmodSync(WORK, 0o755)
U.prepareXdg()
const NCX_ROOT = path.join(WORK, 'ncx')
const PODMAN = which(opts.podman)
let podmanGlobal = []

const {cleanup, die} = benchTeardown(U, {keep: opts.keep, dirs: [WORK, U.XDG], ncxPaths: [NCX_ROOT], podmanBin: PODMAN, podman: () => podmanGlobal, podmanStore: path.join(WORK, 'podman')})

// The image, ncx's store and podman's (with the flags podman needs here): bench/lib.js.
const IMAGE = benchImage(U, {work: WORK, image: opts.image, die})
const ncxEnv = {NCX_ROOT}
const NCX = [NODE, NCX_BIN]
loadNcx(U, {ncx: NCX, env: ncxEnv, image: IMAGE, probe: ['run', '--rm', '--network', 'none', 'busybox', 'true'], die})
podmanGlobal = podmanStore(U, {podman: PODMAN, runc: opts.runc, work: WORK, image: IMAGE, die})

const tools = [
  {
    key: 'ncx',
    label: 'ncx',
    cli: NCX,
    runDetached: (name) => ['run', '-d', '--network', 'none', '--name', name, 'busybox', 'sleep', '1000'],
    rm: ['rm', '-f'],
    monitorComm: 'ncx-monitor',
  },
  {
    key: 'podman',
    label: 'podman + runc',
    cli: [PODMAN, ...podmanGlobal],
    runDetached: (name) => ['run', '-d', '--net=none', '--pull=never', '--name', name, 'busybox', 'sleep', '1000'],
    rm: ['rm', '-f', '-t', '0'],
    monitorComm: 'conmon',
  },
]
// The worker runs as the user, with NCX_ROOT in its environment (so no runuser or env in any timing).
const OUT = path.join(WORK, 'worker-out.json')
const specFile = path.join(WORK, 'worker-spec.json')
fs.writeFileSync(
  specFile,
  JSON.stringify({runs: RUNS, warmup: WARMUP, containers: CONTAINERS, out: OUT, match: WORK, tools: tools.map((t) => ({key: t.key, cli: t.cli, rm: t.rm, monitorComm: t.monitorComm, runArgs: t.runDetached('{NAME}')}))}),
)
fs.chmodSync(specFile, 0o644)
log(`timing run -d and exec (${WARMUP} warm-up + ${RUNS} runs per tool, interleaved), then ${CONTAINERS} containers per tool for memory`)
const w = U.runAsUser([NODE, fileURLToPath(import.meta.url), '--worker', specFile], ncxEnv, {stdio: ['ignore', 'pipe', 'pipe']})
if (!w.ok) die(`the worker failed:\n${failText(w)}`)
const raw = JSON.parse(fs.readFileSync(OUT, 'utf8'))

// ------------------------------------------------------------------------------------------
// Report
// ------------------------------------------------------------------------------------------
const med = (xs) => (xs.length > 0 ? stats(xs).median : NaN)
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a')
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a')
const summary = {}
for (const t of tools) {
  const r = raw.tools[t.key]
  const mons = r.monitors ?? []
  const rssMean = mons.length ? mons.reduce((a, m) => a + m.rssKiB, 0) / mons.length : NaN
  const pssMean = mons.length ? mons.reduce((a, m) => a + m.pssKiB, 0) / mons.length : NaN
  summary[t.key] = {
    runDetached: r.runDetached.length ? stats(r.runDetached) : null,
    exec: r.exec.length ? stats(r.exec) : null,
    monitors: mons.length,
    monitorRssKiB: rssMean,
    monitorPssKiB: pssMean,
    errors: r.errors,
  }
}
const n = summary.ncx
const p = summary.podman
const ratio = (a, b) => (a && b ? a.median / b.median : NaN)
const rows = [
  {what: '`run -d busybox sleep 1000` (ms, median)', ncx: f1(n.runDetached?.median), podman: f1(p.runDetached?.median), ratio: ratio(n.runDetached, p.runDetached), target: `≤ ${TARGETS.runDetached}×`, met: ratio(n.runDetached, p.runDetached) <= TARGETS.runDetached},
  {what: '`exec C true` (ms, median)', ncx: f1(n.exec?.median), podman: f1(p.exec?.median), ratio: ratio(n.exec, p.exec), target: `≤ ${TARGETS.exec}×`, met: ratio(n.exec, p.exec) <= TARGETS.exec},
  {
    what: `monitor VmRSS per container, ${CONTAINERS} running (MiB, mean)`,
    ncx: f2(n.monitorRssKiB / 1024),
    podman: f2(p.monitorRssKiB / 1024),
    ratio: n.monitorRssKiB / p.monitorRssKiB,
    target: `≤ ${TARGETS.monitorMiB} MiB`,
    met: n.monitorRssKiB / 1024 <= TARGETS.monitorMiB,
  },
  {what: `monitor Pss per container (MiB, mean; shared pages split)`, ncx: f2(n.monitorPssKiB / 1024), podman: f2(p.monitorPssKiB / 1024), ratio: n.monitorPssKiB / p.monitorPssKiB, target: '', met: undefined},
]
const env = {
  ...hostInfo(),
  ncx: sh(NODE, [NCX_BIN, '--version']).stdout.trim(),
  podman: sh(PODMAN, ['--version']).stdout.trim(),
  runc: sh(opts.runc, ['--version']).stdout.split('\n')[0].trim(),
  user: `${U.user.name} (uid ${U.user.uid})`,
  runs: RUNS,
  warmup: WARMUP,
  containers: CONTAINERS,
}
const summaryRows = [
  summaryRow({benchmark: '`run -d busybox sleep 1000`', ncx: n.runDetached?.median, peer: p.runDetached?.median, target: `≤ ${TARGETS.runDetached}× podman`, ratioMax: TARGETS.runDetached}),
  summaryRow({benchmark: '`exec C true`', ncx: n.exec?.median, peer: p.exec?.median, target: `≤ ${TARGETS.exec}× podman`, ratioMax: TARGETS.exec}),
  summaryRow({benchmark: `monitor VmRSS per container (${CONTAINERS} running; podman: conmon)`, ncx: n.monitorRssKiB / 1024, peer: p.monitorRssKiB / 1024, unit: 'MiB', target: `≤ ${TARGETS.monitorMiB} MiB`, max: TARGETS.monitorMiB}),
]
const table = [
  '| measurement | ncx | podman + runc | ncx / podman | target | met |',
  '|---|---:|---:|---:|---|---|',
  ...rows.map((r) => `| ${r.what} | ${r.ncx} | ${r.podman} | ${f2(r.ratio)} | ${r.target} | ${r.met === undefined ? '' : r.met ? 'yes' : '**no**'} |`),
].join('\n')
const errors = tools.flatMap((t) => summary[t.key].errors.map((e) => `- ${t.label}: ${e.split('\n')[0]}`))
const md = `# Lifecycle benchmark: detached containers, ncx vs podman + runc

Generated by \`node bench/lifecycle.js\` on ${env.date}.

${table}

- \`run -d\`: wall time of the CLI, which returns once the container's process runs (both tools).
  ncx: \`${shJoin(['ncx', ...tools[0].runDetached('NAME')])}\`; podman: \`${shJoin(['podman', ...podmanGlobal, ...tools[1].runDetached('NAME')])}\`.
- \`exec\`: \`exec NAME true\` into the container just started, wall time.
- Memory: with ${CONTAINERS} containers of each tool running, VmRSS and Pss (from /proc/PID/status and smaps_rollup)
  of every \`ncx-monitor\` (${n.monitors} found) and every \`conmon\` (${p.monitors} found), averaged.
- Spread (ms, min–max): ncx run -d ${f1(n.runDetached?.min)}–${f1(n.runDetached?.max)}, podman run -d ${f1(p.runDetached?.min)}–${f1(p.runDetached?.max)};
  ncx exec ${f1(n.exec?.min)}–${f1(n.exec?.max)}, podman exec ${f1(p.exec?.min)}–${f1(p.exec?.max)}.
${errors.length ? `\nErrors:\n${errors.join('\n')}\n` : ''}
Environment: ${env.kernel}; ${env.cpus}; load ${env.load}; Node ${env.node}; ${env.ncx}; ${env.podman}; ${env.runc};
user ${env.user}; ${WARMUP} warm-up + ${RUNS} timed runs per tool, the tools interleaved.
`
fs.mkdirSync(path.join(BENCH_DIR, 'results'), {recursive: true})
fs.writeFileSync(path.join(BENCH_DIR, 'RESULTS-lifecycle.md'), md)
fs.writeFileSync(path.join(BENCH_DIR, 'results', 'lifecycle-latest.json'), `${JSON.stringify({env, targets: TARGETS, summary, raw, summaryRows}, null, 2)}\n`)
process.stdout.write(`${table}\n`)
cleanup()
