/**
 * A running container's cgroup: statistics (`stats`), freezing (`pause`/`unpause`) and live
 * limit changes (`update`). The cgroup is the one the runtime created from the spec's
 * `linux.cgroupsPath`; a container without one (limits not delegated here) gets a clear error.
 */
import {existsSync, readFileSync, rmdirSync, writeFileSync} from 'node:fs'
import {totalmem} from 'node:os'
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {runtimeSync} from '../runtime.js'
import {OciSpec} from '../spec/oci.js'
import {readJson} from '../store/files.js'
import {ContainerRecord} from '../container/store.js'
import {containerState} from '../container/state.js'
import {ResourceOptions, toOciResources} from './resources.js'

const CGROUP_ROOT = '/sys/fs/cgroup'

function spec(engine: Engine, record: Pick<ContainerRecord, 'id'>): OciSpec | undefined {
  return readJson<OciSpec | undefined>(join(engine.containers.dir(record.id), 'config.json'), undefined)
}

/**
 * A container's `linux.cgroupsPath` (null: none), by id. It is fixed when the bundle is written
 * and container ids are never reused, so a long-lived process (the Engine API service, whose
 * `GET /containers/json` asks every running container whether it is paused) parses each
 * config.json once instead of on every request.
 */
const cgroupsPaths = new Map<string, string | null>()

function cgroupsPathOf(engine: Engine, record: Pick<ContainerRecord, 'id'>): string | undefined {
  const known = cgroupsPaths.get(record.id)
  if (known !== undefined) return known ?? undefined
  const read = spec(engine, record)
  if (read === undefined) return undefined // no bundle yet (creating): nothing to remember
  cgroupsPaths.set(record.id, read.linux.cgroupsPath ?? null)
  return read.linux.cgroupsPath
}

/** The container's cgroup directory while it exists (the container is running). */
export function cgroupDir(engine: Engine, record: Pick<ContainerRecord, 'id'>): string | undefined {
  const path = cgroupsPathOf(engine, record)
  if (!path) return undefined
  const dir = join(CGROUP_ROOT, path)
  return existsSync(join(dir, 'cgroup.procs')) ? dir : undefined
}

/**
 * `rm`: the cgroup of a container whose monitor died without removing it (SIGKILL, OOM of the
 * monitor): kill what is left in it (cgroup.kill) and remove it. Best effort — a cgroup that
 * cannot be removed is left as it is, never an error for `rm`.
 */
export function removeLeftoverCgroup(engine: Engine, record: Pick<ContainerRecord, 'id'>): void {
  const dir = cgroupDir(engine, record)
  if (!dir) return
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1')
  } catch {
    // cgroup.kill needs Linux 5.14; without it the processes are gone already (stopped container)
  }
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(dir)
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EBUSY') return
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
    }
  }
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** True when the container's cgroup is frozen. */
export function isPaused(engine: Engine, record: ContainerRecord): boolean {
  const dir = cgroupDir(engine, record)
  return dir !== undefined && /^frozen 1$/m.test(read(join(dir, 'cgroup.events')) ?? '')
}

function requireCgroup(engine: Engine, record: ContainerRecord, what: string): string {
  if (containerState(engine.containers, record).status !== 'running') throw new NcxError(`Container ${record.id} is not running`, {exitCode: 1})
  const dir = cgroupDir(engine, record)
  if (!dir) {
    throw new NcxError(`cannot ${what} container ${record.name}: it has no cgroup of its own (cgroup v2 is not delegated to this user here)`, {
      exitCode: 1,
      hint: '"ncx info" shows what is delegated and how to enable it',
    })
  }
  return dir
}

