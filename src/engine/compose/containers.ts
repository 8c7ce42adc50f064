/**
 * A compose service as ncx containers: names, Docker Compose's labels, the configuration
 * hash that decides recreation, and the container options each replica runs with.
 */
import {createHash} from 'node:crypto'
import {mkdirSync} from 'node:fs'
import {isAbsolute, join} from 'node:path'

import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {ContainerRecord} from '../container/store.js'
import {ContainerOptions, HealthOptions} from '../spec/generate.js'
import {SLIRP_HOST} from '../network/networks.js'
import {checkMac} from '../network/attach.js'
import {parseBytes} from '../cgroup/resources.js'
import {formatPlatform, parsePlatform} from '../image/platform.js'
import {checkIpcMode, checkPidMode, checkUtsMode} from '../spec/namespaces.js'
import {parseExpose} from '../spec/expose.js'
import {writeFileWithMode} from '../store/files.js'
import {MountSpec, parseTmpfsFlag} from '../volume/spec.js'
import {canonicalService} from './canonical.js'
import {ComposeError} from './errors.js'
import {durationMs} from './schema.js'
import {Project, ServiceConfig} from './types.js'

export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  number: 'com.docker.compose.container-number',
  hash: 'com.docker.compose.config-hash',
  oneoff: 'com.docker.compose.oneoff',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  dependsOn: 'com.docker.compose.depends_on',
  version: 'com.docker.compose.version',
  image: 'com.docker.compose.image',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
} as const

/** The compose version ncx's model follows (Docker Compose v2 labels carry one). */
export const COMPOSE_VERSION = '2.29.0'

export function labelsOf(record: ContainerRecord): Record<string, string> {
  return record.options.labels ?? record.config?.labels ?? {}
}

/** The project's containers (one-off `run` containers included only when asked). */
export function projectContainers(engine: Engine, project: string, options: {oneoff?: boolean; service?: string} = {}): ContainerRecord[] {
  return engine.containers
    .list()
    .filter((c) => {
      const l = labelsOf(c)
      if (l[LABEL.project] !== project) return false
      if (!options.oneoff && l[LABEL.oneoff] === 'True') return false
      return options.service === undefined || l[LABEL.service] === options.service
    })
    .sort((a, b) => serviceOf(a).localeCompare(serviceOf(b)) || numberOf(a) - numberOf(b))
}

export function serviceOf(record: ContainerRecord): string {
  return labelsOf(record)[LABEL.service] ?? ''
}

/** Compose's name for a container in logs: `web-1` (without the project), or its custom container_name. */
export function shortName(record: ContainerRecord): string {
  const l = labelsOf(record)
  const project = l[LABEL.project]
  if (project && record.name === `${project}-${l[LABEL.service]}-${l[LABEL.number]}`) return record.name.slice(project.length + 1)
  return record.name
}

export function numberOf(record: ContainerRecord): number {
  return Number(labelsOf(record)[LABEL.number] ?? 0)
}

/** The hash Compose stores in `com.docker.compose.config-hash`: the service's canonical configuration. */
export function configHash(svc: ServiceConfig): string {
  const {scale: _s, deploy, profiles: _p, ...rest} = svc
  const d = deploy ? {...deploy, replicas: undefined} : undefined
  return createHash('sha256').update(JSON.stringify(canonicalService({...rest, ...(d ? {deploy: d} : {})}))).digest('hex')
}

/** `config --hash "*"|a,b`: `SERVICE HASH` lines, sorted by service name (Compose's output). */
export function serviceHashes(project: Project, selection: string): string[] {
  const names = selection === '*' ? Object.keys(project.services) : selection.split(',').map((n) => n.trim()).filter((n) => n !== '')
  return [...names].sort().map((n) => {
    const svc = project.services[n]
    if (!svc) throw new ComposeError(`no such service: ${n}`, {exitCode: 1, hint: `the services are: ${Object.keys(project.services).sort().join(', ')}`})
    return `${n} ${configHash(svc)}`
  })
}

