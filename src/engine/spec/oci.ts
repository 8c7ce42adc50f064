/** The OCI runtime-spec version of the config.json ncx writes. */
export const OCI_RUNTIME_SPEC_VERSION = '1.0.2'

/** The OCI runtime-spec `config.json` fields ncx writes (field names per the spec). */
export interface OciMount {
  destination: string
  type: string
  source: string
  options?: string[]
}

export interface OciSpec {
  ociVersion: string
  process: {
    terminal: boolean
    user: {uid: number; gid: number; additionalGids?: number[]; umask?: number}
    args: string[]
    env: string[]
    cwd: string
    capabilities: {bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[]; ambient: string[]}
    noNewPrivileges: boolean
    rlimits?: Array<{type: string; hard: number; soft: number}>
    oomScoreAdj?: number
    /** A terminal's initial size (the Engine API's ConsoleSize), set before the process runs. */
    consoleSize?: {height: number; width: number}
  }
  root: {path: string; readonly: boolean}
  hostname: string
  domainname?: string
  mounts: OciMount[]
  annotations?: Record<string, string>
  linux: {
    namespaces: Array<{type: string; path?: string}>
    uidMappings?: Array<{containerID: number; hostID: number; size: number}>
    gidMappings?: Array<{containerID: number; hostID: number; size: number}>
    maskedPaths: string[]
    readonlyPaths: string[]
    rootfsPropagation?: string
    seccomp?: import('./seccomp.js').OciSeccomp
    sysctl?: Record<string, string>
    resources?: import('../cgroup/resources.js').OciResources
    cgroupsPath?: string
  }
}

/** Docker's default capability set (moby `oci/caps/defaults.go`). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
]

/** containerd's default masked paths. */
export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
]

export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** Every capability (`--privileged` for exec); the kernel ignores those it lacks. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
]
