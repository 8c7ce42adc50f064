#!/usr/bin/env node
// bench/pull.js — cold `ncx pull` of a big image from a local registry, side by side with podman.
//
//   node bench/pull.js [--runs N] [--warmup N] [--user NAME] [--image FILE]
//                      [--podman PATH] [--skopeo PATH] [--registry PATH] [--settle SECONDS] [--keep]
//
// One run, one registry, one image (`node scripts/mkimage.js big`: 6 gzip layers, ~180 MB unpacked,
// pushed with skopeo to Debian's docker-registry on 127.0.0.1, plain HTTP). Every command is timed
// as ONE unprivileged user (default `ncxtest` when started as root), cold each time: a fresh,
// empty store before every timed pull, deleted again (untimed) after it.
//   1. ncx pull HOST/bench/big:1                                   (NCX_ROOT fresh per run)
//   2. podman pull --tls-verify=false HOST/bench/big:1             (--root/--runroot fresh per run)
//   3. skopeo copy --src-tls-verify=false docker://… dir:DIR       (download + verify, no unpack)
//   4. gzip -dc LAYER… >/dev/null                                  (the single-threaded decompression bound)
// The four are interleaved (round r starts with a different one) so that load changes hit them alike.
// Prints a Markdown table, writes bench/RESULTS-pull.md and bench/results/pull-latest.json.
// Exit status: 0 whenever everything could run (a missed target is a result, not a failure);
// 1 when ncx is not built or a tool could not run at all (its error is printed verbatim).

import {spawn, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import {createServer} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import zlib from 'node:zlib'

import {BENCH_DIR, benchOptions, benchUser, failText, hostInfo, keyLine, log, NCX_BIN, NO_SYSTEMD_FLAGS, NODE, REPO, requireBuilt, runsAndWarmup, RUNTIME_BIN, sh, shJoin, shq, stats, which} from './lib.js'
import {summaryRow} from './summary.js'

const SELF = fileURLToPath(import.meta.url)
const TARGET = 0.5 // ncx wall time ≤ 0.5 × podman's (issue 17)
const REPO_REF = 'bench/big:1'

/**
 * Run inside `podman unshare` (the user namespace and mount namespace of podman's pause process) to
 * delete a podman store: podman leaves its graph root bind-mounted there, so `rm -rf` alone fails
 * with EBUSY. Unmount whatever lies under $1 (deepest first), then remove it.
 */
const PODMAN_RM_SCRIPT =
  'd=$1; awk -v d="$d" \'$5 == d || index($5, d "/") == 1 { print $5 }\' /proc/self/mountinfo | sort -r | ' +
  'while read -r m; do umount -l "$m" || exit 1; done; rm -rf -- "$d"'

// ------------------------------------------------------------------------------------------
// Worker mode: the timer, run as the benchmark user (so runuser is in no timing).
// ------------------------------------------------------------------------------------------
if (process.argv[2] === '--measure-worker') {
  measureWorker(process.argv[3])
  process.exit(0)
}

/** CPU seconds of a process (user + system) and of its waited-for children (user, system), from /proc/PID/stat. */
function cpuTimes(pid, hz) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return {self: (Number(f[11]) + Number(f[12])) / hz, childUser: Number(f[13]) / hz, childSys: Number(f[14]) / hz}
  } catch {
    return {self: NaN, childUser: NaN, childSys: NaN}
  }
}

