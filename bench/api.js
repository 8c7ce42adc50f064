#!/usr/bin/env node
// bench/api.js — the Docker Engine API: the same \`docker\` client against \`ncx system service\`'s
// socket and \`podman system service\`'s socket (podman + runc), interleaved:
//   1. \`docker run --rm --network none busybox true\`: create, attach, start, wait, remove
//   2. \`docker ps\` with N containers running
//      and the same \`docker ps\` against a stand-in server that answers at once from memory with
//      the body ncx's service gave (the client's own floor: no server can answer faster)
//   3. each service's VmRSS idle (after start-up and one \`docker version\`) and with N containers
//   4. \`docker-compose up -d\` (Debian's Compose v1, over docker-py) of a project with N services
//      (busybox, network_mode none), its wall time and the service's peak VmRSS meanwhile; then
//      \`down -t 0\` (skipped, saying so, without docker-compose)
//
//   node bench/api.js [--runs N] [--warmup N] [--containers N] [--compose-runs N] [--user NAME]
//                     [--image FILE] [--podman PATH] [--runc PATH] [--docker PATH] [--keep]
//
// Targets (issue 18): run --rm ≤ 0.5× podman; ps with 20 containers ≤ 0.5× podman; RSS reported.
// Both services run as the same unprivileged user (\`ncxtest\` when started as root) with private
// stores, on the same image (scripts/mkimage.js busybox), without a network (\`--network none\`:
// the engines' work, not slirp4netns'). The timings are taken by a worker running as that user
// (spawnSync + hrtime). Writes bench/RESULTS-api.md and bench/results/api-latest.json. Exit 0
// whenever everything could run (a missed target is a result, not a failure).

import {spawn, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {BENCH_DIR, benchImage, benchOptions, benchTeardown, benchUser, failText, hostInfo, loadNcx, log, NCX_BIN, NODE, podmanStore, requireBuilt, sh, shJoin, stats, which} from './lib.js'
import {summaryRow} from './summary.js'

const TARGETS = {run: 0.5, ps: 0.5}

if (process.argv[2] === '--worker') {
  worker(JSON.parse(fs.readFileSync(process.argv[3], 'utf8'))).then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`${e.stack ?? e}\n`)
      process.exit(1)
    },
  )
} else {
  driver()
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


/** Run argv without blocking, sampling the service's VmRSS every 50 ms: wall time and the peak. */
function timedSampling(argv, env, pid) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    let peak = rssOf(pid)
    const tick = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50)
    const child = spawn(argv[0], argv.slice(1), {env, stdio: ['ignore', 'pipe', 'pipe']})
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    child.stdout.resume()
    child.on('close', (code) => {
      clearInterval(tick)
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (code !== 0) reject(new Error(`${shJoin(argv)} failed (exit ${code}):\n${err.trim()}`))
      else resolve({ms, peakRssKiB: Math.max(peak, rssOf(pid))})
    })
  })
}

function rssOf(pid) {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN)
  } catch {
    return NaN
  }
}

