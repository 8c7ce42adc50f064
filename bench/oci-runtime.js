#!/usr/bin/env node
// bench/oci-runtime.js — ncx-runtime's standard OCI command line beside runc and crun, in
// one run on one prepared bundle (a busybox rootfs, `runc spec`'s config running /bin/true):
//   1. create → start → delete --force of the bundle (the three commands, timed together)
//   2. 100 × `run` of /bin/true (the runtime's own foreground run, container removed after)
// The runtimes take turns (A B C, B C A, …) so load on this shared machine hits them alike.
// Medians and the ratio to ncx-runtime. As root: the root bundle (crun with
// --cgroup-manager=disabled: it refuses this host's hybrid cgroups otherwise). As another
// user: rootless, `runc spec --rootless`'s bundle, each runtime's state under $XDG_RUNTIME_DIR
// or the temporary directory (run it as the test user: `runuser -u ncxtest -- node …`).
// On a pure cgroup v2 host as root (the cgroup v2 VM: bench/oci-runtime-vm.sh) every runtime runs
// as it is, no wrapper and no option (crun with its own cgroup manager), and the bundle names a
// cgroup (linux.cgroupsPath /ncx-oci-bench) so that all three create and remove one per container.
//
//   node bench/oci-runtime.js [--runs 20] [--loop 100] [--ncx PATH] [--youki PATH] [--wrap]
//
// Prints a Markdown table; writes bench/results/oci-runtime-latest.json (target: ≤ 1× crun).
import {execFileSync, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {summaryRow} from './summary.js'

const __dirname = path.dirname(fileURLToPath(import.meta.url))

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const runs = Number(arg('runs', 20))
const loop = Number(arg('loop', 100))
const ncx = arg('ncx', path.join(__dirname, '..', 'native', 'ncx-runtime'))
const rootless = process.getuid() !== 0

// crun 1.8 refuses a hybrid cgroup host unless the v2 mount /sys/fs/cgroup/unified is covered
// (docs/runtimes.md). As root the whole bench runs again inside one private mount namespace
// with that mount covered, so every runtime runs there as it is and none pays for a per-command
// wrapper (`--wrap` keeps the old way: crun alone through `unshare -m` + sh, its cost printed).
const wrapCrun = process.argv.includes('--wrap')
if (!rootless && !wrapCrun && !process.env.NCX_BENCH_COVERED && fs.existsSync('/sys/fs/cgroup/unified')) {
  const script = 'mount -t tmpfs -o ro tmpfs /sys/fs/cgroup/unified && exec "$0" "$@"'
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, process.execPath, ...process.argv.slice(1)], {stdio: 'inherit', env: {...process.env, NCX_BENCH_COVERED: '1'}})
  process.exit(r.status ?? 1)
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ncx-oci-bench-'))
const bundle = path.join(dir, 'bundle')
fs.mkdirSync(path.join(bundle, 'rootfs', 'bin'), {recursive: true})
fs.copyFileSync('/usr/bin/busybox', path.join(bundle, 'rootfs', 'bin', 'busybox'))
fs.symlinkSync('busybox', path.join(bundle, 'rootfs', 'bin', 'true'))
execFileSync('runc', rootless ? ['spec', '--rootless'] : ['spec'], {cwd: bundle})
const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'))
config.process.terminal = false
config.process.args = ['/bin/true']
// Pure cgroup v2 (no v1 hierarchies, no hybrid `unified` mount): the runtimes' cgroup code runs too.
const cgroup2 = !rootless && fs.existsSync('/sys/fs/cgroup/cgroup.controllers')
if (cgroup2) config.linux.cgroupsPath = '/ncx-oci-bench'
fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config))

