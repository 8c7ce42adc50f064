#!/usr/bin/env node
// bench/volumes.js — mounts, side by side with podman+runc, in one run (the tools interleaved):
//   1. `run --rm -v NAME:/d busybox true`            a named volume (existing)
//   2. `run --rm -v HOSTDIR:/src busybox true`       a bind mount
//   3. `run --rm --tmpfs /t:size=1m busybox true`    a tmpfs
//   4. `run --rm --userns keep-id -v HOSTDIR:/src busybox true`   keep-id (layers already prepared)
//   5. `run --rm -v NAME:/d busybox sh -c '…'`       1000 small files written into a volume
//   plus the first `--userns keep-id` run of each tool (one-off: layer copies / chown).
//
//   node bench/volumes.js [--runs N] [--warmup N] [--user NAME] [--podman PATH] [--runc PATH] [--keep]
//
// Both tools run as the same unprivileged user (`ncxtest` when started as root), with private
// stores, on the same image (scripts/mkimage.js busybox), without a network. Timings are taken
// by a worker running as that user (spawnSync + hrtime), so `runuser` is in none of them.
// Writes bench/RESULTS-volumes.md and bench/results/volumes-latest.json.

import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {BENCH_DIR, benchImage, benchOptions, benchTeardown, benchUser, failText, hostInfo, loadNcx, log, NCX_BIN, NODE, podmanStore, requireBuilt, sh, shJoin, stats, which} from './lib.js'
import {summaryRow} from './summary.js'

if (process.argv[2] === '--worker') {
  worker(JSON.parse(fs.readFileSync(process.argv[3], 'utf8')))
  process.exit(0)
}

function timed(argv) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8'})
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.error || r.status !== 0) throw new Error(`${shJoin(argv)} failed (${r.error?.message ?? `exit ${r.status}`}):\n${(r.stderr ?? '').trim()}`)
  return ms
}

function worker(spec) {
  const result = {}
  for (const t of spec.tools) {
    result[t.key] = {first: {}, times: {}, errors: []}
    for (const s of spec.scenarios) result[t.key].times[s.key] = []
    // One-off: the first keep-id run (ncx copies the layers for the mapping, podman chowns them).
    try {
      result[t.key].first.keepId = timed([...t.cli, ...t.args.keepId])
    } catch (e) {
      result[t.key].errors.push(e.message)
    }
  }
  for (const s of spec.scenarios) {
    for (let i = 0; i < spec.warmup + spec.runs; i++) {
      for (const t of i % 2 ? [...spec.tools].reverse() : spec.tools) {
        try {
          const ms = timed([...t.cli, ...t.args[s.key]])
          if (i >= spec.warmup) result[t.key].times[s.key].push(ms)
        } catch (e) {
          if (result[t.key].errors.length < 5) result[t.key].errors.push(e.message)
        }
      }
    }
  }
  fs.writeFileSync(spec.out, JSON.stringify(result, null, 2))
}

const USAGE = `usage: node bench/volumes.js [options]
  --runs N          timed runs per scenario and tool (default 15)
  --warmup N        untimed runs first (default 2)
  --user NAME       unprivileged user when started as root (default ncxtest)
  --podman PATH     podman binary (default podman)
  --runc PATH       runc for podman --runtime (default /usr/sbin/runc)
  --keep            keep the temporary stores
`
const opts = benchOptions(USAGE, {
  runs: {type: 'string', default: '15'},
  warmup: {type: 'string', default: '2'},
  user: {type: 'string', default: 'ncxtest'},
  podman: {type: 'string', default: 'podman'},
  runc: {type: 'string', default: '/usr/sbin/runc'},
  keep: {type: 'boolean', default: false},
})
const RUNS = Number(opts.runs)
const WARMUP = Number(opts.warmup)
if (!(Number.isInteger(RUNS) && RUNS > 0) || !Number.isInteger(WARMUP) || WARMUP < 0) {
  process.stderr.write('bench: --runs must be a positive integer, --warmup a non-negative integer\n')
  process.exit(2)
}
requireBuilt('node bench/volumes.js')