function measureWorker(specFile) {
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'))
  const tools = spec.tools.map((t) => ({...t, samples: [], error: undefined}))
  let seq = 0
  const put = (s, dir) => s.replaceAll('{DIR}', dir)

  /** A tool's output, checked: did it really pull the whole image into the empty store? */
  const verify = (t, dir, r) => {
    if (t.key === 'ncx') {
      if (!/Downloaded newer image/.test(r.stdout)) return 'ncx pull did not report "Downloaded newer image"'
      let n = 0
      try {
        n = fs.readdirSync(path.join(dir, 'ncx', 'snapshots')).filter((e) => !e.startsWith('.')).length
      } catch {}
      if (n !== spec.layers) return `ncx pull left ${n} snapshots, expected ${spec.layers}`
    } else if (t.key === 'podman') {
      let n = -1
      try {
        n = JSON.parse(fs.readFileSync(path.join(dir, 'root', `${t.driver}-layers`, 'layers.json'), 'utf8')).length
      } catch {}
      if (n !== spec.layers) return `podman left ${n} layers in ${t.driver}-layers/layers.json, expected ${spec.layers}`
    } else if (t.key === 'skopeo') {
      if (!fs.existsSync(path.join(dir, 'img', 'manifest.json'))) return 'skopeo wrote no manifest.json'
    }
    return undefined
  }

  /** Delete a run's store (untimed). Unpacked files belong to subordinate ids: go through the namespaces. */
  const cleanup = (t, dir) => {
    let r
    if (t.key === 'ncx' && fs.existsSync(path.join(dir, 'ncx'))) {
      let holder
      try {
        holder = JSON.parse(fs.readFileSync(path.join(spec.xdg, 'ncx', 'userns.json'), 'utf8')).pid
      } catch {}
      if (holder) r = spawnSync(spec.runtimeBin, ['rmtree', '--userns-pid', String(holder), dir], {encoding: 'utf8'})
    } else if (t.key === 'podman' && fs.existsSync(path.join(dir, 'root'))) {
      const [cmd, ...args] = t.rmArgv.map((a) => put(a, dir))
      r = spawnSync(cmd, args, {encoding: 'utf8'})
    }
    if (r && (r.error || r.status !== 0)) return `removing ${dir} failed: ${failText({...r, stdout: r.stdout ?? '', stderr: r.stderr ?? ''})}`
    try {
      fs.rmSync(dir, {recursive: true, force: true})
    } catch (e) {
      return `removing ${dir} failed: ${e.message}`
    }
    return undefined
  }

  const once = (t, phase) => {
    if (t.error) return
    const dir = path.join(spec.runsDir, `${t.key}-${++seq}`)
    fs.mkdirSync(dir, {mode: 0o700})
    const argv = t.argv.map((a) => put(a, dir))
    const env = Object.fromEntries(Object.entries(t.env ?? {}).map(([k, v]) => [k, put(v, dir)]))
    spawnSync('sync') // what the previous run left dirty is not flushed during this one
    const c0 = cpuTimes('self', spec.hz)
    const reg0 = cpuTimes(spec.registryPid, spec.hz)
    const t0 = process.hrtime.bigint()
    const r = spawnSync(argv[0], argv.slice(1), {env: {...process.env, ...env}, stdio: ['ignore', t.stdoutToNull ? 'ignore' : 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20})
    const wall = Number(process.hrtime.bigint() - t0) / 1e9
    const c1 = cpuTimes('self', spec.hz)
    const reg1 = cpuTimes(spec.registryPid, spec.hz)
    const shown = shJoin([...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv])
    let problem
    if (r.error || r.status !== 0) problem = `command failed (${r.error?.message ?? `exit ${r.status ?? `signal ${r.signal}`}`})`
    else problem = verify(t, dir, r)
    const cleanupProblem = cleanup(t, dir)
    // ext4 without a journal skips inodes freed in the last 30 s one by one when it allocates:
    // --settle lets that window pass, so the next pull sees a store with no recent deletes.
    if (spec.settle > 0) spawnSync('sleep', [String(spec.settle)])
    if (problem) {
      const tail = (x, n) => (x.length > n ? `[… ${x.length - n} characters cut]\n${x.slice(-n)}` : x)
      t.error = `${problem}: ${shown}\n${`${tail(r.stderr ?? '', 16000)}${tail(r.stdout ?? '', 4000)}`.trim()}`
      process.stderr.write(`[bench] ${t.name}: ${t.error}\n`)
      return
    }
    if (cleanupProblem) {
      t.error = `${t.name} ran, but ${cleanupProblem}`
      process.stderr.write(`[bench] ${t.error}\n`)
    }
    const user = c1.childUser - c0.childUser
    const sys = c1.childSys - c0.childSys
    if (phase === 'timed') t.samples.push({wall, cpu: user + sys, user, sys, registryCpu: reg1.self - reg0.self})
    return wall
  }

  const rounds = [...Array(spec.warmup).fill('warm-up'), ...Array(spec.runs).fill('timed')]
  rounds.forEach((phase, i) => {
    const k = i % tools.length
    const order = [...tools.slice(k), ...tools.slice(0, k)] // each round starts with another tool
    const done = order.map((t) => {
      const s = once(t, phase)
      return `${t.key} ${s === undefined ? 'failed' : `${s.toFixed(2)} s`}`
    })
    const n = phase === 'timed' ? i - spec.warmup + 1 : i + 1
    process.stderr.write(`[bench] ${phase} ${n}/${phase === 'timed' ? spec.runs : spec.warmup}: ${done.join(', ')}\n`)
  })
  const results = tools.map((t) => ({key: t.key, error: t.error ?? null, samples: t.samples}))
  fs.writeFileSync(spec.out, JSON.stringify({results}, null, 2))
}

// ------------------------------------------------------------------------------------------
// Options and environment
// ------------------------------------------------------------------------------------------
const USAGE = `usage: node bench/pull.js [options]
  --runs N          timed cold pulls per tool (default 5)
  --warmup N        untimed rounds first (default 1; they start ncx's user-namespace holder and podman's pause process)
  --user NAME       unprivileged user to run as when started as root (default ncxtest; created if missing)
  --image FILE      use this OCI archive instead of building one with \`node scripts/mkimage.js big\`
  --podman PATH     podman binary (default: podman on PATH)
  --skopeo PATH     skopeo binary (default: skopeo on PATH)
  --registry PATH   registry binary (default /usr/bin/docker-registry)
  --settle SECONDS  wait this long (untimed) after deleting each store, so the next pull does not land
                    among just-freed inodes (ext4 without a journal skips them for 30 s; default 0:
                    delete, then pull at once, as a user's rmi + pull does)
  --keep            keep the temporary directory (its path is printed)
`

const opts = benchOptions(USAGE, {
  runs: {type: 'string', default: '5'},
  warmup: {type: 'string', default: '1'},
  user: {type: 'string', default: 'ncxtest'},
  image: {type: 'string'},
  podman: {type: 'string', default: 'podman'},
  skopeo: {type: 'string', default: 'skopeo'},
  registry: {type: 'string', default: '/usr/bin/docker-registry'},
  settle: {type: 'string', default: '0'},
  keep: {type: 'boolean', default: false},
})
const SETTLE = Number(opts.settle)
if (!Number.isFinite(SETTLE) || SETTLE < 0) {
  process.stderr.write(`bench: --settle needs a number of seconds, not ${JSON.stringify(opts.settle)}\n${USAGE}`)
  process.exit(2)
}
const {runs: RUNS, warmup: WARMUP} = runsAndWarmup(opts)

requireBuilt('node bench/pull.js')

const PODMAN = which(opts.podman)
const SKOPEO = which(opts.skopeo)
const REGISTRY_BIN = which(opts.registry)
const GZIP = which('gzip')
if (!SKOPEO || !REGISTRY_BIN) {
  process.stderr.write(
    `bench: ${!REGISTRY_BIN ? `the registry (${opts.registry}) is` : `skopeo (${opts.skopeo}) is`} not installed; the pull benchmark needs both ` +
      `to serve the image (apt-get install docker-registry skopeo), or pass --registry/--skopeo PATH\n`,
  )
  process.exit(1)
}

const U = benchUser({userName: opts.user, xdgBase: '/tmp/ncx-bench-pull-xdg'})
const {IS_ROOT, user: USER, XDG} = U
U.prepareXdg()
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'ncx-bench-pull-'))
U.ownedBy(WORK)
// Short paths: podman refuses a --runroot longer than 50 characters.
const RUNS_DIR = path.join(WORK, 'r') // every store lives here, one fresh directory per pull
const PODMAN_GC = path.join(WORK, 'gc') // the store `podman unshare` runs with when deleting the others
U.mkdirUser(RUNS_DIR)
U.mkdirUser(path.join(WORK, 'timings'))
const HZ = Number(sh('getconf', ['CLK_TCK']).stdout.trim()) || 100
const LOAD_AT_START = os.loadavg().map((x) => x.toFixed(2)).join(' ')

