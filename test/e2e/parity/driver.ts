/**
 * The two command lines the parity table runs against: ncx (as the unprivileged test user,
 * in a sandbox of its own) and a real Docker Engine (dockerd started here as root with its
 * own data root, exec root, socket and bridge; used only by the reference run).
 *
 * A case is a bash script in which `ncx` is the CLI under test: a function that runs ncx,
 * or `docker` against the private daemon. `$W` is a scratch directory, `$IMG` the directory
 * of the test images (scripts/mkimage.js).
 */
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Sandbox, asRoot, images, installation, user} from '../harness.js'

export interface Outcome {
  code: number
  stdout: string
  stderr: string
}

export interface Cli {
  /** `ncx`, or `docker 28.2.2` (the client's version) for the reference. */
  readonly label: string
  readonly kind: 'ncx' | 'docker'
  /** Run a bash script in which `ncx` is the CLI under test. */
  sh(script: string, options?: {input?: string; timeout?: number}): Outcome
  close(): void
}

function outcome(r: ReturnType<typeof spawnSync>): Outcome {
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error
  const text = (b: string | Buffer | null) => (b === null ? '' : String(b))
  // A timeout (killed by SIGTERM) reads as 124, as timeout(1) reports it.
  return {code: r.status ?? (r.error ? 124 : 128 + 9), stdout: text(r.stdout), stderr: text(r.stderr)}
}

/** ncx as the test user, in a sandbox of its own. */
export class NcxCli implements Cli {
  readonly label = 'ncx'
  readonly kind = 'ncx'
  readonly box = new Sandbox()
  private readonly scratch: string

  constructor() {
    this.scratch = mkdtempSync(join(tmpdir(), 'ncx-parity-w-'))
    chmodSync(this.scratch, 0o755)
    if (asRoot) chownSync(this.scratch, user.uid, user.gid)
  }

