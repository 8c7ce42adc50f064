// bench/lib.js — helpers shared by the benchmarks (bench/pull.js uses them; bench/run.js still has
// its own copies, which behave the same).
//
// Importing this module has no side effects: everything that touches the system is a function.

import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const BENCH_DIR = path.join(REPO, 'bench')
export const NODE = process.execPath
export const NCX_BIN = path.join(REPO, 'bin', 'run.cjs')
export const RUNTIME_BIN = path.join(REPO, 'native', 'ncx-runtime')
export const SYS_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
/** podman flags for hosts without systemd. */
export const NO_SYSTEMD_FLAGS = ['--cgroup-manager', 'cgroupfs', '--events-backend', 'file']

export const log = (msg) => process.stderr.write(`[bench] ${msg}\n`)

/** Parse the command line with `options` (node:util parseArgs); bad flags exit 2, --help prints `usage`. */
export function benchOptions(usage, options) {
  let opts
  try {
    opts = parseArgs({args: process.argv.slice(2), options: {...options, help: {type: 'boolean', short: 'h', default: false}}}).values
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n${usage}`)
    process.exit(2)
  }
  if (opts.help) {
    process.stdout.write(usage)
    process.exit(0)
  }
  return opts
}

/** --runs (≥ 1) and --warmup (≥ 0) as numbers; anything else exits 2. */
export function runsAndWarmup(opts) {
  const runs = Number(opts.runs)
  const warmup = Number(opts.warmup)
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) {
    process.stderr.write(`bench: --runs must be a positive integer and --warmup a non-negative integer\n`)
    process.exit(2)
  }
  return {runs, warmup}
}

/** median, mean, min, max, sample standard deviation of `times`. */
export function stats(times) {
  const s = [...times].sort((a, b) => a - b)
  const n = s.length
  const mean = s.reduce((a, b) => a + b, 0) / n
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
  const stddev = n > 1 ? Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0
  return {mean, median, min: s[0], max: s[n - 1], stddev}
}

export function which(name) {
  if (name.includes('/')) return fs.existsSync(name) ? name : undefined
  for (const dir of (process.env.PATH ?? SYS_PATH).split(':').concat(SYS_PATH.split(':'))) {
    const p = path.join(dir, name)
    try {
      fs.accessSync(p, fs.constants.X_OK)
      return p
    } catch {}
  }
  return undefined
}

export function sh(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, {encoding: 'utf8', maxBuffer: 64 << 20, ...options})
  return {ok: !r.error && r.status === 0, status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error}
}

/** The most telling line of an error text (podman prints log lines before its `Error:`). */
export function keyLine(text) {
  const lines = String(text).split('\n').filter((l) => l.trim() && !/^\(exit /.test(l))
  return lines.find((l) => /^Error:/.test(l)) ?? lines.find((l) => /error/i.test(l) && !/level=(warning|info)/.test(l)) ?? lines[0] ?? ''
}

export function failText(r) {
  const out = `${r.stderr}${r.stdout}`.trim()
  if (r.error) return `${r.error.message}${out ? `\n${out}` : ''}`
  return `${out || '(no output)'}\n(exit ${r.status ?? `signal ${r.signal}`})`
}

export const shq = (s) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)
export const shJoin = (argv) => argv.map(shq).join(' ')

/** Exit 1 with build instructions unless dist/fast.cjs and native/ncx-runtime exist. */
export function requireBuilt(benchCommand) {
  const missing = [path.join(REPO, 'dist', 'fast.cjs'), RUNTIME_BIN].filter((f) => !fs.existsSync(f))
  if (missing.length === 0) return
  process.stderr.write(
    `bench: ncx is not built (missing ${missing.join(', ')}).\n` +
      `Build it first:\n  npm ci\n  npm run build        # = node scripts/build-native.js && npm run build:ts\n` +
      `then run: ${benchCommand}\n`,
  )
  process.exit(1)
}

/** Date, kernel, CPUs, Node: the common part of a results header. */
export function hostInfo() {
  const cpus = os.cpus()
  return {
    date: new Date().toISOString(),
    kernel: `${os.type()} ${os.release()} ${os.machine?.() ?? os.arch()}`,
    cpus: `${os.availableParallelism?.() ?? cpus.length} × ${cpus[0]?.model?.trim() ?? 'unknown'}`,
    load: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    node: process.version,
  }
}

function passwdEntry(name) {
  const r = sh('getent', ['passwd', name])
  if (!r.ok) return undefined
  const [, , uid, gid, , home] = r.stdout.trim().split(':')
  return {name, uid: Number(uid), gid: Number(gid), home}
}

function hasSubIds(file, name, uid) {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .some((l) => {
        const f = l.split(':')
        return f.length === 3 && (f[0] === name || f[0] === String(uid)) && Number(f[2]) >= 65536
      })
  } catch {
    return false
  }
}