const fatal = [] // tools that could not run at all
const notes = []

// ------------------------------------------------------------------------------------------
// Cleanup
// ------------------------------------------------------------------------------------------
let registry // {child, host, dir}
let podmanRmArgv // argv (with {DIR}) that deletes a podman store from inside podman's namespaces

function stopRegistry() {
  if (!registry || registry.child.exitCode !== null || registry.child.signalCode !== null) return
  registry.child.kill('SIGTERM')
  const deadline = Date.now() + 3000
  for (;;) {
    let st = ''
    try {
      st = fs.readFileSync(`/proc/${registry.child.pid}/stat`, 'utf8')
    } catch {}
    if (!st || /\) Z /.test(st) || Date.now() > deadline) break // gone, or exited and not reaped yet (no event loop here)
    spawnSync('sleep', ['0.05'])
  }
  try {
    registry.child.kill('SIGKILL')
  } catch {}
}

let cleanedUp = false
function cleanup() {
  if (cleanedUp) return
  cleanedUp = true
  stopRegistry()
  if (opts.keep) {
    log(`kept ${WORK} and ${XDG} (ncx holder and podman pause process left running)`)
    return
  }
  if (!IS_ROOT) {
    // Whatever a failed run left behind belongs to subordinate ids: delete it from inside the namespaces.
    const left = fs.existsSync(RUNS_DIR) ? fs.readdirSync(RUNS_DIR).map((e) => path.join(RUNS_DIR, e)) : []
    if (left.length > 0 && podmanRmArgv) for (const d of left) U.runAsUser(podmanRmArgv.map((a) => a.replaceAll('{DIR}', d)))
    try {
      const holder = JSON.parse(fs.readFileSync(path.join(XDG, 'ncx', 'userns.json'), 'utf8')).pid
      const still = left.filter((d) => fs.existsSync(d))
      if (still.length > 0) U.runAsUser([RUNTIME_BIN, 'rmtree', '--userns-pid', String(holder), ...still])
    } catch {}
  }
  for (const d of U.stopDaemons()) log(`stopped the ${d.what} (pid ${d.pid})`)
  for (const p of [WORK, XDG]) {
    try {
      fs.rmSync(p, {recursive: true, force: true})
    } catch (e) {
      log(`could not remove ${p}: ${e.message}`)
    }
  }
}
process.on('SIGINT', () => {
  cleanup()
  process.exit(130)
})

function die(msg) {
  process.stderr.write(`bench: ${msg}\n`)
  cleanup()
  process.exit(1)
}