export function replicas(svc: ServiceConfig): number {
  return svc.scale ?? svc.deploy?.replicas ?? 1
}

export function containerName(project: Project, service: string, n: number): string {
  const svc = project.services[service]
  return svc?.container_name ?? `${project.name}-${service}-${n}`
}

/** Compose's restart policy: `restart:`, else deploy.restart_policy. */
function restartPolicy(svc: ServiceConfig): string | undefined {
  if (svc.restart !== undefined) return svc.restart
  const rp = svc.deploy?.restart_policy
  if (!rp) return undefined
  if (rp.condition === 'none') return 'no'
  if (rp.condition === 'on-failure') return rp.max_attempts ? `on-failure:${rp.max_attempts}` : 'on-failure'
  return 'always'
}

function nanos(d: string | undefined): number | undefined {
  if (d === undefined) return undefined
  const ms = durationMs(d)
  return ms === undefined ? undefined : Math.round(ms * 1e6)
}

export interface ReplicaOptions {
  number: number
  oneoff?: boolean
  /** `run` overrides. */
  name?: string
}

/** The container that stands for service `target` (its first replica) where `key` names a service. */
function serviceContainer(engine: Engine, project: Project, name: string, target: string, key: string): string {
  const peer = projectContainers(engine, project.name, {service: target})[0]
  if (!peer) throw new NcxError(`service ${JSON.stringify(name)} uses service ${JSON.stringify(target)} in ${key}, which has no container`)
  return peer.name
}

/** The aliases other services give service `name` with `links: [NAME:ALIAS]`. */
function linkAliases(project: Project, name: string): string[] {
  return Object.values(project.services).flatMap((s) => ((s.links as string[] | undefined) ?? []).map((l) => l.split(':')).filter(([svc, alias]) => svc === name && alias && alias !== name).map(([, alias]) => alias))
}

/**
 * Keys that map one to one onto container options: annotations, domainname, shm_size, platform,
 * pid/ipc (`service:X` → X's first container), uts, mac_address, cgroup_parent, cgroup (its
 * namespace), expose, volumes_from.
 */
function namespaceAndMetadataOf(engine: Engine, project: Project, name: string, svc: ServiceConfig, bridged: boolean): Partial<ContainerOptions> {
  const s = svc as Record<string, unknown>
  const out: Partial<ContainerOptions> = {}
  const at = (key: string, check: () => void) => {
    try {
      check()
    } catch (error) {
      if (error instanceof NcxError) throw new NcxError(`service ${JSON.stringify(name)}: ${key}: ${error.message}`, {exitCode: error.exitCode, hint: error.hint})
      throw error
    }
  }
  if (svc.expose?.length) at('expose', () => (out.expose = [...new Set(svc.expose!.flatMap(parseExpose))]))
  if (s.annotations) out.annotations = s.annotations as Record<string, string>
  if (s.domainname) out.domainname = s.domainname as string
  if (s.shm_size !== undefined) at('shm_size', () => (out.shmSize = parseBytes(String(s.shm_size), 'shm_size')))
  if (s.platform) at('platform', () => (out.platform = formatPlatform(parsePlatform(s.platform as string))))
  // (serviceContainer's error names the service itself, so it is resolved outside `at`)
  const mode = (key: 'pid' | 'ipc') => {
    const m = s[key] as string
    return m.startsWith('service:') ? `container:${serviceContainer(engine, project, name, m.slice('service:'.length), key)}` : m
  }
  if (s.pid) {
    const pid = mode('pid')
    at('pid', () => (out.pid = checkPidMode(pid)))
  }
  if (s.ipc) {
    const ipc = mode('ipc')
    at('ipc', () => (out.ipc = checkIpcMode(ipc)))
  }
  if (s.uts) at('uts', () => (out.uts = checkUtsMode(s.uts as string)))
  if (s.mac_address) {
    at('mac_address', () => {
      if (!bridged) throw new NcxError('a MAC address needs a bridged network')
      out.macAddress = checkMac(s.mac_address as string)
    })
  }
  if (s.cgroup_parent) out.cgroup = {parent: s.cgroup_parent as string}
  if (s.cgroup !== undefined) {
    if (s.cgroup !== 'host' && s.cgroup !== 'private') throw new NcxError(`service ${JSON.stringify(name)}: cgroup: invalid value ${JSON.stringify(s.cgroup)}`, {hint: 'use host or private'})
    out.cgroup = {...out.cgroup, namespace: s.cgroup}
  }
  const from = (s.volumes_from as string[] | undefined) ?? []
  if (from.length > 0) {
    // `service:X[:ro]`, bare `X[:ro]` (a service) or `container:NAME[:ro]`.
    out.volumesFrom = from.map((v) => {
      if (v.startsWith('container:')) return v.slice('container:'.length)
      const [svcName, ...rest] = v.replace(/^service:/, '').split(':')
      return [serviceContainer(engine, project, name, svcName, 'volumes_from'), ...rest].join(':')
    })
  }
  return out
}

