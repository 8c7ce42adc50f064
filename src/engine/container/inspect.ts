/** `inspect`: a container in Docker's JSON shape, plus where its OCI bundle lives. */
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {logPath} from './log-file.js'
import {stateOf} from './lifecycle.js'
import {containerLowerDirs} from './rootfs.js'
import {HealthState} from './state.js'
import {ContainerRecord} from './store.js'
import {networkSettings} from '../network/container.js'
import {configVolumes, hostConfigMounts, inspectMounts} from '../volume/attach.js'
import {isPaused} from '../cgroup/control.js'
import {treeSize} from '../df.js'
import {ContainerOptions} from '../spec/generate.js'
import {DEFAULT_SHM_SIZE} from '../spec/namespaces.js'
import {MASKED_PATHS, READONLY_PATHS} from '../spec/oci.js'
import {PortSpec} from '../network/networks.js'
import {BUILTIN_RUNTIME} from '../runtimes.js'

const ZERO_TIME = '0001-01-01T00:00:00Z'

export interface ContainerInspect {
  Id: string
  Created: string
  Path: string
  Args: string[]
  State: {
    Status: string
    Running: boolean
    Paused: boolean
    Restarting: boolean
    OOMKilled: boolean
    Dead: boolean
    Pid: number
    ExitCode: number
    Error: string
    StartedAt: string
    FinishedAt: string
    Health?: HealthState
  }
  Image: string
  ResolvConfPath: string
  HostnamePath: string
  HostsPath: string
  LogPath: string
  Name: string
  RestartCount: number
  Driver: string
  Platform: string
  MountLabel: string
  ProcessLabel: string
  AppArmorProfile: string
  ExecIDs: null
  HostConfig: Record<string, unknown>
  GraphDriver: {Data: Record<string, string> | null; Name: string}
  SizeRw?: number
  SizeRootFs?: number
  Mounts: unknown[]
  Config: Record<string, unknown>
  NetworkSettings: Record<string, unknown>
  /** ncx: the OCI runtime bundle (config.json + rootfs) an external runtime can run. */
  Bundle: string
}

/** Docker's HostConfig fields for limits and security options (zero values when not set). */
function hostConfigLimits(o: ContainerRecord['options']): Record<string, unknown> {
  const r = o.resources ?? {}
  const sec = o.security ?? {}
  const secOpt = [
    ...(sec.noNewPrivileges ? ['no-new-privileges'] : []),
    ...(sec.seccomp === 'unconfined' ? ['seccomp=unconfined'] : sec.seccomp ? ['seccomp=' + JSON.stringify(sec.seccomp)] : []),
    ...(sec.unmaskSystemPaths ? ['systempaths=unconfined'] : []),
  ]
  return {
    Memory: r.memory ?? 0,
    MemorySwap: r.memorySwap ?? (r.memory ? r.memory * 2 : 0),
    MemoryReservation: r.memoryReservation ?? 0,
    NanoCpus: r.nanoCpus ?? 0,
    CpuShares: r.cpuShares ?? 0,
    CpuPeriod: r.cpuPeriod ?? 0,
    CpuQuota: r.cpuQuota ?? 0,
    CpusetCpus: r.cpusetCpus ?? '',
    CpusetMems: r.cpusetMems ?? '',
    PidsLimit: r.pidsLimit ?? null,
    BlkioWeight: r.blkioWeight ?? 0,
    OomKillDisable: r.oomKillDisable ?? false,
    CgroupParent: o.cgroup?.parent ?? '',
    CgroupnsMode: o.cgroup?.namespace ?? 'private',
    CapAdd: sec.capAdd ?? null,
    CapDrop: sec.capDrop ?? null,
    Privileged: sec.privileged ?? false,
    SecurityOpt: secOpt.length > 0 ? secOpt : null,
    Sysctls: sec.sysctls ?? {},
    GroupAdd: sec.groupAdd ?? null,
    Devices: (sec.devices ?? []).map((d) => ({PathOnHost: d.host, PathInContainer: d.container, CgroupPermissions: d.permissions})),
    Ulimits: (sec.ulimits ?? []).map((u) => ({Name: u.name, Soft: u.soft, Hard: u.hard})),
    OomScoreAdj: sec.oomScoreAdj ?? 0,
    Init: sec.init ?? null,
    // Docker's keys for what ncx does not set: their zero values, as a Docker Engine shows them.
    BlkioWeightDevice: [],
    BlkioDeviceReadBps: null,
    BlkioDeviceWriteBps: null,
    BlkioDeviceReadIOps: null,
    BlkioDeviceWriteIOps: null,
    CpuCount: 0,
    CpuPercent: 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    DeviceCgroupRules: null,
    DeviceRequests: null,
    MemorySwappiness: null,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    MaskedPaths: sec.privileged || sec.unmaskSystemPaths ? null : [...MASKED_PATHS],
    ReadonlyPaths: sec.privileged || sec.unmaskSystemPaths ? null : [...READONLY_PATHS],
  }
}

function containerSizes(engine: Engine, record: ContainerRecord): {SizeRw: number; SizeRootFs: number} {
  const rw = treeSize(join(engine.containers.dir(record.id), 'upper'))
  return {SizeRw: rw, SizeRootFs: rw + record.layers.reduce((n, d) => n + (engine.snapshots.size(d) ?? 0), 0)}
}

/** `-p` as Docker's HostConfig.PortBindings: `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`. */
export function portBindings(publish: PortSpec[]): Record<string, Array<{HostIp: string; HostPort: string}>> {
  const out: Record<string, Array<{HostIp: string; HostPort: string}>> = {}
  for (const p of publish) {
    const key = `${p.containerPort}/${p.proto}`
    ;(out[key] ??= []).push({HostIp: p.hostIp === '0.0.0.0' ? '' : p.hostIp, HostPort: p.hostPort === 0 ? '' : String(p.hostPort)})
  }
  return out
}