// ------------------------------------------------------------------------------------------
// The image: build, unpack the archive (for gzip and the sizes), measure
// ------------------------------------------------------------------------------------------
let IMAGE
let mkimageReport = ''
if (opts.image) {
  IMAGE = path.resolve(opts.image)
  if (!fs.existsSync(IMAGE)) die(`--image ${IMAGE} does not exist`)
  if (!U.runAsUser(['test', '-r', IMAGE]).ok) die(`--image ${IMAGE} is not readable by ${USER.name}`)
} else {
  const dir = path.join(WORK, 'image')
  U.mkdirUser(dir)
  log(`building the image: node scripts/mkimage.js big --out ${dir}`)
  const r = U.runAsUser([NODE, path.join(REPO, 'scripts', 'mkimage.js'), 'big', '--out', dir])
  if (!r.ok) die(`node scripts/mkimage.js big failed (as ${USER.name}):\n${failText(r)}`)
  IMAGE = path.join(dir, 'big.oci.tar')
  mkimageReport = r.stderr.trim()
}

const OCI_DIR = path.join(WORK, 'oci')
U.mkdirUser(OCI_DIR)
{
  const r = U.runAsUser(['tar', '-xf', IMAGE, '-C', OCI_DIR])
  if (!r.ok) die(`tar -xf ${IMAGE} failed:\n${failText(r)}`)
}
const blobPath = (digest) => path.join(OCI_DIR, 'blobs', digest.replace(':', '/'))
const readJsonBlob = (digest) => JSON.parse(fs.readFileSync(blobPath(digest), 'utf8'))
let manifest
{
  let desc = JSON.parse(fs.readFileSync(path.join(OCI_DIR, 'index.json'), 'utf8')).manifests?.[0]
  for (let depth = 0; desc && depth < 3; depth++) {
    const doc = readJsonBlob(desc.digest)
    if (doc.layers) {
      manifest = doc
      break
    }
    desc = (doc.manifests ?? []).find((d) => d.platform?.os === 'linux') ?? doc.manifests?.[0]
  }
  if (!manifest) die(`${IMAGE}: no image manifest found in its index.json`)
}
const LAYERS = manifest.layers.map((l) => {
  const file = blobPath(l.digest)
  const gz = fs.statSync(file).size
  return {digest: l.digest, file, compressed: gz, uncompressed: zlib.gunzipSync(fs.readFileSync(file)).length}
})
const COMPRESSED = LAYERS.reduce((a, l) => a + l.compressed, 0)
const UNCOMPRESSED = LAYERS.reduce((a, l) => a + l.uncompressed, 0)
const MB = (n) => `${(n / 1e6).toFixed(1)} MB`
log(`image: ${LAYERS.length} layers, ${MB(COMPRESSED)} compressed, ${MB(UNCOMPRESSED)} uncompressed`)

// ------------------------------------------------------------------------------------------
// The registry: docker-registry on a free 127.0.0.1 port, filesystem storage, no auth; push with skopeo
// ------------------------------------------------------------------------------------------
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

async function startRegistry() {
  const dir = path.join(WORK, 'registry')
  fs.mkdirSync(path.join(dir, 'data'), {recursive: true})
  const logFile = path.join(dir, 'registry.log')
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_'))) // env overrides config
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const config = {
      version: 0.1,
      log: {level: 'warn', formatter: 'text', accesslog: {disabled: true}},
      storage: {filesystem: {rootdirectory: path.join(dir, 'data')}, delete: {enabled: true}, maintenance: {uploadpurging: {enabled: false}}},
      http: {addr: `127.0.0.1:${port}`, secret: Math.random().toString(36).slice(2)},
    }
    fs.writeFileSync(path.join(dir, 'config.yml'), `${JSON.stringify(config, null, 2)}\n`) // JSON is YAML
    const fd = fs.openSync(logFile, 'a')
    const child = spawn(REGISTRY_BIN, ['serve', path.join(dir, 'config.yml')], {stdio: ['ignore', fd, fd], env})
    fs.closeSync(fd)
    process.on('exit', () => child.kill('SIGKILL'))
    let exited
    child.once('exit', (code, signal) => (exited = `exited with ${code ?? signal}`))
    const deadline = Date.now() + 15_000
    for (;;) {
      if (exited) break
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v2/`, {signal: AbortSignal.timeout(1000)})
        await r.arrayBuffer()
        if (r.status === 200) return {child, host: `127.0.0.1:${port}`, dir, config}
      } catch {}
      if (Date.now() > deadline) {
        child.kill('SIGKILL')
        throw new Error(`${REGISTRY_BIN} did not answer http://127.0.0.1:${port}/v2/ within 15 s:\n${fs.readFileSync(logFile, 'utf8')}`)
      }
      await new Promise((r) => setTimeout(r, 20))
    }
    const text = fs.readFileSync(logFile, 'utf8')
    if (attempt < 3 && /address already in use/.test(text)) continue // lost a race for the port
    throw new Error(`${REGISTRY_BIN} ${exited}:\n${text}`)
  }
}

try {
  registry = await startRegistry()
} catch (e) {
  die(`could not start the registry: ${e.message}`)
}
const REF = `${registry.host}/${REPO_REF}`
let manifestDigest
{
  log(`pushing the image to ${REF}`)
  const digestFile = path.join(registry.dir, 'digest')
  const args = ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', '--dest-no-creds', '--digestfile', digestFile, `oci-archive:${IMAGE}`, `docker://${REF}`]
  // no host credentials (auth file, docker config) get involved
  const env = {...process.env, REGISTRY_AUTH_FILE: path.join(registry.dir, 'no-auth.json'), DOCKER_CONFIG: path.join(registry.dir, 'no-docker-config')}
  const r = sh(SKOPEO, args, {env})
  if (!r.ok) die(`skopeo ${shJoin(args)} failed:\n${failText(r)}`)
  manifestDigest = fs.readFileSync(digestFile, 'utf8').trim()
}

