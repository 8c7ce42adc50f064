import {ImageConfig} from '../image/types.js'
import {UsageError} from '../errors.js'
import {mergeEnv} from './env.js'
import {DEFAULT_CAPABILITIES, DEFAULT_PATH, MASKED_PATHS, OCI_RUNTIME_SPEC_VERSION, OciMount, OciSpec, READONLY_PATHS} from './oci.js'
import {ResolvedUser} from './user.js'
import {MountSpec} from '../volume/spec.js'
import {mergeMounts} from '../volume/attach.js'
import type {SecurityOptions} from './security.js'
import type {ResourceOptions} from '../cgroup/resources.js'
import type {CgroupOptions} from '../cgroup/manager.js'

export type AttachStream = 'stdin' | 'stdout' | 'stderr'

/** What `run`/`create` asked for, already validated by the CLI. */
export interface ContainerOptions {
  image: string
  /** Everything after IMAGE on the command line. */
  command: string[]
  /** `--entrypoint`; the empty string clears the image's entrypoint. */
  entrypoint?: string
  env: string[]
  workdir?: string
  user?: string
  hostname?: string
  name?: string
  rm: boolean
  /** `--runtime`: an external OCI runtime by name or path (absent: ncx's own). */
  runtime?: string
  interactive: boolean
  tty: boolean
  /** With `tty`: the terminal's initial size, [rows, cols] (the Engine API's HostConfig.ConsoleSize). */
  consoleSize?: [number, number]
  network: string
  readOnly: boolean
  /** `-d`: started under a monitor, output to the log. */
  detach?: boolean
  /** `-a`: the streams a foreground run connects (the others go to /dev/null); unset = all. */
  attach?: AttachStream[]
  /** `--link NAME[:ALIAS]`: /etc/hosts entries for NAME's address (src/engine/network/attach.ts). */
  links?: Array<{name: string; alias: string}>
  /** `--restart no|on-failure[:N]|always|unless-stopped` (detached containers). */
  restart?: string
  /** `--stop-signal` (a name such as SIGTERM) and `--stop-timeout` (seconds). */
  stopSignal?: string
  stopTimeout?: number
  /** `--log-driver none|json-file` and `--log-opt max-size=…,max-file=…`. */
  logDriver?: string
  logOpts?: Record<string, string>
  /** `--health-*` flags; `--no-healthcheck` disables the image's HEALTHCHECK. */
  health?: HealthOptions
  noHealthcheck?: boolean
  /** `-p`: published ports (`[ip:][hostPort:]containerPort[/proto]`, parsed; hostPort 0 = random). */
  publish?: Array<{proto: 'tcp' | 'udp'; hostIp: string; hostPort: number; containerPort: number}>
  /** `-P`: publish every port the image EXPOSEs on a random host port. */
  publishAll?: boolean
  /** Published TCP ports bypass the relay (docs/networking.md, "Port bypass"); unset: NCX_PORT_BYPASS / ncx.toml. Set from `--annotation ncx.bypass4netns=true`. */
  portBypass?: boolean
  /** `--network-alias`: extra names on a user-defined network. */
  networkAliases?: string[]
  /** More `--network NAME` flags: the container's other networks (eth1, …). */
  networks?: string[]
  /** `--mac-address` of the first network's interface. */
  macAddress?: string
  /** `--ip` on the container's network. */
  ip?: string
  /** `--dns`, `--dns-search`, `--dns-option`: /etc/resolv.conf content. */
  dns?: string[]
  dnsSearch?: string[]
  dnsOptions?: string[]
  /** `--add-host NAME:IP` lines for /etc/hosts (`host-gateway` already resolved). */
  addHosts?: string[]
  /** Container labels (`Config.Labels`, over the image's); compose records its own here. */
  labels?: Record<string, string>
  /** `-v`, `--mount`, `--tmpfs`, parsed (src/engine/volume/spec.ts). */
  mounts?: MountSpec[]
  /** `--volumes-from CONTAINER[:ro|rw]`. */
  volumesFrom?: string[]
  /** `--userns`: `keep-id` (the user's own uid/gid inside), `host`, or the default. */
  userns?: string
  /** `--cap-add`, `--privileged`, `--security-opt`, `--sysctl`, `--device`, `--ulimit`, `--init` … */
  security?: SecurityOptions
  /** `-m`, `--cpus`, `--pids-limit` … */
  resources?: ResourceOptions
  /** `--cgroup-manager`, `--cgroup-parent`, `--cgroupns`. */
  cgroup?: CgroupOptions
  /** `--annotation`, `--domainname`, `--shm-size` (bytes), `--pid`, `--ipc`, `--uts` (spec/namespaces.ts). */
  annotations?: Record<string, string>
  domainname?: string
  shmSize?: number
  pid?: string
  ipc?: string
  uts?: string
  /** `--expose PORT[/PROTO]` (ranges expanded): exposed as the image's EXPOSE, published by -P. */
  expose?: string[]
  /** `--platform OS/ARCH[/VARIANT]` the image was asked for. */
  platform?: string
  /** `--cidfile`: where the container's ID was written. */
  cidfile?: string
}

/** Docker's `Config.Healthcheck`: durations in nanoseconds, as in the image config. */
export interface Healthcheck {
  Test: string[]
  Interval?: number
  Timeout?: number
  StartPeriod?: number
  StartInterval?: number
  Retries?: number
}

