/**
 * The compose model after loading: interpolated, merged, normalised to the long syntax —
 * the shape `ncx compose config` prints (Docker Compose v2's canonical form).
 */
export interface PortConfig {
  mode: 'ingress' | 'host'
  host_ip?: string
  target: number
  /** A string, as Compose prints it ("8080"); absent: a random host port when published at all. */
  published?: string
  protocol: 'tcp' | 'udp'
  name?: string
  app_protocol?: string
}

export interface VolumeMount {
  type: 'volume' | 'bind' | 'tmpfs' | 'image' | 'npipe' | 'cluster'
  source?: string
  target: string
  read_only?: boolean
  consistency?: string
  bind?: {propagation?: string; create_host_path?: boolean; selinux?: string}
  volume?: {nocopy?: boolean; subpath?: string}
  tmpfs?: {size?: number | string; mode?: number}
}

export interface DependsOn {
  condition: 'service_started' | 'service_healthy' | 'service_completed_successfully'
  required: boolean
  restart?: boolean
}

export interface HealthcheckConfig {
  test?: string[]
  interval?: string
  timeout?: string
  start_period?: string
  start_interval?: string
  retries?: number
  disable?: boolean
}

export interface ServiceNetwork {
  aliases?: string[]
  ipv4_address?: string
  ipv6_address?: string
  priority?: number
}

/** One service in the long syntax; keys not listed here are kept as loaded (validated). */
export interface ServiceConfig {
  image?: string
  build?: {context: string; dockerfile?: string; [k: string]: unknown}
  command?: string[] | null
  entrypoint?: string[] | null
  environment?: Record<string, string | null>
  ports?: PortConfig[]
  expose?: string[]
  volumes?: VolumeMount[]
  tmpfs?: string[]
  networks?: Record<string, ServiceNetwork | null>
  network_mode?: string
  depends_on?: Record<string, DependsOn>
  healthcheck?: HealthcheckConfig
  restart?: string
  deploy?: {replicas?: number; restart_policy?: {condition?: string; delay?: string; max_attempts?: number; window?: string}; [k: string]: unknown}
  scale?: number
  container_name?: string
  hostname?: string
  domainname?: string
  user?: string
  working_dir?: string
  labels?: Record<string, string>
  tty?: boolean
  stdin_open?: boolean
  read_only?: boolean
  stop_signal?: string
  stop_grace_period?: string
  extra_hosts?: string[]
  dns?: string[]
  dns_search?: string[]
  dns_opt?: string[]
  pull_policy?: string
  logging?: {driver?: string; options?: Record<string, string>}
  profiles?: string[]
  [key: string]: unknown
}

export interface NetworkConfig {
  name: string
  driver?: string
  driver_opts?: Record<string, string>
  external?: boolean
  internal?: boolean
  attachable?: boolean
  enable_ipv6?: boolean
  labels?: Record<string, string>
  ipam?: {driver?: string; config?: Array<{subnet?: string; gateway?: string; ip_range?: string}>}
}

export interface VolumeConfig {
  name: string
  driver?: string
  driver_opts?: Record<string, string>
  external?: boolean
  labels?: Record<string, string>
}

export interface Project {
  name: string
  /** Absolute project directory (the first file's directory unless --project-directory). */
  workingDir: string
  /** Absolute paths of the files loaded (`-` for stdin), in order. */
  configFiles: string[]
  services: Record<string, ServiceConfig>
  /** Services of inactive profiles (kept for `config --profiles` and orphan detection). */
  disabled: Record<string, ServiceConfig>
  networks: Record<string, NetworkConfig>
  volumes: Record<string, VolumeConfig>
  secrets: Record<string, Record<string, unknown>>
  configs: Record<string, Record<string, unknown>>
  /** The environment used for interpolation (process env over .env). */
  environment: Record<string, string>
  /** Active profiles. */
  profiles: string[]
  /** Top-level `x-*` extensions, kept as loaded. */
  extensions: Record<string, unknown>
  /** Known keys ncx does not honour yet, `services.web.cap_add` style, each once. */
  unsupported: string[]
}