// ------------------------------------------------------------------------------------------
// The tools: versions, podman's flags
// ------------------------------------------------------------------------------------------
const firstLine = (s) => s.split('\n')[0].trim()
const versions = {
  ncx: '',
  podman: PODMAN ? firstLine(sh(PODMAN, ['--version']).stdout) : '(not installed)',
  skopeo: firstLine(sh(SKOPEO, ['--version']).stdout),
  registry: firstLine(sh(REGISTRY_BIN, ['--version']).stdout),
  gzip: GZIP ? firstLine(sh(GZIP, ['--version']).stdout) : '(not installed)',
}
const ok = {ncx: true, podman: false, skopeo: true, gzip: Boolean(GZIP)}
{
  const v = U.runAsUser([NODE, NCX_BIN, '--version'])
  if (v.ok) versions.ncx = v.stdout.trim()
  else {
    ok.ncx = false
    fatal.push(`ncx --version failed as ${USER.name}:\n${failText(v)}`)
  }
}
if (!GZIP) fatal.push('gzip not found (apt-get install gzip)')

// podman: the first of these that can pull (storage driver; systemd-less settings). Rlimits do not matter for a pull.
let podmanGlobal = (dir) => []
let podmanDriver
let podmanInfo = {}
const podmanProbe = []
if (!PODMAN) fatal.push(`podman not found (looked for ${opts.podman}); install it (apt-get install podman) or pass --podman PATH`)
else {
  let n = 0
  outer: for (const driver of ['overlay', 'vfs']) {
    for (const extra of [[], NO_SYSTEMD_FLAGS]) {
      const global = (dir) => ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'run'), '--storage-driver', driver, ...extra]
      const dir = path.join(RUNS_DIR, `probe-${++n}`)
      U.mkdirUser(dir)
      log(`checking that podman can pull (--storage-driver ${driver}${extra.length ? ` ${extra.join(' ')}` : ''})`)
      const r = U.runAsUser([PODMAN, ...global(dir), 'pull', '--tls-verify=false', REF], {XDG_DATA_HOME: path.join(dir, 'data')})
      podmanProbe.push({driver, flags: extra.join(' ') || '(none)', ok: r.ok, ...(r.ok ? {} : {error: failText(r)})})
      if (r.ok) {
        ok.podman = true
        podmanGlobal = global
        podmanDriver = driver
        const gc = [PODMAN, '--root', path.join(PODMAN_GC, 'root'), '--runroot', path.join(PODMAN_GC, 'run'), '--storage-driver', driver, ...extra]
        podmanRmArgv = [...gc, 'unshare', 'sh', '-c', PODMAN_RM_SCRIPT, 'sh', '{DIR}']
        const info = U.runAsUser([PODMAN, ...global(dir), 'info', '--format', 'json'])
        try {
          const j = JSON.parse(info.stdout)
          podmanInfo = {graphDriver: j.store?.graphDriverName, cgroupManager: j.host?.cgroupManager, eventLogger: j.host?.eventLogger, rootless: j.host?.security?.rootless}
        } catch {}
        break outer
      }
    }
  }
  // the probe stores go now, so that the timed runs start with no podman store at all
  for (const e of fs.readdirSync(RUNS_DIR)) {
    const d = path.join(RUNS_DIR, e)
    if (podmanRmArgv) {
      const r = U.runAsUser(podmanRmArgv.map((a) => a.replaceAll('{DIR}', d)))
      if (!r.ok) notes.push(`could not delete the podman probe store ${d}: ${keyLine(failText(r))}`)
    } else if (IS_ROOT) fs.rmSync(d, {recursive: true, force: true})
  }
  if (!ok.podman) {
    fatal.push(`podman could not pull ${REF} as ${USER.name}; attempts:\n${podmanProbe.map((p) => `--storage-driver ${p.driver} [extra flags: ${p.flags}]:\n${p.error}`).join('\n---\n')}`)
  }
}