  sh(script: string, options: {input?: string; timeout?: number} = {}): Outcome {
    const env = {...this.box.env(), W: this.scratch, IMG: images(), NCX_NODE: process.execPath, NCX_BIN: join(installation(), 'bin', 'run.cjs')}
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`)
    // (`--`: as the #! line of bin/run.cjs runs it)
    const prelude = 'ncx() { "$NCX_NODE" -- "$NCX_BIN" "$@"; }\ncd "$W"\n'
    const argv = asRoot ? ['runuser', '-u', user.name, '--', 'env', '-i', ...vars, 'bash', '-c', prelude + script] : ['env', '-i', ...vars, 'bash', '-c', prelude + script]
    return outcome(spawnSync(argv[0], argv.slice(1), {input: options.input ?? '', encoding: 'utf8', timeout: options.timeout ?? 60_000}))
  }

  close(): void {
    this.box.destroy()
    rmSync(this.scratch, {recursive: true, force: true})
  }
}

/** The Docker clients on this machine, one per distinct version (`NCX_PARITY_DOCKER=a:b` names them). */
export function dockerClients(): string[] {
  const named = process.env.NCX_PARITY_DOCKER?.split(':').filter(Boolean)
  const candidates = named ?? [...(spawnSync('which', ['-a', 'docker'], {encoding: 'utf8'}).stdout ?? '').split('\n').filter(Boolean), '/usr/bin/docker']
  const seen = new Map<string, string>()
  for (const c of candidates) {
    if (!existsSync(c)) continue
    const version = spawnSync(c, ['--version'], {encoding: 'utf8'}).stdout?.trim()
    if (!version || [...seen.values()].includes(version)) continue
    seen.set(realpathSync(c), version)
  }
  return [...seen.keys()]
}

/** `dockerd` when this machine can run the reference (root, the binary present); else why not. */
export function dockerdAvailable(): {dockerd?: string; reason?: string} {
  if (!asRoot) return {reason: 'the reference run starts dockerd, which needs root'}
  // CI installs docker.io for its client (the Engine API tests) and leaves the reference out:
  // about 20 minutes of dockerd runs for expectations recorded in cases.ts already.
  if (process.env.NCX_PARITY_REFERENCE === 'off') return {reason: 'NCX_PARITY_REFERENCE=off (the reference run is left out)'}
  for (const p of ['/usr/sbin/dockerd', '/usr/bin/dockerd', '/usr/local/bin/dockerd']) if (existsSync(p)) return {dockerd: p}
  return {reason: "dockerd is not installed (Debian's docker.io package)"}
}

/** A private dockerd (its own directories, socket and bridge) and one client. */
export class DockerCli implements Cli {
  readonly kind = 'docker'
  readonly label: string
  private readonly dir: string
  private readonly socket: string
  private readonly bridge: string
  private pid = 0

  constructor(
    private readonly dockerd: string,
    private readonly client: string,
  ) {
    this.label = spawnSync(client, ['--version'], {encoding: 'utf8'}).stdout.trim().replace(/^Docker version ([^,]+).*/, 'docker $1')
    this.dir = mkdtempSync(join(tmpdir(), 'ncx-parity-dockerd-'))
    this.socket = join(this.dir, 'docker.sock')
    // Its own bridge (not docker0, which another dockerd on this machine may own).
    this.bridge = `ncxpar${process.pid % 100000}`
  }

  /** Start dockerd and load the busybox image; throws with dockerd's log when it does not come up. */
  start(): void {
    const ip = (...args: string[]) => execFileSync('ip', args, {stdio: 'ignore'})
    if (spawnSync('ip', ['link', 'show', this.bridge], {stdio: 'ignore'}).status !== 0) {
      ip('link', 'add', this.bridge, 'type', 'bridge')
      ip('addr', 'add', '172.31.254.1/24', 'dev', this.bridge)
      ip('link', 'set', this.bridge, 'up')
    }
    const log = openSync(join(this.dir, 'dockerd.log'), 'a')
    const child = spawn(
      this.dockerd,
      ['--data-root', join(this.dir, 'data'), '--exec-root', join(this.dir, 'exec'), '-H', `unix://${this.socket}`, '--pidfile', join(this.dir, 'pid'), '--bridge', this.bridge],
      {detached: true, stdio: ['ignore', log, log]},
    )
    child.unref()
    this.pid = child.pid!
    const end = Date.now() + 60_000
    while (spawnSync(this.client, ['version'], {env: this.env(), stdio: 'ignore'}).status !== 0) {
      if (Date.now() > end || spawnSync('kill', ['-0', String(this.pid)]).status !== 0) {
        throw new Error(`dockerd did not start:\n${readFileSync(join(this.dir, 'dockerd.log'), 'utf8').slice(-3000)}`)
      }
      execFileSync('sleep', ['0.2'])
    }
    execFileSync(this.client, ['load', '-q', '-i', join(images(), 'busybox.docker.tar')], {env: this.env(), stdio: 'ignore'})
  }

  private env(): Record<string, string> {
    return {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', DOCKER_HOST: `unix://${this.socket}`, DOCKER_CONFIG: join(this.dir, 'config'), NO_COLOR: '1'}
  }

  sh(script: string, options: {input?: string; timeout?: number} = {}): Outcome {
    const scratch = join(this.dir, 'w')
    execFileSync('mkdir', ['-p', scratch])
    const env = {...this.env(), W: scratch, IMG: images(), DOCKER_CLIENT: this.client}
    const prelude = 'ncx() { "$DOCKER_CLIENT" "$@"; }\ncd "$W"\n'
    return outcome(spawnSync('bash', ['-c', prelude + script], {env, input: options.input ?? '', encoding: 'utf8', timeout: options.timeout ?? 60_000}))
  }

  close(): void {
    if (this.pid > 0) {
      spawnSync('bash', ['-c', `ids=$("$C" ps -aq); [ -z "$ids" ] || "$C" rm -f $ids`], {env: {...this.env(), C: this.client}, stdio: 'ignore', timeout: 60_000})
      try {
        process.kill(this.pid, 'SIGTERM')
      } catch {
        // gone already
      }
      const end = Date.now() + 30_000
      while (Date.now() < end && spawnSync('kill', ['-0', String(this.pid)]).status === 0) execFileSync('sleep', ['0.2'])
    }
    spawnSync('ip', ['link', 'del', this.bridge], {stdio: 'ignore'})
    // Nothing of it may stay mounted before its directories go.
    const mounted = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(this.dir))
    for (const m of mounted.reverse()) spawnSync('umount', ['-l', m], {stdio: 'ignore'})
    rmSync(this.dir, {recursive: true, force: true})
  }
}
