/**
 * A container's state, derived from three sources: its record (`container.json`, written
 * by the engine), the monitor's `state.json` (written atomically by ncx-runtime, see
 * crates/ncx-core/src/state.rs), and a liveness check of the monitor (pid + start time,
 * so a reused pid never counts). A monitor that died (SIGKILL, reboot) while its state
 * said running is reported, and recorded, as exited: never a ghost `Up`.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {readJson, writeJson} from '../store/files.js'
import {ContainerRecord, ContainerStore} from './store.js'

export interface HealthLogEntry {
  Start: string
  End: string
  ExitCode: number
  Output: string
}

/** Docker's `State.Health`. */
export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy'
  FailingStreak: number
  Log: HealthLogEntry[]
}

/** `state.json` as the monitor writes it. */
export interface MonitorState {
  status: 'running' | 'restarting' | 'exited'
  pid: number
  monitorPid: number
  monitorStart: number
  startedAt: string
  finishedAt: string
  exitCode: number
  restartCount: number
  error: string
  health?: HealthState
  /** The kernel OOM-killed a process of the container (memory.events). */
  oomKilled?: boolean
}

export type DerivedStatus = 'created' | 'running' | 'restarting' | 'exited'

export interface ContainerState {
  status: DerivedStatus
  running: boolean
  /** The container's init on the host; 0 when not running. */
  pid: number
  exitCode: number
  startedAt?: string
  finishedAt?: string
  error?: string
  restartCount: number
  health?: HealthState
  oomKilled?: boolean
  /** The process supervising the container (monitor, or a foreground `ncx-runtime run`). */
  monitorPid?: number
}

export const STATE_FILE = 'state.json'
/** Created by the engine before it signals a container: "stopped by the user", no restart. */
export const STOP_MARKER = 'stopping'
/** Written by `update --restart`: the policy the monitor of a running container follows from then on. */
export const RESTART_POLICY_FILE = 'restart-policy'

/** Start time of a live `pid` in clock ticks after boot (/proc/PID/stat field 22); zombies are dead. */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined
    const value = Number(fields[19])
    return Number.isFinite(value) ? value : undefined
  } catch {
    return undefined
  }
}

let bootTime: number | undefined

/** When this machine booted (ms since the epoch; /proc/stat btime). */
function booted(): number {
  if (bootTime === undefined) {
    try {
      bootTime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0) * 1000
    } catch {
      bootTime = 0
    }
  }
  return bootTime
}

/**
 * Is the monitor that wrote `state` alive? Its pid and start time must match, and it must
 * have started in this boot: after a reboot a new process may have the same pid and even
 * the same start tick.
 */
export function monitorAlive(state: MonitorState): boolean {
  if (state.monitorPid <= 0 || processStart(state.monitorPid) !== state.monitorStart) return false
  return !state.startedAt || Date.parse(state.startedAt) >= booted() - 1000
}

export function readMonitorState(dir: string): MonitorState | undefined {
  try {
    return readJson<MonitorState | undefined>(join(dir, STATE_FILE), undefined)
  } catch {
    return undefined // the directory is being removed
  }
}

const DIED = "the container's monitor died"

/** The container's state now; heals a dead monitor's stale "running" record. */
export function containerState(store: ContainerStore, record: ContainerRecord): ContainerState {
  const dir = store.dir(record.id)
  let ms = readMonitorState(dir)
  if (!ms) {
    const r = record.state
    return {status: r.status, running: false, pid: 0, exitCode: r.exitCode, startedAt: r.startedAt, finishedAt: r.finishedAt, error: r.error, restartCount: 0}
  }
  if (ms.status !== 'exited' && !monitorAlive(ms)) {
    ms = healDeadMonitor(store, dir) ?? ms
  }
  const live = ms.status !== 'exited'
  return {
    status: ms.status,
    running: ms.status === 'running',
    pid: ms.status === 'running' ? ms.pid : 0,
    exitCode: ms.exitCode,
    startedAt: ms.startedAt || undefined,
    finishedAt: ms.finishedAt || undefined,
    error: ms.error || undefined,
    restartCount: ms.restartCount,
    health: ms.health,
    ...(ms.oomKilled ? {oomKilled: true} : {}),
    monitorPid: live ? ms.monitorPid : undefined,
  }
}

/** Record, under the containers lock, that a dead monitor's container has exited. */
function healDeadMonitor(store: ContainerStore, dir: string): MonitorState | undefined {
  return store.locked(() => {
    const again = readMonitorState(dir)
    if (!again || again.status === 'exited' || monitorAlive(again)) return again
    // The container died with its monitor (PR_SET_PDEATHSIG): killed, 128 + SIGKILL.
    const healed: MonitorState = {...again, status: 'exited', pid: 0, exitCode: 137, finishedAt: new Date().toISOString(), error: DIED}
    try {
      writeJson(join(dir, STATE_FILE), healed)
    } catch {
      // removed meanwhile
    }
    return healed
  })
}
