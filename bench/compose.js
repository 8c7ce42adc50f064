#!/usr/bin/env node
// bench/compose.js — `compose up -d` and `compose down` of a 5-service project, side by side:
// `ncx compose` versus `podman-compose` (Debian's, driving podman with runc), same image, same
// compose file, the same unprivileged user, interleaved in one run.
//
//   node bench/compose.js [--runs N] [--warmup N] [--user NAME] [--podman PATH] [--runc PATH] [--keep]
//
// Target (issue 8): ≤ 0.5× podman-compose's wall time for each of up -d and down.
// The project: five busybox services (a chain of depends_on plus independent ones) on the
// project's default network; each service's process exits promptly on SIGTERM, so `down`
// measures the tools, not a stop timeout. Times are wall clock of the whole CLI invocation
// (spawned through runuser for both tools alike). Writes bench/RESULTS-compose.md and
// bench/results/compose-latest.json.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {BENCH_DIR, benchOptions, benchTeardown, benchUser, failText, hostInfo, log, NCX_BIN, NO_SYSTEMD_FLAGS, NODE, REPO, requireBuilt, runsAndWarmup, sh, stats, which} from './lib.js'
import {summaryRow} from './summary.js'

const USAGE = `usage: node bench/compose.js [--runs N] [--warmup N] [--user NAME] [--podman PATH] [--runc PATH] [--keep]\n`
const opts = benchOptions(USAGE, {
  runs: {type: 'string', default: '7'},
  warmup: {type: 'string', default: '1'},
  user: {type: 'string', default: 'ncxtest'},
  podman: {type: 'string', default: 'podman'},
  'podman-compose': {type: 'string', default: 'podman-compose'},
  runc: {type: 'string', default: '/usr/sbin/runc'},
  keep: {type: 'boolean', default: false},
})
const {runs: RUNS, warmup: WARMUP} = runsAndWarmup(opts)
const TARGET = 0.5
requireBuilt('node bench/compose.js')

const U = benchUser({userName: opts.user, xdgBase: '/tmp/ncx-bench-compose-xdg'})
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'ncx-bench-compose-'))
U.ownedBy(WORK)
fs.chmodSync(WORK, 0o755)
U.prepareXdg()
const NCX_ROOT = path.join(WORK, 'ncx')
const PODMAN = which(opts.podman)
const PODMAN_COMPOSE = which(opts['podman-compose'])
let podmanGlobal = []

const {cleanup, die} = benchTeardown(U, {keep: opts.keep, dirs: [WORK, U.XDG], ncxPaths: [NCX_ROOT], podmanBin: PODMAN, podman: () => podmanGlobal, podmanStore: path.join(WORK, 'podman')})
if (!PODMAN) die('podman not found')
if (!PODMAN_COMPOSE) die('podman-compose not found: apt-get install podman-compose')

// The image and the project.
const imageDir = path.join(WORK, 'image')
U.mkdirUser(imageDir)
fs.chmodSync(imageDir, 0o755)
{
  const r = U.runAsUser([NODE, path.join(REPO, 'scripts', 'mkimage.js'), 'busybox', '--out', imageDir])
  if (!r.ok) die(`mkimage failed:\n${failText(r)}`)
}
const IMAGE = path.join(imageDir, 'busybox.oci.tar')
const projectDir = path.join(WORK, 'project')
U.mkdirUser(projectDir)
fs.chmodSync(projectDir, 0o755)
const svc = (deps) => `    image: docker.io/library/busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
${deps.length ? `    depends_on: [${deps.join(', ')}]\n` : ''}`
const COMPOSE = `services:
  db:
${svc([])}  cache:
${svc([])}  api:
${svc(['db', 'cache'])}  worker:
${svc(['db'])}  web:
${svc(['api'])}`
fs.writeFileSync(path.join(projectDir, 'compose.yaml'), COMPOSE, {mode: 0o644})

// ncx: the same image (podman names it docker.io/library/busybox:latest; so does ncx).
const ncxEnv = {NCX_ROOT}
for (const argv of [[NODE, NCX_BIN, 'load', '-i', IMAGE]]) {
  const r = U.runAsUser(argv, ncxEnv)
  if (!r.ok) die(`${argv.join(' ')} failed:\n${failText(r)}`)
}
// podman: private stores, runc, no systemd.
U.mkdirUser(path.join(WORK, 'podman'))
{
  const base = ['--runtime', opts.runc, '--root', path.join(WORK, 'podman', 'root'), '--runroot', path.join(WORK, 'podman', 'run'), '--storage-driver', 'overlay']
  const load = U.runAsUser([PODMAN, ...base, 'load', '-i', IMAGE])
  if (!load.ok) die(`podman load failed:\n${failText(load)}`)
  for (const extra of [[], NO_SYSTEMD_FLAGS]) {
    if (U.runAsUser([PODMAN, ...base, ...extra, 'run', '--rm', '--net=none', 'docker.io/library/busybox:latest', 'true']).ok) {
      podmanGlobal = [...base, ...extra]
      break
    }
  }
  if (podmanGlobal.length === 0) die('podman cannot run busybox here')
}

