#!/usr/bin/env node
// bench/completion.js — how fast a shell gets an answer to `ncx stop <TAB>`, side by side with
// podman's cobra completion (`podman __complete stop ''`), both listing the running containers of
// a store holding 3 containers (2 running), as the same unprivileged user:
//
//   node bench/completion.js [--runs N] [--warmup N] [--user NAME] [--image FILE] [--keep]
//
// Target (issue 9): under 150 ms. Timings by a worker running as the user (spawnSync + hrtime,
// the two tools interleaved), so runuser is in none of them. Writes bench/RESULTS-completion.md.

import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {BENCH_DIR, benchOptions, benchUser, failText, hostInfo, log, NCX_BIN, NODE, REPO, requireBuilt, runsAndWarmup, shJoin, stats, which} from './lib.js'
import {summaryRow} from './summary.js'

const TARGET_MS = 150

if (process.argv[2] === '--worker') {
  const cfg = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'))
  const timed = (argv, env) => {
    const t0 = process.hrtime.bigint()
    const r = spawnSync(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: {...process.env, ...env}})
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (r.error || r.status !== 0) throw new Error(`${shJoin(argv)} failed: ${r.error?.message ?? r.stderr}`)
    return {ms, out: r.stdout}
  }
  const res = {ncx: [], podman: [], node: [], ncxOut: '', podmanOut: ''}
  for (let i = 0; i < cfg.warmup + cfg.runs; i++) {
    const a = timed(cfg.ncx, {})
    const b = timed(cfg.podman, cfg.podmanEnv)
    const c = timed([cfg.node, '-e', '0'], {})
    if (i >= cfg.warmup) {
      res.ncx.push(a.ms)
      res.podman.push(b.ms)
      res.node.push(c.ms)
    }
    res.ncxOut = a.out
    res.podmanOut = b.out
  }
  fs.writeFileSync(cfg.out, JSON.stringify(res))
  process.exit(0)
}