/** With `size` (`inspect -s`): SizeRw, the writable layer, and SizeRootFs, it and the image's layers. */
export function inspectContainer(engine: Engine, record: ContainerRecord, options: {size?: boolean} = {}): ContainerInspect {
  const s = stateOf(engine, record)
  const dir = engine.containers.dir(record.id)
  const o = record.options
  const c = record.config
  const [policy, max] = (o.restart ?? 'no').split(':')
  const driver = engine.storageDriver().name
  const lower = containerLowerDirs(engine, record)
  const logType = o.logDriver ?? 'json-file'
  const paused = s.status === 'running' && isPaused(engine, record)
  return {
    Id: record.id,
    Created: record.created,
    Path: record.args[0] ?? '',
    Args: record.args.slice(1),
    State: {
        Status: paused ? 'paused' : s.status,
      Running: s.status === 'running',
      Paused: paused,
      Restarting: s.status === 'restarting',
      OOMKilled: s.oomKilled ?? false,
      Dead: false,
      Pid: s.pid,
      ExitCode: s.exitCode,
      Error: s.error ?? '',
      StartedAt: s.startedAt ?? ZERO_TIME,
      FinishedAt: s.finishedAt ?? ZERO_TIME,
      ...(c?.healthcheck ? {Health: s.health ?? {Status: 'starting', FailingStreak: 0, Log: []}} : {}),
    },
    Image: record.imageId,
    ResolvConfPath: join(dir, 'resolv.conf'),
    HostnamePath: join(dir, 'hostname'),
    HostsPath: join(dir, 'hosts'),
    LogPath: logType === 'json-file' ? logPath(engine, record) : '',
    Name: `/${record.name}`,
    RestartCount: s.restartCount,
    Driver: driver,
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      ...hostConfigMounts(o.mounts, o.volumesFrom),
      LogConfig: {Type: logType, Config: o.logOpts ?? {}},
      NetworkMode: o.network,
      Links: o.links ? o.links.map((l) => `/${l.name}:/${record.name}/${l.alias}`) : null,
      PortBindings: portBindings(o.publish ?? []),
      PublishAllPorts: o.publishAll ?? false,
      Dns: o.dns ?? [],
      DnsOptions: o.dnsOptions ?? [],
      DnsSearch: o.dnsSearch ?? [],
      // (stored as hosts lines, `IP\tNAME`; Docker shows `NAME:IP`)
      ExtraHosts: o.addHosts ? o.addHosts.map((h) => h.split('\t').reverse().join(':')) : null,
      VolumeDriver: '',
      ConsoleSize: [0, 0],
      Isolation: '',
      Cgroup: '',
      RestartPolicy: {Name: policy, MaximumRetryCount: Number(max ?? 0)},
      AutoRemove: o.rm,
      ReadonlyRootfs: o.readOnly,
      UsernsMode: o.userns ?? '',
      Runtime: o.runtime ?? BUILTIN_RUNTIME,
      ...hostConfigLimits(o),
      ...hostConfigNamespaces(o),
    },
    GraphDriver: {
      Name: driver,
      Data: driver === 'overlay' ? {LowerDir: lower.join(':'), MergedDir: join(dir, 'rootfs'), UpperDir: join(dir, 'upper'), WorkDir: join(dir, 'work')} : null,
    },
    ...(options.size ? containerSizes(engine, record) : {}),
    Mounts: inspectMounts(record.mounts),
    Config: {
      Hostname: c?.hostname ?? record.id.slice(0, 12),
      Domainname: o.domainname ?? '',
      User: c?.user ?? o.user ?? '',
      AttachStdin: o.interactive && !o.detach && (o.attach?.includes('stdin') ?? true),
      AttachStdout: !o.detach && (o.attach?.includes('stdout') ?? true),
      AttachStderr: !o.detach && (o.attach?.includes('stderr') ?? true),
      Tty: o.tty,
      OpenStdin: o.interactive,
      StdinOnce: o.interactive && !o.detach,
      Env: c?.env ?? [],
      Cmd: c ? c.cmd : record.args,
      ...(c?.healthcheck ? {Healthcheck: c.healthcheck} : {}),
      Image: record.image,
      ...(o.expose ? {ExposedPorts: Object.fromEntries(o.expose.map((p) => [p, {}]))} : {}),
      Volumes: configVolumes(record.mounts),
      WorkingDir: c?.workdir ?? o.workdir ?? '',
      Entrypoint: c && c.entrypoint.length > 0 ? c.entrypoint : null,
      OnBuild: null,
      Labels: c?.labels ?? {},
      ...(c?.stopSignal ? {StopSignal: c.stopSignal} : {}),
      ...(o.stopTimeout !== undefined ? {StopTimeout: o.stopTimeout} : {}),
    },
    NetworkSettings: networkSettings(engine, record.id, o.network, s.status === 'running'),
    Bundle: dir,
  }
}

/** HostConfig's namespace modes, /dev/shm size, annotations and cidfile (spec/namespaces.ts). */
function hostConfigNamespaces(o: ContainerOptions): Record<string, unknown> {
  return {
    PidMode: o.pid ?? '',
    IpcMode: o.ipc ?? 'private',
    UTSMode: o.uts ?? '',
    ShmSize: o.shmSize || DEFAULT_SHM_SIZE,
    ContainerIDFile: o.cidfile ?? '',
    ...(o.annotations ? {Annotations: o.annotations} : {}),
  }
}