/**
 * The unprivileged benchmark user and its private runtime dir, as bench/run.js sets them up.
 * Started as root: `userName` (created with subordinate ids if need be), every command through
 * `runuser -u USER -- env -i …`. Started as a user: that user, `env -i …` only.
 * `xdgBase` names the private XDG_RUNTIME_DIR (`-UID` is appended when not root).
 * Exits 1 (with the tool's message) when the user cannot be set up.
 */
export function benchUser({userName, xdgBase, baseEnv = {}}) {
  const IS_ROOT = process.getuid() === 0
  let user
  if (IS_ROOT) {
    user = passwdEntry(userName)
    if (!user) {
      log(`creating user ${userName}`)
      const r = sh('useradd', ['-m', userName])
      if (!r.ok) {
        process.stderr.write(`bench: useradd -m ${userName} failed:\n${failText(r)}\n`)
        process.exit(1)
      }
      user = passwdEntry(userName)
    }
    if (!hasSubIds('/etc/subuid', user.name, user.uid) || !hasSubIds('/etc/subgid', user.name, user.uid)) {
      log(`adding subordinate ids 100000-165535 for ${user.name}`)
      const r = sh('usermod', ['--add-subuids', '100000-165535', '--add-subgids', '100000-165535', user.name])
      if (!r.ok) {
        process.stderr.write(`bench: usermod --add-subuids failed:\n${failText(r)}\n`)
        process.exit(1)
      }
    }
  } else {
    user = {name: os.userInfo().username, uid: process.getuid(), gid: process.getgid(), home: os.homedir()}
  }
  if (user.uid === 0) {
    process.stderr.write(`bench: refusing to benchmark as root (--user ${userName} is uid 0); the tools must run rootless\n`)
    process.exit(1)
  }
  const XDG = IS_ROOT ? xdgBase : `${xdgBase}-${user.uid}`

  const ownedBy = (p) => {
    if (IS_ROOT) fs.chownSync(p, user.uid, user.gid)
    fs.chmodSync(p, 0o700)
  }
  const mkdirUser = (p) => {
    fs.mkdirSync(p, {recursive: true})
    ownedBy(p)
  }
  const userEnv = (extra = {}) => ({
    PATH: [...new Set([path.dirname(NODE), ...SYS_PATH.split(':')])].join(':'),
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    XDG_RUNTIME_DIR: XDG,
    ...baseEnv,
    ...extra,
  })
  /** argv that runs `argv` as the benchmark user with the benchmark environment. */
  const asUser = (argv, extraEnv = {}) => {
    const envArgs = ['env', '-i', ...Object.entries(userEnv(extraEnv)).map(([k, v]) => `${k}=${v}`)]
    return IS_ROOT ? ['runuser', '-u', user.name, '--', ...envArgs, ...argv] : [...envArgs, ...argv]
  }
  const runAsUser = (argv, extraEnv = {}, options = {}) => {
    const [cmd, ...args] = asUser(argv, extraEnv)
    return sh(cmd, args, options)
  }

  /** Processes a bench left in the private runtime dir: podman's pause process, ncx's userns holder. */
  const daemons = () => {
    const found = []
    const add = (what, file, read, expect) => {
      try {
        const pid = read(fs.readFileSync(file, 'utf8'))
        if (!Number.isInteger(pid) || pid <= 0) return
        const st = fs.statSync(`/proc/${pid}`)
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        if (st.uid === user.uid && expect.test(cmdline)) found.push({what, pid})
      } catch {}
    }
    add('podman pause process', path.join(XDG, 'libpod', 'tmp', 'pause.pid'), (s) => Number(s.trim()), /catatonit|podman/)
    add('ncx user-namespace holder', path.join(XDG, 'ncx', 'userns.json'), (s) => JSON.parse(s).pid, /ncx-runtime|ncx-userns/)
    return found
  }
  const stopDaemons = () => {
    const stopped = []
    for (const d of daemons()) {
      try {
        process.kill(d.pid, 'SIGKILL')
        stopped.push(d)
      } catch {}
    }
    return stopped
  }
  /** Empty (or create) the private runtime dir, stopping what an earlier run left in it. */
  const prepareXdg = () => {
    let st
    try {
      st = fs.lstatSync(XDG)
    } catch {}
    if (st) {
      stopDaemons()
      try {
        if (!st.isDirectory() || st.isSymbolicLink() || st.uid !== user.uid) fs.rmSync(XDG, {recursive: true, force: true})
        else for (const e of fs.readdirSync(XDG)) fs.rmSync(path.join(XDG, e), {recursive: true, force: true})
      } catch (e) {
        log(`could not empty ${XDG} left by an earlier run (${e.message}); reusing it`)
      }
    }
    fs.mkdirSync(XDG, {recursive: true, mode: 0o700})
    ownedBy(XDG)
  }

  return {IS_ROOT, user, XDG, ownedBy, mkdirUser, userEnv, asUser, runAsUser, daemons, stopDaemons, prepareXdg}
}