const USAGE = 'usage: node bench/completion.js [--runs N] [--warmup N] [--user NAME] [--image FILE] [--keep]\n'
const opts = benchOptions(USAGE, {
  runs: {type: 'string', default: '30'},
  warmup: {type: 'string', default: '3'},
  user: {type: 'string', default: 'ncxtest'},
  image: {type: 'string', default: path.join(REPO, 'images', 'busybox.oci.tar')},
  keep: {type: 'boolean', default: false},
})
const {runs, warmup} = runsAndWarmup(opts)
requireBuilt('node bench/completion.js')
if (!fs.existsSync(opts.image)) {
  process.stderr.write(`bench: ${opts.image} is missing: run npm run demo-image\n`)
  process.exit(1)
}
const podman = which('podman')
const runc = which('runc') ?? '/usr/sbin/runc'
if (!podman) {
  process.stderr.write('bench: podman is not installed (apt-get install podman)\n')
  process.exit(1)
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ncx-bench-compl-'))
fs.chmodSync(work, 0o755)
const u = benchUser({userName: opts.user, xdgBase: path.join(work, 'xdg')})
u.prepareXdg()
const ncxRoot = path.join(work, 'ncx-root')
const pHome = path.join(work, 'podman')
u.mkdirUser(ncxRoot)
u.mkdirUser(pHome)
u.mkdirUser(path.join(pHome, 'config')) // (mkdirUser chowns the last directory only; podman creates config/cni)
u.mkdirUser(path.join(pHome, 'config', 'containers'))
fs.writeFileSync(path.join(pHome, 'config', 'containers', 'containers.conf'), `[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "${runc}"\n[engine.runtimes]\nrunc = ["${runc}"]\n`)
fs.chmodSync(path.join(pHome, 'config', 'containers', 'containers.conf'), 0o644)
const podmanEnv = {XDG_DATA_HOME: path.join(pHome, 'data'), XDG_CONFIG_HOME: path.join(pHome, 'config')}
const image = path.join(work, 'busybox.oci.tar')
fs.copyFileSync(opts.image, image)
fs.chmodSync(image, 0o644)

const must = (argv, env = {}) => {
  const r = u.runAsUser(argv, env)
  if (!r.ok) {
    process.stderr.write(`bench: ${shJoin(argv)} failed:\n${failText(r)}\n`)
    process.exit(1)
  }
  return r.stdout
}
const ncx = (...args) => must([NODE, NCX_BIN, ...args], {NCX_ROOT: ncxRoot})
const pod = (...args) => must([podman, ...args], podmanEnv)

let exitCode = 0
try {
  log('setting up 3 containers (2 running) in each store')
  ncx('load', '-i', image)
  pod('load', '-q', '-i', image)
  for (const n of ['alpha', 'beta']) {
    ncx('run', '-d', '--network', 'none', '--name', n, 'busybox', 'sleep', '600')
    pod('run', '-d', '--net=none', '--name', n, 'busybox', 'sleep', '600')
  }
  ncx('create', '--network', 'none', '--name', 'gamma', 'busybox', 'true')
  pod('create', '--net=none', '--name', 'gamma', 'busybox', 'true')

  const out = path.join(work, 'result.json')
  const cfg = {runs, warmup, out, ncx: [NODE, NCX_BIN, '__complete', 'stop', ''], podman: [podman, '__complete', 'stop', ''], podmanEnv, node: NODE}
  const cfgFile = path.join(work, 'worker.json')
  fs.writeFileSync(cfgFile, JSON.stringify(cfg))
  fs.chmodSync(cfgFile, 0o644)
  fs.chmodSync(work, 0o777)
  log(`timing ${runs} runs (+${warmup} warm-up) of each, interleaved`)
  const r = u.runAsUser([NODE, path.join(BENCH_DIR, 'completion.js'), '--worker', cfgFile], {NCX_ROOT: ncxRoot})
  if (!r.ok) throw new Error(failText(r))
  const res = JSON.parse(fs.readFileSync(out, 'utf8'))
  const a = stats(res.ncx)
  const b = stats(res.podman)
  const c = stats(res.node)
  const names = (text) => text.split('\n').filter((l) => l && !l.startsWith(':')).map((l) => l.split('\t')[0]).sort().join(' ')
  const host = hostInfo()
  const md = [
    '# Completion answer time: `ncx __complete stop ""` vs `podman __complete stop ""`',
    '',
    `Both list the running containers (${names(res.ncxOut)} / ${names(res.podmanOut)}) of a store with 3 containers, as user ${u.user.name}; ${runs} runs each after ${warmup} warm-up, interleaved. Target: < ${TARGET_MS} ms.`,
    `Host: ${host.cpus}, ${host.kernel}, load ${host.load}; node ${host.node}; ${host.date}. The load average says how busy the 2 cores were (other work makes the numbers noisy).`,
    '',
    '| command | median ms | mean ms | min ms | max ms | ratio (median, ncx / podman) |',
    '|---|---|---|---|---|---|',
    `| ncx __complete stop '' | ${a.median.toFixed(1)} | ${a.mean.toFixed(1)} | ${a.min.toFixed(1)} | ${a.max.toFixed(1)} | ${(a.median / b.median).toFixed(2)} |`,
    `| podman __complete stop '' | ${b.median.toFixed(1)} | ${b.mean.toFixed(1)} | ${b.min.toFixed(1)} | ${b.max.toFixed(1)} | 1.00 |`,
    `| node -e 0 (Node's own start, the floor for ncx) | ${c.median.toFixed(1)} | ${c.mean.toFixed(1)} | ${c.min.toFixed(1)} | ${c.max.toFixed(1)} | ${(c.median / b.median).toFixed(2)} |`,
    '',
    `ncx ${a.median < TARGET_MS ? 'meets' : 'misses'} the ${TARGET_MS} ms target (median).`,
    '',
  ].join('\n')
  fs.writeFileSync(path.join(BENCH_DIR, 'RESULTS-completion.md'), md)
  fs.mkdirSync(path.join(BENCH_DIR, 'results'), {recursive: true})
  fs.writeFileSync(path.join(BENCH_DIR, 'results', 'completion-latest.json'), JSON.stringify({ncx: a, podman: b, node: c, runs, warmup, summaryRows: [summaryRow({benchmark: "`ncx __complete stop ''` (`ncx stop <TAB>`)", ncx: a.median, peer: b.median, target: `< ${TARGET_MS} ms`, below: TARGET_MS, note: `node -e 0: ${c.median.toFixed(1)} ms`})]}))
  process.stdout.write(md)
} catch (e) {
  process.stderr.write(`bench: ${e.message}\n`)
  exitCode = 1
} finally {
  u.runAsUser([NODE, NCX_BIN, 'rm', '-f', 'alpha', 'beta', 'gamma'], {NCX_ROOT: ncxRoot})
  u.runAsUser([podman, 'rm', '-f', '-t', '0', 'alpha', 'beta', 'gamma'], podmanEnv)
  u.runAsUser([podman, 'system', 'reset', '-f'], podmanEnv)
  u.stopDaemons()
  if (!opts.keep) {
    u.runAsUser([path.join(REPO, 'native', 'ncx-runtime'), 'rmtree', ncxRoot])
    fs.rmSync(work, {recursive: true, force: true})
  }
}
process.exit(exitCode)