/** The network a service's containers join, and the mode string ncx's engine understands. */
function networkOf(engine: Engine, project: Project, name: string, svc: ServiceConfig): Pick<ContainerOptions, 'network' | 'networkAliases' | 'networks' | 'ip'> {
  const nm = svc.network_mode
  if (nm !== undefined) {
    if (nm.startsWith('service:')) return {network: `container:${serviceContainer(engine, project, name, nm.slice(8), 'network_mode')}`}
    return {network: nm === 'default' ? 'bridge' : nm}
  }
  // Compose's order: higher priority first, then by name; the first network gets ipv4_address.
  const entries = Object.entries(svc.networks ?? {}).sort(([a, x], [b, y]) => (y?.priority ?? 0) - (x?.priority ?? 0) || a.localeCompare(b))
  if (entries.length === 0) entries.push(['default', null])
  const [[key, cfg], ...rest] = entries
  for (const [n, c] of rest) if (c?.ipv4_address) engine.warn(`service ${JSON.stringify(name)}: ipv4_address on network ${n} is not supported (only on its first network, ${key}); an address is assigned`)
  // The service name, every network's aliases and the aliases other services link it by
  // (`links: [NAME:ALIAS]`) resolve on each of its networks.
  const aliases = [...new Set([name, ...entries.flatMap(([, c]) => c?.aliases ?? []), ...linkAliases(project, name)])]
  return {
    network: project.networks[key].name,
    networkAliases: aliases,
    ...(rest.length > 0 ? {networks: rest.map(([n]) => project.networks[n].name)} : {}),
    ...(cfg?.ipv4_address ? {ip: cfg.ipv4_address} : {}),
  }
}

/** A service's volumes, binds and tmpfs mounts as the engine's mount specs (named volumes by their real names). */
export function serviceMounts(project: Project, svc: ServiceConfig): MountSpec[] {
  const out: MountSpec[] = []
  for (const v of svc.volumes ?? []) {
    const base = {target: v.target, readonly: v.read_only ?? false}
    if (v.type === 'bind') {
      out.push({...base, type: 'bind', source: v.source, createSource: v.bind?.create_host_path ?? true, ...(v.bind?.propagation ? {propagation: v.bind.propagation as MountSpec['propagation']} : {})})
    } else if (v.type === 'volume') {
      const name = v.source === undefined ? undefined : (project.volumes[v.source]?.name ?? v.source)
      out.push({...base, type: 'volume', ...(name ? {source: name} : {}), ...(v.volume?.nocopy ? {nocopy: true} : {})})
    } else if (v.type === 'tmpfs') {
      const size = v.tmpfs?.size
      out.push({...base, type: 'tmpfs', tmpfsOptions: [], ...(size !== undefined ? {tmpfsSize: typeof size === 'number' ? size : parseTmpfsFlag(`/x:size=${size}`).tmpfsSize} : {}), ...(v.tmpfs?.mode !== undefined ? {tmpfsMode: v.tmpfs.mode} : {})})
    } else {
      throw new NcxError(`volume type ${JSON.stringify(v.type)} (target ${v.target}) is not supported by ncx`, {hint: 'use volume, bind or tmpfs'})
    }
  }
  for (const t of svc.tmpfs ?? []) out.push(parseTmpfsFlag(t))
  return out
}