/**
 * A bench's teardown, the same for every bench: `before()` (the bench's own steps), then, when
 * not root, the ncx paths removed inside the user's namespace (unpacked layers belong to
 * subordinate ids) and podman's store through `podman unshare`; then the user's daemons
 * stopped and `dirs` removed. `podman()` gives podman's global flags at cleanup time (they are
 * known only once podman is configured; empty: podman left nothing). SIGINT cleans up and
 * exits 130. Returns `cleanup` (runs once) and `die(msg)` (message, cleanup, exit 1).
 */
export function benchTeardown(U, {keep = false, dirs, ncxPaths = [], podmanBin, podman = () => [], podmanStore, before = () => {}}) {
  let done = false
  const cleanup = () => {
    if (done) return
    done = true
    before()
    if (keep) {
      log(`kept ${dirs.join(' and ')}`)
      return
    }
    if (!U.IS_ROOT) {
      try {
        const holder = JSON.parse(fs.readFileSync(path.join(U.XDG, 'ncx', 'userns.json'), 'utf8')).pid
        if (ncxPaths.length > 0) U.runAsUser([RUNTIME_BIN, 'rmtree', '--userns-pid', String(holder), ...ncxPaths])
      } catch {}
      const flags = podman()
      if (podmanBin && podmanStore && flags.length > 0) U.runAsUser([podmanBin, ...flags, 'unshare', 'rm', '-rf', podmanStore])
    }
    for (const d of U.stopDaemons()) log(`stopped the ${d.what} (pid ${d.pid})`)
    for (const p of dirs) {
      try {
        fs.rmSync(p, {recursive: true, force: true})
      } catch (e) {
        log(`could not remove ${p}: ${e.message}`)
      }
    }
  }
  const die = (msg) => {
    process.stderr.write(`bench: ${msg}\n`)
    cleanup()
    process.exit(1)
  }
  process.on('SIGINT', () => {
    cleanup()
    process.exit(130)
  })
  return {cleanup, die}
}

/**
 * The busybox image the container benchmarks run: `image` when given, else built with
 * scripts/mkimage.js into WORK/image (readable by the bench user and root).
 */
export function benchImage(U, {work, image, die}) {
  if (image) return path.resolve(image)
  const dir = path.join(work, 'image')
  U.mkdirUser(dir)
  fs.chmodSync(dir, 0o755)
  log('building the busybox image')
  const r = U.runAsUser([NODE, path.join(REPO, 'scripts', 'mkimage.js'), 'busybox', '--out', dir])
  if (!r.ok) die(`scripts/mkimage.js busybox failed:\n${failText(r)}`)
  return path.join(dir, 'busybox.oci.tar')
}

/** `ncx load` of the image into the bench's store, then `probe` (an ncx argv tail) if given, which must succeed. */
export function loadNcx(U, {ncx, env, image, probe, die}) {
  const load = U.runAsUser([...ncx, 'load', '-i', image], env)
  if (!load.ok) die(`ncx load failed:\n${failText(load)}`)
  if (!probe) return
  const r = U.runAsUser([...ncx, ...probe], env)
  if (!r.ok) die(`ncx ${probe[0]} failed:\n${failText(r)}`)
}

/**
 * podman's global flags for a private store under WORK/podman (overlay, the given runc), with
 * the image loaded: `probe(global)` (an argv tail) is tried without and then with
 * NO_SYSTEMD_FLAGS, and the first set that works is returned.
 */
export function podmanStore(U, {podman, runc, work, image, die, probe = () => ['run', '--rm', '--net=none', '--pull=never', 'busybox', 'true']}) {
  if (!podman) die('podman not found: apt-get install podman buildah runc')
  if (!fs.existsSync(runc)) die(`runc not found at ${runc}`)
  U.mkdirUser(path.join(work, 'podman'))
  const base = ['--runtime', runc, '--root', path.join(work, 'podman', 'root'), '--runroot', path.join(work, 'podman', 'run'), '--storage-driver', 'overlay']
  const load = U.runAsUser([podman, ...base, 'load', '-i', image])
  if (!load.ok) die(`podman load failed:\n${failText(load)}`)
  let last
  for (const extra of [[], NO_SYSTEMD_FLAGS]) {
    const r = U.runAsUser([podman, ...base, ...extra, ...probe()])
    if (r.ok) return [...base, ...extra]
    last = r
  }
  die(`podman could not run ${probe().join(' ')}:\n${failText(last)}`)
}
