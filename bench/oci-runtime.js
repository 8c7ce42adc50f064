#!/usr/bin/env node
// bench/oci-runtime.js — ncx-runtime's standard OCI command line beside runc and crun, in
// one run on one prepared bundle (a busybox rootfs, `runc spec`'s config running /bin/true):
//   1. create → start → delete --force of the bundle (the three commands, timed together)
//   2. 100 × `run` of /bin/true (the runtime's own foreground run, container removed after)
// The runtimes take turns (A B C, B C A, …) so load on this shared machine hits them alike.
// Medians and the ratio to ncx-runtime. Run as root (crun with --cgroup-manager=disabled:
// it refuses this host's hybrid cgroups otherwise).
//
//   node bench/oci-runtime.js [--runs 20] [--loop 100] [--ncx PATH]
import {execFileSync, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const __dirname = path.dirname(fileURLToPath(import.meta.url))

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const runs = Number(arg('runs', 20))
const loop = Number(arg('loop', 100))
const ncx = arg('ncx', path.join(__dirname, '..', 'native', 'ncx-runtime'))
if (process.getuid() !== 0) {
  console.error('bench/oci-runtime.js: run as root (the three runtimes on the same root bundle)')
  process.exit(1)
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ncx-oci-bench-'))
const bundle = path.join(dir, 'bundle')
fs.mkdirSync(path.join(bundle, 'rootfs', 'bin'), {recursive: true})
fs.copyFileSync('/usr/bin/busybox', path.join(bundle, 'rootfs', 'bin', 'busybox'))
fs.symlinkSync('busybox', path.join(bundle, 'rootfs', 'bin', 'true'))
execFileSync('runc', ['spec'], {cwd: bundle})
const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'))
config.process.terminal = false
config.process.args = ['/bin/true']
fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config))

const runtimes = [
  {name: 'ncx-runtime', argv: [ncx, '--root', path.join(dir, 'ncx')]},
  {name: 'runc', argv: ['runc', '--root', path.join(dir, 'runc')]},
  {name: 'crun', argv: ['crun', '--cgroup-manager=disabled', '--root', path.join(dir, 'crun')]},
]
for (const r of runtimes) r.version = spawnSync(r.argv[0], ['--version'], {encoding: 'utf8'}).stdout.split('\n')[0]

function rt(r, args) {
  const p = spawnSync(r.argv[0], [...r.argv.slice(1), ...args], {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'})
  if (p.status !== 0) throw new Error(`${r.name} ${args.join(' ')}: ${p.stderr}`)
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

function measure(what, fn, n) {
  const times = new Map(runtimes.map((r) => [r.name, []]))
  for (const r of runtimes) fn(r, 'warm') // one untimed round each
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < runtimes.length; j++) {
      const r = runtimes[(i + j) % runtimes.length]
      times.get(r.name).push(fn(r, i))
    }
  }
  return {what, medians: runtimes.map((r) => median(times.get(r.name)))}
}

try {
  const rows = [measure('create → start → delete (ms)', cycle, runs), measure(`${loop} × run /bin/true (s)`, trueLoop, Math.max(3, Math.round(runs / 5)))]
  rows[1].medians = rows[1].medians.map((ms) => ms / 1000)
  console.log(`| | ${runtimes.map((r) => r.name).join(' | ')} | runc / ncx | crun / ncx |`)
  console.log(`|---|${runtimes.map(() => '---:').join('|')}|---:|---:|`)
  for (const row of rows) {
    const [n, r, c] = row.medians
    const fmt = (x) => (x >= 10 ? x.toFixed(1) : x.toFixed(2))
    console.log(`| ${row.what} | ${row.medians.map(fmt).join(' | ')} | ${(r / n).toFixed(2)}× | ${(c / n).toFixed(2)}× |`)
  }
  console.log(`\n${runtimes.map((r) => `${r.name}: ${r.version}`).join('; ')}; ${os.cpus().length} cores, ${os.release()}; medians of ${runs} (cycle) runs, interleaved.`)
} finally {
  fs.rmSync(dir, {recursive: true, force: true})
}