// ------------------------------------------------------------------------------------------
// Measure
// ------------------------------------------------------------------------------------------
const TOOLS = [
  {key: 'ncx', name: `ncx pull ${REF}`, argv: [NODE, NCX_BIN, 'pull', REF], env: {NCX_ROOT: '{DIR}/ncx'}},
  {
    key: 'podman',
    name: `podman pull --tls-verify=false ${REF}`,
    argv: PODMAN ? [PODMAN, ...podmanGlobal('{DIR}'), 'pull', '--tls-verify=false', REF] : [],
    env: {XDG_DATA_HOME: '{DIR}/data'}, // its blob-info cache, cold too
    driver: podmanDriver,
    rmArgv: podmanRmArgv,
  },
  {
    key: 'skopeo',
    name: `skopeo copy --src-tls-verify=false docker://${REF} dir:DIR`,
    argv: [SKOPEO, 'copy', '--src-tls-verify=false', `docker://${REF}`, 'dir:{DIR}/img'],
    env: {XDG_DATA_HOME: '{DIR}/data'},
  },
  {key: 'gzip', name: `gzip -dc (${LAYERS.length} layer blobs) >/dev/null`, argv: [GZIP ?? 'gzip', '-dc', ...LAYERS.map((l) => l.file)], stdoutToNull: true},
]
const live = TOOLS.filter((t) => ok[t.key])
const measured = {}
if (live.length > 0) {
  const spec = path.join(WORK, 'timings', 'spec.json')
  const out = path.join(WORK, 'timings', 'out.json')
  fs.writeFileSync(
    spec,
    JSON.stringify({tools: live, runs: RUNS, warmup: WARMUP, out, hz: HZ, registryPid: registry.child.pid, runsDir: RUNS_DIR, xdg: XDG, runtimeBin: RUNTIME_BIN, layers: LAYERS.length, settle: SETTLE}),
  )
  if (IS_ROOT) fs.chownSync(spec, USER.uid, USER.gid)
  log(`timing ${live.map((t) => t.key).join(', ')}: ${WARMUP} warm-up round(s), then ${RUNS} timed; each pull into a fresh, empty store`)
  const [cmd, ...args] = U.asUser([NODE, SELF, '--measure-worker', spec])
  const r = sh(cmd, args, {stdio: ['ignore', 2, 2]})
  if (!r.ok || !fs.existsSync(out)) fatal.push(`the timing worker failed: ${failText(r)}`)
  else for (const res of JSON.parse(fs.readFileSync(out, 'utf8')).results) measured[res.key] = res
}
for (const t of TOOLS) {
  const res = measured[t.key]
  if (res?.error) fatal.push(`${t.name}:\n${res.error}`)
  t.samples = res?.samples ?? []
  t.error = res?.error ?? (!ok[t.key] ? 'could not run (see Errors)' : !res ? 'not measured' : null)
  t.wall = t.samples.length ? stats(t.samples.map((s) => s.wall)) : undefined
  t.cpu = t.samples.length ? stats(t.samples.map((s) => s.cpu)) : undefined
  t.user = t.samples.length ? stats(t.samples.map((s) => s.user)) : undefined
  t.sys = t.samples.length ? stats(t.samples.map((s) => s.sys)) : undefined
  t.registryCpu = t.samples.length ? stats(t.samples.map((s) => s.registryCpu)) : undefined
}
const T = Object.fromEntries(TOOLS.map((t) => [t.key, t]))

// ------------------------------------------------------------------------------------------
// Report
// ------------------------------------------------------------------------------------------
const secs = (x) => (x === undefined || Number.isNaN(x) ? '—' : `${x.toFixed(2)} s`)
const mbps = (bytes, s) => (s ? `${(bytes / 1e6 / s).toFixed(0)} MB/s` : '—')
const usable = (t) => t.wall && !t.error
const ratioTo = (t) => (usable(t) && usable(T.podman) ? t.wall.median / T.podman.wall.median : undefined)
const ratio = ratioTo(T.ncx)
const met = ratio === undefined ? undefined : ratio <= TARGET
const cell = (t, f) => (t.error ? `error: ${keyLine(t.error)}` : f(t))

const what = {
  ncx: 'download, verify, unpack',
  podman: `download, verify, unpack (${podmanDriver ?? '?'})`,
  skopeo: 'download + verify, no unpack',
  gzip: 'decompression only, 1 thread',
}
const label = {ncx: '`ncx pull`', podman: '`podman pull`', skopeo: '`skopeo copy … dir:`', gzip: '`gzip -dc` of the layers'}
const table = [
  `| command | does | median wall | ÷ podman | MB/s (${MB(UNCOMPRESSED)} unpacked ÷ wall) | CPU user+sys (median) |`,
  '|---|---|---:|---:|---:|---:|',
  ...TOOLS.map((t) => {
    const r = ratioTo(t)
    const rate = usable(t) ? mbps(UNCOMPRESSED, t.wall.median) + (t.key === 'gzip' ? ` (${mbps(COMPRESSED, t.wall.median)} compressed)` : '') : '—'
    return `| ${label[t.key]} | ${what[t.key]} | ${cell(t, (x) => secs(x.wall.median))} | ${r === undefined ? '—' : `${r.toFixed(3)}×`} | ${rate} | ${usable(t) ? secs(t.cpu.median) : '—'} |`
  }),
].join('\n')
const targetTable = [
  '| benchmark | ncx median | podman median | ratio | target | met? |',
  '|---|---:|---:|---:|---:|:---:|',
  `| cold pull, ${LAYERS.length} layers, ${MB(COMPRESSED)} → ${MB(UNCOMPRESSED)} | ${cell(T.ncx, (x) => secs(x.wall.median))} | ${cell(T.podman, (x) => secs(x.wall.median))} | ` +
    `${ratio === undefined ? '—' : `${ratio.toFixed(3)}×`} | ≤ ${TARGET}× | ${met === undefined ? '—' : met ? 'yes' : 'no'} |`,
].join('\n')