const tools = [
  {key: 'ncx', label: 'ncx compose', up: [NODE, NCX_BIN, 'compose', '-p', 'bench', 'up', '-d'], down: [NODE, NCX_BIN, 'compose', '-p', 'bench', 'down'], env: ncxEnv},
  {
    key: 'podman-compose',
    label: 'podman-compose (podman + runc)',
    up: [PODMAN_COMPOSE, '--podman-path', PODMAN, '--podman-args', podmanGlobal.join(' '), '-p', 'bench', 'up', '-d'],
    down: [PODMAN_COMPOSE, '--podman-path', PODMAN, '--podman-args', podmanGlobal.join(' '), '-p', 'bench', 'down'],
    env: {},
  },
]

function timed(t, argv) {
  const t0 = process.hrtime.bigint()
  const r = U.runAsUser(['sh', '-c', `cd ${projectDir} && exec "$@"`, 'sh', ...argv], t.env)
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (!r.ok) throw new Error(`${t.label}: ${argv.slice(-2).join(' ')} failed:\n${failText(r)}`)
  return ms
}

const results = Object.fromEntries(tools.map((t) => [t.key, {up: [], down: []}]))
try {
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (const t of i % 2 ? [...tools].reverse() : tools) {
      const up = timed(t, t.up)
      const down = timed(t, t.down)
      if (i >= WARMUP) {
        results[t.key].up.push(up)
        results[t.key].down.push(down)
      }
      log(`${t.key} run ${i + 1}: up ${up.toFixed(0)} ms, down ${down.toFixed(0)} ms`)
    }
  }
} catch (e) {
  die(e.message)
}

const s = (k, op) => stats(results[k][op])
const rows = ['up', 'down'].map((op) => {
  const n = s('ncx', op)
  const p = s('podman-compose', op)
  return {op, ncx: n, podman: p, ratio: n.median / p.median}
})
const host = hostInfo()
const md = `# compose benchmark: ncx compose vs podman-compose

\`node bench/compose.js --runs ${RUNS} --warmup ${WARMUP}\` — a 5-service busybox project (db, cache,
api → db+cache, worker → db, web → api; default network; processes exit on SIGTERM),
\`compose up -d\` then \`compose down\`, the two tools interleaved in one run as the same
unprivileged user. podman-compose ${sh('dpkg-query', ['-W', '-f', '${Version}', 'podman-compose']).stdout || '(unknown version)'} drives podman with \`--runtime ${opts.runc}\`.
Wall time of the whole CLI invocation (through runuser, alike for both), milliseconds.

| operation | ncx median | podman-compose median | ratio | target | ncx min–max | podman-compose min–max |
|---|---|---|---|---|---|---|
${rows.map((r) => `| \`${r.op === 'up' ? 'up -d' : 'down'}\` | ${r.ncx.median.toFixed(0)} | ${r.podman.median.toFixed(0)} | ${r.ratio.toFixed(2)}× | ≤ ${TARGET}× ${r.ratio <= TARGET ? '✔' : '✘'} | ${r.ncx.min.toFixed(0)}–${r.ncx.max.toFixed(0)} | ${r.podman.min.toFixed(0)}–${r.podman.max.toFixed(0)} |`).join('\n')}

Host: ${host.cpus}, ${host.kernel}, load ${host.load} at the start. ${RUNS} runs after ${WARMUP} warm-up. The load average above says how busy
the machine was: with other work running the numbers are noisy; the ratio is what to read.
`
fs.mkdirSync(path.join(BENCH_DIR, 'results'), {recursive: true})
fs.writeFileSync(path.join(BENCH_DIR, 'results', 'compose-latest.json'), JSON.stringify({runs: RUNS, warmup: WARMUP, results, rows, summaryRows: rows.map((r) => summaryRow({benchmark: `\`compose ${r.op === 'up' ? 'up -d' : 'down'}\`, 5 services`, ncx: r.ncx.median, peer: r.podman.median, peerName: 'podman-compose', target: `≤ ${TARGET}× podman-compose`, ratioMax: TARGET}))}, null, 2))
fs.writeFileSync(path.join(BENCH_DIR, 'RESULTS-compose.md'), md)
process.stdout.write(md)
cleanup()