async function startService(t) {
  const child = spawn(t.service[0], t.service.slice(1), {stdio: ['ignore', 'ignore', 'pipe'], detached: false})
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const end = Date.now() + 30_000
  for (;;) {
    if (fs.existsSync(t.socket) && spawnSync(t.docker, ['version'], {env: {...process.env, DOCKER_HOST: `unix://${t.socket}`}, stdio: 'ignore'}).status === 0) break
    if (Date.now() > end || child.exitCode !== null) throw new Error(`${t.key} service did not start: ${stderr}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return child
}

/**
 * The docker client's floor for `docker ps`: a process (not this one: spawnSync blocks it) that
 * fetches ncx's `GET /containers/json` body once, then answers `/_ping` and that path from memory.
 */
async function startFloorServer(ncxSocket, socket) {
  const code = `
const http = require('node:http')
const [ncxSocket, socket] = process.argv.slice(1)
const hdr = {'Api-Version': '1.47', 'Ostype': 'linux', 'Content-Type': 'application/json'}
http.get({socketPath: ncxSocket, path: '/v1.47/containers/json'}, (r) => {
  const parts = []
  r.on('data', (d) => parts.push(d))
  r.on('end', () => {
    const body = Buffer.concat(parts)
    http.createServer((req, res) => {
      if (req.url.endsWith('/_ping')) {
        res.writeHead(200, {...hdr, 'Content-Type': 'text/plain; charset=utf-8', 'Builder-Version': '1'})
        res.end(req.method === 'HEAD' ? undefined : 'OK')
      } else if (req.url.includes('/containers/json')) {
        res.writeHead(200, hdr)
        res.end(body)
      } else {
        res.writeHead(404, hdr)
        res.end('{"message":"the floor server answers only /_ping and /containers/json"}')
      }
    }).listen(socket, () => console.log('ready'))
  })
})`
  const child = spawn(process.execPath, ['-e', code, ncxSocket, socket], {stdio: ['ignore', 'pipe', 'inherit']})
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve)
    child.once('exit', (c) => reject(new Error(`the floor server exited (${c})`)))
  })
  return child
}

async function worker(spec) {
  const result = {tools: {}}
  const tools = spec.tools
  const children = {}
  for (const t of tools) {
    result.tools[t.key] = {run: [], ps: [], errors: []}
    children[t.key] = await startService(t)
    await new Promise((r) => setTimeout(r, 1000))
    result.tools[t.key].idleRssKiB = rssOf(children[t.key].pid)
  }
  const docker = (t, args) => {
    process.env.DOCKER_HOST = `unix://${t.socket}`
    return timed([t.docker, ...args])
  }
  try {
    for (let i = 0; i < spec.warmup + spec.runs; i++) {
      for (const t of i % 2 ? [...tools].reverse() : tools) {
        const r = result.tools[t.key]
        if (r.errors.length > 0) continue
        try {
          const a = docker(t, ['run', '--rm', '--network', 'none', 'busybox', 'true'])
          if (i >= spec.warmup) r.run.push(a.ms)
        } catch (e) {
          r.errors.push(e.message)
        }
      }
    }
    for (const t of tools) {
      const r = result.tools[t.key]
      try {
        for (let i = 0; i < spec.containers; i++) docker(t, ['run', '-d', '--network', 'none', '--name', `ps-${t.key}-${i}`, 'busybox', 'sleep', '1000'])
      } catch (e) {
        r.errors.push(e.message)
      }
    }
    for (let i = 0; i < spec.warmup + spec.runs; i++) {
      for (const t of i % 2 ? [...tools].reverse() : tools) {
        const r = result.tools[t.key]
        try {
          const a = docker(t, ['ps'])
          if (i === 0) r.psRows = a.stdout.trim().split('\n').length - 1
          if (i >= spec.warmup) r.ps.push(a.ms)
        } catch (e) {
          r.errors.push(e.message)
        }
      }
    }
    // The client's floor: the same `docker ps`, rendering the same rows, against a server that
    // does no work.
    const ncxTool = tools.find((t) => t.key === 'ncx')
    if (ncxTool) {
      const floorSocket = `${path.dirname(ncxTool.socket)}/floor.sock`
      const floor = await startFloorServer(ncxTool.socket, floorSocket)
      result.floor = {ps: []}
      try {
        for (let i = 0; i < spec.warmup + spec.runs; i++) {
          const a = docker({...ncxTool, socket: floorSocket}, ['ps'])
          if (i === 0) result.floor.psRows = a.stdout.trim().split('\n').length - 1
          if (i >= spec.warmup) result.floor.ps.push(a.ms)
        }
      } catch (e) {
        result.floor.error = e.message
      } finally {
        floor.kill()
      }
    }
    for (const t of tools) result.tools[t.key].busyRssKiB = rssOf(children[t.key].pid)
    if (spec.compose) {
      // The ps containers go first: the compose project runs on its own.
      for (const t of tools) {
        process.env.DOCKER_HOST = `unix://${t.socket}`
        spawnSync(t.docker, ['rm', '-f', ...Array.from({length: spec.containers}, (_, i) => `ps-${t.key}-${i}`)], {stdio: 'ignore'})
      }
      for (let i = 0; i < spec.compose.runs; i++) {
        for (const t of i % 2 ? [...tools].reverse() : tools) {
          const r = result.tools[t.key]
          const env = {...process.env, DOCKER_HOST: `unix://${t.socket}`, COMPOSE_PARALLEL_LIMIT: '64'}
          const compose = [spec.compose.bin, '-f', spec.compose.file, '-p', `bench${t.key}`]
          try {
            const up = await timedSampling([...compose, 'up', '-d'], env, children[t.key].pid)
            ;(r.compose ??= []).push(up.ms)
            r.composePeakRssKiB = Math.max(r.composePeakRssKiB ?? 0, up.peakRssKiB)
            r.composeRows = spawnSync(t.docker, ['ps', '-q'], {env, encoding: 'utf8'}).stdout.trim().split('\n').filter(Boolean).length
          } catch (e) {
            r.errors.push(e.message)
          }
          spawnSync(compose[0], [...compose.slice(1), 'down', '-t', '0'], {env, stdio: 'ignore'})
        }
      }
    }
  } finally {
    for (const t of tools) {
      const names = Array.from({length: spec.containers}, (_, i) => `ps-${t.key}-${i}`)
      process.env.DOCKER_HOST = `unix://${t.socket}`
      spawnSync(t.docker, ['rm', '-f', ...names], {stdio: 'ignore'})
      children[t.key].kill('SIGTERM')
    }
  }
  fs.writeFileSync(spec.out, JSON.stringify(result, null, 2))
}

function driver() {
const USAGE = `usage: node bench/api.js [options]
  --runs N          timed runs per tool and command (default 15)
  --warmup N        untimed runs first (default 2)
  --containers N    containers running for \`docker ps\` (default 20)
  --user NAME       unprivileged user when started as root (default ncxtest)
  --image FILE      busybox OCI tar (default: built with scripts/mkimage.js)
  --podman PATH     podman binary (default podman)
  --runc PATH       runc for podman --runtime (default /usr/sbin/runc)
  --docker PATH     docker client (default docker)
  --compose-runs N  docker-compose up -d runs per tool with --containers services (default 3; 0: none)
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
  docker: {type: 'string', default: 'docker'},
  'compose-runs': {type: 'string', default: '3'},
  keep: {type: 'boolean', default: false},
})
const COMPOSE_RUNS = Number(opts['compose-runs'])
const RUNS = Number(opts.runs)
const WARMUP = Number(opts.warmup)
const CONTAINERS = Number(opts.containers)
if (![RUNS, CONTAINERS].every((n) => Number.isInteger(n) && n > 0) || !Number.isInteger(WARMUP) || WARMUP < 0) {
  process.stderr.write('bench: --runs and --containers must be positive integers, --warmup a non-negative integer\n')
  process.exit(2)
}
requireBuilt('node bench/api.js')
const DOCKER = which(opts.docker)
if (!DOCKER) {
  process.stderr.write(`bench: no docker client (${opts.docker}): install Debian's docker.io\n`)
  process.exit(1)
}

const U = benchUser({userName: opts.user, xdgBase: '/tmp/ncx-bench-api-xdg'})
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'ncx-bench-api-'))
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