const f2 = (x) => (x === undefined ? '—' : x.toFixed(2))
const details = [
  '| command | median | mean | σ | min | max | CPU user / sys (medians) | registry CPU (median) | runs (s, in order) |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ...TOOLS.map((t) =>
    !usable(t)
      ? `| ${label[t.key]} | ${keyLine(t.error ?? '')} | | | | | | | |`
      : `| ${label[t.key]} | ${secs(t.wall.median)} | ${secs(t.wall.mean)} | ${secs(t.wall.stddev)} | ${secs(t.wall.min)} | ${secs(t.wall.max)} | ${secs(t.user.median)} / ${secs(t.sys.median)} | ` +
        `${secs(t.registryCpu.median)} | ${t.samples.map((s) => f2(s.wall)).join(', ')} |`,
  ),
].join('\n')

// where the time goes, as far as these numbers tell
const insight = []
const cpuText = (t) => `${secs(t.cpu.median)} of CPU (user ${secs(t.user.median)}, system ${secs(t.sys.median)}) in ${secs(t.wall.median)} of wall time`
if (usable(T.ncx)) insight.push(`\`ncx pull\` used ${cpuText(T.ncx)}, its Node process and the \`ncx-runtime unpack\` helpers together.`)
if (usable(T.podman)) insight.push(`\`podman pull\` used ${cpuText(T.podman)}.`)
if (usable(T.gzip)) insight.push(`For scale: decompressing the layers takes ${secs(T.gzip.wall.median)} on one core (gzip),`)
if (usable(T.skopeo)) insight.push(`${usable(T.gzip) ? 'and d' : 'For scale: d'}ownloading them with digest checks but no unpacking (skopeo) takes ${secs(T.skopeo.wall.median)}.`)
else if (usable(T.gzip)) insight[insight.length - 1] = insight.at(-1).replace(/,$/, '.')

const host = hostInfo()
const env = {
  ...host,
  loadAtStart: LOAD_AT_START,
  ncx: versions.ncx,
  podman: versions.podman,
  skopeo: versions.skopeo,
  registry: versions.registry,
  gzip: versions.gzip,
  user: `${USER.name} (uid ${USER.uid})${IS_ROOT ? ', via runuser from root' : ''}`,
  runs: RUNS,
  warmup: WARMUP,
  settle: SETTLE,
}
const prefix = shJoin(U.asUser([]))
const shownArgv = (t) =>
  t.key === 'gzip'
    ? `${shJoin(t.argv.slice(0, 2))} ${shq(path.join(OCI_DIR, 'blobs', 'sha256'))}/{${LAYERS.map((l) => l.digest.slice(7, 19)).join(',')}}… >/dev/null   # the ${LAYERS.length} layer blobs, in manifest order`
    : shJoin([...Object.entries(t.env ?? {}).map(([k, v]) => `${k}=${v.replaceAll('{DIR}', 'DIR')}`), ...t.argv.map((a) => a.replaceAll('{DIR}', 'DIR'))])
const md = `# ncx pull benchmark results

Generated by \`node bench/pull.js\`; see [README.md](README.md#pull-benchmark). Overwritten on every run.

- date: ${env.date}
- kernel: ${env.kernel}
- CPUs: ${env.cpus}; load average (1, 5, 15 min) at the start ${env.loadAtStart}, at the end ${env.load}
- node: ${env.node}
- ncx: ${env.ncx || '(not available)'}
- podman: ${env.podman}${podmanInfo.graphDriver ? `; storage ${podmanInfo.graphDriver}, cgroup manager ${podmanInfo.cgroupManager}, events ${podmanInfo.eventLogger}` : ''}
- skopeo: ${env.skopeo}; registry: ${env.registry} (on 127.0.0.1, plain HTTP, filesystem storage, same host)
- gzip: ${env.gzip}
- user: ${env.user}
- runs: ${RUNS} timed cold pulls per command after ${WARMUP} warm-up round(s), interleaved (each round starts with another command); medians compared; ratio = ncx median / podman median

## Pull

${table}

${targetTable}

${insight.join(' ')}

## Details

Wall time is from spawn to exit of the command. CPU is user + system time of the command and every process it waited for (from the timer's \`/proc/self/stat\` children times, 1/${HZ} s resolution). Registry CPU is what the registry process spent during that command.

${details}

## Image

\`${opts.image ? IMAGE : 'node scripts/mkimage.js big --out DIR'}\` → \`${path.basename(IMAGE)}\`, pushed with \`skopeo copy\` as \`${REPO_REF}\` (manifest ${manifestDigest}).

| layer | compressed | uncompressed |
|---|---:|---:|
${LAYERS.map((l) => `| \`${l.digest.slice(7, 19)}\` | ${MB(l.compressed)} | ${MB(l.uncompressed)} |`).join('\n')}
| **total** | **${MB(COMPRESSED)}** | **${MB(UNCOMPRESSED)}** |

## Commands