async function waitFrozen(dir: string, frozen: boolean): Promise<void> {
  const want = frozen ? 'frozen 1' : 'frozen 0'
  for (let i = 0; i < 500; i++) {
    if ((read(join(dir, 'cgroup.events')) ?? '').split('\n').includes(want)) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new NcxError(`the container's cgroup did not become ${frozen ? 'frozen' : 'thawed'} within 5 s`)
}

/** `pause`: freeze every process of the container (cgroup.freeze). */
export async function pauseContainer(engine: Engine, record: ContainerRecord): Promise<void> {
  const dir = requireCgroup(engine, record, 'pause')
  if (isPaused(engine, record)) throw new NcxError(`Container ${record.id} is already paused`, {exitCode: 1})
  writeFileSync(join(dir, 'cgroup.freeze'), '1')
  await waitFrozen(dir, true)
}

/** `unpause`: thaw it. */
export async function unpauseContainer(engine: Engine, record: ContainerRecord): Promise<void> {
  // Docker asks only whether it is paused (a stopped container, or one without a cgroup of its own, is not).
  if (!isPaused(engine, record)) throw new NcxError(`Container ${record.id} is not paused`, {exitCode: 1})
  const dir = requireCgroup(engine, record, 'unpause')
  writeFileSync(join(dir, 'cgroup.freeze'), '0')
  await waitFrozen(dir, false)
}

/**
 * `update`: new limits in the container's spec (kept for its next start) and, when it runs
 * with a cgroup, written live by the runtime.
 */
export function updateContainer(engine: Engine, record: ContainerRecord, resources: ResourceOptions): void {
  const file = join(engine.containers.dir(record.id), 'config.json')
  const s = spec(engine, record)
  if (!s) throw new NcxError(`container ${record.id} has no config.json`)
  const next = toOciResources(resources)
  if (!next) return
  const merged = {...(s.linux.resources ?? {})}
  if (next.memory) merged.memory = {...merged.memory, ...next.memory}
  if (next.cpu) merged.cpu = {...merged.cpu, ...next.cpu}
  if (next.pids) merged.pids = next.pids
  if (next.blockIO) merged.blockIO = {...merged.blockIO, ...next.blockIO}
  const running = containerState(engine.containers, record).status === 'running'
  const dir = running ? cgroupDir(engine, record) : undefined
  if (running && !dir) {
    throw new NcxError(`cannot update container ${record.name}: it runs without a cgroup of its own (cgroup v2 is not delegated to this user here)`, {
      exitCode: 1,
      hint: '"ncx info" shows what is delegated and how to enable it',
    })
  }
  if (dir) runtimeSync(['cgroup-update', '--dir', dir, '--resources', JSON.stringify(next)])
  s.linux.resources = merged
  writeFileSync(file, JSON.stringify(s, null, 2) + '\n')
  engine.containers.update(record.id, (r) => {
    r.options.resources = {...r.options.resources, ...resources}
  })
}

/** One reading of a container's counters. */
export interface StatsSample {
  /** Monotonic time of the reading, in microseconds. */
  at: number
  cpuUsec?: number
  memUsage?: number
  memLimit?: number
  pids?: number
  netRx: number
  netTx: number
  blkRead?: number
  blkWrite?: number
}

function num(text: string | undefined): number | undefined {
  const t = text?.trim()
  return t === undefined || t === '' || t === 'max' ? undefined : Number(t)
}

function field(text: string | undefined, key: string): number | undefined {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text ?? '')
  return m ? Number(m[1]) : undefined
}

/** Read the counters of a running container (undefined fields: no cgroup here). */
export function sampleStats(engine: Engine, record: ContainerRecord): StatsSample {
  const at = Number(process.hrtime.bigint() / 1000n)
  const s = containerState(engine.containers, record)
  const out: StatsSample = {at, netRx: 0, netTx: 0}
  if (s.status !== 'running') return out
  // The container's network namespace, seen through its PID 1.
  for (const line of (read(`/proc/${s.pid}/net/dev`) ?? '').split('\n').slice(2)) {
    const [name, rest] = line.split(':')
    if (!rest || name.trim() === 'lo') continue
    const f = rest.trim().split(/\s+/).map(Number)
    out.netRx += f[0]
    out.netTx += f[8]
  }
  const dir = cgroupDir(engine, record)
  if (!dir) return out
  out.cpuUsec = field(read(join(dir, 'cpu.stat')), 'usage_usec')
  const current = num(read(join(dir, 'memory.current')))
  if (current !== undefined) {
    // Docker's CLI: usage minus the inactive page cache (cgroup v2: inactive_file).
    out.memUsage = Math.max(0, current - (field(read(join(dir, 'memory.stat')), 'inactive_file') ?? 0))
    out.memLimit = num(read(join(dir, 'memory.max'))) ?? totalmem()
  }
  out.pids = num(read(join(dir, 'pids.current')))
  const io = read(join(dir, 'io.stat'))
  if (io !== undefined) {
    out.blkRead = 0
    out.blkWrite = 0
    for (const m of io.matchAll(/rbytes=(\d+) wbytes=(\d+)/g)) {
      out.blkRead += Number(m[1])
      out.blkWrite += Number(m[2])
    }
  }
  return out
}

/** CPU % between two samples (100% = one CPU busy), as Docker's CLI computes it. */
export function cpuPercent(prev: StatsSample | undefined, cur: StatsSample): number | undefined {
  if (!prev || prev.cpuUsec === undefined || cur.cpuUsec === undefined || cur.at <= prev.at) return undefined
  return ((cur.cpuUsec - prev.cpuUsec) / (cur.at - prev.at)) * 100
}