const runtimes = [
  {name: 'ncx-runtime', argv: [ncx, '--root', path.join(dir, 'ncx')]},
  {name: 'runc', argv: ['runc', '--root', path.join(dir, 'runc')]},
  {name: 'crun', argv: ['crun', ...(cgroup2 ? [] : ['--cgroup-manager=disabled']), '--root', path.join(dir, 'crun')]},
]
// youki is no Debian package (.ci/run builds it from crates.io; docs/runtimes.md).
const youki = arg('youki', process.env.NCX_E2E_YOUKI) ?? spawnSync('sh', ['-c', 'command -v youki'], {encoding: 'utf8'}).stdout.trim()
if (youki) runtimes.push({name: 'youki', argv: [youki, '--root', path.join(dir, 'youki')]})
// crun 1.8 refuses a hybrid cgroup host unless the v2 mount is covered, as ncx runs it
// (docs/runtimes.md): as root, each crun command goes through `unshare -m` + sh, whose own cost
// is measured alone and printed after the table, so it can be subtracted.
const hybrid = !rootless && fs.existsSync('/sys/fs/cgroup/unified') && !process.env.NCX_BENCH_COVERED
const cover = (cmd) => ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o ro tmpfs /sys/fs/cgroup/unified && exec ${cmd} "$@"`, 'sh']
for (const r of runtimes) r.version = spawnSync(r.argv[0], ['--version'], {encoding: 'utf8'}).stdout.split('\n')[0]
if (hybrid) runtimes[2].argv = [...cover('crun'), ...runtimes[2].argv.slice(1)]

// stderr goes to a file, not a pipe: a created container's PID 1 inherits it and holds it
// open until it exits, and spawnSync waits for its pipes to close (it never returned).
const errFile = path.join(dir, 'stderr')
function rt(r, args) {
  const err = fs.openSync(errFile, 'w')
  let p
  try {
    // (a runtime that hangs is stopped and left out: youki 0.7's `run` sometimes never reaps a
    // /bin/true that has exited)
    p = spawnSync(r.argv[0], [...r.argv.slice(1), ...args], {stdio: ['ignore', 'ignore', err], timeout: 30_000, killSignal: 'SIGKILL'})
  } finally {
    fs.closeSync(err)
  }
  if (p.error?.code === 'ETIMEDOUT') throw new Error(`${r.name} ${args.join(' ')}: no answer in 30 s (killed)`)
  if (p.status !== 0) throw new Error(`${r.name} ${args.join(' ')}: exit ${p.status ?? p.signal}: ${fs.readFileSync(errFile, 'utf8')}`)
}
const now = () => Number(process.hrtime.bigint()) / 1e6

function cycle(r, i) {
  const id = `b${i}`
  const t0 = now()
  rt(r, ['create', '--bundle', bundle, id])
  rt(r, ['start', id])
  rt(r, ['delete', '--force', id])
  return now() - t0
}

function trueLoop(r, i) {
  const t0 = now()
  for (let k = 0; k < loop; k++) rt(r, ['run', '--bundle', bundle, `t${i}-${k}`])
  return now() - t0
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

// A runtime that cannot run the bundle here (crun 1.8 refuses a hybrid cgroup host even with
// its cgroup manager disabled) is left out with its error, not measured.
const skipped = []
const avail = runtimes.filter((r) => {
  try {
    cycle(r, 'probe')
    return true
  } catch (error) {
    skipped.push(`${r.name} left out: ${String(error.message).trim().split('\n').pop()}`)
    return false
  }
})

// A runtime that fails during the measurement is left out of it (NaN, printed as —), with its error.
function measure(what, fn, n) {
  const times = new Map(avail.map((r) => [r.name, []]))
  const failed = new Set()
  const time = (r, i) => {
    if (failed.has(r.name)) return
    try {
      times.get(r.name).push(fn(r, i))
    } catch (error) {
      if (r.name === 'ncx-runtime') throw error
      failed.add(r.name)
      skipped.push(`${r.name} left out of "${what}": ${String(error.message).trim().split('\n').pop()}`)
    }
  }
  for (const r of avail) time(r, 'warm') // one untimed round each
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < avail.length; j++) time(avail[(i + j) % avail.length], i)
  }
  return {what, medians: avail.map((r) => (failed.has(r.name) ? NaN : median(times.get(r.name))))}
}

try {
  if (avail[0]?.name !== 'ncx-runtime') throw new Error(`ncx-runtime cannot run the bundle: ${skipped.join('; ')}`)
  const rows = [measure('create → start → delete (ms)', cycle, runs), measure(`${loop} × run /bin/true (s)`, trueLoop, Math.max(3, Math.round(runs / 5)))]
  rows[1].medians = rows[1].medians.map((ms) => ms / 1000)
  const peers = avail.slice(1)
  console.log(`| | ${avail.map((r) => r.name).join(' | ')} | ${peers.map((r) => `${r.name} / ncx`).join(' | ')} |`)
  console.log(`|---|${avail.map(() => '---:').join('|')}|${peers.map(() => '---:').join('|')}|`)
  for (const row of rows) {
    const [n, ...others] = row.medians
    const fmt = (x) => (Number.isNaN(x) ? '—' : x >= 10 ? x.toFixed(1) : x.toFixed(2))
    console.log(`| ${row.what} | ${row.medians.map(fmt).join(' | ')} | ${others.map((x) => (Number.isNaN(x) ? '—' : `${(x / n).toFixed(2)}×`)).join(' | ')} |`)
  }
  console.log(`\n${rootless ? `rootless (uid ${process.getuid()})` : 'root'}${cgroup2 ? ', cgroup v2 (cgroupsPath set, crun with its cgroup manager, no wrapper)' : ''}; ${avail.map((r) => `${r.name}: ${r.version}`).join('; ')}; ${os.cpus().length} cores, ${os.release()}; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; medians of ${runs} (cycle) runs, interleaved.`)
  if (hybrid && avail.some((r) => r.name === 'crun')) {
    const t = []
    for (let i = 0; i < runs; i++) {
      const t0 = now()
      for (let k = 0; k < 3; k++) spawnSync(cover('true')[0], cover('true').slice(1), {stdio: 'ignore'})
      t.push(now() - t0)
    }
    console.log(`crun ran through unshare -m + sh (hybrid host): that wrapper alone costs ${median(t).toFixed(1)} ms per cycle (3 commands), ${((median(t) / 3) * loop / 1000).toFixed(2)} s per ${loop} runs`)
  }
  if (process.env.NCX_BENCH_COVERED) console.log('All runtimes ran in one private mount namespace with the hybrid host\'s /sys/fs/cgroup/unified covered (crun refuses the host otherwise): no wrapper per command.')
  for (const line of skipped) console.log(line)
  // The target (issue 19: at least as fast as crun, side by side in one run) and the other
  // runtimes for reference, for `npm run bench` (bench/summary.js).
  const at = (row, name) => row.medians[avail.findIndex((r) => r.name === name)]
  const crunOut = skipped.find((l) => l.startsWith('crun '))
  const summaryRows = rows.flatMap((row, i) => [
    summaryRow({benchmark: `${i === 0 ? 'create → start → delete of a bundle' : `${loop} × \`run\` /bin/true`} (${rootless ? 'rootless' : 'root'})`, ncx: at(row, 'ncx-runtime'), peer: at(row, 'crun'), peerName: 'crun', unit: i === 0 ? 'ms' : 's', target: '≤ 1× crun', ratioMax: 1, note: crunOut}),
    ...avail.slice(1).filter((r) => r.name !== 'crun').map((r) => summaryRow({benchmark: `${i === 0 ? 'create → start → delete' : `${loop} × \`run\``}, vs ${r.name}`, ncx: at(row, 'ncx-runtime'), peer: at(row, r.name), peerName: r.name, unit: i === 0 ? 'ms' : 's'})),
  ])
  fs.mkdirSync(path.join(__dirname, 'results'), {recursive: true})
  fs.writeFileSync(
    path.join(__dirname, 'results', 'oci-runtime-latest.json'),
    `${JSON.stringify({date: new Date().toISOString(), rootless, runs, loop, load: os.loadavg(), runtimes: avail.map((r) => ({name: r.name, version: r.version})), skipped, rows, summaryRows}, null, 2)}\n`,
  )
} finally {
  fs.rmSync(dir, {recursive: true, force: true})
}