All commands run as ${USER.name} through this prefix (the timer runs as that user, so \`runuser\` is in no timing):

\`\`\`
${prefix}
\`\`\`

DIR is a new, empty directory for every single run (under a temporary directory deleted at the end):

\`\`\`
${TOOLS.map(shownArgv).join('\n')}
\`\`\`

Before each timed command the timer runs \`sync\`; after it, untimed, it deletes the store:
ncx's with \`${shJoin([RUNTIME_BIN, 'rmtree', '--userns-pid', 'HOLDER', 'DIR'])}\` (HOLDER from \`$XDG_RUNTIME_DIR/ncx/userns.json\`),
podman's with \`${podmanRmArgv ? shJoin(podmanRmArgv).replaceAll('{DIR}', 'DIR') : '(podman: not run)'}\` (podman keeps its graph root mounted in its namespace), the others with \`rm -rf\`.
${SETTLE > 0 ? `After each deletion the timer waited ${SETTLE} s (\`--settle\`), so no pull landed among inodes freed in the last 30 s.` : 'The next pull starts right after the deletion (no `--settle`): on ext4 without a journal it allocates among just-freed inodes, which ncx avoids (FS_TOPDIR_FL on `snapshots/`) and podman does not; see README.md.'}

Cold means an empty store, not an empty page cache: the registry's blobs stay cached in memory after the first pull, as they would on a registry close by.
XDG_RUNTIME_DIR is the same for every run, so all timed ncx pulls reuse the user-namespace holder and all podman pulls reuse podman's pause process; both are started in the warm-up round, and stopped at the end.

### podman flags needed on this machine

${ok.podman ? `Beyond \`--root DIR/root --runroot DIR/run\`: \`--storage-driver ${podmanDriver}${podmanProbe.at(-1)?.flags !== '(none)' ? ` ${podmanProbe.at(-1).flags}` : ''}\`.` : 'podman could not pull; see the errors below.'}

${podmanProbe.map((p) => `- \`--storage-driver ${p.driver}\` with \`${p.flags}\`: ${p.ok ? 'ok' : `failed: \`${keyLine(p.error ?? '')}\``}`).join('\n') || '- (not run)'}
${fatal.length ? `\n## Errors\n\n${fatal.map((f) => `\`\`\`\n${f}\n\`\`\``).join('\n\n')}\n` : ''}${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`

process.stdout.write(`${table}\n\n${targetTable}\n`)
try {
  fs.writeFileSync(path.join(BENCH_DIR, 'RESULTS-pull.md'), md)
  fs.mkdirSync(path.join(BENCH_DIR, 'results'), {recursive: true})
  fs.writeFileSync(
    path.join(BENCH_DIR, 'results', 'pull-latest.json'),
    `${JSON.stringify(
      {
        env,
        image: {archive: opts.image ? IMAGE : 'node scripts/mkimage.js big', reference: REF, manifest: manifestDigest, layers: LAYERS.map(({file, ...l}) => l), compressed: COMPRESSED, uncompressed: UNCOMPRESSED, mkimage: mkimageReport},
        podman: {ok: ok.podman, driver: podmanDriver ?? null, info: podmanInfo, probe: podmanProbe},
        commands: {prefix: U.asUser([]), ...Object.fromEntries(TOOLS.map((t) => [t.key, {argv: t.argv, env: t.env ?? {}}])), podmanRemove: podmanRmArgv ?? null},
        target: {ratio: ratio ?? null, target: TARGET, met: met ?? null},
        summaryRows: [summaryRow({benchmark: `cold \`pull\` of the ${MB(UNCOMPRESSED)} image (${LAYERS.length} layers), wall`, ncx: usable(T.ncx) ? T.ncx.wall.median : undefined, peer: usable(T.podman) ? T.podman.wall.median : undefined, unit: 's', target: `≤ ${TARGET}× podman`, ratioMax: TARGET, note: [T.ncx, T.podman].map((t) => t.error && keyLine(t.error)).find(Boolean)})],
        results: Object.fromEntries(
          TOOLS.map((t) => [
            t.key,
            {
              error: t.error,
              wallSeconds: t.wall ?? null,
              cpuSeconds: t.cpu ?? null,
              userCpuSeconds: t.user ?? null,
              systemCpuSeconds: t.sys ?? null,
              registryCpuSeconds: t.registryCpu ?? null,
              mbPerSecondUncompressed: usable(t) ? UNCOMPRESSED / 1e6 / t.wall.median : null,
              mbPerSecondCompressed: usable(t) ? COMPRESSED / 1e6 / t.wall.median : null,
              ratioToPodman: ratioTo(t) ?? null,
              samples: t.samples,
            },
          ]),
        ),
        errors: fatal,
        notes,
      },
      null,
      2,
    )}\n`,
  )
  log(`wrote ${path.relative(process.cwd(), path.join(BENCH_DIR, 'RESULTS-pull.md'))} and ${path.relative(process.cwd(), path.join(BENCH_DIR, 'results', 'pull-latest.json'))}`)
} catch (e) {
  fatal.push(`could not write the results under ${BENCH_DIR}: ${e.message}`)
}

cleanup()
if (fatal.length > 0) {
  process.stderr.write(`\nbench: could not run everything (exit 1):\n\n${fatal.join('\n\n')}\n`)
  process.exit(1)
}
