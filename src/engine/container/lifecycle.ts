/**
 * The container lifecycle after `create`: start (a detached monitor per container, see
 * crates/ncx-runtime/src/monitor/), stop, kill, restart, remove, wait, prune, top.
 * Signals reach the container through the runtime, inside the user namespace that owns it
 * (found through the container's own process, see crates/ncx-core/src/nsenter.rs).
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, lstatSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {loadNative} from '../../native/index.js'
import {NcxError, UsageError} from '../errors.js'
import {joinArgs} from '../rootless/session.js'
import {runtimeAsync, runtimeShort, runtimeStart, runtimeSync} from '../runtime.js'
import {ContainerOptions} from '../spec/generate.js'
import {createContainer, reapAbandoned} from './run.js'
import {rootfsArgs} from './rootfs.js'
import {containerRuntime, externalRuntimeArgs, joinsNamespaces} from '../runtimes.js'
import {networkRuntimeArgs, recordPorts, releaseContainer} from '../network/container.js'
import {announceStarted} from '../network/attach.js'
import {namespaceRuntimeArgs} from '../spec/namespaces.js'
import {signalNumber} from './signals.js'
import {actorOf, monitorEventArgs, recordContainerEvent} from '../events.js'
import {removeLeftoverCgroup} from '../cgroup/control.js'
import {removeFile} from '../store/files.js'
import {logRuntimeArgs} from './log-file.js'
import {ContainerState, RESTART_POLICY_FILE, STOP_MARKER, containerState, readMonitorState} from './state.js'
import {ContainerRecord} from './store.js'

const NS_PER_MS = 1_000_000

export function stateOf(engine: Engine, record: ContainerRecord): ContainerState {
  return containerState(engine.containers, record)
}

function isUp(s: ContainerState): boolean {
  return s.status === 'running' || s.status === 'restarting'
}

/** A `--restart` value, as Docker takes it: no, always, unless-stopped, on-failure[:max-retries]. */
export function checkRestartPolicy(text: string): string {
  if (!/^(no|always|unless-stopped|on-failure(:\d+)?)$/.test(text)) throw new UsageError(`invalid restart policy ${JSON.stringify(text)}`, 'use no, on-failure[:max-retries], always or unless-stopped')
  return text
}

/**
 * `update --restart`: the container's policy from now on. Its next starts take it from the
 * record; a monitor already running reads the bundle's RESTART_POLICY_FILE when the
 * container exits (as moby's UpdateMonitor changes the running container's policy).
 */
export function updateRestartPolicy(engine: Engine, record: ContainerRecord, policy: string): void {
  checkRestartPolicy(policy)
  if (record.options.rm && policy !== 'no') throw new NcxError('Restart policy cannot be updated because AutoRemove is enabled for the container', {exitCode: 1})
  writeFileSync(join(engine.containers.dir(record.id), RESTART_POLICY_FILE), policy + '\n')
  engine.containers.update(record.id, (r) => {
    r.options.restart = policy
  })
}

/** Arguments for `ncx-runtime monitor` from the container's options. */
export function monitorArgs(engine: Engine, record: ContainerRecord): string[] {
  const o = record.options
  const dir = engine.containers.dir(record.id)
  const args = ['monitor', '--bundle', dir, ...joinArgs(engine.session()), ...rootfsArgs(engine, record), ...networkRuntimeArgs(engine, record.id), ...namespaceRuntimeArgs(engine, record), ...externalRuntimeArgs(engine.paths.run, containerRuntime(record.options))]
  args.push(...logRuntimeArgs(engine, record))
  if (o.restart && o.restart !== 'no') args.push('--restart', o.restart)
  let hc = record.config?.healthcheck
  // (a probe enters the container by its namespaces: outside a runsc or Kata sandbox)
  if (hc && o.runtime !== undefined && !joinsNamespaces(o.runtime)) {
    engine.warn(`health checks are not run for containers of runtime ${o.runtime}: ncx's probe would run outside its sandbox`)
    hc = undefined
  }
  if (hc) {
    const ms = (ns: number | undefined, dflt: number) => String(ns ? Math.round(ns / NS_PER_MS) : dflt)
    args.push('--health-cmd', JSON.stringify(hc.Test), '--health-interval-ms', ms(hc.Interval, 30_000), '--health-timeout-ms', ms(hc.Timeout, 30_000))
    args.push('--health-start-period-ms', ms(hc.StartPeriod, 0), '--health-retries', String(hc.Retries ?? 3))
    if (hc.StartInterval) args.push('--health-start-interval-ms', ms(hc.StartInterval, 0))
  }
  // Docker's StdinOnce: a container created attached (not -d) with -i sees EOF when the
  // attached client's stdin ends.
  if (o.interactive && !o.tty) args.push('--stdin-open', ...(o.detach ? [] : ['--stdin-once']))
  if (o.rm) args.push('--cleanup-bundle')
  args.push(...monitorEventArgs(engine.paths, record))
  return args
}

