/**
 * `POST /containers/create`: Docker's `Config`, `HostConfig` and `NetworkingConfig` mapped
 * onto the flags `ncx create` takes, then read by the CLI's own parser (cli/run-flags.ts),
 * so the API and the command line validate and default every option the same way. What
 * ncx cannot do is not silently dropped: it comes back in the response's `Warnings`.
 */
import {ContainerOptions} from '../engine/spec/generate.js'
import {parseRunArgv} from '../cli/run-flags.js'
import {ApiError} from './http.js'

type Json = Record<string, unknown>

export interface CreateRequest {
  options: ContainerOptions
  warnings: string[]
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : typeof v === 'string' ? [v] : [])
const present = (v: unknown) => v !== undefined && v !== null && v !== '' && v !== 0 && v !== false && !(Array.isArray(v) && v.length === 0) && !(isObject(v) && Object.keys(v).length === 0)

/** Fields ncx reads; anything else given with a value is reported as ignored. */
const CONFIG_KEYS = new Set(['Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'ExposedPorts', 'Tty', 'OpenStdin', 'StdinOnce', 'Env', 'Cmd', 'Healthcheck', 'ArgsEscaped', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint', 'NetworkDisabled', 'MacAddress', 'Labels', 'StopSignal', 'StopTimeout', 'HostConfig', 'NetworkingConfig', 'OnBuild', 'Shell'])
const HOST_KEYS = new Set(['Binds', 'ContainerIDFile', 'LogConfig', 'NetworkMode', 'PortBindings', 'RestartPolicy', 'AutoRemove', 'VolumeDriver', 'VolumesFrom', 'Mounts', 'CapAdd', 'CapDrop', 'CgroupnsMode', 'Dns', 'DnsOptions', 'DnsSearch', 'ExtraHosts', 'GroupAdd', 'IpcMode', 'Cgroup', 'Links', 'OomScoreAdj', 'PidMode', 'Privileged', 'PublishAllPorts', 'ReadonlyRootfs', 'SecurityOpt', 'Tmpfs', 'UTSMode', 'UsernsMode', 'ShmSize', 'Sysctls', 'Runtime', 'Isolation', 'CpuShares', 'Memory', 'NanoCpus', 'CgroupParent', 'BlkioWeight', 'CpuPeriod', 'CpuQuota', 'CpusetCpus', 'CpusetMems', 'Devices', 'MemoryReservation', 'MemorySwap', 'MemorySwappiness', 'OomKillDisable', 'PidsLimit', 'Ulimits', 'Init', 'ConsoleSize', 'Annotations', 'DeviceCgroupRules', 'DeviceRequests', 'KernelMemory', 'MaskedPaths', 'ReadonlyPaths', 'BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpuCount', 'CpuPercent', 'IOMaximumIOps', 'IOMaximumBandwidth', 'CgroupnsMode', 'StorageOpt', 'KernelMemoryTCP'])
/** HostConfig fields ncx takes but does not apply, with Docker's zero values not reported. */
const HOST_IGNORED = ['MaskedPaths', 'ReadonlyPaths', 'DeviceRequests', 'CpuCount', 'CpuPercent', 'IOMaximumIOps', 'IOMaximumBandwidth', 'StorageOpt', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'KernelMemory', 'KernelMemoryTCP', 'BlkioWeightDevice', 'ContainerIDFile', 'Isolation']