/**
 * Secrets (at /run/secrets/NAME) and configs (at /NAME) as read-only bind mounts: a `file:` is
 * mounted as it is; `environment:` and `content:` are written once under the data root.
 */
export function fileMounts(engine: Engine, project: Project, svc: ServiceConfig): MountSpec[] {
  const out: MountSpec[] = []
  for (const kind of ['secrets', 'configs'] as const) {
    for (const ref of (svc[kind] as Array<{source: string; target?: string; mode?: number}> | undefined) ?? []) {
      const def = project[kind][ref.source] as {file?: string; environment?: string; content?: string; external?: boolean} | undefined
      if (!def) throw new NcxError(`service refers to undefined ${kind.slice(0, -1)} ${ref.source}`)
      if (def.external) throw new NcxError(`${kind.slice(0, -1)} ${ref.source} is external: external ${kind} need a swarm`, {hint: 'give it as file:, environment: or content:'})
      const base = kind === 'secrets' ? '/run/secrets' : '/'
      const target = ref.target === undefined ? join(base, ref.source) : isAbsolute(ref.target) ? ref.target : join(base, ref.target)
      let source = def.file
      if (source === undefined) {
        const text = def.content ?? (def.environment !== undefined ? project.environment[def.environment] : undefined)
        if (text === undefined) throw new NcxError(`${kind.slice(0, -1)} ${ref.source}: environment variable ${def.environment ?? ''} is not set`)
        const dir = join(engine.paths.data, 'compose', project.name, kind)
        mkdirSync(dir, {recursive: true, mode: 0o700})
        source = join(dir, ref.source)
        // 0644 whatever the umask: a non-root user in the container reads it (compose/ above is 0700).
        writeFileWithMode(source, text, 0o644)
      }
      out.push({type: 'bind', source, target, readonly: true, createSource: false})
    }
  }
  return out
}

