#!/usr/bin/env node
// bench/build.js — `ncx build` versus `podman build` (buildah, driving runc), side by side in
// one run: the same multi-stage Dockerfile, the same context, the same busybox base image, the
// same unprivileged user, the two tools interleaved.
//
//   node bench/build.js [--runs N] [--warmup N] [--user NAME] [--podman PATH] [--runc PATH] [--keep]
//
// Targets (the build issue):
//   cold     a multi-stage build with every step run (--no-cache)          ≤ 0.5× podman
//   change   a rebuild after one source file that only the last stage copies changed   ≤ 0.3×
//   no-op    a rebuild where every step is cached                          ≤ 0.3× and < 300 ms
// Times are the wall clock of the whole CLI invocation (through runuser, alike for both), in
// milliseconds. ncx runs without NODE_EXTRA_CA_CERTS (this workplace sets it; users rarely do:
// it adds ~50 ms to every Node start); the no-op rebuild is also measured with it, for the record.
// podman uses its overlay storage driver (kernel overlay in its user namespace), as ncx does.
// Writes bench/RESULTS-build.md and bench/results/build-latest.json.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {BENCH_DIR, benchImage, benchOptions, benchTeardown, benchUser, failText, hostInfo, loadNcx, log, NCX_BIN, NODE, podmanStore, requireBuilt, runsAndWarmup, sh, stats, which} from './lib.js'
import {summaryRow} from './summary.js'

const USAGE = `usage: node bench/build.js [--runs N] [--warmup N] [--user NAME] [--podman PATH] [--runc PATH] [--keep]\n`
const opts = benchOptions(USAGE, {
  runs: {type: 'string', default: '7'},
  warmup: {type: 'string', default: '1'},
  user: {type: 'string', default: 'ncxtest'},
  podman: {type: 'string', default: 'podman'},
  runc: {type: 'string', default: '/usr/sbin/runc'},
  keep: {type: 'boolean', default: false},
})
const {runs: RUNS, warmup: WARMUP} = runsAndWarmup(opts)
const TARGETS = {cold: 0.5, change: 0.3, noop: 0.3}
const NOOP_LIMIT_MS = 300
requireBuilt('node bench/build.js')

const U = benchUser({userName: opts.user, xdgBase: '/tmp/ncx-bench-build-xdg'})
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'ncx-bench-build-'))
U.ownedBy(WORK)
fs.chmodSync(WORK, 0o755)
U.prepareXdg()
const NCX_ROOT = path.join(WORK, 'ncx')
const PODMAN = which(opts.podman)
let podmanGlobal = []

const {cleanup, die} = benchTeardown(U, {keep: opts.keep, dirs: [WORK, U.XDG], ncxPaths: [NCX_ROOT], podmanBin: PODMAN, podman: () => podmanGlobal, podmanStore: path.join(WORK, 'podman')})
if (!PODMAN) die('podman not found: apt-get install podman buildah runc')

// The base image (bench/lib.js).
const IMAGE = benchImage(U, {work: WORK, die})

// The project: dependencies made in one stage, a "compile" in another, both copied into the
// final stage with the configuration, which only the last stage reads.
const ctx = path.join(WORK, 'context')
const write = (rel, text) => {
  fs.mkdirSync(path.dirname(path.join(ctx, rel)), {recursive: true})
  fs.writeFileSync(path.join(ctx, rel), text)
}
write(
  'Dockerfile',
  `FROM docker.io/library/busybox:latest AS deps
WORKDIR /deps
COPY deps.txt .
RUN for i in $(seq 1 300); do echo "dependency $i" > dep-$i.txt; done
FROM docker.io/library/busybox:latest AS build
WORKDIR /src
COPY src/ ./
RUN cat *.c > app.bin && chmod 755 app.bin
FROM docker.io/library/busybox:latest
COPY --from=deps /deps /opt/deps
COPY --from=build /src/app.bin /app/
COPY config/ /app/config/
ENV APP_ENV=production
CMD ["/app/app.bin"]
`,
)
write('deps.txt', 'left-pad 1.3.0\n')
for (let i = 0; i < 40; i++) write(`src/f${i}.c`, `int f${i}(void) { return ${i}; }\n`)
write('config/app.conf', 'port = 8080\n')
sh('chown', ['-R', `${U.user.uid}:${U.user.gid}`, ctx])

// ncx: its own store; podman: private stores, overlay, runc, no systemd.
const ncxEnv = {NCX_ROOT}
loadNcx(U, {ncx: [NODE, NCX_BIN], env: ncxEnv, image: IMAGE, die})
const probe = path.join(WORK, 'probe')
fs.mkdirSync(probe, {recursive: true})
fs.writeFileSync(path.join(probe, 'Dockerfile'), 'FROM docker.io/library/busybox:latest\nRUN true\n')
sh('chown', ['-R', `${U.user.uid}:${U.user.gid}`, probe])
// podman's flags: those with which it can build here.
podmanGlobal = podmanStore(U, {podman: PODMAN, runc: opts.runc, work: WORK, image: IMAGE, die, probe: () => ['build', '-q', '-t', 'bench-probe', '-f', path.join(probe, 'Dockerfile'), probe]})

const tools = [
  {key: 'ncx', label: 'ncx build', argv: (args) => [NODE, NCX_BIN, 'build', '-q', ...args, ctx], env: ncxEnv},
  {key: 'podman', label: `podman build (${path.basename(opts.runc)})`, argv: (args) => [PODMAN, ...podmanGlobal, 'build', '--layers', '-q', ...args, ctx], env: {}},
]