/** Docker's `Config` (with `HostConfig`, `NetworkingConfig`) and the `name`/`platform` query → ncx's options. */
export function createOptions(body: unknown, name: string | undefined, platform: string | undefined, env: NodeJS.ProcessEnv = process.env): CreateRequest {
  if (!isObject(body)) throw new ApiError(400, 'config cannot be empty in order to create a container')
  const cfg = body
  const host: Json = isObject(cfg.HostConfig) ? cfg.HostConfig : {}
  const net: Json = isObject(cfg.NetworkingConfig) ? cfg.NetworkingConfig : {}
  const image = typeof cfg.Image === 'string' ? cfg.Image : ''
  if (!image) throw new ApiError(400, 'No image specified')
  const warnings: string[] = []
  for (const [k, v] of Object.entries(cfg)) if (!CONFIG_KEYS.has(k) && present(v)) warnings.push(`Config.${k} is not supported by ncx and was ignored`)
  for (const [k, v] of Object.entries(host)) {
    if (!HOST_KEYS.has(k) && present(v)) warnings.push(`HostConfig.${k} is not supported by ncx and was ignored`)
    else if (HOST_IGNORED.includes(k) && present(v)) warnings.push(`HostConfig.${k} is not supported by ncx and was ignored`)
  }

  const argv: string[] = []
  const flag = (name: string, value: unknown) => {
    if (value === undefined || value === null || value === '') return
    argv.push(`--${name}=${String(value)}`)
  }
  const flags = (name: string, values: unknown) => {
    for (const v of strings(values)) flag(name, v)
  }
  const bool = (name: string, value: unknown) => {
    if (value === true) argv.push(`--${name}`)
  }
  const num = (name: string, value: unknown) => {
    if (typeof value === 'number' && value !== 0) flag(name, value)
  }

  if (name) flag('name', name)
  if (platform) flag('platform', platform)
  flag('hostname', cfg.Hostname)
  flag('domainname', cfg.Domainname)
  flag('user', cfg.User)
  flag('workdir', cfg.WorkingDir)
  // `KEY` without `=` would copy the service's own value: Docker's API drops such entries.
  flags('env', strings(cfg.Env).filter((e) => e.includes('=')))
  bool('tty', cfg.Tty)
  bool('interactive', cfg.OpenStdin)
  flag('stop-signal', cfg.StopSignal)
  if (typeof cfg.StopTimeout === 'number') flag('stop-timeout', cfg.StopTimeout)
  flag('mac-address', cfg.MacAddress)
  if (isObject(cfg.Labels)) for (const [k, v] of Object.entries(cfg.Labels)) flag('label', `${k}=${String(v)}`)
  if (isObject(cfg.ExposedPorts)) for (const p of Object.keys(cfg.ExposedPorts)) flag('expose', p)
  // Config.Volumes declares anonymous volumes (as an image's VOLUME does): a destination that a
  // bind, a mount or a tmpfs of HostConfig covers is not one (docker-compose sends both).
  if (isObject(cfg.Volumes)) {
    const covered = new Set(coveredDestinations(host))
    for (const v of Object.keys(cfg.Volumes)) if (!covered.has(v.replace(/\/+$/, '') || '/')) flag('volume', v)
  }
  if (isObject(cfg.Healthcheck)) {
    const h = cfg.Healthcheck
    const test = strings(h.Test)
    if (test[0] === 'NONE') bool('no-healthcheck', true)
    else if (test[0] === 'CMD-SHELL') flag('health-cmd', test.slice(1).join(' '))
    else if (test[0] === 'CMD') flag('health-cmd', test.slice(1).map(shellQuote).join(' '))
    for (const [k, f] of [['Interval', 'health-interval'], ['Timeout', 'health-timeout'], ['StartPeriod', 'health-start-period'], ['StartInterval', 'health-start-interval']] as const) {
      if (typeof h[k] === 'number' && h[k] > 0) flag(f, `${Math.round((h[k] as number) / 1e6)}ms`)
    }
    num('health-retries', h.Retries)
  }

  // HostConfig
  flags('volume', host.Binds)
  if (Array.isArray(host.Mounts)) for (const m of host.Mounts) if (isObject(m)) flag('mount', mountFlag(m))
  if (isObject(host.Tmpfs)) for (const [path, opts] of Object.entries(host.Tmpfs)) flag('tmpfs', opts ? `${path}:${String(opts)}` : path)
  flags('volumes-from', host.VolumesFrom)
  if (isObject(host.PortBindings)) {
    for (const [port, bindings] of Object.entries(host.PortBindings)) {
      const list = Array.isArray(bindings) && bindings.length > 0 ? bindings : [{}]
      for (const b of list) {
        const binding = isObject(b) ? b : {}
        const ip = typeof binding.HostIp === 'string' && binding.HostIp ? binding.HostIp : ''
        const hostPort = typeof binding.HostPort === 'string' ? binding.HostPort : ''
        const ipPart = ip ? `${ip.includes(':') ? `[${ip}]` : ip}:` : ''
        flag('publish', hostPort || ip ? `${ipPart}${hostPort}:${port}` : port)
      }
    }
  }
  bool('publish-all', host.PublishAllPorts)
  const mode = typeof host.NetworkMode === 'string' ? host.NetworkMode : ''
  const endpoints = isObject(net.EndpointsConfig) ? net.EndpointsConfig : {}
  const networks = [...(mode && mode !== 'default' ? [mode] : []), ...Object.keys(endpoints).filter((n) => n !== mode)]
  if (cfg.NetworkDisabled === true) flag('network', 'none')
  else for (const n of networks) flag('network', n)
  for (const [n, e] of Object.entries(endpoints)) {
    if (!isObject(e)) continue
    // Docker adds the container's short ID to the aliases itself; ncx resolves names and IDs anyway.
    if (n !== 'bridge' && n !== 'default') flags('network-alias', strings(e.Aliases))
    if (isObject(e.IPAMConfig) && typeof e.IPAMConfig.IPv4Address === 'string') flag('ip', e.IPAMConfig.IPv4Address)
  }
  const restart = isObject(host.RestartPolicy) ? host.RestartPolicy : {}
  if (typeof restart.Name === 'string' && restart.Name && restart.Name !== 'no') {
    flag('restart', restart.Name === 'on-failure' && typeof restart.MaximumRetryCount === 'number' && restart.MaximumRetryCount > 0 ? `on-failure:${restart.MaximumRetryCount}` : restart.Name)
  }
  bool('rm', host.AutoRemove)
  bool('privileged', host.Privileged)
  bool('read-only', host.ReadonlyRootfs)
  flags('cap-add', host.CapAdd)
  flags('cap-drop', host.CapDrop)
  flags('security-opt', host.SecurityOpt)
  flags('dns', host.Dns)
  flags('dns-search', host.DnsSearch)
  flags('dns-option', host.DnsOptions)
  flags('add-host', host.ExtraHosts)
  flags('group-add', host.GroupAdd)
  flags('link', host.Links)
  flags('device-cgroup-rule', host.DeviceCgroupRules)
  if (Array.isArray(host.Devices)) {
    for (const d of host.Devices) {
      if (!isObject(d) || typeof d.PathOnHost !== 'string') continue
      const inside = typeof d.PathInContainer === 'string' && d.PathInContainer ? d.PathInContainer : d.PathOnHost
      flag('device', `${d.PathOnHost}:${inside}${typeof d.CgroupPermissions === 'string' && d.CgroupPermissions ? `:${d.CgroupPermissions}` : ''}`)
    }
  }
  if (Array.isArray(host.Ulimits)) for (const u of host.Ulimits) if (isObject(u)) flag('ulimit', `${String(u.Name)}=${String(u.Soft)}:${String(u.Hard)}`)
  if (isObject(host.Sysctls)) for (const [k, v] of Object.entries(host.Sysctls)) flag('sysctl', `${k}=${String(v)}`)
  if (isObject(host.Annotations)) for (const [k, v] of Object.entries(host.Annotations)) flag('annotation', `${k}=${String(v)}`)
  flag('userns', host.UsernsMode)
  flag('pid', host.PidMode)
  flag('ipc', host.IpcMode === 'private' || host.IpcMode === 'shareable' ? undefined : host.IpcMode)
  flag('uts', host.UTSMode)
  flag('cgroupns', host.CgroupnsMode)
  flag('cgroup-parent', host.CgroupParent)
  bool('init', host.Init)
  num('shm-size', host.ShmSize)
  num('oom-score-adj', host.OomScoreAdj)
  num('memory', host.Memory)
  num('memory-reservation', host.MemoryReservation)
  if (typeof host.MemorySwap === 'number' && host.MemorySwap !== 0) flag('memory-swap', host.MemorySwap)
  if (typeof host.NanoCpus === 'number' && host.NanoCpus > 0) flag('cpus', host.NanoCpus / 1e9)
  num('cpu-shares', host.CpuShares)
  num('cpu-period', host.CpuPeriod)
  num('cpu-quota', host.CpuQuota)
  flag('cpuset-cpus', host.CpusetCpus)
  flag('cpuset-mems', host.CpusetMems)
  if (typeof host.PidsLimit === 'number' && host.PidsLimit !== 0) flag('pids-limit', host.PidsLimit)
  num('blkio-weight', host.BlkioWeight)
  bool('oom-kill-disable', host.OomKillDisable)
  if (typeof host.MemorySwappiness === 'number' && host.MemorySwappiness >= 0) flag('memory-swappiness', host.MemorySwappiness)
  for (const [k, f] of [['BlkioDeviceReadBps', 'device-read-bps'], ['BlkioDeviceWriteBps', 'device-write-bps'], ['BlkioDeviceReadIOps', 'device-read-iops'], ['BlkioDeviceWriteIOps', 'device-write-iops']] as const) {
    if (Array.isArray(host[k])) for (const d of host[k] as unknown[]) if (isObject(d)) flag(f, `${String(d.Path)}:${String(d.Rate)}`)
  }
  if (typeof host.Runtime === 'string' && host.Runtime && host.Runtime !== 'runc') flag('runtime', host.Runtime)
  if (isObject(host.LogConfig) && typeof host.LogConfig.Type === 'string' && host.LogConfig.Type) {
    const type = host.LogConfig.Type
    if (type === 'json-file' || type === 'none') flag('log-driver', type)
    else if (type !== 'local' && type !== 'journald') warnings.push(`logging driver "${type}" is not supported by ncx: json-file is used`)
    if (isObject(host.LogConfig.Config)) for (const [k, v] of Object.entries(host.LogConfig.Config)) if (k === 'max-size' || k === 'max-file') flag('log-opt', `${k}=${String(v)}`)
  }
  if (typeof host.VolumeDriver === 'string' && host.VolumeDriver && host.VolumeDriver !== 'local') warnings.push(`volume driver "${host.VolumeDriver}" is not supported by ncx: local volumes are used`)

  // The command: Docker's Entrypoint is a list; ncx's --entrypoint is its first word and the
  // rest go before Cmd, which gives the same argv (generate.ts resolveCommand).
  const entrypoint = cfg.Entrypoint === null || cfg.Entrypoint === undefined ? undefined : strings(cfg.Entrypoint)
  const cmd = strings(cfg.Cmd)
  if (entrypoint !== undefined) flag('entrypoint', entrypoint[0] ?? '')
  if (entrypoint !== undefined && entrypoint.length === 0) argv.push('--entrypoint=')
  const command = entrypoint && entrypoint.length > 0 ? [...entrypoint.slice(1), ...cmd] : cmd
  let parsed
  try {
    // `run`'s table (it has --rm); --detach: an API container always runs under its monitor.
    parsed = parseRunArgv(['--detach', ...argv, image, ...command], env, 'run')
  } catch (error) {
    throw new ApiError(400, error instanceof Error ? error.message : String(error))
  }
  // An image's CMD is kept when Entrypoint is given with no Cmd only if Docker would: it drops it.
  const options: ContainerOptions = {...parsed.options, command}
  // The API has no `-d`: every API container runs under its monitor, output to its log.
  options.detach = true
  const size = consoleSize(host.ConsoleSize)
  if (size && options.tty) options.consoleSize = size
  return {options, warnings: [...parsed.warnings, ...warnings]}
}