/**
 * Start a created or stopped container under a new monitor; returns once its process runs
 * (or failed to start, with Docker's exit code). A running container is left alone.
 */
export function startContainer(engine: Engine, record: ContainerRecord, options: {attachWait?: boolean; meanwhile?: () => void} = {}): {pid: number; alreadyRunning: boolean} {
  const current = stateOf(engine, record)
  if (isUp(current)) return {pid: current.pid, alreadyRunning: true}
  removeFile(join(engine.containers.dir(record.id), STOP_MARKER))
  let out: string
  try {
    const monitor = runtimeStart([...monitorArgs(engine, record), ...(options.attachWait ? ['--attach-wait'] : [])], {keepCode: true})
    let failed: {error: unknown} | undefined
    try {
      options.meanwhile?.()
    } catch (error) {
      failed = {error} // the runtime is still reaped (and its outcome known) first
    }
    out = monitor.finish()
    if (failed) throw failed.error
  } catch (error) {
    return startFailed(engine, record, error)
  }
  return startedFrom(engine, record, out)
}

/** `startContainer` without blocking the event loop: compose starts independent services concurrently. */
export async function startContainerAsync(engine: Engine, record: ContainerRecord, options: {attachWait?: boolean} = {}): Promise<{pid: number; alreadyRunning: boolean}> {
  const current = stateOf(engine, record)
  if (isUp(current)) return {pid: current.pid, alreadyRunning: true}
  removeFile(join(engine.containers.dir(record.id), STOP_MARKER))
  let out: string
  try {
    out = await runtimeAsync([...monitorArgs(engine, record), ...(options.attachWait ? ['--attach-wait'] : [])], {keepCode: true})
  } catch (error) {
    return startFailed(engine, record, error)
  }
  return startedFrom(engine, record, out)
}

/** The monitor's report: the container's pid and the ports it bound. */
function startedFrom(engine: Engine, record: ContainerRecord, out: string): {pid: number; alreadyRunning: boolean} {
  const started = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {pid?: number; ports?: Array<{proto: string; hostIp: string; hostPort: number; containerPort: number}>}
  recordPorts(engine, record.id, started.ports)
  announceStarted(engine, record.id)
  return {pid: started.pid ?? 0, alreadyRunning: false}
}

function startFailed(engine: Engine, record: ContainerRecord, error: unknown): never {
  if (error instanceof NcxError && !record.options.rm) {
    engine.containers.update(record.id, (r) => {
      r.state = {...r.state, exitCode: error.exitCode, error: error.message}
    })
  }
  throw error
}

/** `run -d`: create, then start under a monitor. */
export function runDetached(engine: Engine, options: ContainerOptions): ContainerRecord {
  const {container} = createContainer(engine, options, true)
  try {
    // The record's fsync (see settle) overlaps the runtime's work.
    startContainer(engine, container, {meanwhile: () => engine.containers.sync(container.id)})
  } finally {
    engine.containers.settle(container.id)
  }
  return container
}

function markStopped(engine: Engine, record: ContainerRecord): void {
  try {
    writeFileSync(join(engine.containers.dir(record.id), STOP_MARKER), '')
  } catch {
    // removed meanwhile
  }
}

/** Wait (polling the monitor's state) until `done` holds or `ms` elapsed. */
async function until(done: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  // Every millisecond for the first ten: the monitor records an exit 2-3 ms after the signal
  // (the kernel tears the container's namespaces down before it reports the exit); a check is
  // one small file read. Then backing off to 25 ms.
  for (let attempt = 0; !done(); attempt++) {
    if (Date.now() >= end) return false
    await new Promise((r) => setTimeout(r, attempt < 10 ? 1 : Math.min(2 ** (attempt - 9), 25)))
  }
  return true
}