/** One replica's container options, with the labels Docker Compose sets. */
export function replicaOptions(engine: Engine, project: Project, name: string, svc: ServiceConfig, r: ReplicaOptions): ContainerOptions {
  const cmd = svc.command ?? []
  let entrypoint: string | undefined
  let command = [...cmd]
  if (svc.entrypoint !== undefined && svc.entrypoint !== null) {
    // ContainerOptions carries one entrypoint word; the rest lead the command (Docker's concatenation).
    entrypoint = svc.entrypoint[0] ?? ''
    command = [...svc.entrypoint.slice(1), ...cmd]
  }
  const env = Object.entries(svc.environment ?? {})
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => `${k}=${v}`)
  const labels: Record<string, string> = {
    ...svc.labels,
    [LABEL.project]: project.name,
    [LABEL.service]: name,
    [LABEL.number]: String(r.number),
    [LABEL.hash]: configHash(svc),
    [LABEL.oneoff]: r.oneoff ? 'True' : 'False',
    [LABEL.workingDir]: project.workingDir,
    [LABEL.configFiles]: project.configFiles.join(','),
    [LABEL.dependsOn]: Object.entries(svc.depends_on ?? {})
      .map(([d, c]) => `${d}:${c.condition}:${c.restart ?? false}`)
      .join(','),
    [LABEL.version]: COMPOSE_VERSION,
  }
  const options: ContainerOptions = {
    image: svc.image!,
    command,
    entrypoint,
    env,
    workdir: svc.working_dir,
    user: svc.user,
    hostname: svc.hostname,
    name: r.name ?? containerName(project, name, r.number),
    rm: false,
    interactive: svc.stdin_open ?? false,
    tty: svc.tty ?? false,
    readOnly: svc.read_only ?? false,
    detach: true,
    labels,
    ...networkOf(engine, project, name, svc),
  }
  // One-off containers are reachable by their own name, not as the service (Compose's rule).
  if (r.oneoff && options.networkAliases) options.networkAliases = options.networkAliases.filter((a) => a !== name)
  if (options.networkAliases?.length === 0) delete options.networkAliases
  const mounts = [...serviceMounts(project, svc), ...fileMounts(engine, project, svc)]
  if (mounts.length > 0) options.mounts = mounts
  const userns = svc.userns_mode as string | undefined
  if (userns) options.userns = userns
  // `runtime:` (runc, crun, a path…): as `--runtime`, checked when the container is made.
  const runtime = svc.runtime as string | undefined
  if (runtime) options.runtime = runtime
  const bridged = !['host', 'none'].includes(options.network) && !options.network.startsWith('container:')
  if (svc.ports?.length && bridged && !r.oneoff) {
    options.publish = svc.ports.map((p) => ({proto: p.protocol, hostIp: p.host_ip ?? '0.0.0.0', hostPort: p.published ? Number(p.published.split('-')[0]) : 0, containerPort: p.target}))
  }
  Object.assign(options, namespaceAndMetadataOf(engine, project, name, svc, bridged))
  const restart = restartPolicy(svc)
  if (restart !== undefined && !r.oneoff) options.restart = restart
  if (svc.stop_signal) options.stopSignal = svc.stop_signal
  if (svc.stop_grace_period) options.stopTimeout = Math.round((durationMs(svc.stop_grace_period) ?? 10_000) / 1000)
  if (svc.logging?.driver !== undefined) {
    if (!['json-file', 'none', 'local'].includes(svc.logging.driver)) throw new NcxError(`service ${JSON.stringify(name)}: logging driver ${JSON.stringify(svc.logging.driver)} is not supported`, {hint: 'use json-file or none'})
    options.logDriver = svc.logging.driver === 'none' ? 'none' : 'json-file'
  }
  if (svc.logging?.options) {
    const o = Object.fromEntries(Object.entries(svc.logging.options).filter(([k]) => k === 'max-size' || k === 'max-file'))
    if (Object.keys(o).length > 0) options.logOpts = o
  }
  const hc = svc.healthcheck
  if (hc?.disable || hc?.test?.[0] === 'NONE') options.noHealthcheck = true
  else if (hc) {
    const h: HealthOptions = {}
    if (hc.test) h.test = hc.test
    const set = (k: 'interval' | 'timeout' | 'startPeriod' | 'startInterval', v: string | undefined) => {
      const n = nanos(v)
      if (n !== undefined) h[k] = n
    }
    set('interval', hc.interval)
    set('timeout', hc.timeout)
    set('startPeriod', hc.start_period)
    set('startInterval', hc.start_interval)
    if (hc.retries !== undefined) h.retries = hc.retries
    if (Object.keys(h).length > 0) options.health = h
  }
  if (svc.dns?.length) options.dns = svc.dns
  if (svc.dns_search?.length) options.dnsSearch = svc.dns_search
  if (svc.dns_opt?.length) options.dnsOptions = svc.dns_opt
  if (svc.extra_hosts?.length) {
    options.addHosts = svc.extra_hosts.map((h) => {
      const eq = h.indexOf('=')
      const [host, addr] = [h.slice(0, eq), h.slice(eq + 1)]
      return `${addr === 'host-gateway' ? (bridged ? SLIRP_HOST : '127.0.0.1') : addr}\t${host}`
    })
  }
  return options
}
