/**
 * Resource limits: Docker's flags (validated as Docker does) → OCI `linux.resources` → the
 * cgroup v2 files, written by the runtime (crates/ncx-core/src/cgroup.rs: runc's conversion),
 * at start and by `update`.
 */
import {statSync} from 'node:fs'

import {UsageError} from '../errors.js'

export interface ThrottleDevice {
  /** The device path as given (major/minor are looked up when the spec is written). */
  path: string
  rate: number
}

/** What the user asked for (units resolved). */
export interface ResourceOptions {
  memory?: number
  /** Memory + swap; -1 unlimited. */
  memorySwap?: number
  memoryReservation?: number
  oomKillDisable?: boolean
  /** `--cpus` in billionths of a CPU (Docker's NanoCPUs). */
  nanoCpus?: number
  cpuShares?: number
  cpuQuota?: number
  cpuPeriod?: number
  cpusetCpus?: string
  cpusetMems?: string
  pidsLimit?: number
  blkioWeight?: number
  deviceReadBps?: ThrottleDevice[]
  deviceWriteBps?: ThrottleDevice[]
  /** `--device-read-iops`/`--device-write-iops`: rate in IO per second. */
  deviceReadIops?: ThrottleDevice[]
  deviceWriteIops?: ThrottleDevice[]
}

export interface OciResources {
  memory?: {limit?: number; reservation?: number; swap?: number; disableOOMKiller?: boolean}
  cpu?: {shares?: number; quota?: number; period?: number; cpus?: string; mems?: string}
  pids?: {limit: number}
  blockIO?: {
    weight?: number
    throttleReadBpsDevice?: Array<{major: number; minor: number; rate: number}>
    throttleWriteBpsDevice?: Array<{major: number; minor: number; rate: number}>
    throttleReadIOPSDevice?: Array<{major: number; minor: number; rate: number}>
    throttleWriteIOPSDevice?: Array<{major: number; minor: number; rate: number}>
  }
}

const UNITS: Record<string, number> = {'': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5}

/** Docker's RAMInBytes: `512m`, `1g`, `1.5GB`, `1024` (bytes); `flag` as Docker names it (`-m, --memory`), and its message. */
export function parseBytes(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(text.trim())
  if (!m) throw new UsageError(`invalid argument ${JSON.stringify(text)} for "${flag}" flag: invalid size: '${text}'`, 'use a number with an optional unit: b, k, m, g (e.g. 512m)')
  return Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()])
}

/** The limit names a set of options asks for (as Docker's flags), for messages. */
export function requestedLimits(r: ResourceOptions | undefined): string[] {
  if (!r) return []
  const names: Array<[keyof ResourceOptions, string]> = [
    ['memory', '--memory'], ['memorySwap', '--memory-swap'], ['memoryReservation', '--memory-reservation'], ['oomKillDisable', '--oom-kill-disable'],
    ['nanoCpus', '--cpus'], ['cpuShares', '--cpu-shares'], ['cpuQuota', '--cpu-quota'], ['cpuPeriod', '--cpu-period'], ['cpusetCpus', '--cpuset-cpus'],
    ['cpusetMems', '--cpuset-mems'], ['pidsLimit', '--pids-limit'], ['blkioWeight', '--blkio-weight'], ['deviceReadBps', '--device-read-bps'],
    ['deviceWriteBps', '--device-write-bps'], ['deviceReadIops', '--device-read-iops'], ['deviceWriteIops', '--device-write-iops'],
  ]
  return names.filter(([k]) => r[k] !== undefined && r[k] !== false).map(([, n]) => n)
}

