/** `run`/`create` (and `update`) flags for resource limits and cgroups: table and parsing, as Docker validates them. */
import {availableParallelism} from 'node:os'

import {UsageError} from '../engine/errors.js'
import {CgroupOptions, parseCgroupManager} from '../engine/cgroup/manager.js'
import {ResourceOptions, ThrottleDevice, parseBytes} from '../engine/cgroup/resources.js'
import {FlagSpec, ParsedFlags} from './argv.js'

/** Limits `update` can change too. */
export const LIMIT_FLAGS: FlagSpec[] = [
  {name: 'memory', char: 'm', kind: 'string', description: 'Memory limit (e.g. 512m)'},
  {name: 'memory-swap', kind: 'string', description: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap"},
  {name: 'memory-reservation', kind: 'string', description: 'Memory soft limit'},
  {name: 'cpus', kind: 'string', description: 'Number of CPUs'},
  {name: 'cpu-shares', char: 'c', kind: 'string', description: 'CPU shares (relative weight)'},
  {name: 'cpu-period', kind: 'string', description: 'Limit CPU CFS (Completely Fair Scheduler) period'},
  {name: 'cpu-quota', kind: 'string', description: 'Limit CPU CFS (Completely Fair Scheduler) quota'},
  {name: 'cpuset-cpus', kind: 'string', description: 'CPUs in which to allow execution (0-3, 0,1)'},
  {name: 'cpuset-mems', kind: 'string', description: 'MEMs in which to allow execution (0-3, 0,1)'},
  {name: 'pids-limit', kind: 'string', description: 'Tune container pids limit (set -1 for unlimited)'},
  {name: 'blkio-weight', kind: 'string', description: 'Block IO (relative weight), between 10 and 1000, or 0 to disable'},
]

export const RESOURCE_FLAGS: FlagSpec[] = [
  ...LIMIT_FLAGS,
  {name: 'oom-kill-disable', kind: 'boolean', description: 'Disable OOM Killer (not available on cgroup v2: warned about)'},
  {name: 'device-read-bps', kind: 'multiple', description: 'Limit read rate (bytes per second) from a device (DEVICE:RATE)'},
  {name: 'device-write-bps', kind: 'multiple', description: 'Limit write rate (bytes per second) to a device (DEVICE:RATE)'},
  {name: 'device-read-iops', kind: 'multiple', description: 'Limit read rate (IO per second) from a device (DEVICE:RATE)'},
  {name: 'device-write-iops', kind: 'multiple', description: 'Limit write rate (IO per second) to a device (DEVICE:RATE)'},
  {name: 'cgroup-manager', kind: 'string', description: 'cgroupfs (default: the delegated cgroup v2 subtree) or none (no cgroup, no warnings)'},
  {name: 'cgroup-parent', kind: 'string', description: 'Optional parent cgroup for the container'},
  {name: 'cgroupns', kind: 'string', description: 'Cgroup namespace to use (host|private)'},
]

function int(value: string, flag: string): number {
  if (!/^-?\d+$/.test(value)) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "${flag}" flag: strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`)
  return Number(value)
}

function throttle(text: string, flag: string, iops = false): ThrottleDevice {
  const i = text.lastIndexOf(':')
  if (i <= 0) throw new UsageError(`invalid argument ${JSON.stringify(text)} for "${flag}" flag: bad format: ${text}`, `use DEVICE:RATE, e.g. ${iops ? '/dev/sda:1000' : '/dev/sda:1mb'}`)
  const path = text.slice(0, i)
  if (!path.startsWith('/dev/')) throw new UsageError(`invalid argument ${JSON.stringify(text)} for "${flag}" flag: bad format for device path: ${path}`)
  const rate = text.slice(i + 1)
  if (iops && !/^\d+$/.test(rate)) throw new UsageError(`invalid argument ${JSON.stringify(text)} for "${flag}" flag: invalid rate for device: ${text}. The correct format is <device-path>:<number>. Number must be a positive integer`)
  return {path, rate: iops ? Number(rate) : parseBytes(rate.replace(/b$/i, ''), flag)}
}

/** Resource limits from the flags (undefined when none), with Docker's checks and messages. */
export function parseResourceFlags(flags: ParsedFlags): ResourceOptions | undefined {
  const str = (k: string) => flags[k] as string | undefined
  const list = (k: string) => (flags[k] as string[] | undefined) ?? []
  const r: ResourceOptions = {}
  if (str('memory') !== undefined) {
    r.memory = parseBytes(str('memory')!, '-m, --memory')
    if (r.memory > 0 && r.memory < 6 * 1024 * 1024) throw new UsageError('Minimum memory limit allowed is 6MB')
  }
  const swap = str('memory-swap')
  if (swap !== undefined) {
    r.memorySwap = swap === '-1' ? -1 : parseBytes(swap, '--memory-swap')
    if (r.memory === undefined) throw new UsageError('You should always set the Memory limit when using Memoryswap limit, see usage')
    if (r.memorySwap !== -1 && r.memorySwap < r.memory) throw new UsageError('Minimum memoryswap limit should be larger than memory limit, see usage')
  }
  if (str('memory-reservation') !== undefined) {
    r.memoryReservation = parseBytes(str('memory-reservation')!, '--memory-reservation')
    if (r.memory !== undefined && r.memory > 0 && r.memoryReservation > r.memory) throw new UsageError('Minimum memory limit can not be less than memory reservation limit, see usage')
  }
  // cgroup v2 has no switch for the OOM killer: the engine warns and drops it, as Docker does.
  if (flags['oom-kill-disable'] === true) r.oomKillDisable = true
  const cpus = str('cpus')
  if (cpus !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(cpus)) throw new UsageError(`invalid argument ${JSON.stringify(cpus)} for "--cpus" flag: failed to parse ${cpus} as a rational number`)
    r.nanoCpus = Math.round(Number(cpus) * 1e9)
    const ncpu = availableParallelism()
    if (r.nanoCpus > ncpu * 1e9) throw new UsageError(`range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`)
  }
  if (str('cpu-shares') !== undefined) r.cpuShares = int(str('cpu-shares')!, '--cpu-shares')
  if (str('cpu-period') !== undefined) {
    r.cpuPeriod = int(str('cpu-period')!, '--cpu-period')
    if (r.cpuPeriod !== 0 && (r.cpuPeriod < 1000 || r.cpuPeriod > 1_000_000)) throw new UsageError('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)')
  }
  if (str('cpu-quota') !== undefined) {
    r.cpuQuota = int(str('cpu-quota')!, '--cpu-quota')
    if (r.cpuQuota > 0 && r.cpuQuota < 1000) throw new UsageError('CPU cfs quota can not be less than 1ms (i.e. 1000)')
  }
  if (r.nanoCpus !== undefined && (r.cpuPeriod !== undefined || r.cpuQuota !== undefined)) throw new UsageError('Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set', 'use either --cpus or --cpu-period/--cpu-quota')
  for (const [flag, key] of [['cpuset-cpus', 'cpusetCpus'], ['cpuset-mems', 'cpusetMems']] as const) {
    const v = str(flag)
    if (v === undefined) continue
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v)) throw new UsageError(`invalid value ${JSON.stringify(v)} for --${flag}`, 'use a list such as 0-3 or 0,2')
    r[key] = v
  }
  if (str('pids-limit') !== undefined) r.pidsLimit = int(str('pids-limit')!, '--pids-limit')
  if (str('blkio-weight') !== undefined) {
    r.blkioWeight = int(str('blkio-weight')!, '--blkio-weight')
    if (r.blkioWeight !== 0 && (r.blkioWeight < 10 || r.blkioWeight > 1000)) throw new UsageError('Range of blkio weight is from 10 to 1000')
    if (r.blkioWeight === 0) delete r.blkioWeight
  }
  if (list('device-read-bps').length > 0) r.deviceReadBps = list('device-read-bps').map((t) => throttle(t, '--device-read-bps'))
  if (list('device-write-bps').length > 0) r.deviceWriteBps = list('device-write-bps').map((t) => throttle(t, '--device-write-bps'))
  if (list('device-read-iops').length > 0) r.deviceReadIops = list('device-read-iops').map((t) => throttle(t, '--device-read-iops', true))
  if (list('device-write-iops').length > 0) r.deviceWriteIops = list('device-write-iops').map((t) => throttle(t, '--device-write-iops', true))
  return Object.keys(r).length > 0 ? r : undefined
}

/** `--cgroup-manager`, `--cgroup-parent`, `--cgroupns`. */
export function parseCgroupFlags(flags: ParsedFlags): CgroupOptions | undefined {
  const out: CgroupOptions = {}
  const manager = parseCgroupManager(flags['cgroup-manager'] as string | undefined)
  if (manager) out.manager = manager
  const parent = flags['cgroup-parent'] as string | undefined
  if (parent !== undefined) {
    if (parent.split('/').includes('..')) throw new UsageError(`invalid --cgroup-parent ${JSON.stringify(parent)}: ".." is not allowed`)
    out.parent = parent
  }
  const ns = flags.cgroupns as string | undefined
  if (ns !== undefined) {
    if (ns !== 'private' && ns !== 'host') throw new UsageError(`invalid cgroup namespace mode ${JSON.stringify(ns)}`, 'use private or host')
    out.namespace = ns
  }
  return Object.keys(out).length > 0 ? out : undefined
}
