#!/usr/bin/env node
// bench/net.js — rootless network throughput and start-up cost: ncx side by side with podman
// (runc, rootless) in one run, as the same unprivileged user, with the same iperf3 image
// (scripts/mkimage.js iperf3: busybox + Debian's iperf3 and its shared libraries).
//
//   node bench/net.js [--runs N] [--seconds S] [--start-runs N] [--user NAME] [--podman PATH] [--runc PATH] [--keep]
//
// Measures (iperf3 on the host as the other end, 127.0.0.1 only; every measurement repeated
// --runs times, the targets interleaved round by round; medians compared):
//   1. host → container through a published port (-p 127.0.0.1:PORT:5201), one stream and
//      four (-P 4): ncx (bridge + ncx-forward), ncx with port bypass (NCX_PORT_BYPASS=1: the
//      container's listening socket is the host's), ncx --network slirp4netns (ncx-forward),
//      podman -p (rootlessport), podman --network slirp4netns:port_handler=slirp4netns, and
//      plain host loopback (iperf3 -s on the host, no container) in the same rounds
//   2. container → host through the outbound path (iperf3 -c 10.0.2.2 in the container; host
//      loopback enabled): ncx (bridge, per-user slirp4netns), ncx --network slirp4netns, podman
//      slirp4netns (its default), podman's bridge (--network podman), and ncx's bridge with
//      the client and the per-user slirp4netns pinned (taskset) to different CPUs and to one
//   3. container start: `run --rm iperf3 true` with the default network vs --network none
//      (ncx and podman), --start-runs times each, interleaved
// Writes bench/RESULTS-net.md and bench/results/net-latest.json.

import {spawn, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {createServer} from 'node:net'

import {BENCH_DIR, NCX_BIN, NODE, NO_SYSTEMD_FLAGS, REPO, benchOptions, benchTeardown, benchUser, failText, hostInfo, log, requireBuilt, sh, stats, which} from './lib.js'
import {summaryRow} from './summary.js'

const USAGE = `usage: node bench/net.js [--runs N] [--seconds S] [--start-runs N] [--user NAME] [--podman PATH] [--runc PATH] [--keep]
`
const opts = benchOptions(USAGE, {
  runs: {type: 'string', default: '5'},
  seconds: {type: 'string', default: '4'},
  'start-runs': {type: 'string', default: '15'},
  user: {type: 'string', default: 'ncxtest'},
  podman: {type: 'string', default: 'podman'},
  runc: {type: 'string', default: '/usr/sbin/runc'},
  keep: {type: 'boolean', default: false},
})
const RUNS = Number(opts.runs)
const SECONDS = Number(opts.seconds)
const START_RUNS = Number(opts['start-runs'])
if (![RUNS, SECONDS, START_RUNS].every((n) => Number.isInteger(n) && n > 0)) {
  process.stderr.write('bench: --runs, --seconds and --start-runs must be positive integers\n')
  process.exit(2)
}
requireBuilt('node bench/net.js')
const IPERF3 = which('iperf3')
const PODMAN = which(opts.podman)
if (!IPERF3) {
  process.stderr.write('bench: iperf3 is not installed (apt-get install iperf3)\n')
  process.exit(1)
}
if (!PODMAN || !fs.existsSync(opts.runc)) {
  process.stderr.write(`bench: podman (${opts.podman}) and runc (${opts.runc}) are needed for the comparison (apt-get install podman runc)\n`)
  process.exit(1)
}

const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'ncx-bench-net-'))
const NCX_ROOT = path.join(WORK, 'ncx')
// Host loopback on for the outbound measurement (set before the per-user namespace exists).
const U = benchUser({userName: opts.user, xdgBase: '/tmp/ncx-bench-net-xdg', baseEnv: {NCX_ROOT, NCX_NETWORK_HOST_LOOPBACK: '1'}})
U.prepareXdg()
U.ownedBy(WORK)
fs.chmodSync(WORK, 0o755)

const NCX = [NODE, NCX_BIN]
const podmanBase = ['--runtime', opts.runc, '--root', path.join(WORK, 'podman', 'root'), '--runroot', path.join(WORK, 'podman', 'runroot')]
let podmanGlobal = podmanBase

