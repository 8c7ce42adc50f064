/**
 * `compose up` / `create` / `down` on the ncx engine, in-process: the project network,
 * containers converged to the model (recreated only when their configuration hash or image
 * changed), started in dependency order with independent services in parallel, and
 * depends_on conditions honoured.
 */
import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {createContainer} from '../container/run.js'
import {removeContainer, startContainerAsync, stateOf, stopContainer} from '../container/lifecycle.js'
import {ContainerRecord} from '../container/store.js'
import {ContainerOptions} from '../spec/generate.js'
import {createNetwork, findNetwork, removeNetwork} from '../network/networks.js'
import {removeImages} from '../image/remove.js'
import {otherPlatform} from '../image/platform.js'
import {LABEL, configHash, containerName, labelsOf, numberOf, projectContainers, replicaOptions, replicas, serviceOf} from './containers.js'
import {DependsOn, Project, ServiceConfig} from './types.js'
import {implicitDependencies} from './loader.js'
import {ServiceBuilder, buildServices, nameBuiltImages, servicesToBuild} from './build.js'

export type ResourceKind = 'Network' | 'Volume' | 'Container' | 'Image'

/** Progress as Docker Compose prints it: ` Container p-web-1  Started`. */
export interface ComposeEvent {
  kind: ResourceKind
  name: string
  status: string
  /** The last event of this resource in this operation. */
  done: boolean
}

export type PullPolicy = 'always' | 'missing' | 'never'

export interface UpOptions {
  /** Services named on the command line (with their dependencies unless noDeps). */
  services?: string[]
  noDeps?: boolean
  forceRecreate?: boolean
  noRecreate?: boolean
  noStart?: boolean
  removeOrphans?: boolean
  scale?: Record<string, number>
  /** Seconds to wait for a container to stop when it is recreated or scaled down. */
  timeout?: number
  /** `--pull` (over each service's pull_policy). */
  pull?: PullPolicy
  /** Called to fetch an image (the CLI owns progress output). */
  pullImage: (image: string, platform?: string) => Promise<void>
  /** `--build`: build every selected service that has `build:`; `--no-build`: never build. */
  build?: boolean
  noBuild?: boolean
  /** Called to build a service's image (the CLI owns progress output). */
  buildImage?: ServiceBuilder
  /** `--wait`: return only once every service is running/healthy (or completed). */
  wait?: boolean
  /** Seconds; 0 = no limit. */
  waitTimeout?: number
  onEvent?: (e: ComposeEvent) => void
  onWarning?: (m: string) => void
  /** Options the CLI derives from a service (limits and security, parsed as `run` parses them). */
  extraOptions?: (service: string, svc: ServiceConfig, network: string) => Partial<ContainerOptions>
}

/** One replica's options: the service's, plus what the CLI derives (limits, security). */
export function optionsFor(engine: Engine, project: Project, name: string, r: {number: number; oneoff?: boolean; name?: string}, extra?: UpOptions['extraOptions'], svc = project.services[name]): ContainerOptions {
  const options = replicaOptions(engine, project, name, svc, r)
  return extra ? {...options, ...extra(name, svc, options.network)} : options
}

/** A service's dependencies: depends_on, plus the services it names elsewhere (network_mode, pid, ipc, volumes_from, links). */
export function dependenciesOf(svc: ServiceConfig): Array<[string, DependsOn]> {
  const out: Array<[string, DependsOn]> = Object.entries(svc.depends_on ?? {})
  for (const [dep] of implicitDependencies(svc)) if (!out.some(([d]) => d === dep)) out.push([dep, {condition: 'service_started', required: true}])
  return out
}

/** The services to act on: the named ones and (unless noDeps) everything they depend on. */
export function selectServices(project: Project, names: string[] | undefined, noDeps = false): string[] {
  if (!names || names.length === 0) return Object.keys(project.services)
  const out = new Set<string>()
  const add = (n: string) => {
    if (out.has(n)) return
    if (!(n in project.services)) {
      if (n in project.disabled) throw new NcxError(`service ${JSON.stringify(n)} is in an inactive profile`, {exitCode: 1, hint: `enable it with --profile ${(project.disabled[n].profiles ?? [])[0]}`})
      throw new NcxError(`no such service: ${n}`, {exitCode: 1})
    }
    out.add(n)
    if (!noDeps) for (const [d] of dependenciesOf(project.services[n])) add(d)
  }
  for (const n of names) add(n)
  return [...out]
}

