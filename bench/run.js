#!/usr/bin/env node
// bench/run.js — `npm run bench`: runs the benchmark suites (--only LIST, default
// startup,commands; `all`: every one) and writes one summary of every target at the top of
// bench/RESULTS.md and in bench/results/latest.json (bench/suites.js, bench/summary.js).
//
// As `node bench/run.js --suite-child …` (what `npm run bench` starts for the two suites below)
// it is itself the startup and commands suites: ncx start-up and `run` latency, side by side
// with podman+runc and plain node.
//
//   node bench/run.js --suite-child [--only startup,commands] [--runs N] [--warmup N] [--user NAME]
//                     [--image FILE] [--timer hyperfine|internal] [--podman PATH] [--runc PATH]
//                     [--no-runtime] [--keep]
//
// Everything is timed as ONE unprivileged user (default `ncxtest` when started as root, created
// if missing; otherwise the invoking user), with isolated stores that are deleted afterwards:
//   1. ncx run --rm --network none busybox true  vs  podman --runtime runc run --rm --net=none busybox true
//   2. ncx --version                  vs  node -e 0
//   3. ncx-runtime run on a prepared bundle (the native half of `ncx run` alone; informational)
//   4. the every-day commands (issue 17), each against podman and `node -e 0`
// Both tools load the same image, built by `node scripts/mkimage.js busybox`.
// Prints Markdown tables on stdout, writes bench/results/startup-latest.json (with its
// `summaryRows` and the Markdown of its sections, which bench/run.js puts into RESULTS.md).
// Exit status: 0 whenever everything could run (missed targets are results, not failures);
// 1 when ncx is not built or a tool could not run at all (the error is printed verbatim).

import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {benchOptions, benchTeardown, benchUser, failText, keyLine, log, runsAndWarmup, sh, shJoin, shq, stats, which} from './lib.js'
import {runAll} from './suites.js'
import {summaryRow} from './summary.js'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BENCH_DIR = path.join(REPO, 'bench')
const NODE = process.execPath
const NCX_BIN = path.join(REPO, 'bin', 'run.cjs')
const RUNTIME_BIN = path.join(REPO, 'native', 'ncx-runtime')
const SYS_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const ULIMIT_FLAGS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1000:1000']
const NO_SYSTEMD_FLAGS = ['--cgroup-manager', 'cgroupfs', '--events-backend', 'file']


// ------------------------------------------------------------------------------------------
// Worker mode: the internal timer, run as the benchmark user (so no runuser in the timings).
// ------------------------------------------------------------------------------------------
if (process.argv[2] === '--measure-worker') {
  measureWorker(process.argv[3])
  process.exit(0)
}

// `npm run bench`: every suite asked for, then the summary (bench/suites.js).
if (!process.argv.includes('--suite-child')) process.exit(await runAll(process.argv.slice(2)))