/**
 * `stop`: the stop signal (`--stop-signal`, the image's StopSignal, SIGTERM), then SIGKILL
 * after the timeout; returns when the monitor has recorded the exit. Stopping a stopped
 * container is not an error (as Docker).
 */
export async function stopContainer(engine: Engine, record: ContainerRecord, options: {timeout?: number; signal?: string} = {}): Promise<void> {
  const s = stateOf(engine, record)
  if (!isUp(s)) return
  markStopped(engine, record)
  if (s.status === 'restarting' || s.pid <= 0) {
    // Between restarts there is no process: the monitor gives up its back-off on SIGTERM.
    if (s.monitorPid) {
      try {
        process.kill(s.monitorPid, 'SIGTERM')
      } catch {
        // gone
      }
    }
    await until(() => !isUp(stateOf(engine, record)), 5000)
    return
  }
  const signal = signalNumber(options.signal ?? record.config?.stopSignal ?? 'SIGTERM')
  const timeout = options.timeout ?? record.options.stopTimeout ?? 10
  const args = ['stop', '--pid', String(s.pid), '--signal', String(signal), '--timeout-ms', String(timeout < 0 ? 2 ** 31 - 1 : timeout * 1000)]
  if (s.monitorPid) args.push('--monitor-pid', String(s.monitorPid))
  // (the runtime reaches the container through its own process: no user-namespace holder needed)
  await runtimeShort(args)
  await until(() => !isUp(stateOf(engine, record)), 5000)
  recordContainerEvent(engine.paths, 'stop', actorOf(record))
}

/** `kill [-s SIGNAL]`: Docker's "is not running" error for a stopped container. */
export async function killContainer(engine: Engine, record: ContainerRecord, signal = 'KILL'): Promise<void> {
  const notRunning = () => new NcxError(`Cannot kill container: ${record.name}: container ${record.id} is not running`, {exitCode: 1})
  const s = stateOf(engine, record)
  if (s.status !== 'running' || s.pid <= 0) throw notRunning()
  const n = signalNumber(signal)
  // A kill with the stop signal or SIGKILL counts as a stop by the user: no restart.
  if (n === 9 || n === signalNumber(record.config?.stopSignal ?? 'SIGTERM')) markStopped(engine, record)
  // Sent from here through a pidfd (the owner of the container's user namespace may signal into
  // it): no runtime helper to start.
  let sent: string
  try {
    sent = loadNative().signalContainerProcess(s.pid, n)
  } catch (error) {
    throw new NcxError(`Cannot kill container: ${record.name}: ${(error as Error).message}`)
  }
  if (sent === 'gone') throw notRunning()
  if (sent === 'not-a-container') throw new NcxError(`Cannot kill container: ${record.name}: its recorded process ${s.pid} is not in a container (a reused pid): refusing to signal it`)
  recordContainerEvent(engine.paths, 'kill', actorOf(record), {signal: String(n)})
  // As dockerd's Kill: after SIGKILL, return once the container is no longer running (its exit
  // code recorded by the monitor), so `kill && inspect` sees 137; other signals do not wait.
  if (n === 9) await until(() => !isUp(stateOf(engine, record)), 10_000)
}

export async function restartContainer(engine: Engine, record: ContainerRecord, options: {timeout?: number; signal?: string} = {}): Promise<void> {
  await stopContainer(engine, record, options)
  startContainer(engine, record)
}

/**
 * The kernel leaves overlayfs's work directory (`work/work`) mode 0: the user's own (the mapped
 * root's), out of the container's sight. Made 0700, a container that only ever ran as root is
 * removed from the host side without starting the runtime (snapshots.removeTree).
 */
function openOverlayWorkDir(dir: string): void {
  const work = join(dir, 'work', 'work')
  try {
    const st = lstatSync(work)
    if (st.isDirectory() && st.uid === process.getuid?.()) chmodSync(work, 0o700)
  } catch {
    // none (a container that never ran), or not ours: the runtime removes it
  }
}