const U = benchUser({userName: opts.user, xdgBase: '/tmp/ncx-bench-vol-xdg'})
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'ncx-bench-vol-'))
U.ownedBy(WORK)
fs.chmodSync(WORK, 0o755)
U.prepareXdg()
const NCX_ROOT = path.join(WORK, 'ncx')
const HOST = path.join(WORK, 'host')
U.mkdirUser(HOST)
const PODMAN = which(opts.podman)
let podmanGlobal = []

const {cleanup, die} = benchTeardown(U, {keep: opts.keep, dirs: [WORK, U.XDG], ncxPaths: [NCX_ROOT], podmanBin: PODMAN, podman: () => podmanGlobal, podmanStore: path.join(WORK, 'podman')})

// The image, ncx's store and podman's (with the flags podman needs here): bench/lib.js; a volume in each.
const IMAGE = benchImage(U, {work: WORK, die})
const ncxEnv = {NCX_ROOT}
const NCX = [NODE, NCX_BIN]
loadNcx(U, {ncx: NCX, env: ncxEnv, image: IMAGE, probe: ['volume', 'create', 'benchvol'], die})
podmanGlobal = podmanStore(U, {podman: PODMAN, runc: opts.runc, work: WORK, image: IMAGE, die})
{
  const vol = U.runAsUser([PODMAN, ...podmanGlobal, 'volume', 'create', 'benchvol'])
  if (!vol.ok) die(`podman volume create failed:\n${failText(vol)}`)
}

