/**
 * End-to-end harness: runs the real `ncx` CLI as an unprivileged user (as root: through
 * `runuser -u $NCX_TEST_USER`, default `ncxtest`), each suite with its own data root and
 * XDG_RUNTIME_DIR, against images built from Debian's busybox-static by scripts/mkimage.js.
 */
import {ChildProcess, SpawnOptions, execFileSync, spawn, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const checkout = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface Result {
  code: number
  stdout: string
  stderr: string
}

export interface TestUser {
  name: string
  uid: number
  gid: number
  home: string
}

function lookupUser(name: string): TestUser {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`))
  if (!line) throw new Error(`test user ${name} does not exist: create it with "useradd -m ${name}" and give it subordinate ids (see .ci/run)`)
  const f = line.split(':')
  return {name, uid: Number(f[2]), gid: Number(f[3]), home: f[5]}
}

export const asRoot = process.getuid!() === 0
export const user: TestUser = asRoot
  ? lookupUser(process.env.NCX_TEST_USER ?? 'ncxtest')
  : {name: process.env.USER ?? 'me', uid: process.getuid!(), gid: process.getgid!(), home: process.env.HOME ?? '/tmp'}

/** Every userDir made in this run: removed when the test process exits (files in them may belong to the user's subordinate ids; root removes them all the same). */
const scratchDirs: string[] = []
process.on('exit', () => {
  for (const d of scratchDirs) {
    try {
      rmSync(d, {recursive: true, force: true})
    } catch {
      // best effort: a leftover in /tmp is not a test failure
    }
  }
})

/** A directory the test user owns (removed at exit). */
export function userDir(prefix: string, owner: TestUser = user): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  scratchDirs.push(dir)
  chmodSync(dir, 0o755)
  if (asRoot) chownSync(dir, owner.uid, owner.gid)
  return dir
}

/** A user to run as (as root only): created without subordinate ids when missing. */
export function ensureUser(name: string): TestUser {
  if (!readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith(`${name}:`))) execFileSync('useradd', ['-m', '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', name])
  return lookupUser(name)
}

let installed: string | undefined

/**
 * Where the test user runs ncx from: the checkout itself when that user can read it, else
 * a world-readable copy of what `npm run build` produced (a CI clone may live under /root).
 */
export function installation(): string {
  if (installed) return installed
  const readable = !asRoot || spawnSync('runuser', ['-u', user.name, '--', 'test', '-r', join(checkout, 'bin', 'run.cjs'), '-a', '-x', join(checkout, 'native', 'ncx-runtime')]).status === 0
  if (readable) return (installed = checkout)
  const copy = mkdtempSync(join(tmpdir(), 'ncx-e2e-install-'))
  scratchDirs.push(copy)
  for (const part of ['package.json', 'bin', 'dist', 'native', 'node_modules', 'oclif.manifest.json']) {
    execFileSync('cp', ['-a', join(checkout, part), copy])
  }
  execFileSync('chmod', ['-R', 'a+rX', copy])
  return (installed = copy)
}

/** The repository (for scripts run by the test runner itself). */
export const repo = checkout

let fixtures: string | undefined

const IMAGE_KINDS = ['busybox', 'multilayer', 'hostile', 'volume']
/** Images whose symlinks point at `<dir>/canary`, which tests create and inspect: never shared between processes. */
const OWN_KINDS = ['hostile']

/** Build the test images of `kinds` into `dir` (deterministic, from /bin/busybox). */
export function buildImages(dir: string, kinds: string[] = IMAGE_KINDS.filter((k) => !OWN_KINDS.includes(k))): void {
  chmodSync(dir, 0o755)
  for (const kind of kinds) {
    const extra = kind === 'hostile' ? ['--canary-dir', join(dir, 'canary')] : []
    execFileSync('node', [join(repo, 'scripts', 'mkimage.js'), kind, '--out', dir, ...extra], {stdio: 'ignore'})
  }
  for (const f of readdirSync(dir)) if (f.endsWith('.tar')) chmodSync(join(dir, f), 0o644)
}

/**
 * The test images, built once per run. scripts/test-e2e.js builds the shareable ones once for
 * all its mocha processes ($NCX_E2E_IMAGES, copied from there); the hostile ones are this
 * process's own, with their own canary directory.
 */
export function images(): string {
  if (fixtures) return fixtures
  const dir = mkdtempSync(join(tmpdir(), 'ncx-e2e-images-'))
  scratchDirs.push(dir)
  const shared = process.env.NCX_E2E_IMAGES
  if (shared) {
    // Copies, not links: zstd and others skip symlinks, and a test may change its copy.
    for (const f of readdirSync(shared)) copyFileSync(join(shared, f), join(dir, f))
    buildImages(dir, OWN_KINDS)
  } else buildImages(dir, IMAGE_KINDS)
  fixtures = dir
  return dir
}

/** One isolated ncx installation for the test user: data root + runtime dir. */
export class Sandbox {
  readonly root: string
  readonly xdg: string

  constructor(readonly owner: TestUser = user) {
    this.root = userDir('ncx-e2e-root-', owner)
    this.xdg = userDir('ncx-e2e-xdg-', owner)
    chmodSync(this.xdg, 0o700)
  }

  env(): Record<string, string> {
    return {
      // An ordinary Debian user's PATH: no sbin directories (ncx must find its tools anyway).
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: this.owner.home,
      USER: this.owner.name,
      XDG_RUNTIME_DIR: this.xdg,
      NCX_ROOT: this.root,
      NO_COLOR: '1',
    }
  }

  ncx(args: string[], options: {input?: string; env?: Record<string, string>; timeout?: number} = {}): Result {
    const env = {...this.env(), ...options.env}
    const command = asRoot ? 'runuser' : 'env'
    const prefix = asRoot ? ['-u', this.owner.name, '--', 'env', '-i'] : ['-i']
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`)
    const r = spawnSync(command, [...prefix, ...envArgs, process.execPath, '--', join(installation(), 'bin', 'run.cjs'), ...args], {
      input: options.input,
      encoding: 'utf8',
      timeout: options.timeout ?? 60_000,
    })
    if (r.error) throw r.error
    return {code: r.status ?? 128 + 9, stdout: r.stdout, stderr: r.stderr}
  }

  /**
   * Like `ncx` but without blocking this process: needed when a server the command talks
   * to (the registry harness's token service) runs inside the test process.
   */
  async run(args: string[], options: {input?: string; env?: Record<string, string>} = {}): Promise<Result> {
    const child = this.spawn(args, {stdio: ['pipe', 'pipe', 'pipe']}, options.env)
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d: Buffer) => (stdout += d))
    child.stderr!.on('data', (d: Buffer) => (stderr += d))
    // (a command that exits without reading its input closes the pipe: EPIPE here is no error)
    child.stdin!.on('error', () => {})
    child.stdin!.end(options.input ?? '')
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 137)))
    return {code, stdout, stderr}
  }

  /** Start ncx without waiting (for parallel runs and kill tests). */
  spawn(args: string[], options: SpawnOptions = {}, extraEnv: Record<string, string> = {}): ChildProcess {
    const [command, ...rest] = this.commandLine(args, extraEnv)
    return spawn(command, rest, options)
  }

  /**
   * The full command line that runs `ncx ARGS` as the test user (for wrappers such as `script`).
   * setpriv execs, where runuser stays as a watching parent: a signal (^C on a terminal, a
   * kill test's SIGKILL) must reach ncx itself, not a parent that reports 128+N on its own.
   */
  commandLine(args: string[], extraEnv: Record<string, string> = {}): string[] {
    const env = Object.entries({...this.env(), ...extraEnv}).map(([k, v]) => `${k}=${v}`)
    const cli = [process.execPath, '--', join(installation(), 'bin', 'run.cjs'), ...args]
    const {uid, gid} = this.owner
    return asRoot ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--init-groups', 'env', '-i', ...env, ...cli] : ['env', '-i', ...env, ...cli]
  }

  /** Run and require exit 0. */
  ok(args: string[], options: {input?: string; env?: Record<string, string>} = {}): string {
    const r = this.ncx(args, options)
    if (r.code !== 0) throw new Error(`ncx ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
    return r.stdout
  }

  load(name: string): void {
    this.ok(['load', '-i', join(images(), name)])
  }

  /** Kill the whole `ncx ARGS` process tree after `ms` (crash-safety tests); resolves once it is gone. */
  async killAfter(args: string[], ms: number): Promise<void> {
    // A process group of its own, so the whole tree (runuser → node → ncx-runtime) dies at once.
    const child = this.spawn(args, {detached: true, stdio: 'ignore'})
    const exited = new Promise((r) => child.on('exit', r))
    await new Promise((r) => setTimeout(r, ms))
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // finished already
    }
    await exited
  }

  /**
   * Kill the whole `ncx ARGS` process tree as soon as `when()` holds (polled every few ms:
   * a state the command passes through, such as a marker file it writes). Resolves true when
   * the kill landed in that state, false when the command finished first.
   */
  async killWhen(args: string[], when: () => boolean, timeoutMs = 60_000): Promise<boolean> {
    const child = this.spawn(args, {detached: true, stdio: 'ignore'})
    let exited = false
    const gone = new Promise((r) => child.on('exit', () => r((exited = true))))
    const deadline = Date.now() + timeoutMs
    let hit = false
    while (!exited && Date.now() < deadline) {
      if (when()) {
        hit = true
        break
      }
      await new Promise((r) => setTimeout(r, 2))
    }
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // finished already
    }
    await gone
    return hit
  }

  /**
   * Remove the containers (stopping their monitors), stop the user-namespace holder and the
   * network namespace, and delete the stores (inside the namespace, where needed).
   */
  destroy(): void {
    if (existsSync(join(this.root, 'containers'))) {
      const ids = this.ncx(['ps', '-aq', '--no-trunc']).stdout.trim()
      if (ids) this.ncx(['rm', '-f', ...ids.split('\n')])
    }
    const record = join(this.xdg, 'ncx', 'userns.json')
    if (existsSync(join(this.root, 'snapshots'))) {
      const holder = existsSync(record) ? (JSON.parse(readFileSync(record, 'utf8')) as {pid: number}).pid : undefined
      const runtime = join(installation(), 'native', 'ncx-runtime')
      const args = ['rmtree', ...(holder ? ['--userns-pid', String(holder)] : []), this.root]
      if (asRoot) spawnSync('runuser', ['-u', this.owner.name, '--', runtime, ...args])
      else spawnSync(runtime, args)
    }
    // The holder, and the network namespace's supervisor (which outlives the holder: SIGTERM
    // takes its holder and slirp4netns along).
    for (const [file, signal] of [[record, 'SIGKILL'], [join(this.xdg, 'ncx', 'netns.json'), 'SIGTERM']] as const) {
      if (!existsSync(file)) continue
      try {
        process.kill((JSON.parse(readFileSync(file, 'utf8')) as {pid: number}).pid, signal)
      } catch {
        // already gone
      }
    }
    rmSync(this.root, {recursive: true, force: true})
    rmSync(this.xdg, {recursive: true, force: true})
  }
}