/** Warn once about known keys ncx does not honour. */
export function checkRunnable(engine: Engine, project: Project, services: string[], warn: (m: string) => void): void {
  const unsupported = project.unsupported.filter((u) => services.includes(u.split('.')[1]))
  const nets = new Set(services.flatMap((s) => Object.keys(project.services[s].networks ?? {})))
  for (const n of nets) {
    for (const k of Object.keys(project.networks[n] ?? {})) if (['driver_opts', 'attachable', 'enable_ipv6', 'enable_ipv4'].includes(k)) unsupported.push(`networks.${n}.${k}`)
    if (project.networks[n]?.ipam?.config && project.networks[n].ipam!.config!.length > 1) unsupported.push(`networks.${n}.ipam.config[1]`)
  }
  if (unsupported.length > 0) warn(`ncx does not support these keys yet; they are ignored: ${unsupported.join(', ')}`)
}

/** Create the project's networks (the `default` one and declared ones); external ones must exist. */
export function ensureNetworks(engine: Engine, project: Project, services: string[], emit: (e: ComposeEvent) => void): void {
  const used = new Set(services.flatMap((s) => Object.keys(project.services[s].networks ?? {})))
  for (const key of Object.keys(project.networks)) {
    if (!used.has(key)) continue
    const cfg = project.networks[key]
    const existing = findNetwork(engine, cfg.name)
    if (cfg.external) {
      if (!existing) throw new NcxError(`network ${cfg.name} declared as external, but could not be found`, {hint: `create it first: ncx network create ${cfg.name}`})
      continue
    }
    if (existing) {
      if (existing.labels[LABEL.project] !== project.name) {
        throw new NcxError(`network ${cfg.name} was found but has incorrect label ${LABEL.project} set to ${JSON.stringify(existing.labels[LABEL.project] ?? '')}`, {hint: 'set external: true to use a network created outside this project'})
      }
      continue
    }
    if (cfg.driver !== undefined && cfg.driver !== 'bridge') throw new NcxError(`network ${key}: driver ${JSON.stringify(cfg.driver)} is not supported`, {hint: 'ncx has bridge networks'})
    const ipam = cfg.ipam?.config?.[0]
    emit({kind: 'Network', name: cfg.name, status: 'Creating', done: false})
    createNetwork(engine, {
      name: cfg.name,
      ...(ipam?.subnet ? {subnet: ipam.subnet} : {}),
      ...(ipam?.gateway ? {gateway: ipam.gateway} : {}),
      internal: cfg.internal ?? false,
      labels: {...cfg.labels, [LABEL.project]: project.name, [LABEL.network]: key, [LABEL.version]: '2.29.0'},
    })
    emit({kind: 'Network', name: cfg.name, status: 'Created', done: true})
  }
}

/** Create the project's named volumes the services use (labelled as Compose does); external ones must exist. */
export function ensureVolumes(engine: Engine, project: Project, services: string[], emit: (e: ComposeEvent) => void, warn: (m: string) => void): void {
  const used = new Set(services.flatMap((s) => (project.services[s].volumes ?? []).filter((v) => v.type === 'volume' && v.source !== undefined).map((v) => v.source!)))
  for (const key of Object.keys(project.volumes)) {
    if (!used.has(key)) continue
    const cfg = project.volumes[key]
    const existing = engine.volumes.find(cfg.name)
    if (cfg.external) {
      if (!existing) throw new NcxError(`external volume "${cfg.name}" not found`, {hint: `create it first: ncx volume create ${cfg.name}`})
      continue
    }
    if (existing) {
      if (existing.labels[LABEL.project] !== project.name) warn(`volume "${cfg.name}" already exists but was not created by Docker Compose. Use \`external: true\` to use an existing volume`)
      continue
    }
    emit({kind: 'Volume', name: cfg.name, status: 'Creating', done: false})
    engine.volumes.create({name: cfg.name, ...(cfg.driver ? {driver: cfg.driver} : {}), ...(cfg.driver_opts ? {options: cfg.driver_opts} : {}), labels: {...cfg.labels, [LABEL.project]: project.name, [LABEL.volume]: key, [LABEL.version]: '2.29.0'}})
    emit({kind: 'Volume', name: cfg.name, status: 'Created', done: true})
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms))
}