const SMALL_FILES = 'i=0; while [ $i -lt 1000 ]; do echo $i > /d/f$i; i=$((i+1)); done; rm -f /d/f*'
const scenarios = [
  {key: 'named', what: '`run --rm -v benchvol:/d busybox true`', args: ['-v', 'benchvol:/d', 'busybox', 'true']},
  {key: 'bind', what: '`run --rm -v HOSTDIR:/src busybox true`', args: ['-v', `${HOST}:/src`, 'busybox', 'true']},
  {key: 'tmpfs', what: '`run --rm --tmpfs /t:size=1m busybox true`', args: ['--tmpfs', '/t:size=1m', 'busybox', 'true']},
  {key: 'keepIdBind', what: '`run --rm --userns keep-id -v HOSTDIR:/src busybox true`', args: ['--userns', 'keep-id', '-v', `${HOST}:/src`, 'busybox', 'true']},
  {key: 'smallFiles', what: '1000 small files written into a volume (`run --rm -v benchvol:/d busybox sh -c …`)', args: ['-v', 'benchvol:/d', 'busybox', 'sh', '-c', SMALL_FILES]},
]
const tools = [
  {key: 'ncx', label: 'ncx', cli: NCX, run: ['run', '--rm', '--network', 'none']},
  {key: 'podman', label: 'podman + runc', cli: [PODMAN, ...podmanGlobal], run: ['run', '--rm', '--net=none', '--pull=never']},
]
const OUT = path.join(WORK, 'worker-out.json')
const specFile = path.join(WORK, 'worker-spec.json')
fs.writeFileSync(
  specFile,
  JSON.stringify({
    runs: RUNS,
    warmup: WARMUP,
    out: OUT,
    scenarios: scenarios.map((s) => ({key: s.key})),
    tools: tools.map((t) => ({
      key: t.key,
      cli: t.cli,
      args: {
        ...Object.fromEntries(scenarios.map((s) => [s.key, [...t.run, ...s.args]])),
        keepId: [...t.run, '--userns', 'keep-id', 'busybox', 'true'],
      },
    })),
  }),
)
fs.chmodSync(specFile, 0o644)
log(`timing ${scenarios.length} scenarios (${WARMUP} warm-up + ${RUNS} runs per tool, interleaved)`)
const w = U.runAsUser([NODE, fileURLToPath(import.meta.url), '--worker', specFile], ncxEnv, {stdio: ['ignore', 'pipe', 'pipe']})
if (!w.ok) die(`the worker failed:\n${failText(w)}`)
const raw = JSON.parse(fs.readFileSync(OUT, 'utf8'))

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a')
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a')
const summary = {}
for (const t of tools) {
  summary[t.key] = {first: raw[t.key].first, errors: raw[t.key].errors}
  for (const s of scenarios) summary[t.key][s.key] = raw[t.key].times[s.key].length ? stats(raw[t.key].times[s.key]) : null
}
const n = summary.ncx
const p = summary.podman
const rows = scenarios.map((s) => ({
  what: `${s.what} (ms, median)`,
  ncx: f1(n[s.key]?.median),
  podman: f1(p[s.key]?.median),
  ratio: n[s.key] && p[s.key] ? n[s.key].median / p[s.key].median : NaN,
  spread: `${f1(n[s.key]?.min)}–${f1(n[s.key]?.max)} / ${f1(p[s.key]?.min)}–${f1(p[s.key]?.max)}`,
}))
rows.push({what: 'first `--userns keep-id` run (ms, one run: layers prepared for the mapping)', ncx: f1(n.first.keepId), podman: f1(p.first.keepId), ratio: n.first.keepId / p.first.keepId, spread: ''})
const env = {
  ...hostInfo(),
  ncx: sh(NODE, [NCX_BIN, '--version']).stdout.trim(),
  podman: sh(PODMAN, ['--version']).stdout.trim(),
  runc: sh(opts.runc, ['--version']).stdout.split('\n')[0].trim(),
  user: `${U.user.name} (uid ${U.user.uid})`,
  runs: RUNS,
  warmup: WARMUP,
}
// No targets (issue 6): every row is reported only.
const summaryRows = [
  ...scenarios.map((s) => summaryRow({benchmark: s.what, ncx: n[s.key]?.median, peer: p[s.key]?.median})),
  summaryRow({benchmark: 'first `--userns keep-id` run (one run)', ncx: n.first.keepId, peer: p.first.keepId}),
]
const table = [
  '| measurement | ncx | podman + runc | ncx / podman | spread ncx / podman (min–max) |',
  '|---|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.what} | ${r.ncx} | ${r.podman} | ${f2(r.ratio)} | ${r.spread} |`),
].join('\n')
const errors = tools.flatMap((t) => summary[t.key].errors.map((e) => `- ${t.label}: ${e.split('\n')[0]}`))
const md = `# Volumes benchmark: mounts, ncx vs podman + runc

Generated by \`node bench/volumes.js\` on ${env.date}.

${table}

- Every row is the wall time of a foreground \`run --rm\` (create, mount, run, remove), both tools without a network:
  ncx \`${shJoin(['ncx', ...tools[0].run])} …\`, podman \`${shJoin(['podman', ...podmanGlobal, ...tools[1].run])} …\`.
- The volume \`benchvol\` exists before timing (\`volume create\` on each side); HOSTDIR is a directory the user owns.
- keep-id: podman nests a user namespace and chowns a copy of the image for the mapping on first use; ncx copies
  each layer once per user with owners translated (\`snapshots/<diff-id>/keepid-UID-GID\`); later runs reuse them.
${errors.length ? `\nErrors:\n${errors.join('\n')}\n` : ''}
Environment: ${env.kernel}; ${env.cpus}; load ${env.load}; Node ${env.node}; ${env.ncx}; ${env.podman}; ${env.runc};
user ${env.user}; ${WARMUP} warm-up + ${RUNS} timed runs per tool and scenario, the tools interleaved. The machine
was shared with other work while this ran: compare the ratios, not the absolute times.
`
fs.mkdirSync(path.join(BENCH_DIR, 'results'), {recursive: true})
fs.writeFileSync(path.join(BENCH_DIR, 'RESULTS-volumes.md'), md)
fs.writeFileSync(path.join(BENCH_DIR, 'results', 'volumes-latest.json'), `${JSON.stringify({env, summary, raw, summaryRows}, null, 2)}\n`)
process.stdout.write(`${table}\n`)
cleanup()