const {cleanup} = benchTeardown(U, {
  keep: opts.keep,
  dirs: [WORK, U.XDG],
  ncxPaths: [path.join(NCX_ROOT, 'snapshots'), path.join(NCX_ROOT, 'containers')],
  podmanBin: PODMAN,
  podman: () => podmanGlobal,
  podmanStore: path.join(WORK, 'podman'),
  // Containers first: their forwarders and slirp4netns hold ports and the namespaces.
  before: () => {
    if (opts.keep) return
    U.runAsUser([...NCX, 'rm', '-f', ...U.runAsUser([...NCX, 'ps', '-aq']).stdout.trim().split('\n').filter(Boolean)])
    U.runAsUser([PODMAN, ...podmanGlobal, 'rm', '-af'])
  },
})

function must(r, what) {
  if (!r.ok) {
    process.stderr.write(`bench: ${what} failed:\n${failText(r)}\n`)
    cleanup()
    process.exit(1)
  }
  return r.stdout
}

// ------------------------------------------------------------------------------------------
// Setup: the image in both stores
log('building the iperf3 image (scripts/mkimage.js iperf3)')
must(sh(NODE, [path.join(REPO, 'scripts', 'mkimage.js'), 'iperf3', '--out', WORK]), 'mkimage iperf3')
for (const f of ['iperf3.oci.tar', 'iperf3.docker.tar']) fs.chmodSync(path.join(WORK, f), 0o644)
must(U.runAsUser([...NCX, 'load', '-i', path.join(WORK, 'iperf3.oci.tar')]), 'ncx load')
U.mkdirUser(path.join(WORK, 'podman'))
must(U.runAsUser([PODMAN, ...podmanBase, 'load', '-i', path.join(WORK, 'iperf3.docker.tar')]), 'podman load')
const podmanRunExtra = []
for (const [g, r] of [[[], []], [NO_SYSTEMD_FLAGS, []], [NO_SYSTEMD_FLAGS, ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1000:1000']]]) {
  const t = U.runAsUser([PODMAN, ...podmanBase, ...g, 'run', '--rm', '--net=none', ...r, 'iperf3', 'true'])
  if (t.ok) {
    podmanGlobal = [...podmanBase, ...g]
    podmanRunExtra.push(...r)
    break
  }
}
must(U.runAsUser([PODMAN, ...podmanGlobal, 'run', '--rm', '--net=none', ...podmanRunExtra, 'iperf3', 'true']), 'podman run')
const PODMAN_RUN = [PODMAN, ...podmanGlobal, 'run', ...podmanRunExtra]

async function freePort() {
  const srv = createServer()
  await new Promise((r) => srv.listen(0, '127.0.0.1', r))
  const {port} = srv.address()
  await new Promise((r) => srv.close(r))
  return port
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** iperf3 client on the host against 127.0.0.1:port; Gbit/s received, or undefined. */
function iperfHost(port, parallel) {
  const r = sh(IPERF3, ['-c', '127.0.0.1', '-p', String(port), '-t', String(SECONDS), '-P', String(parallel), '-J'], {timeout: (SECONDS + 30) * 1000})
  try {
    return JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9
  } catch {
    log(`iperf3 -c 127.0.0.1:${port} failed: ${failText(r).slice(0, 300)}`)
    return undefined
  }
}

// ------------------------------------------------------------------------------------------
// 1. host → container through -p
const servers = [
  {name: 'ncx -p (bridge, ncx-forward)', tool: 'ncx', argv: (p) => [...NCX, 'run', '-d', '-p', `127.0.0.1:${p}:5201`, 'iperf3', 'iperf3', '-s']},
  {name: 'ncx -p (bypass)', tool: 'ncx', env: {NCX_PORT_BYPASS: '1'}, argv: (p) => [...NCX, 'run', '-d', '-p', `127.0.0.1:${p}:5201`, 'iperf3', 'iperf3', '-s']},
  {name: 'ncx --network slirp4netns -p (ncx-forward)', tool: 'ncx', argv: (p) => [...NCX, 'run', '-d', '--network', 'slirp4netns', '-p', `127.0.0.1:${p}:5201`, 'iperf3', 'iperf3', '-s']},
  {name: 'podman -p (rootlessport)', tool: 'podman', argv: (p) => [...PODMAN_RUN, '-d', '-p', `127.0.0.1:${p}:5201`, 'iperf3', 'iperf3', '-s']},
  {name: 'podman slirp4netns:port_handler=slirp4netns -p', tool: 'podman', argv: (p) => [...PODMAN_RUN, '-d', '--network', 'slirp4netns:port_handler=slirp4netns', '-p', `127.0.0.1:${p}:5201`, 'iperf3', 'iperf3', '-s']},
  {name: 'host loopback (no container)', tool: 'host'},
]
const ids = []
for (const s of servers) {
  s.port = await freePort()
  if (s.tool === 'host') {
    s.proc = spawn(IPERF3, ['-s', '-B', '127.0.0.1', '-p', String(s.port)], {stdio: 'ignore'})
    continue
  }
  s.id = must(U.runAsUser(s.argv(s.port), s.env ?? {}), `start ${s.name}`).trim().split('\n').pop()
  ids.push(s)
}
await sleep(1500)
const inbound = {}
for (const parallel of [1, 4]) {
  for (let round = 0; round < RUNS; round++) {
    // (the order rotates each round, so no target always runs first)
    for (let k = 0; k < servers.length; k++) {
      const s = servers[(k + round) % servers.length]
      const g = iperfHost(s.port, parallel)
      log(`-P ${parallel} round ${round + 1}/${RUNS} ${s.name}: ${g?.toFixed(2) ?? 'failed'} Gbit/s`)
      ;((inbound[`${s.name}|${parallel}`] ??= {name: s.name, tool: s.tool, parallel, gbits: []}).gbits).push(g)
    }
  }
}
for (const s of servers) {
  if (s.tool === 'host') s.proc.kill()
  else U.runAsUser(s.tool === 'ncx' ? [...NCX, 'rm', '-f', s.id] : [PODMAN, ...podmanGlobal, 'rm', '-f', s.id])
}

// ------------------------------------------------------------------------------------------
// 2. container → host (outbound through slirp4netns; the host's loopback is 10.0.2.2)
const outPort = await freePort()
const hostServer = spawn(IPERF3, ['-s', '-B', '127.0.0.1', '-p', String(outPort)], {stdio: 'ignore'})
await sleep(500)
const iperfClient = ['iperf3', 'iperf3', '-c', '10.0.2.2', '-p', String(outPort), '-t', String(SECONDS), '-J']
// podman's own bridge (`--network podman`: CNI bridge in its rootless netns, behind one
// slirp4netns) is the like-for-like peer of ncx's default; it reaches the host's loopback only
// with allow_host_loopback in containers.conf.
const podmanConf = path.join(WORK, 'containers.conf')
fs.writeFileSync(podmanConf, '[engine]\nnetwork_cmd_options = ["allow_host_loopback=true"]\n', {mode: 0o644})
// slirp4netns's window is 64 KiB, unscaled (two 32 KiB segments in flight): the client and
// slirp4netns mostly take turns, and whether the scheduler puts them on one CPU or two decides the
// rate (about 2× on this 2-CPU machine). The pinned rows take placement out of the comparison:
// the per-user slirp4netns on CPU 0, the client on CPU 1 (apart) or CPU 0 (together).
const CPUS = os.cpus().length
const TASKSET = which('taskset')
const slirpPid = () => {
  const r = U.runAsUser([...NCX, 'info', '--format', '{{json .Network}}'])
  try {
    return JSON.parse(r.stdout).Namespace?.slirpPid
  } catch {
    return undefined
  }
}
const pinSlirp = (cpus) => {
  const pid = slirpPid()
  return pid !== undefined && sh(TASKSET, ['-a', '-p', '-c', cpus, String(pid)]).ok
}
const clients = [
  {name: 'ncx (bridge → per-user slirp4netns)', argv: [...NCX, 'run', '--rm', ...iperfClient]},
  {name: 'ncx --network slirp4netns', argv: [...NCX, 'run', '--rm', '--network', 'slirp4netns:allow_host_loopback=true', ...iperfClient]},
  {name: 'podman slirp4netns (its default)', argv: [...PODMAN_RUN, '--rm', '--network', 'slirp4netns:allow_host_loopback=true', ...iperfClient]},
  {name: 'podman --network podman (bridge in its rootless netns)', env: {CONTAINERS_CONF: podmanConf}, argv: [...PODMAN_RUN, '--rm', '--network', 'podman', ...iperfClient]},
  ...(CPUS >= 2 && TASKSET
    ? [
        {name: 'ncx bridge, client and slirp4netns on different CPUs (pinned)', pin: '0', argv: [TASKSET, '-c', '1', ...NCX, 'run', '--rm', ...iperfClient]},
        {name: 'ncx bridge, client and slirp4netns on one CPU (pinned)', pin: '0', argv: [TASKSET, '-c', '0', ...NCX, 'run', '--rm', ...iperfClient]},
      ]
    : []),
]
const outbound = {}
for (let round = 0; round < RUNS; round++) {
  for (let k = 0; k < clients.length; k++) {
    const c = clients[(k + round) % clients.length]
    if (c.pin && !pinSlirp(c.pin)) log(`${c.name}: cannot pin the per-user slirp4netns`)
    const r = U.runAsUser(c.argv, c.env ?? {}, {timeout: (SECONDS + 60) * 1000})
    if (c.pin) pinSlirp(`0-${CPUS - 1}`)
    let g
    try {
      g = JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9
    } catch {
      log(`${c.name}: ${failText(r).slice(0, 300)}`)
    }
    log(`outbound round ${round + 1}/${RUNS} ${c.name}: ${g?.toFixed(2) ?? 'failed'} Gbit/s`)
    ;((outbound[c.name] ??= {name: c.name, gbits: []}).gbits).push(g)
  }
}
hostServer.kill()

// ------------------------------------------------------------------------------------------
// 3. start-up: default network vs none
const starts = [
  {name: 'ncx run --rm (bridge)', argv: [...NCX, 'run', '--rm', 'iperf3', 'true']},
  {name: 'ncx run --rm --network none', argv: [...NCX, 'run', '--rm', '--network', 'none', 'iperf3', 'true']},
  {name: 'podman run --rm (slirp4netns)', argv: [...PODMAN_RUN, '--rm', 'iperf3', 'true']},
  {name: 'podman run --rm --network none', argv: [...PODMAN_RUN, '--rm', '--network', 'none', 'iperf3', 'true']},
]
for (const s of starts) must(U.runAsUser(s.argv), s.name) // warm-up
const startTimes = Object.fromEntries(starts.map((s) => [s.name, []]))
for (let i = 0; i < START_RUNS; i++) {
  for (let k = 0; k < starts.length; k++) {
    const s = starts[(k + i) % starts.length]
    const [cmd, ...args] = U.asUser(s.argv)
    const t0 = process.hrtime.bigint()
    const r = spawnSync(cmd, args, {stdio: 'ignore'})
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (r.status === 0) startTimes[s.name].push(ms)
  }
}
log('start-up timed')

// ------------------------------------------------------------------------------------------
// Report
const med = (xs) => {
  const ok = xs.filter((x) => typeof x === 'number')
  return ok.length ? stats(ok).median : undefined
}
const f2 = (x) => (x === undefined ? 'failed' : x.toFixed(2))
const host = hostInfo()
const lines = []
lines.push('# Network benchmark: ncx vs podman (rootless)', '')
lines.push(`Measured ${host.date} by \`node bench/net.js --runs ${RUNS} --seconds ${SECONDS} --start-runs ${START_RUNS}\` as user ${U.user.name}.`)
lines.push(`Host: ${host.kernel}, ${host.cpus}, load ${host.load} at the end; Node ${host.node}; ${sh(PODMAN, ['--version']).stdout.trim()} with ${sh(opts.runc, ['--version']).stdout.split('\n')[0]}; ${sh(IPERF3, ['--version']).stdout.split('\n')[0]}.`)
lines.push('The machine is shared (2 cores, other jobs running): numbers are noisy; targets are interleaved round by round and medians compared.', '')
const loopbackRef = (() => {
  const p = 5201 + Math.floor(Math.random() * 1000) + 20000
  const srv = spawn(IPERF3, ['-s', '-1', '-B', '127.0.0.1', '-p', String(p)], {stdio: 'ignore'})
  spawnSync('sleep', ['0.5'])
  const g = iperfHost(p, 1)
  srv.kill()
  return g
})()
lines.push(`## 1. Host → container through a published port (iperf3 -c 127.0.0.1, ${SECONDS} s, Gbit/s, median of ${RUNS})`, '')
lines.push(`Reference: plain host loopback, no container, one stream, measured right after: ${f2(loopbackRef)} Gbit/s (the ceiling for anything relayed on this machine).`, '')
lines.push('| path | -P 1 | -P 4 | runs (-P 1) |', '|---|---:|---:|---|')
for (const s of servers) {
  const a = inbound[`${s.name}|1`]
  const b = inbound[`${s.name}|4`]
  lines.push(`| ${s.name} | ${f2(med(a.gbits))} | ${f2(med(b.gbits))} | ${a.gbits.map(f2).join(', ')} |`)
}
const ratio = (a, b) => (a !== undefined && b ? `${(a / b).toFixed(2)}×` : 'n/a')
const medOf = (name, p) => med(inbound[`${name}|${p}`].gbits)
const ncxP = (p) => medOf('ncx -p (bridge, ncx-forward)', p)
const bypassP = (p) => medOf('ncx -p (bypass)', p)
const rootlessport = (p) => medOf('podman -p (rootlessport)', p)
const loopP = (p) => medOf('host loopback (no container)', p)
// Ratios of the same round's measurements (adjacent in time, so a load change between rounds cancels out).
const pairedRatio = (a, b, p) => {
  const xs = inbound[`${a}|${p}`].gbits
  const ys = inbound[`${b}|${p}`].gbits
  const rs = xs.map((x, i) => (typeof x === 'number' && typeof ys[i] === 'number' && ys[i] > 0 ? x / ys[i] : undefined)).filter((r) => r !== undefined)
  return rs.length ? `${stats(rs).median.toFixed(2)}×` : 'n/a'
}
lines.push('')
for (const p of [1, 4]) {
  lines.push(`- -P ${p}, median of the per-round ratios: ncx -p (bypass) / podman rootlessport = ${pairedRatio('ncx -p (bypass)', 'podman -p (rootlessport)', p)}; ncx -p (bypass) / host loopback = ${pairedRatio('ncx -p (bypass)', 'host loopback (no container)', p)}; ncx -p (relayed) / podman rootlessport = ${pairedRatio('ncx -p (bridge, ncx-forward)', 'podman -p (rootlessport)', p)}`)
}
lines.push('')
for (const p of [1, 4]) {
  lines.push(`- -P ${p}: ncx -p / podman rootlessport = ${ratio(ncxP(p), rootlessport(p))}; ncx -p / podman slirp4netns port handler = ${ratio(ncxP(p), medOf('podman slirp4netns:port_handler=slirp4netns -p', p))}`)
  lines.push(`- -P ${p}: ncx -p (bypass) / podman rootlessport = ${ratio(bypassP(p), rootlessport(p))}; ncx -p (bypass) / host loopback = ${ratio(bypassP(p), loopP(p))}; ncx -p (bypass) / ncx -p (relayed) = ${ratio(bypassP(p), ncxP(p))}`)
}
lines.push('', `## 2. Container → host through the outbound path (iperf3 -c 10.0.2.2 in the container, Gbit/s, median of ${RUNS})`, '')
lines.push('| path | median | runs |', '|---|---:|---|')
for (const c of clients) lines.push(`| ${c.name} | ${f2(med(outbound[c.name].gbits))} | ${outbound[c.name].gbits.map(f2).join(', ')} |`)
const outMed = (c) => med(outbound[c.name].gbits)
lines.push('', `- ncx bridge / podman slirp4netns = ${ratio(outMed(clients[0]), outMed(clients[2]))}; ncx bridge / podman's bridge = ${ratio(outMed(clients[0]), outMed(clients[3]))}`)
lines.push("- slirp4netns advertises a 64 KiB window without window scaling (the client's `ss -ti`: snd_wnd 65535, mss 32767, rwnd_limited 40% of the time): two segments in flight, so the client and slirp4netns mostly take turns, and the rate depends on whether they run on one CPU or two. The pinned rows show the path's cost without the scheduler's choice.")
lines.push('', `## 3. Container start with a network vs --network none (\`run --rm iperf3 true\`, ms, median of ${START_RUNS}, interleaved)`, '')
lines.push('| command | median ms | min | max |', '|---|---:|---:|---:|')
for (const s of starts) {
  const t = startTimes[s.name]
  const st = t.length ? stats(t) : undefined
  lines.push(`| ${s.name} | ${st ? st.median.toFixed(0) : 'failed'} | ${st ? st.min.toFixed(0) : ''} | ${st ? st.max.toFixed(0) : ''} |`)
}
const sm = (n) => med(startTimes[n])
lines.push('', `- ncx: bridge / none = ${ratio(sm(starts[0].name), sm(starts[1].name))} (target ≤ 1.3×); podman: slirp4netns / none = ${ratio(sm(starts[2].name), sm(starts[3].name))}`)
const md = lines.join('\n') + '\n'
process.stdout.write(md)
fs.writeFileSync(path.join(BENCH_DIR, 'RESULTS-net.md'), md)
fs.mkdirSync(path.join(BENCH_DIR, 'results'), {recursive: true})
// The targets (issue 5: a published port ≥ 20 Gbit/s and ≥ 2× podman's rootlessport, a start with
// a network ≤ 1.3× one without; issue 17: container → host ≥ podman's), for `npm run bench`.
const outNote = [`ncx bridge / podman's bridge (--network podman) = ${ratio(outMed(clients[0]), outMed(clients[3]))}`, ...(clients.length > 4 ? [`pinned apart ${f2(outMed(clients[4]))}, together ${f2(outMed(clients[5]))} Gbit/s`] : [])].join('; ')
const loopNote = `host loopback alone: ${f2(loopP(1))} Gbit/s (-P 1), ${f2(loopP(4))} (-P 4)`
const summaryRows = [
  ...[1, 4].flatMap((p) => [
    summaryRow({benchmark: `host → container through -p, -P ${p} (default: relayed by ncx-forward)`, ncx: ncxP(p), peer: rootlessport(p), peerName: 'podman rootlessport', unit: 'Gbit/s', target: '≥ 20 Gbit/s and ≥ 2× podman', min: 20, ratioMin: 2, note: p === 1 ? loopNote : undefined}),
    summaryRow({benchmark: `host → container through -p, -P ${p}, port bypass (opt-in)`, ncx: bypassP(p), peer: rootlessport(p), peerName: 'podman rootlessport', unit: 'Gbit/s', target: '≥ 20 Gbit/s and ≥ 2× podman', min: 20, ratioMin: 2}),
  ]),
  summaryRow({benchmark: 'container → host (iperf3 -c 10.0.2.2; default bridge)', ncx: outMed(clients[0]), peer: outMed(clients[2]), peerName: 'podman slirp4netns (its default)', unit: 'Gbit/s', target: '≥ 1× podman', ratioMin: 1, note: outNote}),
  summaryRow({benchmark: '`run --rm` with the default network vs `--network none`', ncx: sm(starts[0].name), peer: sm(starts[1].name), peerName: 'ncx --network none', target: '≤ 1.3× without a network', ratioMax: 1.3, note: `podman: slirp4netns / none = ${ratio(sm(starts[2].name), sm(starts[3].name))}`}),
]
fs.writeFileSync(path.join(BENCH_DIR, 'results', 'net-latest.json'), JSON.stringify({host, runs: RUNS, seconds: SECONDS, loopbackRef, inbound, outbound, startTimes, summaryRows}, null, 2))
cleanup()