/** Wait for a dependency's condition (Docker Compose's messages when it fails). */
export async function waitCondition(engine: Engine, project: Project, dep: string, condition: string, deadline: number, emit: (e: ComposeEvent) => void): Promise<void> {
  const records = projectContainers(engine, project.name, {service: dep})
  if (records.length === 0) return
  for (const r of records) {
    if (condition === 'service_started') continue
    emit({kind: 'Container', name: r.name, status: 'Waiting', done: false})
    for (;;) {
      const s = stateOf(engine, r)
      if (condition === 'service_healthy') {
        if (!r.config?.healthcheck) throw new NcxError(`dependency failed to start: container ${r.name} has no healthcheck configured`)
        if (s.health?.Status === 'healthy') {
          emit({kind: 'Container', name: r.name, status: 'Healthy', done: true})
          break
        }
        if (s.health?.Status === 'unhealthy') throw new NcxError(`dependency failed to start: container ${r.name} is unhealthy`)
        if (s.status === 'exited') throw new NcxError(`dependency failed to start: container ${r.name} exited (${s.exitCode})`)
      } else {
        if (s.status === 'exited' || s.status === 'created') {
          if (s.status === 'exited' && s.exitCode !== 0) throw new NcxError(`service ${JSON.stringify(dep)} didn't complete successfully: exit ${s.exitCode}`)
          if (s.status === 'exited') {
            emit({kind: 'Container', name: r.name, status: 'Exited', done: true})
            break
          }
        }
      }
      if (deadline > 0 && Date.now() > deadline) throw new NcxError(`timeout waiting for ${r.name} (${condition})`)
      await sleep(100)
    }
  }
}

/**
 * A recreated container keeps its predecessor's anonymous volumes (the image's VOLUMEs, `- /path`
 * entries), as Compose does: a database's data survives a configuration change.
 */
function withAnonymousVolumesOf(engine: Engine, old: ContainerRecord, options: ContainerOptions): ContainerOptions {
  const carried = (old.mounts ?? []).filter((m) => m.Type === 'volume' && m.Name && engine.volumes.find(m.Name)?.anonymous)
  if (carried.length === 0) return options
  const taken = (t: string) => (options.mounts ?? []).some((m) => m.target === t && !(m.type === 'volume' && m.source === undefined))
  const reuse = carried.filter((m) => !taken(m.Destination)).map((m) => ({type: 'volume' as const, source: m.Name!, target: m.Destination, readonly: !m.RW, nocopy: true}))
  return {...options, mounts: [...(options.mounts ?? []).filter((m) => !reuse.some((r) => r.target === m.target)), ...reuse]}
}

/** Anonymous volumes (by name) that these containers mount, whoever created them. */
function anonymousVolumesOf(engine: Engine, records: ContainerRecord[]): string[] {
  const names = new Set(records.flatMap((r) => (r.mounts ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!)))
  return [...names].filter((n) => engine.volumes.find(n)?.anonymous)
}

/** Converge one service to its model: create, recreate, start, scale. */
async function convergeService(engine: Engine, project: Project, name: string, o: UpOptions, emit: (e: ComposeEvent) => void, recreated: Set<string>): Promise<ContainerRecord[]> {
  const svc = project.services[name]
  const want = o.scale?.[name] ?? replicas(svc)
  if (want > 1 && svc.container_name) throw new NcxError(`service ${JSON.stringify(name)} has container_name ${JSON.stringify(svc.container_name)} and cannot be scaled to ${want}`, {hint: 'remove container_name to run several replicas'})
  const hash = configHash(svc)
  const image = engine.images.find(svc.image!)
  const existing = projectContainers(engine, project.name, {service: name})
  const kept: ContainerRecord[] = []
  for (const r of existing) {
    if (numberOf(r) > want) {
      emit({kind: 'Container', name: r.name, status: 'Stopping', done: false})
      await stopContainer(engine, r, {timeout: o.timeout})
      emit({kind: 'Container', name: r.name, status: 'Removing', done: false})
      await removeContainer(engine, r, {force: true})
      emit({kind: 'Container', name: r.name, status: 'Removed', done: true})
      continue
    }
    const changed = labelsOf(r)[LABEL.hash] !== hash || (image !== undefined && r.imageId !== image.id)
    if (o.forceRecreate || (changed && !o.noRecreate)) {
      emit({kind: 'Container', name: r.name, status: 'Recreate', done: false})
      await stopContainer(engine, r, {timeout: o.timeout})
      await removeContainer(engine, r, {force: true})
      const {container} = createContainer(engine, withAnonymousVolumesOf(engine, r, optionsFor(engine, project, name, {number: numberOf(r)}, o.extraOptions)))
      emit({kind: 'Container', name: container.name, status: 'Recreated', done: o.noStart === true})
      recreated.add(name)
      kept.push(container)
    } else kept.push(r)
  }
  const taken = new Set(kept.map(numberOf))
  for (let n = 1; kept.length < want; n++) {
    if (taken.has(n)) continue
    const cname = containerName(project, name, n)
    emit({kind: 'Container', name: cname, status: 'Creating', done: false})
    const {container} = createContainer(engine, optionsFor(engine, project, name, {number: n}, o.extraOptions))
    emit({kind: 'Container', name: cname, status: 'Created', done: o.noStart === true})
    kept.push(container)
    taken.add(n)
  }
  kept.sort((a, b) => numberOf(a) - numberOf(b))
  return kept
}