/** `rm [-f]`: a running container needs force (then it is killed first). */
export async function removeContainer(engine: Engine, record: ContainerRecord, options: {force: boolean; volumes?: boolean}): Promise<void> {
  const s = stateOf(engine, record)
  if (isUp(s)) {
    if (!options.force) {
      throw new NcxError(`cannot remove container "/${record.name}": container is running: stop the container before removing or force remove`, {exitCode: 1})
    }
    await stopContainer(engine, record, {signal: 'KILL', timeout: 0})
  }
  removeLeftoverCgroup(engine, record)
  const doomed = engine.containers.locked(() => engine.containers.detach(record.id))
  recordContainerEvent(engine.paths, 'destroy', actorOf(record))
  if (doomed) {
    openOverlayWorkDir(doomed)
    engine.snapshots.removeTree([doomed])
  }
  releaseContainer(engine, record.id)
  // `rm -v`: the container's anonymous volumes go with it (named ones never do).
  if (options.volumes) engine.volumes.removeAnonymousOf(record.id)
}

/**
 * `wait`: block until the container is not running (Docker's default condition) and
 * return its exit code. A `--rm` container that vanished returns the last code seen.
 */
export async function waitContainer(engine: Engine, record: ContainerRecord): Promise<number> {
  const dir = engine.containers.dir(record.id)
  let last = 0
  // The run under way when we started waiting: once it ends, that is the answer, even
  // when a restart policy starts the container again (moby's SetRestarting wakes waiters).
  let run: {startedAt?: string; restartCount: number} | undefined
  for (;;) {
    if (!existsSync(dir)) return last
    const s = stateOf(engine, record)
    last = s.exitCode
    if (!isUp(s)) return s.exitCode
    if (s.status === 'restarting' && run) return s.exitCode
    if (s.status === 'running') {
      run ??= {startedAt: s.startedAt, restartCount: s.restartCount}
      if (run.restartCount !== s.restartCount || run.startedAt !== s.startedAt) return s.exitCode
    }
    const ms = readMonitorState(dir)
    if (ms && ms.status === 'exited') return ms.exitCode
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** `container prune`: remove every container that is not running. */
export async function pruneContainers(engine: Engine, match?: (record: ContainerRecord) => boolean): Promise<string[]> {
  reapAbandoned(engine)
  const removed: string[] = []
  for (const record of engine.containers.list()) {
    if (isUp(stateOf(engine, record))) continue
    // (the Engine API's prune filters: label, until)
    if (match && !match(record)) continue
    await removeContainer(engine, record, {force: false})
    removed.push(record.id)
  }
  return removed
}

/** One process of `top`, as the runtime reports it (host pids and uids). */
export interface TopProcess {
  uid: number
  pid: number
  ppid: number
  tty: number
  /** CPU time, seconds. */
  time: number
  /** Start, seconds since the epoch. */
  stime: number
  cmd: string
}

export function topContainer(engine: Engine, record: ContainerRecord): TopProcess[] {
  const s = stateOf(engine, record)
  if (s.status !== 'running' || s.pid <= 0) throw new NcxError(`container ${record.id} is not running`, {exitCode: 1})
  const rows = JSON.parse(runtimeSync(['ps', '--pid', String(s.pid)])) as TopProcess[]
  return rows.sort((a, b) => a.pid - b.pid)
}

/**
 * `top CONTAINER PS-OPTIONS…`: as Docker's daemon does it, the host's `ps` with those
 * options, keeping the lines whose PID column is one of the container's processes.
 */
export function topWithPsOptions(engine: Engine, record: ContainerRecord, psArgs: string[]): {titles: string[]; lines: string[][]} {
  const pids = new Set(topContainer(engine, record).map((p) => String(p.pid)))
  const r = spawnSync('ps', psArgs, {encoding: 'utf8'})
  if (r.error || r.status !== 0) throw new NcxError(`ps: ${(r.stderr || String(r.error ?? '')).trim()}`, {exitCode: 1})
  const [head = '', ...rest] = r.stdout.split('\n').filter((l) => l.trim() !== '')
  const titles = head.trim().split(/\s+/)
  const pidIndex = titles.indexOf('PID')
  if (pidIndex < 0) throw new NcxError("Couldn't find PID field in ps output", {exitCode: 1})
  // The last column may hold spaces (a command line): split into as many fields as titles.
  const split = (line: string) => {
    const f = line.trim().split(/\s+/)
    return [...f.slice(0, titles.length - 1), f.slice(titles.length - 1).join(' ')]
  }
  return {titles, lines: rest.map(split).filter((f) => pids.has(f[pidIndex]))}
}
