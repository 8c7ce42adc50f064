/**
 * `run`/`create` flags Docker has that are about output, attachment, legacy `--link`, or things ncx cannot
 * do: `-q/--quiet` (no pull output), `-a/--attach` (which streams a foreground run
 * connects), and flags that mean nothing here, each accepted with one warning or refused
 * with the reason, so a pasted docker command line fails precisely rather than on
 * "unknown flag".
 */
import {UsageError} from '../engine/errors.js'
import {parseBytes} from '../engine/cgroup/resources.js'
import {AttachStream} from '../engine/spec/generate.js'
import {FlagSpec, ParsedFlags} from './argv.js'
import {ATTACH_STREAMS} from './complete.js'

export const COMPAT_FLAGS: FlagSpec[] = [
  {name: 'quiet', char: 'q', kind: 'boolean', description: 'Suppress the pull output'},
  {name: 'attach', char: 'a', kind: 'multiple', description: 'Attach to STDIN, STDOUT or STDERR (repeatable; only these are connected)'},
  {name: 'disable-content-trust', kind: 'boolean', description: 'Skip image verification (accepted; ncx does not verify signatures)'},
  {name: 'runtime', kind: 'string', description: 'Runtime to use for this container (ncx-runtime, or an OCI runtime by name or path: runc, crun, youki…)'},
  {name: 'volume-driver', kind: 'string', description: 'Optional volume driver for the container (only local)'},
  {name: 'memory-swappiness', kind: 'string', description: 'Tune container memory swappiness (0 to 100) (cgroup v2 has none: warned about and ignored)'},
  {name: 'device-cgroup-rule', kind: 'multiple', description: 'Add a rule to the cgroup allowed devices list (rootless: warned about and ignored)'},
  {name: 'kernel-memory', kind: 'string', description: 'Kernel memory limit (cgroup v2 has none: warned about and ignored)'},
  {name: 'blkio-weight-device', kind: 'multiple', description: 'Block IO weight per device (DEVICE:WEIGHT) (warned about and ignored)'},
  {name: 'cpu-rt-period', kind: 'string', description: 'Limit CPU real-time period in microseconds (refused: no real-time scheduler cgroup)'},
  {name: 'cpu-rt-runtime', kind: 'string', description: 'Limit CPU real-time runtime in microseconds (refused: no real-time scheduler cgroup)'},
  {name: 'isolation', kind: 'string', description: 'Container isolation technology (only default)'},
  {name: 'cpu-count', kind: 'string', description: 'CPU count (Windows only: warned about and ignored)'},
  {name: 'cpu-percent', kind: 'string', description: 'CPU percent (Windows only: warned about and ignored)'},
  {name: 'io-maxbandwidth', kind: 'string', description: 'Maximum IO bandwidth limit for the system drive (Windows only: warned about and ignored)'},
  {name: 'io-maxiops', kind: 'string', description: 'Maximum IOps limit for the system drive (Windows only: warned about and ignored)'},
  {name: 'link', kind: 'multiple', description: 'Add link to another container (NAME[:ALIAS]): ALIAS and NAME resolve to its address'},
  {name: 'gpus', kind: 'string', description: 'GPU devices to add to the container (refused: ncx has no GPU support)'},
  {name: 'ip6', kind: 'string', description: 'IPv6 address (refused: ncx networks are IPv4 only)'},
  {name: 'link-local-ip', kind: 'multiple', description: 'Container IPv4/IPv6 link-local addresses (refused: not supported)'},
  {name: 'storage-opt', kind: 'multiple', description: 'Storage driver options for the container (refused: no per-container storage quota)'},
]

export interface CompatFlags {
  quiet: boolean
  /** `--runtime NAME|PATH` as given (checked by the engine when it makes the container). */
  runtime?: string
  /** `-a`: the streams to connect, lower case; undefined = Docker's default (all of a foreground run). */
  attach?: AttachStream[]
  /** `--link NAME[:ALIAS]`. */
  links?: Array<{name: string; alias: string}>
  /** One line each, for `WARNING:` on stderr. */
  warnings: string[]
}

/** `-a` values: STDIN, STDOUT, STDERR in any case, repeatable. */
export function parseAttach(values: readonly string[]): AttachStream[] | undefined {
  if (values.length === 0) return undefined
  const out = new Set<AttachStream>()
  for (const v of values) {
    if (!ATTACH_STREAMS.includes(v.toUpperCase())) throw new UsageError(`invalid argument ${JSON.stringify(v)} for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`)
    out.add(v.toLowerCase() as AttachStream)
  }
  return [...out]
}

const DEVICE_CGROUP_RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/