/** The cgroup v2 controllers these limits need. */
export function neededControllers(r: ResourceOptions | undefined): string[] {
  if (!r) return []
  const out = new Set<string>()
  if (r.memory !== undefined || r.memorySwap !== undefined || r.memoryReservation !== undefined) out.add('memory')
  if (r.nanoCpus !== undefined || r.cpuShares !== undefined || r.cpuQuota !== undefined || r.cpuPeriod !== undefined) out.add('cpu')
  if (r.cpusetCpus !== undefined || r.cpusetMems !== undefined) out.add('cpuset')
  if (r.pidsLimit !== undefined) out.add('pids')
  if (r.blkioWeight !== undefined || r.deviceReadBps || r.deviceWriteBps || r.deviceReadIops || r.deviceWriteIops) out.add('io')
  return [...out]
}

function deviceNumbers(path: string, flag: string): {major: number; minor: number} {
  let rdev: number
  try {
    const st = statSync(path)
    if (!st.isBlockDevice()) throw new UsageError(`${flag}: ${path} is not a block device`)
    rdev = st.rdev
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw new UsageError(`${flag}: cannot stat ${path}: ${(error as Error).message}`)
  }
  // Linux's new_encode_dev layout.
  return {major: (rdev >> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00)}
}

/** OCI `linux.resources` from the options (Docker's defaults: swap = 2 × memory when unset). */
export function toOciResources(r: ResourceOptions | undefined): OciResources | undefined {
  if (!r || requestedLimits(r).length === 0) return undefined
  const out: OciResources = {}
  if (r.memory !== undefined || r.memorySwap !== undefined || r.memoryReservation !== undefined || r.oomKillDisable) {
    out.memory = {}
    if (r.memory !== undefined) out.memory.limit = r.memory
    if (r.memoryReservation !== undefined) out.memory.reservation = r.memoryReservation
    if (r.memorySwap !== undefined) out.memory.swap = r.memorySwap
    else if (r.memory !== undefined) out.memory.swap = r.memory * 2
    if (r.oomKillDisable) out.memory.disableOOMKiller = true
  }
  if (r.nanoCpus !== undefined || r.cpuShares !== undefined || r.cpuQuota !== undefined || r.cpuPeriod !== undefined || r.cpusetCpus !== undefined || r.cpusetMems !== undefined) {
    out.cpu = {}
    if (r.cpuShares !== undefined) out.cpu.shares = r.cpuShares
    if (r.nanoCpus !== undefined) {
      out.cpu.period = 100_000
      out.cpu.quota = Math.round((r.nanoCpus * 100_000) / 1e9)
    } else {
      if (r.cpuPeriod !== undefined) out.cpu.period = r.cpuPeriod
      if (r.cpuQuota !== undefined) out.cpu.quota = r.cpuQuota
    }
    if (r.cpusetCpus !== undefined) out.cpu.cpus = r.cpusetCpus
    if (r.cpusetMems !== undefined) out.cpu.mems = r.cpusetMems
  }
  if (r.pidsLimit !== undefined) out.pids = {limit: r.pidsLimit <= 0 ? -1 : r.pidsLimit}
  if (r.blkioWeight !== undefined || r.deviceReadBps || r.deviceWriteBps || r.deviceReadIops || r.deviceWriteIops) {
    out.blockIO = {}
    if (r.blkioWeight !== undefined) out.blockIO.weight = r.blkioWeight
    const dev = (list: ThrottleDevice[] | undefined, flag: string) => list?.map((d) => ({...deviceNumbers(d.path, flag), rate: d.rate}))
    if (r.deviceReadBps) out.blockIO.throttleReadBpsDevice = dev(r.deviceReadBps, '--device-read-bps')
    if (r.deviceWriteBps) out.blockIO.throttleWriteBpsDevice = dev(r.deviceWriteBps, '--device-write-bps')
    if (r.deviceReadIops) out.blockIO.throttleReadIOPSDevice = dev(r.deviceReadIops, '--device-read-iops')
    if (r.deviceWriteIops) out.blockIO.throttleWriteIOPSDevice = dev(r.deviceWriteIops, '--device-write-iops')
  }
  return out
}