async function startReplicas(engine: Engine, records: ContainerRecord[], emit: (e: ComposeEvent) => void): Promise<void> {
  await Promise.all(
    records.map(async (r) => {
      const s = stateOf(engine, r)
      if (s.status === 'running' || s.status === 'restarting') {
        emit({kind: 'Container', name: r.name, status: 'Running', done: true})
        return
      }
      emit({kind: 'Container', name: r.name, status: 'Starting', done: false})
      await startContainerAsync(engine, r)
      emit({kind: 'Container', name: r.name, status: 'Started', done: true})
    }),
  )
}

/** Pull what the services need, per `--pull` or each service's pull_policy. */
async function pullImages(engine: Engine, project: Project, services: string[], o: UpOptions): Promise<void> {
  const wanted = new Map<string, PullPolicy>()
  const platforms = new Map<string, string>()
  for (const name of services) {
    const svc = project.services[name]
    const pp = svc.pull_policy
    let policy: PullPolicy = o.pull ?? (pp === 'always' ? 'always' : pp === 'never' ? 'never' : 'missing')
    if (svc.build !== undefined) policy = 'never'
    const prev = wanted.get(svc.image!)
    if (prev !== 'always') wanted.set(svc.image!, policy)
    if (typeof svc.platform === 'string') platforms.set(svc.image!, svc.platform)
  }
  await Promise.all(
    [...wanted].map(async ([image, policy]) => {
      const local = engine.images.find(image)
      const platform = platforms.get(image)
      // A local image of another platform than the service's counts as missing (Compose pulls it).
      const mismatch = local && platform ? otherPlatform(engine, local.id, platform) : undefined
      if (policy === 'never') {
        if (!local) throw new NcxError(`image ${image} not found locally and pull_policy is never`, {hint: 'load it with "ncx load", or allow pulling'})
        if (mismatch) throw new NcxError(`image with reference ${image} was found but does not match the specified platform: wanted ${platform}, actual: ${mismatch}`, {hint: 'allow pulling (pull_policy), or change the service\'s platform'})
        return
      }
      if (policy === 'missing' && local && !mismatch) return
      await o.pullImage(image, platform)
    }),
  )
}

/** Build the images of services with `build:` that need it (see compose/build.ts). */
async function buildImages(engine: Engine, project: Project, services: string[], o: UpOptions): Promise<void> {
  nameBuiltImages(project)
  const wanted = servicesToBuild(engine, project, services, o)
  if (wanted.length === 0) return
  if (!o.buildImage) throw new NcxError(`service ${JSON.stringify(wanted[0])} needs its image built`, {hint: 'run ncx compose build first'})
  await buildServices(project, wanted, o.buildImage)
}

/** What every service to run needs first: checks, images, networks (`compose run` uses this alone). */
export async function prepare(engine: Engine, project: Project, services: string[], o: UpOptions): Promise<void> {
  checkRunnable(engine, project, services, o.onWarning ?? (() => {}))
  await buildImages(engine, project, services, o)
  await pullImages(engine, project, services, o)
  ensureNetworks(engine, project, services, o.onEvent ?? (() => {}))
  ensureVolumes(engine, project, services, o.onEvent ?? (() => {}), o.onWarning ?? (() => {}))
}

export interface UpResult {
  containers: Record<string, ContainerRecord[]>
}

