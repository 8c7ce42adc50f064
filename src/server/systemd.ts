/**
 * `ncx system service --install/--uninstall`: a systemd user socket and service (as podman's
 * podman.socket / podman.service), so the API socket is always there and the service starts
 * on the first connection; and the other side of that, socket activation (sd_listen_fds(3):
 * LISTEN_PID, LISTEN_FDS, descriptors from 3 on).
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, fstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {isAbsolute, join} from 'node:path'

import {UsageError} from '../engine/errors.js'
import {callersUmaskValue} from '../engine/store/private.js'

export const SOCKET_UNIT = 'ncx.socket'
export const SERVICE_UNIT = 'ncx.service'
/** sd_listen_fds(3)'s SD_LISTEN_FDS_START. */
export const LISTEN_FDS_START = 3

/** A word of an ExecStart= line: quoted where systemd would split or expand it. */
function execWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$')
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return escaped
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

/** An Environment= assignment, quoted as systemd reads it. */
function envAssignment(name: string, value: string): string {
  return `"${`${name}=${value}`.replace(/%/g, '%%').replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

export interface UnitOptions {
  /** The command that runs ncx: node and its entry script, or a single executable. */
  command: string[]
  /** Where the socket is: `%t/ncx/docker.sock` (systemd's runtime directory), or an absolute path. */
  socketPath: string
  /** Idle seconds before the service exits (the socket stays; the next connection starts it again). */
  timeoutSeconds: number
  /** NCX_ROOT and the like, when the installing ncx was started with them. */
  environment: Record<string, string>
}

/** The two unit files' text. */
export function systemdUnits(o: UnitOptions): Record<string, string> {
  if (!o.socketPath.startsWith('%t/') && !isAbsolute(o.socketPath)) throw new UsageError(`the socket path must be absolute: ${o.socketPath}`)
  const env = Object.entries(o.environment).map(([k, v]) => `Environment=${envAssignment(k, v)}\n`)
  return {
    [SOCKET_UNIT]: [
      '[Unit]',
      'Description=ncx: the Docker Engine API socket',
      '',
      '[Socket]',
      `ListenStream=${o.socketPath}`,
      // Only its user may connect: whoever reaches the socket controls the containers.
      'SocketMode=0600',
      'DirectoryMode=0700',
      '',
      '[Install]',
      'WantedBy=sockets.target',
      '',
    ].join('\n'),
    [SERVICE_UNIT]: [
      '[Unit]',
      'Description=ncx: the Docker Engine API service',
      `Requires=${SOCKET_UNIT}`,
      `After=${SOCKET_UNIT}`,
      'StartLimitIntervalSec=0',
      '',
      '[Service]',
      'Type=exec',
      // Containers' monitors outlive the service by design: stopping it must not kill them.
      'KillMode=process',
      'Delegate=yes',
      ...env.map((l) => l.trimEnd()),
      `ExecStart=${[...o.command, 'system', 'service', '--timeout', String(o.timeoutSeconds)].map(execWord).join(' ')}`,
      '',
    ].join('\n'),
  }
}

/** `$XDG_CONFIG_HOME/systemd/user` (default `~/.config/systemd/user`). */
export function userUnitDir(env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config')
  return join(config, 'systemd', 'user')
}

export interface SystemctlStep {
  args: string[]
  ok: boolean
  output: string
}

/** `systemctl --user ARGS`; its failure (no user manager, as in containers and CI) is reported, not thrown. */
function systemctl(args: string[]): SystemctlStep {
  const r = spawnSync('systemctl', ['--user', ...args], {encoding: 'utf8', timeout: 30_000})
  return {args, ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim()}
}

export interface InstallResult {
  files: string[]
  steps: SystemctlStep[]
  /** What the user runs when systemctl could not do it here. */
  manual: string[]
}

export function installUnits(o: UnitOptions, env: NodeJS.ProcessEnv = process.env, run: (args: string[]) => SystemctlStep = systemctl): InstallResult {
  const dir = userUnitDir(env)
  mkdirSync(dir, {recursive: true, mode: 0o755})
  const files: string[] = []
  for (const [name, text] of Object.entries(systemdUnits(o))) {
    const path = join(dir, name)
    writeFileSync(path, text)
    // The user's own configuration: their umask, not ncx's private 077.
    chmodSync(path, 0o644 & ~callersUmaskValue())
    files.push(path)
  }
  const steps: SystemctlStep[] = []
  const wanted = [['daemon-reload'], ['enable', '--now', SOCKET_UNIT]]
  for (const args of wanted) {
    const step = run(args)
    steps.push(step)
    if (!step.ok) break
  }
  const manual = steps.every((s) => s.ok) ? [] : wanted.map((a) => `systemctl --user ${a.join(' ')}`)
  return {files, steps, manual}
}

export function uninstallUnits(env: NodeJS.ProcessEnv = process.env, run: (args: string[]) => SystemctlStep = systemctl): InstallResult {
  const dir = userUnitDir(env)
  const steps: SystemctlStep[] = []
  const present = [SOCKET_UNIT, SERVICE_UNIT].map((n) => join(dir, n)).filter((p) => existsSync(p))
  // Ours only: a unit file of that name that ncx did not write is left alone.
  const ours = present.filter((p) => /^Description=ncx: /m.test(readFileSync(p, 'utf8')))
  if (ours.length > 0) steps.push(run(['disable', '--now', SOCKET_UNIT, SERVICE_UNIT]))
  for (const p of ours) rmSync(p, {force: true})
  if (ours.length > 0) steps.push(run(['daemon-reload']))
  return {files: ours, steps, manual: []}
}

/**
 * The listening socket systemd passed (sd_listen_fds(3)): LISTEN_PID must be this process and
 * LISTEN_FDS at least 1; the first descriptor (3) is used. The variables are removed from the
 * environment either way, so processes ncx starts never take them for theirs.
 */
export function activationSocket(env: NodeJS.ProcessEnv = process.env, pid = process.pid, isSocket: (fd: number) => boolean = fdIsSocket): number | undefined {
  const listenPid = env.LISTEN_PID
  const count = Number(env.LISTEN_FDS ?? '0')
  delete env.LISTEN_PID
  delete env.LISTEN_FDS
  delete env.LISTEN_FDNAMES
  if (listenPid === undefined || Number(listenPid) !== pid || !Number.isInteger(count) || count < 1) return undefined
  if (!isSocket(LISTEN_FDS_START)) throw new UsageError(`LISTEN_FDS is set, but descriptor ${LISTEN_FDS_START} is not a socket`, 'start the service from its systemd socket unit (ncx system service --install), or without LISTEN_FDS')
  return LISTEN_FDS_START
}

/** The path a passed unix socket is bound to (from /proc/net/unix, by the socket's inode), if any. */
export function boundPath(fd: number): string | undefined {
  try {
    const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1]
    if (!inode) return undefined
    for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f[6] === inode && f[7]?.startsWith('/')) return f[7]
    }
  } catch {
    // no /proc: the address stays unknown
  }
  return undefined
}

function fdIsSocket(fd: number): boolean {
  try {
    return fstatSync(fd).isSocket()
  } catch {
    return false
  }
}