function timed(t, args, extraEnv = {}) {
  const t0 = process.hrtime.bigint()
  const r = U.runAsUser(t.argv(args), {...t.env, ...extraEnv})
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (!r.ok) throw new Error(`${t.label} ${args.join(' ')} failed:\n${failText(r)}`)
  return ms
}

const results = Object.fromEntries(tools.map((t) => [t.key, {cold: [], change: [], noop: []}]))
const withCa = []
// Node's own start, the same way (runuser, env -i): the floor under any ncx command.
const nodeStart = []
let version = 0
try {
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (const t of i % 2 ? [...tools].reverse() : tools) {
      const cold = timed(t, ['--no-cache', '-t', `bench-${t.key}:cold`])
      // One source file only the last stage copies: the deps and build stages stay cached.
      write('config/app.conf', `port = 8080\nrevision = ${++version}\n`)
      sh('chown', [`${U.user.uid}:${U.user.gid}`, path.join(ctx, 'config', 'app.conf')])
      const change = timed(t, ['-t', `bench-${t.key}:change`])
      const noop = timed(t, ['-t', `bench-${t.key}:change`])
      if (i >= WARMUP) {
        results[t.key].cold.push(cold)
        results[t.key].change.push(change)
        results[t.key].noop.push(noop)
        if (t.key === 'ncx') {
          const t0 = process.hrtime.bigint()
          U.runAsUser([NODE, '-e', '0'])
          nodeStart.push(Number(process.hrtime.bigint() - t0) / 1e6)
        }
        if (t.key === 'ncx' && process.env.NODE_EXTRA_CA_CERTS) withCa.push(timed(t, ['-t', `bench-${t.key}:change`], {NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS}))
      }
      log(`${t.key} run ${i + 1}: cold ${cold.toFixed(0)} ms, change ${change.toFixed(0)} ms, no-op ${noop.toFixed(0)} ms`)
    }
  }
} catch (e) {
  die(e.message)
}

const s = (k, op) => stats(results[k][op])
const LABELS = {cold: 'cold multi-stage build (--no-cache)', change: 'rebuild, one file of the last stage changed', noop: 'no-op rebuild (all cached)'}
const rows = ['cold', 'change', 'noop'].map((op) => {
  const n = s('ncx', op)
  const p = s('podman', op)
  const ratio = n.median / p.median
  const ok = ratio <= TARGETS[op] && (op !== 'noop' || n.median < NOOP_LIMIT_MS)
  return {op, ncx: n, podman: p, ratio, ok}
})
const host = hostInfo()
const podmanVersion = sh(PODMAN, ['--version']).stdout.trim()
const caLine = [
  `\n\`node -e 0\` started the same way (runuser, \`env -i\`) took ${stats(nodeStart).median.toFixed(0)} ms (median) during this run: the floor under any ncx command on this machine at this load.`,
  ...(withCa.length > 0 ? [`With NODE_EXTRA_CA_CERTS set (as in this workplace), the ncx no-op rebuild's median is ${stats(withCa).median.toFixed(0)} ms.`] : []),
].join('\n')
const md = `# build benchmark: ncx build vs podman build

\`node bench/build.js --runs ${RUNS} --warmup ${WARMUP}\` — one multi-stage Dockerfile (a stage writing 300
files, a stage "compiling" 40 sources, a final stage copying from both and copying \`config/\`),
built from the busybox image by both tools, interleaved in one run as the same unprivileged user.
${podmanVersion} (buildah, \`--layers\`, overlay storage, \`--runtime ${opts.runc}\`). Wall time of the whole CLI
invocation (through runuser, alike for both), milliseconds; ncx without NODE_EXTRA_CA_CERTS.

| operation | ncx median | podman median | ratio | target | ncx min–max | podman min–max |
|---|---|---|---|---|---|---|
${rows.map((r) => `| ${LABELS[r.op]} | ${r.ncx.median.toFixed(0)} | ${r.podman.median.toFixed(0)} | ${r.ratio.toFixed(2)}× | ≤ ${TARGETS[r.op]}×${r.op === 'noop' ? ` and < ${NOOP_LIMIT_MS} ms` : ''} ${r.ok ? '✔' : '✘'} | ${r.ncx.min.toFixed(0)}–${r.ncx.max.toFixed(0)} | ${r.podman.min.toFixed(0)}–${r.podman.max.toFixed(0)} |`).join('\n')}
${caLine}
Host: ${host.cpus}, ${host.kernel}, Node ${host.node}, load ${host.load} at the start. ${RUNS} runs after ${WARMUP} warm-up.
The load average says how busy the machine was: with other work running the numbers are noisy;
the ratio is what to read.
`
fs.mkdirSync(path.join(BENCH_DIR, 'results'), {recursive: true})
fs.writeFileSync(path.join(BENCH_DIR, 'results', 'build-latest.json'), JSON.stringify({runs: RUNS, warmup: WARMUP, results, withCa, nodeStart, rows, host, summaryRows: rows.map((r) => summaryRow({benchmark: LABELS[r.op], ncx: r.ncx.median, peer: r.podman.median, target: `≤ ${TARGETS[r.op]}× podman${r.op === 'noop' ? ` and < ${NOOP_LIMIT_MS} ms` : ''}`, met: r.ok}))}, null, 2))
fs.writeFileSync(path.join(BENCH_DIR, 'RESULTS-build.md'), md)
process.stdout.write(md)
cleanup()