const sockets = path.join(WORK, 'sockets')
U.mkdirUser(sockets)
const tools = [
  {key: 'ncx', label: 'ncx system service', docker: DOCKER, socket: path.join(sockets, 'ncx.sock'), service: [...NCX, 'system', 'service', '--timeout', '0', `unix://${path.join(sockets, 'ncx.sock')}`]},
  {key: 'podman', label: 'podman system service + runc', docker: DOCKER, socket: path.join(sockets, 'podman.sock'), service: [PODMAN, ...podmanGlobal, 'system', 'service', '--time', '0', `unix://${path.join(sockets, 'podman.sock')}`]},
]
const OUT = path.join(WORK, 'worker-out.json')
const specFile = path.join(WORK, 'worker-spec.json')
// docker-compose: a project of CONTAINERS services, written where the user can read it.
const COMPOSE = which('docker-compose')
let compose = null
if (COMPOSE && COMPOSE_RUNS > 0) {
  const file = path.join(WORK, 'docker-compose.yml')
  const services = Array.from({length: CONTAINERS}, (_, i) => `  s${i}:\n    image: busybox\n    command: ["sleep", "1000"]\n    network_mode: none\n`).join('')
  fs.writeFileSync(file, `version: "3.8"\nservices:\n${services}`)
  fs.chmodSync(file, 0o644)
  compose = {bin: COMPOSE, file, runs: COMPOSE_RUNS}
}
fs.writeFileSync(specFile, JSON.stringify({runs: RUNS, warmup: WARMUP, containers: CONTAINERS, out: OUT, tools, compose}))
fs.chmodSync(specFile, 0o644)
log(`timing docker run --rm and docker ps through both sockets (${WARMUP} warm-up + ${RUNS} runs each, interleaved; ${CONTAINERS} containers for ps)`)
const w = U.runAsUser([NODE, fileURLToPath(import.meta.url), '--worker', specFile], ncxEnv, {stdio: ['ignore', 'pipe', 'pipe']})
if (!w.ok) die(`the worker failed:\n${failText(w)}`)
const raw = JSON.parse(fs.readFileSync(OUT, 'utf8'))

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a')
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a')
const summary = {}
for (const t of tools) {
  const r = raw.tools[t.key]
  summary[t.key] = {run: r.run.length ? stats(r.run) : null, ps: r.ps.length ? stats(r.ps) : null, psRows: r.psRows, idleRssKiB: r.idleRssKiB, busyRssKiB: r.busyRssKiB, compose: r.compose?.length ? stats(r.compose) : null, composeRows: r.composeRows, composePeakRssKiB: r.composePeakRssKiB, errors: r.errors}
}
const n = summary.ncx
const p = summary.podman
const floorPs = raw.floor?.ps?.length ? stats(raw.floor.ps) : null
const ratio = (a, b) => (a && b ? a.median / b.median : NaN)
const rows = [
  {what: '`docker run --rm --network none busybox true` (ms, median)', ncx: f1(n.run?.median), podman: f1(p.run?.median), ratio: ratio(n.run, p.run), target: `≤ ${TARGETS.run}×`, met: ratio(n.run, p.run) <= TARGETS.run},
  {what: `\`docker ps\` with ${CONTAINERS} containers (ms, median)`, ncx: f1(n.ps?.median), podman: f1(p.ps?.median), ratio: ratio(n.ps, p.ps), target: `≤ ${TARGETS.ps}×`, met: ratio(n.ps, p.ps) <= TARGETS.ps},
  {what: `\`docker ps\`, same rows, against a server answering from memory: the client's floor (ms, median)`, ncx: f1(floorPs?.median), podman: '', ratio: ratio(floorPs, p.ps), target: 'reported', met: undefined},
  {what: 'service VmRSS idle (MiB)', ncx: f1(n.idleRssKiB / 1024), podman: f1(p.idleRssKiB / 1024), ratio: n.idleRssKiB / p.idleRssKiB, target: 'reported', met: undefined},
  {what: `service VmRSS after the runs, ${CONTAINERS} containers (MiB)`, ncx: f1(n.busyRssKiB / 1024), podman: f1(p.busyRssKiB / 1024), ratio: n.busyRssKiB / p.busyRssKiB, target: 'reported', met: undefined},
  ...(compose
    ? [
        {what: `\`docker-compose up -d\`, ${CONTAINERS} services (ms, median)`, ncx: f1(n.compose?.median), podman: f1(p.compose?.median), ratio: ratio(n.compose, p.compose), target: 'reported', met: undefined},
        {what: `service VmRSS peak during \`docker-compose up -d\` (MiB)`, ncx: f1(n.composePeakRssKiB / 1024), podman: f1(p.composePeakRssKiB / 1024), ratio: n.composePeakRssKiB / p.composePeakRssKiB, target: 'reported', met: undefined},
      ]
    : []),
]
const env = {
  ...hostInfo(),
  ncx: sh(NODE, [NCX_BIN, '--version']).stdout.trim(),
  podman: sh(PODMAN, ['--version']).stdout.trim(),
  runc: sh(opts.runc, ['--version']).stdout.split('\n')[0].trim(),
  docker: sh(DOCKER, ['--version']).stdout.trim(),
  user: `${U.user.name} (uid ${U.user.uid})`,
  runs: RUNS,
  warmup: WARMUP,
  containers: CONTAINERS,
}
const summaryRows = [
  summaryRow({benchmark: '`docker run --rm --network none busybox true` through the socket', ncx: n.run?.median, peer: p.run?.median, target: `≤ ${TARGETS.run}× podman`, ratioMax: TARGETS.run}),
  summaryRow({benchmark: `\`docker ps\` with ${CONTAINERS} containers through the socket`, ncx: n.ps?.median, peer: p.ps?.median, target: `≤ ${TARGETS.ps}× podman`, ratioMax: TARGETS.ps, note: floorPs ? `the client alone (a server answering from memory): ${f1(floorPs.median)} ms` : undefined}),
  summaryRow({benchmark: 'service VmRSS idle', ncx: n.idleRssKiB / 1024, peer: p.idleRssKiB / 1024, unit: 'MiB'}),
  summaryRow({benchmark: `service VmRSS with ${CONTAINERS} containers`, ncx: n.busyRssKiB / 1024, peer: p.busyRssKiB / 1024, unit: 'MiB'}),
  ...(compose ? [summaryRow({benchmark: `\`docker-compose up -d\`, ${CONTAINERS} services`, ncx: n.compose?.median, peer: p.compose?.median})] : []),
]
const table = [
  '| measurement | ncx | podman + runc | ncx / podman | target | met |',
  '|---|---:|---:|---:|---|---|',
  ...rows.map((r) => `| ${r.what} | ${r.ncx} | ${r.podman} | ${f2(r.ratio)} | ${r.target} | ${r.met === undefined ? '' : r.met ? 'yes' : '**no**'} |`),
].join('\n')
const errors = tools.flatMap((t) => summary[t.key].errors.map((e) => `- ${t.label}: ${e.split('\n').slice(0, 2).join(' ')}`))
const md = `# Engine API benchmark: the docker client through ncx's socket vs podman's

Generated by \`node bench/api.js\` on ${env.date}.

${table}

- The same client (${env.docker}) with \`DOCKER_HOST\` at each service's unix socket; services:
  \`${shJoin(['ncx', 'system', 'service', '--timeout', '0', 'unix://…'])}\` and \`${shJoin(['podman', ...podmanGlobal, 'system', 'service', '--time', '0', 'unix://…'])}\`.
- \`docker run --rm\`: the client's create, attach, start, wait and remove calls, wall time.
- \`docker ps\`: ${n.psRows ?? '?'} (ncx) and ${p.psRows ?? '?'} (podman) rows listed.
- RSS: VmRSS of the service process (podman: the \`podman system service\` process; its conmons are not counted; ncx's monitors neither).
- ${compose ? `\`docker-compose up -d\` (${sh(COMPOSE, ['version', '--short']).stdout.trim() || 'docker-compose'}): ${COMPOSE_RUNS} runs per tool, interleaved, \`down -t 0\` after each; ${n.composeRows ?? '?'} (ncx) and ${p.composeRows ?? '?'} (podman) containers up; peak RSS sampled every 50 ms.` : 'docker-compose: not measured (not installed, or --compose-runs 0).'}
- Spread (ms, min–max): ncx run ${f1(n.run?.min)}–${f1(n.run?.max)}, podman run ${f1(p.run?.min)}–${f1(p.run?.max)};
  ncx ps ${f1(n.ps?.min)}–${f1(n.ps?.max)}, podman ps ${f1(p.ps?.min)}–${f1(p.ps?.max)}.