export interface HealthOptions {
  cmd?: string
  /** The whole test (`["CMD", …]` or `["CMD-SHELL", …]`), as compose files give it. */
  test?: string[]
  /** Nanoseconds, like Docker's. */
  interval?: number
  timeout?: number
  startPeriod?: number
  /** `--health-start-interval`: time between checks during the start period. */
  startInterval?: number
  retries?: number
}

/** The health check a container gets: its flags over the image's HEALTHCHECK (Docker's merge). */
export function effectiveHealthcheck(options: ContainerOptions, image: Healthcheck | undefined): Healthcheck | undefined {
  if (options.noHealthcheck) return undefined
  const h = options.health ?? {}
  const test = h.test ?? (h.cmd !== undefined ? ['CMD-SHELL', h.cmd] : image?.Test)
  if (!test || test.length === 0 || test[0] === 'NONE') return undefined
  const pick = (flag: number | undefined, img: number | undefined) => (flag !== undefined && flag !== 0 ? flag : img && img !== 0 ? img : undefined)
  const out: Healthcheck = {Test: test}
  const interval = pick(h.interval, image?.Interval)
  const timeout = pick(h.timeout, image?.Timeout)
  const startPeriod = pick(h.startPeriod, image?.StartPeriod)
  const startInterval = pick(h.startInterval, image?.StartInterval)
  const retries = pick(h.retries, image?.Retries)
  if (interval !== undefined) out.Interval = interval
  if (timeout !== undefined) out.Timeout = timeout
  if (startPeriod !== undefined) out.StartPeriod = startPeriod
  if (startInterval !== undefined) out.StartInterval = startInterval
  if (retries !== undefined) out.Retries = retries
  return out
}

export interface SpecInput {
  options: ContainerOptions
  image: NonNullable<ImageConfig['config']>
  user: ResolvedUser
  hostname: string
  rootless: boolean
  /** The kernel has cgroup namespaces: the container gets its own (Docker's default on cgroup v2). */
  cgroupNamespace?: boolean
  /** gid 5 (tty) exists in the namespace: devpts can be mounted with gid=5. */
  ttyGroupMapped: boolean
  /** Host files bind-mounted as /etc/hosts, /etc/hostname, /etc/resolv.conf. */
  etcFiles: {hosts: string; hostname: string; resolvConf: string}
  /** Volumes, binds and tmpfs mounts (replacing defaults at the same destination). */
  mounts?: OciMount[]
}

/** Docker's rule: `--entrypoint` replaces the image's and drops its CMD; args replace CMD. */
export function resolveCommand(image: NonNullable<ImageConfig['config']>, options: ContainerOptions): {entrypoint: string[]; cmd: string[]} {
  let entrypoint = image.Entrypoint ?? []
  let cmd = image.Cmd ?? []
  if (options.entrypoint !== undefined) {
    entrypoint = options.entrypoint === '' ? [] : [options.entrypoint]
    cmd = []
  }
  if (options.command.length > 0) cmd = options.command
  return {entrypoint, cmd}
}

export function processArgs(image: NonNullable<ImageConfig['config']>, options: ContainerOptions): string[] {
  const {entrypoint, cmd} = resolveCommand(image, options)
  const args = [...entrypoint, ...cmd]
  if (args.length === 0) throw new UsageError('no command specified', 'give a command after the image name, or use an image with CMD or ENTRYPOINT')
  return args
}

export function generateSpec(input: SpecInput): OciSpec {
  const {options, image, user} = input
  const baseEnv = [DEFAULT_PATH, `HOSTNAME=${input.hostname}`]
  if (options.tty) baseEnv.push('TERM=xterm')
  const env = mergeEnv(baseEnv, image.Env ?? [], options.env)
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home}`)
  const devpts = ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620']
  if (input.ttyGroupMapped) devpts.push('gid=5')
  const mounts: OciMount[] = [
    {destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev']},
    {destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
    {destination: '/dev/pts', type: 'devpts', source: 'devpts', options: devpts},
    {destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro']},
    {destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev']},
    {destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864']},
    {destination: '/etc/resolv.conf', type: 'bind', source: input.etcFiles.resolvConf, options: ['rbind', 'rprivate']},
    {destination: '/etc/hostname', type: 'bind', source: input.etcFiles.hostname, options: ['rbind', 'rprivate']},
    {destination: '/etc/hosts', type: 'bind', source: input.etcFiles.hosts, options: ['rbind', 'rprivate']},
  ]
  const caps = [...DEFAULT_CAPABILITIES]
  const namespaces = [{type: 'pid'}, {type: 'ipc'}, {type: 'uts'}, {type: 'mount'}]
  // Every mode but host gets its own network namespace (bridged ones get a veth from the runtime).
  if (options.network !== 'host') namespaces.push({type: 'network'})
  if (input.cgroupNamespace) namespaces.push({type: 'cgroup'})
  return {
    ociVersion: OCI_RUNTIME_SPEC_VERSION,
    process: {
      terminal: options.tty,
      ...(options.tty && options.consoleSize ? {consoleSize: {height: options.consoleSize[0], width: options.consoleSize[1]}} : {}),
      user: {uid: user.uid, gid: user.gid, ...(user.additionalGids.length > 0 ? {additionalGids: user.additionalGids} : {})},
      args: processArgs(image, options),
      env,
      cwd: options.workdir || image.WorkingDir || '/',
      capabilities: {bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: []},
      noNewPrivileges: false,
    },
    root: {path: 'rootfs', readonly: options.readOnly},
    hostname: input.hostname,
    mounts: mergeMounts(mounts, input.mounts ?? []),
    linux: {
      namespaces,
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  }
}