/** The container paths HostConfig's Binds, Mounts and Tmpfs mount onto. */
function coveredDestinations(host: Json): string[] {
  const norm = (p: string) => p.replace(/\/+$/, '') || '/'
  const out: string[] = []
  for (const b of strings(host.Binds)) {
    const parts = b.split(':')
    // SRC:DEST[:OPTS], or a bare DEST
    out.push(norm(parts.length === 1 ? parts[0] : parts[1]))
  }
  if (Array.isArray(host.Mounts)) for (const m of host.Mounts) if (isObject(m) && typeof m.Target === 'string') out.push(norm(m.Target))
  if (isObject(host.Tmpfs)) for (const p of Object.keys(host.Tmpfs)) out.push(norm(p))
  return out
}

/**
 * Docker's `ConsoleSize` ([height, width], HostConfig and exec bodies): [rows, cols], or
 * undefined for none ([0, 0], absent); anything else but two numbers 0-65535 is a 400.
 */
export function consoleSize(value: unknown): [number, number] | undefined {
  if (value === undefined || value === null) return undefined
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535
  if (!Array.isArray(value) || value.length !== 2 || !ok(value[0]) || !ok(value[1])) throw new ApiError(400, `invalid ConsoleSize: ${JSON.stringify(value)}: expected [height, width]`)
  if (value[0] === 0 || value[1] === 0) return undefined
  return [value[0], value[1]]
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/** A `HostConfig.Mounts` entry as `--mount` text. */
function mountFlag(m: Json): string {
  const parts = [`type=${typeof m.Type === 'string' ? m.Type : 'volume'}`]
  if (typeof m.Source === 'string' && m.Source) parts.push(`source=${m.Source}`)
  if (typeof m.Target === 'string') parts.push(`target=${m.Target}`)
  if (m.ReadOnly === true) parts.push('readonly')
  const bind = isObject(m.BindOptions) ? m.BindOptions : {}
  if (typeof bind.Propagation === 'string' && bind.Propagation) parts.push(`bind-propagation=${bind.Propagation}`)
  const vol = isObject(m.VolumeOptions) ? m.VolumeOptions : {}
  if (vol.NoCopy === true) parts.push('volume-nocopy')
  const tmpfs = isObject(m.TmpfsOptions) ? m.TmpfsOptions : {}
  if (typeof tmpfs.SizeBytes === 'number' && tmpfs.SizeBytes > 0) parts.push(`tmpfs-size=${tmpfs.SizeBytes}`)
  if (typeof tmpfs.Mode === 'number' && tmpfs.Mode > 0) parts.push(`tmpfs-mode=${tmpfs.Mode.toString(8)}`)
  return parts.map((p) => (p.includes(',') ? `"${p}"` : p)).join(',')
}