/** `compose up` (detached part) and `compose create` (noStart). */
export async function up(engine: Engine, project: Project, o: UpOptions): Promise<UpResult> {
  const emit = o.onEvent ?? (() => {})
  const warn = o.onWarning ?? (() => {})
  const services = selectServices(project, o.services, o.noDeps)
  checkRunnable(engine, project, services, warn)
  await buildImages(engine, project, services, o)
  await pullImages(engine, project, services, o)
  // Orphans: containers of services no longer in the model.
  const known = new Set([...Object.keys(project.services), ...Object.keys(project.disabled)])
  const orphans = projectContainers(engine, project.name).filter((r) => !known.has(serviceOf(r)))
  if (orphans.length > 0) {
    if (o.removeOrphans) {
      for (const r of orphans) {
        emit({kind: 'Container', name: r.name, status: 'Removing', done: false})
        await stopContainer(engine, r, {timeout: o.timeout})
        await removeContainer(engine, r, {force: true})
        emit({kind: 'Container', name: r.name, status: 'Removed', done: true})
      }
    } else {
      warn(`Found orphan containers (${orphans.map((r) => r.name).join(', ')}) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`)
    }
  }
  ensureNetworks(engine, project, services, emit)
  ensureVolumes(engine, project, services, emit, warn)
  const deadline = o.waitTimeout && o.waitTimeout > 0 ? Date.now() + o.waitTimeout * 1000 : 0
  const tasks = new Map<string, Promise<ContainerRecord[]>>()
  const recreated = new Set<string>()
  const result: UpResult = {containers: {}}
  const run = (name: string): Promise<ContainerRecord[]> => {
    let t = tasks.get(name)
    if (t) return t
    t = (async () => {
      const svc = project.services[name]
      const deps = dependenciesOf(svc).filter(([d]) => services.includes(d))
      await Promise.all(
        deps.map(async ([d, c]) => {
          await run(d)
          if (o.noStart) return
          try {
            await waitCondition(engine, project, d, c.condition, 0, emit)
          } catch (error) {
            if (c.required) throw error
            warn(`optional dependency ${d} of ${name}: ${(error as Error).message}`)
          }
        }),
      )
      // Yield so that services whose dependencies are met start together.
      await sleep(0)
      const before = new Set(projectContainers(engine, project.name, {service: name}).map((r) => r.id))
      const records = await convergeService(engine, project, name, o, emit, recreated)
      // depends_on.restart: a dependency was recreated, so this service's kept containers restart.
      if (!o.noStart && deps.some(([d, c]) => c.restart && recreated.has(d))) {
        for (const r of records.filter((x) => before.has(x.id))) {
          const st = stateOf(engine, r).status
          if (st !== 'running' && st !== 'restarting') continue
          emit({kind: 'Container', name: r.name, status: 'Restarting', done: false})
          await stopContainer(engine, r, {timeout: o.timeout})
        }
      }
      if (!o.noStart) await startReplicas(engine, records, emit)
      result.containers[name] = records
      return records
    })()
    tasks.set(name, t)
    return t
  }
  const outcomes = await Promise.allSettled(services.map(run))
  const failed = outcomes.find((x): x is PromiseRejectedResult => x.status === 'rejected')
  if (failed) throw failed.reason
  if (o.wait && !o.noStart) {
    await Promise.all(
      services.map(async (name) => {
        for (const r of result.containers[name] ?? []) {
          const completes = Object.values(project.services).some((s) => s.depends_on?.[name]?.condition === 'service_completed_successfully')
          if (r.config?.healthcheck) await waitCondition(engine, project, name, 'service_healthy', deadline, emit)
          else if (completes) await waitCondition(engine, project, name, 'service_completed_successfully', deadline, emit)
          else {
            const s = stateOf(engine, r)
            if (s.status === 'exited') throw new NcxError(`container ${r.name} exited (${s.exitCode})`, {exitCode: 1})
          }
        }
      }),
    )
  }
  return result
}

export interface DownOptions {
  removeOrphans?: boolean
  volumes?: boolean
  rmi?: 'local' | 'all'
  timeout?: number
  onEvent?: (e: ComposeEvent) => void
  onWarning?: (m: string) => void
}