/** Time several commands, interleaved (A B, B A, A B, …) so that load changes hit them alike. */
function measureWorker(specFile) {
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'))
  const state = spec.commands.map((c) => ({...c, times: [], error: undefined}))
  const once = (c) => {
    if (c.error) return
    // Untimed set-up before each run (a running container for `stop`, 200 for `rm -f`).
    for (const step of c.prepare ?? []) {
      const p = spawnSync(step[0], step.slice(1), {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'})
      if (p.error || p.status !== 0) {
        c.error = `set-up failed (${p.error?.message ?? `exit ${p.status ?? `signal ${p.signal}`}`}): ${step.join(' ')}\n${(p.stderr ?? '').trim()}`
        process.stderr.write(`${c.error}\n`)
        return
      }
    }
    const [cmd, ...args] = c.argv
    const t0 = process.hrtime.bigint()
    const r = spawnSync(cmd, args, {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'})
    const dt = Number(process.hrtime.bigint() - t0) / 1e9
    if (r.error || r.status !== 0) {
      c.error = `command failed (${r.error?.message ?? `exit ${r.status ?? `signal ${r.signal}`}`}): ${c.argv.join(' ')}\n${(r.stderr ?? '').trim()}`
      process.stderr.write(`${c.error}\n`)
      return
    }
    return dt
  }
  for (let i = 0; i < spec.warmup; i++) for (const c of state) once(c)
  for (let i = 0; i < spec.runs; i++) {
    for (const c of i % 2 ? [...state].reverse() : state) {
      const dt = once(c)
      if (dt !== undefined) c.times.push(dt)
    }
  }
  const results = state.map((c) =>
    c.error ? {command: c.name, error: c.error} : {command: c.name, ...stats(c.times), times: c.times, exit_codes: c.times.map(() => 0)},
  )
  fs.writeFileSync(spec.out, JSON.stringify({results}, null, 2))
}

// ------------------------------------------------------------------------------------------
// Options and environment
// ------------------------------------------------------------------------------------------
const USAGE = `usage: node bench/run.js --suite-child [options]   (the startup and commands suites; npm run bench runs them)
  --runs N          timed runs per command (default 20)
  --warmup N        untimed warm-up runs per command (default 3)
  --user NAME       unprivileged user to run as when started as root (default ncxtest; created if missing)
  --image FILE      use this busybox OCI tar instead of building one with scripts/mkimage.js
  --timer T         hyperfine (default when installed) or internal (spawnSync + hrtime)
  --podman PATH     podman binary (default: podman on PATH)
  --runc PATH       runc binary given to podman --runtime (default /usr/sbin/runc)
  --only LIST       comma-separated suites: startup (run --rm, --version, ncx-runtime) and
                    commands (ps, images, inspect, logs, port, volume ls, network ls, compose ps,
                    version, --help, stop, rm -f, start, kill, restart, rm -f of many, run -d);
                    default: both
  --many N          containers for \`rm -f\` of many and \`ps -a\` with many (default 200)
  --many-runs N     timed runs of \`rm -f\` of many (default 3; each creates N containers per tool)
  --no-runtime      skip the ncx-runtime-only measurement
  --keep            keep the temporary stores (their path is printed)
`

const opts = benchOptions(USAGE, {
  runs: {type: 'string', default: '20'},
  warmup: {type: 'string', default: '3'},
  user: {type: 'string', default: 'ncxtest'},
  image: {type: 'string'},
  timer: {type: 'string'},
  podman: {type: 'string', default: 'podman'},
  runc: {type: 'string', default: '/usr/sbin/runc'},
  'no-runtime': {type: 'boolean', default: false},
  only: {type: 'string', default: 'startup,commands'},
  many: {type: 'string', default: '200'},
  'many-runs': {type: 'string', default: '3'},
  keep: {type: 'boolean', default: false},
  'suite-child': {type: 'boolean', default: false},
})
const {runs: RUNS, warmup: WARMUP} = runsAndWarmup(opts)
const SUITES = new Set(opts.only.split(',').map((x) => x.trim()).filter(Boolean))
for (const suite of SUITES) {
  if (!['startup', 'commands'].includes(suite)) {
    process.stderr.write(`bench: --only: unknown suite ${suite} (startup, commands)\n`)
    process.exit(2)
  }
}
const MANY = Number(opts.many)
const MANY_RUNS = Number(opts['many-runs'])
if (!Number.isInteger(MANY) || MANY < 1 || !Number.isInteger(MANY_RUNS) || MANY_RUNS < 1) {
  process.stderr.write(`bench: --many and --many-runs must be positive integers\n`)
  process.exit(2)
}
/** The load average at the start and at the end: the machine is shared, timings are noisy. */
const LOAD_BEFORE = os.loadavg()





// ncx must be built.
const missing = [path.join(REPO, 'dist', 'fast.cjs'), RUNTIME_BIN].filter((f) => !fs.existsSync(f))
if (missing.length > 0) {
  process.stderr.write(
    `bench: ncx is not built (missing ${missing.join(', ')}).\n` +
      `Build it first:\n  npm ci\n  npm run build        # = node scripts/build-native.js && npm run build:ts\n` +
      `then run: npm run bench\n`,
  )
  process.exit(1)
}

const PODMAN = which(opts.podman)
const HYPERFINE = which('hyperfine')
const TIMER = opts.timer ?? (HYPERFINE ? 'hyperfine' : 'internal')
if (TIMER !== 'hyperfine' && TIMER !== 'internal') {
  process.stderr.write(`bench: --timer must be hyperfine or internal\n`)
  process.exit(2)
}
if (TIMER === 'hyperfine' && !HYPERFINE) {
  process.stderr.write(`bench: --timer hyperfine but hyperfine is not installed (apt-get install hyperfine), or use --timer internal\n`)
  process.exit(1)
}

// ------------------------------------------------------------------------------------------
// The benchmark user (bench/lib.js: created with subordinate ids if missing) and its dirs
// ------------------------------------------------------------------------------------------
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'ncx-bench-'))
const NCX_ROOT = path.join(WORK, 'ncx')
const RESULTS_TMP = path.join(WORK, 'timings')
const U = benchUser({userName: opts.user, xdgBase: '/tmp/ncx-bench-xdg', baseEnv: {NCX_ROOT}})
const {IS_ROOT, XDG, ownedBy, userEnv, asUser, runAsUser, mkdirUser} = U
const USER = U.user
U.prepareXdg()
ownedBy(WORK)
mkdirUser(RESULTS_TMP)


// ------------------------------------------------------------------------------------------
// Cleanup
// ------------------------------------------------------------------------------------------
let podmanGlobal = [] // set once podman is configured; used to clean its store when not root
const {cleanup} = benchTeardown(U, {keep: opts.keep, dirs: [WORK, XDG], ncxPaths: [path.join(NCX_ROOT, 'snapshots'), path.join(NCX_ROOT, 'containers')], podmanBin: PODMAN, podman: () => podmanGlobal, podmanStore: path.join(WORK, 'podman')})

// ------------------------------------------------------------------------------------------
// Timing
// ------------------------------------------------------------------------------------------
let seq = 0
/** Time `argv` as the user; returns stats in milliseconds or {error}. */
function measure(commands, extraEnv = {}, {internal = false, runs = RUNS, warmup = WARMUP} = {}) {
  const ms = (x) => x * 1000
  const convert = (argv, res) => ({
    command: shJoin(argv),
    median: ms(res.median),
    mean: ms(res.mean),
    min: ms(res.min),
    max: ms(res.max),
    stddev: ms(res.stddev ?? 0),
    runs: res.times.length,
    times: res.times.map(ms),
  })
  if (TIMER === 'hyperfine' && !internal) {
    return commands.map(({name, argv}) => {
      const out = path.join(RESULTS_TMP, `${++seq}.json`)
      log(`timing ${name}: ${RUNS} runs after ${WARMUP} warm-up (hyperfine)`)
      const hf = [HYPERFINE, '-N', '--style', 'basic', '--warmup', String(WARMUP), '--runs', String(RUNS), '--export-json', out, '-n', name, shJoin(argv)]
      const [cmd, ...args] = asUser(hf, extraEnv)
      const r = sh(cmd, args, {stdio: ['ignore', 2, 'pipe']})
      if (r.stderr) process.stderr.write(r.stderr)
      if (!r.ok) return {error: `timing failed: ${failText(r)}`}
      return convert(argv, JSON.parse(fs.readFileSync(out, 'utf8')).results[0])
    })
  }
  const out = path.join(RESULTS_TMP, `${++seq}.json`)
  const spec = path.join(RESULTS_TMP, `${seq}.spec.json`)
  log(`timing ${commands.map((c) => c.name).join(' / ')}: ${runs} runs each, interleaved, after ${warmup} warm-up (internal timer)`)
  fs.writeFileSync(spec, JSON.stringify({commands, runs, warmup, out}))
  if (IS_ROOT) fs.chownSync(spec, USER.uid, USER.gid)
  const [cmd, ...args] = asUser([NODE, fileURLToPath(import.meta.url), '--measure-worker', spec], extraEnv)
  const r = sh(cmd, args, {stdio: ['ignore', 2, 'pipe']})
  if (r.stderr) process.stderr.write(r.stderr)
  if (!r.ok) return commands.map(() => ({error: `timing failed: ${failText(r)}`}))
  const results = JSON.parse(fs.readFileSync(out, 'utf8')).results
  return commands.map(({argv}, i) => (results[i].error ? {error: `timing failed: ${results[i].error}`} : convert(argv, results[i])))
}

// ------------------------------------------------------------------------------------------
// Setup: image, ncx store, podman store
// ------------------------------------------------------------------------------------------
const fatal = [] // tools that could not run at all
const notes = []

function tryCleanupAndExit(msg) {
  process.stderr.write(`bench: ${msg}\n`)
  cleanup()
  process.exit(1)
}

let IMAGE
if (opts.image) {
  IMAGE = path.resolve(opts.image)
  if (!fs.existsSync(IMAGE)) tryCleanupAndExit(`--image ${IMAGE} does not exist`)
  const r = runAsUser(['test', '-r', IMAGE])
  if (!r.ok) tryCleanupAndExit(`--image ${IMAGE} is not readable by ${USER.name}`)
} else {
  const dir = path.join(WORK, 'image')
  mkdirUser(dir)
  log(`building the busybox image: node scripts/mkimage.js busybox --out ${dir}`)
  const r = runAsUser([NODE, path.join(REPO, 'scripts', 'mkimage.js'), 'busybox', '--out', dir])
  if (!r.ok) tryCleanupAndExit(`node scripts/mkimage.js busybox failed (as ${USER.name}):\n${failText(r)}`)
  IMAGE = path.join(dir, 'busybox.oci.tar')
}

// ncx
const NCX = [NODE, NCX_BIN]
const ncxRunArgv = [...NCX, 'run', '--rm', '--network', 'none', 'busybox', 'true']
const ncxVersionArgv = [...NCX, '--version']
const nodeArgv = [NODE, '-e', '0']
let ncxOk = true // ncx can load and run
let ncxVersionOk = true
let ncxVersion = ''
{
  log(`loading the image into ncx (NCX_ROOT=${NCX_ROOT})`)
  const v = runAsUser(ncxVersionArgv)
  if (!v.ok) {
    fatal.push(`ncx --version failed as ${USER.name}:\n${failText(v)}`)
    ncxVersionOk = false
    ncxOk = false
  } else ncxVersion = v.stdout.trim()
  const load = ncxOk ? runAsUser([...NCX, 'load', '-i', IMAGE]) : undefined
  if (load && !load.ok) {
    fatal.push(`ncx load -i ${IMAGE} failed as ${USER.name}:\n${failText(load)}`)
    ncxOk = false
  }
  const run = ncxOk ? runAsUser(ncxRunArgv) : undefined
  if (run && !run.ok) {
    fatal.push(`\`${shJoin(ncxRunArgv)}\` failed as ${USER.name}:\n${failText(run)}`)
    ncxOk = false
  }
}

// podman: find the flags it needs here (storage driver, ulimits, systemd-less settings).
let podmanOk = false
let podmanRunArgv
let podmanVersion = ''
let runcVersion = ''
let podmanInfo = {}
const podmanProbe = []
if (!PODMAN) {
  fatal.push(`podman not found (looked for ${opts.podman}); install it (apt-get install podman) or pass --podman PATH`)
} else if (!fs.existsSync(opts.runc)) {
  fatal.push(`runc not found at ${opts.runc}; install it (apt-get install runc) or pass --runc PATH`)
} else {
  podmanVersion = sh(PODMAN, ['--version']).stdout.trim()
  runcVersion = sh(opts.runc, ['--version']).stdout.split('\n')[0].trim()
  outer: for (const driver of ['overlay', 'vfs']) {
    const root = path.join(WORK, 'podman', `${driver}-root`)
    const runroot = path.join(WORK, 'podman', `${driver}-runroot`)
    mkdirUser(path.join(WORK, 'podman'))
    const base = ['--runtime', opts.runc, '--root', root, '--runroot', runroot, '--storage-driver', driver]
    log(`loading the image into podman (--storage-driver ${driver})`)
    const load = runAsUser([PODMAN, ...base, 'load', '-i', IMAGE])
    if (!load.ok) {
      podmanProbe.push({driver, step: 'load', ok: false, error: failText(load)})
      continue
    }
    podmanProbe.push({driver, step: 'load', ok: true})
    for (const [globalExtra, runExtra] of [
      [[], []],
      [[], ULIMIT_FLAGS],
      [NO_SYSTEMD_FLAGS, []],
      [NO_SYSTEMD_FLAGS, ULIMIT_FLAGS],
    ]) {
      const global = [...base, ...globalExtra]
      const argv = [PODMAN, ...global, 'run', '--rm', '--net=none', '--pull=never', ...runExtra, 'busybox', 'true']
      const r = runAsUser(argv)
      podmanProbe.push({driver, step: 'run', flags: [...globalExtra, ...runExtra].join(' ') || '(none)', ok: r.ok, ...(r.ok ? {} : {error: failText(r)})})
      if (r.ok) {
        podmanOk = true
        podmanRunArgv = argv
        podmanGlobal = global
        break outer
      }
    }
  }
  if (podmanOk) {
    const info = runAsUser([PODMAN, ...podmanGlobal, 'info', '--format', 'json'])
    try {
      const j = JSON.parse(info.stdout)
      podmanInfo = {
        graphDriver: j.store?.graphDriverName,
        cgroupManager: j.host?.cgroupManager,
        cgroupVersion: j.host?.cgroupVersion,
        eventLogger: j.host?.eventLogger,
        ociRuntime: j.host?.ociRuntime?.path,
        rootless: j.host?.security?.rootless,
      }
    } catch {}
  } else {
    const last = podmanProbe.filter((p) => p.error).map((p) => `--storage-driver ${p.driver} ${p.step}${p.flags ? ` [extra flags: ${p.flags}]` : ''}:\n${p.error}`)
    fatal.push(`podman could not run busybox as ${USER.name}; attempts:\n${last.join('\n---\n')}`)
  }
}

// ncx-runtime alone: capture the exact argv ncx gives the runtime (via NCX_RUNTIME_BINARY), keep the bundle.
let runtimeArgv
let runtimeSkip
if (opts['no-runtime']) runtimeSkip = 'skipped (--no-runtime)'
else if (!ncxOk) runtimeSkip = 'skipped (ncx run failed)'
else {
  const wrapper = path.join(WORK, 'runtime-wrapper.sh')
  const argvFile = path.join(WORK, 'runtime-argv')
  fs.writeFileSync(wrapper, `#!/bin/sh\nif [ "$1" = run ]; then printf '%s\\0' "$@" > ${shq(argvFile)}; fi\nexec ${shq(RUNTIME_BIN)} "$@"\n`, {mode: 0o755})
  if (IS_ROOT) fs.chownSync(wrapper, USER.uid, USER.gid)
  const r = runAsUser([...NCX, 'run', '--name', 'ncx-bench-runtime', 'busybox', 'true'], {NCX_RUNTIME_BINARY: wrapper})
  if (!r.ok || !fs.existsSync(argvFile)) runtimeSkip = `skipped (could not prepare a bundle: ${failText(r)})`
  else {
    const captured = fs.readFileSync(argvFile, 'utf8').split('\0').slice(0, -1)
    const args = []
    for (let i = 0; i < captured.length; i++) {
      // Keep the bundle (no --cleanup). The engine reads the runtime's status lines from a pipe
      // (--status-fd N); here they go to stderr. --status-fd must stay: it is what makes this
      // ncx's private `run` and not the standard OCI `ncx-runtime run ID` (oci.rs is_standard).
      if (captured[i] === '--cleanup') i++
      else if (captured[i] === '--status-fd') args.push(captured[i++], '2')
      else args.push(captured[i])
    }
    runtimeArgv = [RUNTIME_BIN, ...args]
    const check = runAsUser(runtimeArgv)
    if (!check.ok) {
      runtimeSkip = `skipped (\`${shJoin(runtimeArgv)}\` failed: ${failText(check)})`
      runtimeArgv = undefined
    }
  }
}

// ------------------------------------------------------------------------------------------
// Measure
// ------------------------------------------------------------------------------------------
const errRow = (msg) => ({error: msg})
/** Measure side by side; a timing failure of a required benchmark counts as "could not run". */
function required(...entries) {
  const live = entries.filter((e) => e.ok)
  const res = measure(live.map(({name, argv}) => ({name, argv})))
  return entries.map((e) => {
    if (!e.ok) return errRow(e.why)
    const r = res[live.indexOf(e)]
    if (r.error) fatal.push(`${e.name}: ${r.error}`)
    return r
  })
}
const m = {}
const skipped = errRow('not run (--only)')
if (!SUITES.has('startup')) {
  m.ncxRun = m.podmanRun = m.ncxVersion = m.nodeE0 = m.runtime = skipped
} else {
;[m.ncxRun, m.podmanRun] = required(
  {name: 'ncx run --rm --network none busybox true', argv: ncxRunArgv, ok: ncxOk, why: 'ncx could not run'},
  {name: 'podman run --rm --net=none busybox true', argv: podmanRunArgv, ok: podmanOk, why: 'podman could not run'},
)
;[m.ncxVersion, m.nodeE0] = required(
  {name: 'ncx --version', argv: ncxVersionArgv, ok: ncxVersionOk, why: 'ncx could not run'},
  {name: 'node -e 0', argv: nodeArgv, ok: true},
)
m.runtime = runtimeArgv ? measure([{name: 'ncx-runtime run (prepared bundle)', argv: runtimeArgv}])[0] : errRow(runtimeSkip)
}

// ------------------------------------------------------------------------------------------
// The commands suite (issue 17): every-day commands side by side with podman, node -e 0 as
// the floor. Always the internal timer: ncx, podman and node interleaved run by run, and
// untimed set-up steps (a running container to stop, N containers to remove) before each run.
// ------------------------------------------------------------------------------------------
const commandRows = []
if (SUITES.has('commands') && ncxOk) {
  const P = podmanOk ? [PODMAN, ...podmanGlobal] : undefined
  // podman's run flags from the probe (--net=none --pull=never and the ulimits it needed), less
  // the probe's --rm: a container of the lifecycle rows must outlive its stop (podman's
  // `restart` of a --rm container fails with "container has already been removed").
  const podmanRunFlags = podmanOk ? podmanRunArgv.slice(podmanRunArgv.indexOf('run') + 1, -2).filter((f) => f !== '--rm') : []
  const ncxRunFlags = ['--network', 'none']
  const sh_ = (script) => ['/bin/sh', '-c', script]
  const q = (argv) => shJoin(argv)
  // A running container with a log line and a published port, for ps / inspect / logs / port.
  const setupCmd = ['busybox', 'sh', '-c', 'echo hello; exec sleep 1000']
  const ncxSetup = runAsUser([...NCX, 'run', '-d', '--name', 'bench-c', '-p', '127.0.0.1:18480:80', ...setupCmd])
  if (!ncxSetup.ok) notes.push(`commands suite: ncx set-up container failed: ${keyLine(failText(ncxSetup))}`)
  const podmanSetup = P ? runAsUser([...P, 'run', '-d', '--name', 'bench-c', '-p', '127.0.0.1:18481:80', ...podmanRunFlags.filter((f) => f !== '--net=none'), ...setupCmd]) : undefined
  if (podmanSetup && !podmanSetup.ok) notes.push(`commands suite: podman set-up container failed: ${keyLine(failText(podmanSetup))}`)
  const composeDir = path.join(WORK, 'compose')
  mkdirUser(composeDir)
  fs.writeFileSync(path.join(composeDir, 'compose.yaml'), 'services:\n  app:\n    image: busybox\n    command: ["true"]\n')
  const composeFile = path.join(composeDir, 'compose.yaml')

  /** One row: ncx and podman argv (podman optional), target (ratio to podman), and whether node -e 0 + 20 ms applies. */
  const read = (label, ncxArgs, podmanArgs, extra = {}) => ({label, ncx: [...NCX, ...ncxArgs], podman: P && podmanArgs ? [...P, ...podmanArgs] : undefined, target: 1, nearNode: true, ...extra})
  const rows = [
    read('`ps`', ['ps'], ['ps']),
    read('`ps -a`', ['ps', '-a'], ['ps', '-a']),
    read('`images`', ['images'], ['images']),
    read('`inspect C`', ['inspect', 'bench-c'], ['inspect', 'bench-c']),
    read('`logs C` (one line)', ['logs', 'bench-c'], ['logs', 'bench-c']),
    read('`port C`', ['port', 'bench-c'], ['port', 'bench-c']),
    read('`volume ls`', ['volume', 'ls'], ['volume', 'ls']),
    read('`network ls`', ['network', 'ls'], ['network', 'ls']),
    read('`compose ps` (ncx only: no podman compose here)', ['compose', '-f', composeFile, 'ps'], undefined),
    read('`version`', ['version'], ['version']),
    read('`ps --help`', ['ps', '--help'], ['ps', '--help'], {target: undefined, nearNode: false, absolute: 100}),
    read('`--help`', ['--help'], ['--help'], {target: undefined, nearNode: false, absolute: 100}),
    read('`compose up --help`', ['compose', 'up', '--help'], undefined, {target: undefined, nearNode: false, absolute: 100}),
    read('`inspect --help`', ['inspect', '--help'], ['inspect', '--help'], {target: undefined, nearNode: false, absolute: 100}),
  ]
  // Lifecycle: set up untimed before each run, then time the one command.
  const life = (label, verbArgs, prepare, extra = {}) => ({
    label,
    ncx: [...NCX, ...verbArgs],
    podman: P ? [...P, ...verbArgs] : undefined,
    ncxPrepare: prepare(NCX, ncxRunFlags),
    podmanPrepare: P ? prepare(P, podmanRunFlags) : undefined,
    target: 0.5,
    nearNode: false,
    ...extra,
  })
  const fresh = (name, how) => (T, flags) => [[...T, 'rm', '-f', name], how === 'running' ? [...T, 'run', '-d', '--name', name, ...flags, 'busybox', 'sleep', '1000'] : [...T, 'create', '--name', name, ...flags, 'busybox', 'sleep', '1000']]
  rows.push(
    life('`stop -t 0 C` (running)', ['stop', '-t', '0', 'bench-stop'], fresh('bench-stop', 'running')),
    life('`rm -f C` (stopped)', ['rm', '-f', 'bench-rm'], fresh('bench-rm', 'created')),
    life('`rm -f C` (running)', ['rm', '-f', 'bench-rmr'], fresh('bench-rmr', 'running')),
    life('`start C`', ['start', 'bench-start'], fresh('bench-start', 'created')),
    life('`kill C`', ['kill', 'bench-kill'], fresh('bench-kill', 'running')),
    life('`restart -t 0 C`', ['restart', '-t', '0', 'bench-restart'], fresh('bench-restart', 'running')),
    {
      label: `\`rm -f\` of ${MANY} stopped containers in one call`,
      ncx: sh_(`${q([...NCX, 'rm', '-f'])} $(${q([...NCX, 'ps', '-aq', '--filter', 'label=bench-many'])})`),
      podman: P ? sh_(`${q([...P, 'rm', '-f'])} $(${q([...P, 'ps', '-aq', '--filter', 'label=bench-many'])})`) : undefined,
      ncxPrepare: [sh_(`for i in $(seq ${MANY}); do ${q([...NCX, 'create', '--label', 'bench-many', ...ncxRunFlags, 'busybox', 'true'])} >/dev/null || exit 1; done`)],
      podmanPrepare: P ? [sh_(`for i in $(seq ${MANY}); do ${q([...P, 'create', '--label', 'bench-many', ...podmanRunFlags, 'busybox', 'true'])} >/dev/null || exit 1; done`)] : undefined,
      target: 0.5,
      nearNode: false,
      runs: MANY_RUNS,
      warmup: 0,
      note: `(includes one \`ps -aq\` each to list them)`,
    },
    {label: '`run --rm true`', ncx: [...NCX, 'run', '--rm', ...ncxRunFlags, 'busybox', 'true'], podman: P ? [...P, 'run', '--rm', ...podmanRunFlags, 'busybox', 'true'] : undefined, target: 0.3, nearNode: false},
    life('`run -d sleep`', ['run', '-d', '--name', 'bench-rund', 'busybox', 'sleep', '1000'], (T) => [[...T, 'rm', '-f', 'bench-rund']], {target: 0.3}),
  )
  // `run -d` with the tool's network flags: put them in before the image.
  const rund = rows[rows.length - 1]
  rund.ncx = [...NCX, 'run', '-d', '--name', 'bench-rund', ...ncxRunFlags, 'busybox', 'sleep', '1000']
  if (P) rund.podman = [...P, 'run', '-d', '--name', 'bench-rund', ...podmanRunFlags, 'busybox', 'sleep', '1000']

  for (const row of rows) {
    const commands = [{name: `ncx ${row.label}`, argv: row.ncx, prepare: row.ncxPrepare}]
    if (row.podman) commands.push({name: `podman ${row.label}`, argv: row.podman, prepare: row.podmanPrepare})
    // (node -e 0 in every row: the read rows' target, and every row's floor, below)
    commands.push({name: 'node -e 0', argv: nodeArgv})
    const res = measure(commands, {}, {internal: true, runs: row.runs ?? RUNS, warmup: row.warmup ?? WARMUP})
    commandRows.push({...row, ncxM: res[0], podmanM: row.podman ? res[1] : undefined, nodeM: res[res.length - 1]})
  }
  // Leave nothing running.
  for (const name of ['bench-c', 'bench-stop', 'bench-rm', 'bench-rmr', 'bench-start', 'bench-kill', 'bench-restart', 'bench-rund']) {
    runAsUser([...NCX, 'rm', '-f', name])
    if (P) runAsUser([...P, 'rm', '-f', name])
  }
} else if (SUITES.has('commands')) notes.push('commands suite: not run (ncx could not run)')
const LOAD_AFTER = os.loadavg()

// ------------------------------------------------------------------------------------------
// Report
// ------------------------------------------------------------------------------------------
const f1 = (x) => (x === undefined ? '—' : `${x.toFixed(1)} ms`)
const ratio = (a, b) => (a.median !== undefined && b.median !== undefined ? a.median / b.median : undefined)
const rows = [
  {bench: '`ncx run --rm --network none busybox true` vs podman+runc --net=none', ncx: m.ncxRun, peer: m.podmanRun, peerName: 'podman', target: 0.5},
  {bench: '`ncx --version` vs `node -e 0`', ncx: m.ncxVersion, peer: m.nodeE0, peerName: 'node', target: 1.5},
  {bench: '`ncx-runtime run` alone (prepared bundle)', ncx: m.runtime, peer: undefined, target: undefined},
]
for (const r of rows) {
  r.ratio = r.peer ? ratio(r.ncx, r.peer) : undefined
  r.met = r.ratio === undefined || r.target === undefined ? undefined : r.ratio <= r.target
}
const cell = (x) => (x?.error ? `error: ${keyLine(x.error)}` : f1(x?.median))
const table = [
  '| benchmark | ncx median | peer median | ratio | target | met? |',
  '|---|---:|---:|---:|---:|:---:|',
  ...rows.map(
    (r) =>
      `| ${r.bench} | ${cell(r.ncx)} | ${r.peer ? cell(r.peer) : '—'} | ${r.ratio === undefined ? '—' : `${r.ratio.toFixed(3)}×`} | ` +
      `${r.target === undefined ? '— (info)' : `≤ ${r.target}×`} | ${r.met === undefined ? '—' : r.met ? 'yes' : 'no'} |`,
  ),
].join('\n')

const loadText = (l) => l.map((x) => x.toFixed(2)).join(' ')
for (const r of commandRows) {
  r.ratio = r.podmanM ? ratio(r.ncxM, r.podmanM) : undefined
  r.overNode = r.nodeM && r.ncxM.median !== undefined && r.nodeM.median !== undefined ? r.ncxM.median - r.nodeM.median : undefined
  const checks = []
  if (r.target !== undefined && r.ratio !== undefined) checks.push(r.ratio <= r.target)
  if (r.nearNode && r.overNode !== undefined) checks.push(r.overNode <= 20)
  if (r.absolute !== undefined && r.ncxM.median !== undefined) checks.push(r.ncxM.median <= r.absolute)
  r.met = checks.length === 0 ? undefined : checks.every(Boolean)
  // The floor: the ratio of `node -e 0` alone to podman, in the same interleaved run. ncx is a
  // Node program, so a ratio target below it cannot be met by anything ncx does.
  r.floor = r.nodeM && r.podmanM ? ratio(r.nodeM, r.podmanM) : undefined
  r.belowFloor = r.target !== undefined && r.floor !== undefined && r.floor > r.target
  r.metText = r.met === undefined ? '—' : r.met ? 'yes' : r.belowFloor ? `no: target below Node's start-up (\`node -e 0\` alone is ${r.floor.toFixed(2)}× podman)` : 'no'
  r.targetText = [r.target !== undefined ? `≤ ${r.target}× podman` : undefined, r.nearNode ? '≤ node + 20 ms' : undefined, r.absolute !== undefined ? `≤ ${r.absolute} ms` : undefined].filter(Boolean).join(', ')
}
const commandTable = commandRows.length === 0 ? '' : [
  '| command | ncx median | podman median | ratio | ncx − `node -e 0` | target | met? |',
  '|---|---:|---:|---:|---:|---|:---:|',
  ...commandRows.map(
    (r) =>
      `| ${r.label}${r.note ? ` ${r.note}` : ''} | ${cell(r.ncxM)} | ${r.podmanM ? cell(r.podmanM) : '—'} | ${r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`} | ` +
      `${r.overNode === undefined ? '—' : `${r.overNode >= 0 ? '+' : ''}${r.overNode.toFixed(1)} ms`} | ${r.targetText} | ${r.metText} |`,
  ),
].join('\n')
const nodeMedians = commandRows.map((r) => r.nodeM?.median).filter((x) => x !== undefined)

const detailRows = [
  ['ncx run --rm --network none busybox true', m.ncxRun],
  ['podman run --rm --net=none busybox true', m.podmanRun],
  ['ncx --version', m.ncxVersion],
  ['node -e 0', m.nodeE0],
  ['ncx-runtime run (prepared bundle)', m.runtime],
]
const details = [
  '| command | median | mean | σ | min | max | runs |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...detailRows.map(([n, x]) =>
    x.error ? `| ${n} | ${keyLine(x.error)} | | | | | |` : `| ${n} | ${f1(x.median)} | ${f1(x.mean)} | ${f1(x.stddev)} | ${f1(x.min)} | ${f1(x.max)} | ${x.runs} |`,
  ),
].join('\n')

const cpus = os.cpus()
const env = {
  date: new Date().toISOString(),
  kernel: `${os.type()} ${os.release()} ${os.machine?.() ?? os.arch()}`,
  cpus: `${os.availableParallelism?.() ?? cpus.length} × ${cpus[0]?.model?.trim() ?? 'unknown'}`,
  node: process.version,
  ncx: ncxVersion,
  podman: podmanVersion || '(not available)',
  runc: runcVersion || '(not available)',
  timer: TIMER === 'hyperfine' ? `${sh(HYPERFINE, ['--version']).stdout.trim()} (commands one after the other)` : 'internal (spawnSync + process.hrtime; the two commands of a row interleaved)',
  user: `${USER.name} (uid ${USER.uid})${IS_ROOT ? ', via runuser from root' : ''}`,
  runs: RUNS,
  warmup: WARMUP,
}
const podmanExtra = podmanOk ? [...podmanGlobal.slice(podmanGlobal.indexOf('--storage-driver')), ...podmanRunArgv.slice(podmanRunArgv.indexOf('--pull=never') + 1, -2)] : []
const userPrefix = shJoin(asUser([]))
const hfPrefix =
  TIMER === 'hyperfine' ? `${HYPERFINE} -N --warmup ${WARMUP} --runs ${RUNS} --export-json FILE` : `(internal timer: ${WARMUP} warm-up + ${RUNS} timed spawnSync calls each, the two commands of a row interleaved)`

const jsOverhead = m.ncxRun.median !== undefined && m.runtime.median !== undefined ? m.ncxRun.median - m.runtime.median : undefined

// The sections of this suite in bench/RESULTS.md (bench/suites.js writes the file, the summary first).
const md = `## Start-up and every-day commands (suites startup, commands)

- date: ${env.date}
- kernel: ${env.kernel}
- CPUs: ${env.cpus}
- node: ${env.node}
- ncx: ${env.ncx || '(not available)'}
- podman: ${env.podman}; runtime ${env.runc}${podmanInfo.graphDriver ? `; storage ${podmanInfo.graphDriver}, cgroup manager ${podmanInfo.cgroupManager} (cgroup ${podmanInfo.cgroupVersion}), events ${podmanInfo.eventLogger}` : ''}
- timer: ${env.timer}
- user: ${env.user}
- runs: ${RUNS} timed per command, after ${WARMUP} warm-up runs; medians compared; ratio = ncx median / peer median

- load average (1, 5, 15 min): ${loadText(LOAD_BEFORE)} at the start, ${loadText(LOAD_AFTER)} at the end (${os.availableParallelism?.() ?? os.cpus().length} CPUs; above that, every timing is inflated)

## Results

${SUITES.has('startup') ? table : '(startup suite not run: --only)'}
${commandTable ? `\n### Every-day commands (issue 17)\n\nInterleaved run by run (ncx, podman, \`node -e 0\`), internal timer, ${RUNS} runs (${MANY_RUNS} for the ${MANY}-container row), set-up steps untimed. \`node -e 0\` medians here: ${nodeMedians.length ? `${f1(Math.min(...nodeMedians))} – ${f1(Math.max(...nodeMedians))}` : '—'}. Read commands run on a store with one image and one running container. Every row also times \`node -e 0\`: where a ratio target is below \`node -e 0\`'s own ratio to podman in that row (Node's start-up alone, the floor of any Node program), \`met?\` says so with that ratio.\n\n${commandTable}\n` : ''}
${jsOverhead !== undefined ? `Of the \`ncx run\` median, ${f1(m.runtime.median)} is \`ncx-runtime run\` itself; the other ${f1(jsOverhead)} is the Node side (start-up, store lookup, bundle creation, removal).\n\n` : ''}## Details

${details}

## Commands

All commands run as ${USER.name} through this prefix (isolated stores under a fresh temporary directory, deleted afterwards):

\`\`\`
${userPrefix}
\`\`\`

Timed with:

\`\`\`
${hfPrefix} CMD
\`\`\`

\`\`\`
${shJoin(ncxRunArgv)}
${podmanRunArgv ? shJoin(podmanRunArgv) : '(podman: not run)'}
${shJoin(ncxVersionArgv)}
${shJoin(nodeArgv)}
${runtimeArgv ? shJoin(runtimeArgv) : `(ncx-runtime: ${runtimeSkip})`}
\`\`\`

Image: \`${opts.image ? IMAGE : 'node scripts/mkimage.js busybox --out DIR'}\` → \`busybox.oci.tar\`, loaded with \`ncx load -i\` and \`podman load -i\`.
The ncx-runtime command is the exact argv \`ncx run\` passes to the runtime (captured through \`NCX_RUNTIME_BINARY\`), with its status lines sent to stderr (\`--status-fd 2\`) and without \`--cleanup\`, on the bundle of a container created with \`ncx run --name ncx-bench-runtime busybox true\`.

### podman flags needed on this machine

${podmanOk ? `Beyond \`--runtime ${opts.runc} --root DIR --runroot DIR\` and \`run --rm --net=none --pull=never\` (\`--pull=never\` only keeps podman off the network, as ncx never pulls): \`${podmanExtra.join(' ')}\`.` : 'podman could not run; see the errors below.'}

Probe (first working combination wins):

${podmanProbe.map((p) => `- \`--storage-driver ${p.driver}\` ${p.step}${p.flags ? ` with \`${p.flags}\`` : ''}: ${p.ok ? 'ok' : `failed: \`${keyLine(p.error ?? '')}\``}`).join('\n') || '- (not run)'}
${fatal.length ? `\n## Errors\n\n${fatal.map((f) => `\`\`\`\n${f}\n\`\`\``).join('\n\n')}\n` : ''}${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`

// One row per target for the summary of `npm run bench` (bench/summary.js).
const summaryRows = []
const errorOf = (...xs) => xs.map((x) => x?.error).filter(Boolean).map(keyLine)[0]
if (SUITES.has('startup')) {
  summaryRows.push(
    summaryRow({suite: 'startup', benchmark: '`run --rm --network none busybox true`', ncx: m.ncxRun.median, peer: m.podmanRun.median, target: '≤ 0.5× podman', ratioMax: 0.5, note: errorOf(m.ncxRun, m.podmanRun)}),
    summaryRow({suite: 'startup', benchmark: '`--version` vs `node -e 0`', ncx: m.ncxVersion.median, peer: m.nodeE0.median, peerName: 'node -e 0', target: '≤ 1.5× node -e 0', ratioMax: 1.5, note: errorOf(m.ncxVersion, m.nodeE0)}),
    summaryRow({suite: 'startup', benchmark: '`ncx-runtime run` alone (prepared bundle)', ncx: m.runtime.median, note: errorOf(m.runtime)}),
  )
}
for (const r of commandRows) {
  const notes = [
    r.nearNode && r.overNode !== undefined ? `${r.overNode >= 0 ? '+' : ''}${r.overNode.toFixed(1)} ms over \`node -e 0\`` : undefined,
    r.met === false && r.belowFloor ? r.metText.slice(4) : undefined,
  ].filter(Boolean)
  summaryRows.push(
    summaryRow({suite: 'commands', benchmark: `${r.label}${r.note ? ` ${r.note}` : ''}`, ncx: r.ncxM?.median, peer: r.podmanM?.median, target: r.targetText || null, met: r.met, note: errorOf(r.ncxM, r.podmanM) ?? (notes.join('; ') || undefined)}),
  )
}

process.stdout.write(`${SUITES.has('startup') ? `${table}\n` : ''}${commandTable ? `\n${commandTable}\n` : ''}`)
try {
  fs.mkdirSync(path.join(BENCH_DIR, 'results'), {recursive: true})
  fs.writeFileSync(
    path.join(BENCH_DIR, 'results', 'startup-latest.json'),
    `${JSON.stringify(
      {
        summaryRows,
        markdown: md,
        env,
        podman: {ok: podmanOk, flags: podmanExtra, info: podmanInfo, probe: podmanProbe},
        commands: {
          prefix: asUser([]),
          timer: hfPrefix,
          ncxRun: ncxRunArgv,
          podmanRun: podmanRunArgv ?? null,
          ncxVersion: ncxVersionArgv,
          node: nodeArgv,
          runtime: runtimeArgv ?? null,
        },
        rows: rows.map((r) => ({benchmark: r.bench, ncxMedianMs: r.ncx.median ?? null, peerMedianMs: r.peer?.median ?? null, ratio: r.ratio ?? null, target: r.target ?? null, met: r.met ?? null})),
        load: {before: LOAD_BEFORE, after: LOAD_AFTER},
        commandRows: commandRows.map((r) => ({command: r.label, ncx: r.ncx, podman: r.podman ?? null, ncxMedianMs: r.ncxM?.median ?? null, podmanMedianMs: r.podmanM?.median ?? null, nodeMedianMs: r.nodeM?.median ?? null, ratio: r.ratio ?? null, overNodeMs: r.overNode ?? null, floorRatio: r.floor ?? null, targetBelowFloor: r.belowFloor, target: r.targetText, met: r.met ?? null, errors: [r.ncxM?.error, r.podmanM?.error].filter(Boolean)})),
        measurements: m,
        errors: fatal,
      },
      null,
      2,
    )}\n`,
  )
  log(`wrote ${path.relative(process.cwd(), path.join(BENCH_DIR, 'results', 'startup-latest.json'))}`)
} catch (e) {
  fatal.push(`could not write the results under ${BENCH_DIR}: ${e.message}`)
}

cleanup()
if (fatal.length > 0) {
  process.stderr.write(`\nbench: could not run everything (exit 1):\n\n${fatal.join('\n\n')}\n`)
  process.exit(1)
}