/** `--link NAME[:ALIAS]` (ALIAS defaults to NAME; a leading `/` is dropped, as Docker's). */
export function parseLinks(values: readonly string[], bridged: boolean): Array<{name: string; alias: string}> | undefined {
  if (values.length === 0) return undefined
  if (!bridged) throw new UsageError("conflicting options: host type networking can't be used with links. This would result in undefined behavior", 'drop --link, or use a bridge network')
  return values.map((v) => {
    const parts = v.split(':').map((p) => p.replace(/^\//, ''))
    if (parts.length > 2 || parts.some((p) => p === '')) throw new UsageError(`invalid argument ${JSON.stringify(v)} for "--link" flag: bad format for links: ${v}`, 'use NAME[:ALIAS]')
    return {name: parts[0], alias: parts[1] ?? parts[0]}
  })
}

/** Validate the flags of COMPAT_FLAGS; refusals throw (exit 125), no-ops become warnings. */
export function parseCompatFlags(flags: ParsedFlags, detach: boolean, bridged: boolean): CompatFlags {
  const str = (k: string) => flags[k] as string | undefined
  const list = (k: string) => (flags[k] as string[] | undefined) ?? []
  const warnings: string[] = []
  const attach = parseAttach(list('attach'))
  if (attach && detach) throw new UsageError('Conflicting options: -a and -d', 'drop -a (a detached container is not attached), or drop -d')
  const runtime = str('runtime')
  const driver = str('volume-driver')
  if (driver !== undefined && driver !== '' && driver !== 'local') throw new UsageError(`error looking up volume plugin ${driver}: plugin "${driver}" not found`, 'ncx has no volume plugins: only the local driver; drop --volume-driver')
  const gpus = str('gpus')
  if (gpus !== undefined) throw new UsageError('could not select device driver "" with capabilities: [[gpu]]', 'ncx has no GPU support; drop --gpus')
  if (str('ip6') !== undefined) throw new UsageError('--ip6 is not supported: ncx networks are IPv4 only', 'drop --ip6 (use --ip for an IPv4 address)')
  if (list('link-local-ip').length > 0) throw new UsageError('--link-local-ip is not supported: ncx networks have no link-local addresses', 'drop --link-local-ip')
  if (list('storage-opt').length > 0) throw new UsageError('--storage-opt is not supported: the rootless overlay storage has no per-container size quota', 'drop --storage-opt (limit the data with a volume on a sized filesystem)')
  const swappiness = str('memory-swappiness')
  if (swappiness !== undefined) {
    if (!/^-?\d+$/.test(swappiness)) throw new UsageError(`invalid argument ${JSON.stringify(swappiness)} for "--memory-swappiness" flag: strconv.ParseInt: parsing ${JSON.stringify(swappiness)}: invalid syntax`)
    const n = Number(swappiness)
    if (n !== -1 && (n < 0 || n > 100)) throw new UsageError(`invalid value: ${n}, valid memory swappiness range is 0-100`)
    if (n !== -1) warnings.push('Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.')
  }
  const kmem = str('kernel-memory')
  if (kmem !== undefined && parseBytes(kmem, '--kernel-memory') > 0) warnings.push('Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.')
  const weights = list('blkio-weight-device')
  for (const v of weights) if (!/^\/.+:\d+$/.test(v)) throw new UsageError(`invalid argument ${JSON.stringify(v)} for "--blkio-weight-device" flag: bad format: ${v}`, 'use DEVICE:WEIGHT, e.g. /dev/sda:200')
  if (weights.length > 0) warnings.push('Your kernel does not support BLKIO weight_device or the cgroup is not mounted. Weight-device discarded.')
  for (const flag of ['cpu-rt-period', 'cpu-rt-runtime']) {
    const v = str(flag)
    if (v === undefined) continue
    if (!/^-?\d+$/.test(v)) throw new UsageError(`invalid argument ${JSON.stringify(v)} for "--${flag}" flag: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`)
    if (Number(v) > 0) throw new UsageError('Your kernel does not support CPU real-time scheduler', `drop --${flag}: cgroup v2 has no real-time CPU controller ncx can delegate`)
  }
  const isolation = str('isolation')
  if (isolation !== undefined && isolation !== '' && isolation !== 'default') throw new UsageError(`invalid isolation: ${JSON.stringify(isolation)} - linux only supports 'default'`, 'drop --isolation')
  for (const flag of ['cpu-count', 'cpu-percent', 'io-maxbandwidth', 'io-maxiops']) {
    if (str(flag) !== undefined) warnings.push(`--${flag} is a Windows option: ignored`)
  }
  const rules = list('device-cgroup-rule')
  for (const r of rules) if (!DEVICE_CGROUP_RULE.test(r)) throw new UsageError(`invalid device cgroup format '${r}'`, "use TYPE MAJOR:MINOR ACCESS, e.g. 'c 1:3 rwm'")
  if (rules.length > 0) warnings.push('--device-cgroup-rule ignored: rootless containers have no device cgroup (only devices given with --device are reachable)')
  const links = parseLinks(list('link'), bridged)
  return {quiet: flags.quiet === true, ...(runtime !== undefined ? {runtime} : {}), ...(attach ? {attach} : {}), ...(links ? {links} : {}), warnings}
}