/** Stop the given containers, dependents before their dependencies. */
export async function stopInOrder(engine: Engine, project: Project | undefined, records: ContainerRecord[], timeout: number | undefined, emit: (e: ComposeEvent) => void, remove: boolean, volumes = false): Promise<void> {
  const byService = new Map<string, ContainerRecord[]>()
  for (const r of records) byService.set(serviceOf(r), [...(byService.get(serviceOf(r)) ?? []), r])
  const done = new Map<string, Promise<void>>()
  const dependents = (name: string) => (project ? Object.entries(project.services).filter(([, s]) => dependenciesOf(s).some(([d]) => d === name)).map(([n]) => n) : [])
  const stopService = (name: string): Promise<void> => {
    let t = done.get(name)
    if (t) return t
    t = (async () => {
      await Promise.all(dependents(name).filter((d) => byService.has(d)).map(stopService))
      await Promise.all(
        (byService.get(name) ?? []).map(async (r) => {
          const s = stateOf(engine, r)
          if (s.status === 'running' || s.status === 'restarting') {
            emit({kind: 'Container', name: r.name, status: 'Stopping', done: false})
            await stopContainer(engine, r, {timeout})
            emit({kind: 'Container', name: r.name, status: 'Stopped', done: !remove})
          }
          if (remove) {
            emit({kind: 'Container', name: r.name, status: 'Removing', done: false})
            await removeContainer(engine, r, {force: true, volumes})
            emit({kind: 'Container', name: r.name, status: 'Removed', done: true})
          }
        }),
      )
    })()
    done.set(name, t)
    return t
  }
  await Promise.all([...byService.keys()].map(stopService))
}

/**
 * `compose down`: stop and remove the project's containers (one-off ones too), its
 * networks, and with `-v` its volumes, with `--rmi` its images. Works from labels alone
 * when there is no model (`-p NAME` without a compose file).
 */
export async function down(engine: Engine, name: string, project: Project | undefined, o: DownOptions): Promise<void> {
  const emit = o.onEvent ?? (() => {})
  const warn = o.onWarning ?? (() => {})
  const all = projectContainers(engine, name, {oneoff: true})
  const known = project ? new Set([...Object.keys(project.services), ...Object.keys(project.disabled)]) : undefined
  const orphans = known ? all.filter((r) => !known.has(serviceOf(r))) : []
  const doomed = known && !o.removeOrphans ? all.filter((r) => known.has(serviceOf(r))) : all
  if (orphans.length > 0 && !o.removeOrphans) warn(`Found orphan containers (${orphans.map((r) => r.name).join(', ')}) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`)
  const images = new Set(doomed.map((r) => r.image))
  const anonymous = o.volumes ? anonymousVolumesOf(engine, doomed) : []
  await stopInOrder(engine, project, doomed, o.timeout, emit, true, o.volumes)
  // Anonymous volumes carried over from recreated containers were made for their predecessors.
  for (const v of anonymous) {
    if (!engine.volumes.find(v) || engine.volumes.inUse(v).length > 0) continue
    try {
      engine.volumes.remove(v)
    } catch (error) {
      warn((error as Error).message)
    }
  }
  // Networks: the model's (not external), else every network labelled with the project.
  const nets = project
    ? Object.values(project.networks).filter((n) => !n.external).map((n) => n.name)
    : (await import('../network/networks.js')).listNetworks(engine).filter((n) => n.labels[LABEL.project] === name).map((n) => n.name)
  for (const n of nets) {
    const rec = findNetwork(engine, n)
    if (!rec || rec.labels[LABEL.project] !== name) continue
    emit({kind: 'Network', name: n, status: 'Removing', done: false})
    try {
      removeNetwork(engine, n)
      emit({kind: 'Network', name: n, status: 'Removed', done: true})
    } catch (error) {
      warn((error as Error).message)
    }
  }
  if (o.volumes) {
    // The model's volumes (not external), else every volume labelled with the project.
    const vols = project ? Object.values(project.volumes).filter((v) => !v.external).map((v) => v.name) : engine.volumes.list().filter((v) => v.labels[LABEL.project] === name).map((v) => v.name)
    for (const v of vols) {
      const rec = engine.volumes.find(v)
      if (!rec || rec.labels[LABEL.project] !== name) continue
      emit({kind: 'Volume', name: v, status: 'Removing', done: false})
      try {
        engine.volumes.remove(v)
        emit({kind: 'Volume', name: v, status: 'Removed', done: true})
      } catch (error) {
        warn((error as Error).message)
      }
    }
  }
  if (o.rmi) {
    // `local`: images without a custom tag, i.e. those Compose built as <project>-<service>;
    // `all`: every image the services use.
    const wanted = new Set<string>()
    for (const [svcName, s] of Object.entries(project?.services ?? {})) {
      if (s.image === undefined) wanted.add(`${name}-${svcName}`)
      else if (o.rmi === 'all') wanted.add(s.image)
    }
    if (o.rmi === 'all') for (const i of images) wanted.add(i)
    for (const image of wanted) {
      if (!engine.images.find(image)) continue
      try {
        removeImages(engine, image, {force: false})
        emit({kind: 'Image', name: image, status: 'Removed', done: true})
      } catch (error) {
        warn((error as Error).message)
      }
    }
  }
}