- The client's floor: \`docker ps\` against a stand-in server (a Node process that fetched ncx's
  \`/containers/json\` body once and answers it, and \`/_ping\`, from memory; ${raw.floor?.psRows ?? '?'} rows):
  ${floorPs ? `${f1(floorPs.median)} ms, ${f2(ratio(floorPs, p.ps))}× podman's \`docker ps\`. A server doing no work makes \`docker ps\` no faster than that (measured in its own loop right after the interleaved ones); ncx's service adds ${f1(n.ps.median - floorPs.median)} ms to it.` : `not measured${raw.floor?.error ? ` (${raw.floor.error.split('\n')[0]})` : ''}.`}
${errors.length ? `\nErrors:\n${errors.join('\n')}\n` : ''}
Environment: ${env.kernel}; ${env.cpus}; load ${env.load}; Node ${env.node}; ${env.ncx}; ${env.podman}; ${env.runc};
user ${env.user}; ${WARMUP} warm-up + ${RUNS} timed runs per tool, the tools interleaved.
`
fs.mkdirSync(path.join(BENCH_DIR, 'results'), {recursive: true})
fs.writeFileSync(path.join(BENCH_DIR, 'RESULTS-api.md'), md)
fs.writeFileSync(path.join(BENCH_DIR, 'results', 'api-latest.json'), `${JSON.stringify({env, targets: TARGETS, summary, raw, summaryRows}, null, 2)}\n`)
process.stdout.write(`${table}\n`)
cleanup()
}
