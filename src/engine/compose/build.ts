/**
 * Compose `build:` on ncx's builder: the service's build section → BuildOptions, the image
 * named `<project>-<service>` when `image:` is absent (as Docker Compose names it), and which
 * services `up` builds (`--build`, `pull_policy: build`, or a missing image; never with
 * `--no-build`).
 */
import {isAbsolute, resolve} from 'node:path'

import type {BuildOptions, SecretSource, SshSource} from '../build/builder.js'
import {parseBytes} from '../build/runmount.js'
import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {Project, ServiceConfig} from './types.js'

/** Builds one service's image; the CLI supplies it (it owns the progress output). */
export type ServiceBuilder = (service: string, options: BuildOptions) => Promise<void>

export interface ComposeBuildOverrides {
  noCache?: boolean
  pull?: boolean
  buildArgs?: Record<string, string>
}

/** The image a service with `build:` gets: its `image:`, else `<project>-<service>`. */
export function builtImageName(project: Project, name: string, svc: ServiceConfig): string {
  return svc.image ?? `${project.name}-${name}`
}

type BuildSection = NonNullable<ServiceConfig['build']> & Record<string, unknown>

function mapOf(v: unknown, env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = String(item)
      const i = s.indexOf('=')
      if (i < 0) {
        if (env[s] !== undefined) out[s] = env[s]
      } else out[s.slice(0, i)] = s.slice(i + 1)
    }
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x === null || x === undefined) {
        if (env[k] !== undefined) out[k] = env[k]
      } else out[k] = String(x)
    }
  }
  return out
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : [String(v)])

/** A service's build section → the builder's options (progress callbacks added by the caller). */
export function composeBuildOptions(project: Project, name: string, svc: ServiceConfig, o: ComposeBuildOverrides = {}): BuildOptions {
  const b = svc.build as BuildSection
  const env = project.environment
  const context = b.context
  const secrets: SecretSource[] = []
  for (const ref of list(b.secrets).length > 0 ? (b.secrets as unknown[]) : []) {
    const source = typeof ref === 'string' ? ref : String((ref as Record<string, unknown>).source)
    const target = typeof ref === 'string' ? ref : String((ref as Record<string, unknown>).target ?? source)
    const def = project.secrets[source]
    if (!def) throw new NcxError(`service ${JSON.stringify(name)} refers to undefined build secret ${source}`, {exitCode: 1})
    if (typeof def.file === 'string') secrets.push({id: target, file: isAbsolute(def.file) ? def.file : resolve(project.workingDir, def.file)})
    else if (typeof def.environment === 'string') secrets.push({id: target, env: def.environment})
    else throw new NcxError(`build secret ${source} must have file: or environment:`, {exitCode: 1})
  }
  const ssh: SshSource[] = []
  for (const s of list(b.ssh)) {
    const i = s.indexOf('=')
    const id = i < 0 ? s : s.slice(0, i)
    const paths = i < 0 ? (process.env.SSH_AUTH_SOCK ? [process.env.SSH_AUTH_SOCK] : []) : s.slice(i + 1).split(',')
    ssh.push({id, paths})
  }
  const extraHosts = Array.isArray(b.extra_hosts) ? b.extra_hosts.map(String) : Object.entries(mapOf(b.extra_hosts, {})).map(([h, ip]) => `${h}:${ip}`)
  const network = b.network === undefined || b.network === 'default' || b.network === 'bridge' ? 'default' : String(b.network)
  if (network !== 'default' && network !== 'none' && network !== 'host') throw new NcxError(`service ${JSON.stringify(name)}: build network ${JSON.stringify(b.network)} is not supported by ncx`, {exitCode: 1, hint: 'use default, none or host'})
  const namedContexts = additionalContexts(project, name, b.additional_contexts)
  const shm = b.shm_size === undefined ? undefined : typeof b.shm_size === 'number' ? b.shm_size : parseBytes(String(b.shm_size))
  const image = builtImageName(project, name, svc)
  return {
    context,
    ...(b.dockerfile_inline !== undefined ? {dockerfileInline: String(b.dockerfile_inline)} : {dockerfile: isAbsolute(b.dockerfile ?? 'Dockerfile') ? b.dockerfile : resolve(context, b.dockerfile ?? 'Dockerfile')}),
    cwd: project.workingDir,
    tags: [image, ...list(b.tags)],
    buildArgs: {...mapOf(b.args, env), ...(o.buildArgs ?? {})},
    ...(b.target !== undefined ? {target: String(b.target)} : {}),
    labels: mapOf(b.labels, {}),
    noCache: o.noCache ?? b.no_cache === true,
    noCacheFilter: [],
    pull: o.pull ?? b.pull === true,
    network,
    addHosts: extraHosts,
    ...(shm !== undefined ? {shmSize: shm} : {}),
    secrets,
    ssh,
    outputs: [],
    ...(Object.keys(namedContexts).length > 0 ? {namedContexts} : {}),
    cacheFrom: list(b.cache_from).filter((c) => c.startsWith('type=local')).map((c) => ({type: 'local', src: /src=([^,]+)/.exec(c)?.[1] ?? ''})),
    cacheTo: list(b.cache_to).filter((c) => c.startsWith('type=local')).map((c) => ({type: 'local', dest: /dest=([^,]+)/.exec(c)?.[1] ?? ''})),
  }
}

/**
 * `additional_contexts` (a mapping or NAME=VALUE list) → the builder's named contexts:
 * directories relative to the project directory, `docker-image://REF`, and `service:NAME`,
 * which is that service's image (built first, see buildOrder).
 */
function additionalContexts(project: Project, name: string, v: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, value] of Object.entries(mapOf(v, {}))) {
    if (value.startsWith('service:')) {
      const other = value.slice('service:'.length)
      const svc = project.services[other]
      if (!svc) throw new NcxError(`service ${JSON.stringify(name)}: build.additional_contexts ${k} refers to undefined service ${other}`, {exitCode: 1})
      out[k] = `docker-image://${builtImageName(project, other, svc)}`
    } else out[k] = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) || isAbsolute(value) ? value : resolve(project.workingDir, value)
  }
  return out
}

/** Services whose images `name`'s build reads (`additional_contexts: service:X`). */
function contextServices(project: Project, name: string): string[] {
  const b = project.services[name]?.build as BuildSection | undefined
  return Object.values(mapOf(b?.additional_contexts, {})).filter((v) => v.startsWith('service:')).map((v) => v.slice('service:'.length))
}

/** `services` ordered so that a service another one's build reads (service:X) is built before it. */
export function buildOrder(project: Project, services: string[]): string[] {
  const wanted = new Set(services)
  const out: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (n: string, path: string[]) => {
    if (state.get(n) === 'done') return
    if (state.get(n) === 'visiting') throw new NcxError(`build.additional_contexts form a cycle: ${[...path, n].join(' -> ')}`, {exitCode: 1})
    state.set(n, 'visiting')
    for (const d of contextServices(project, n)) if (wanted.has(d)) visit(d, [...path, n])
    state.set(n, 'done')
    out.push(n)
  }
  for (const n of services) visit(n, [])
  return out
}

/** Give services with `build:` and no `image:` their `<project>-<service>` name in the model. */
export function nameBuiltImages(project: Project): void {
  for (const [name, svc] of Object.entries(project.services)) if (svc.build !== undefined && svc.image === undefined) svc.image = builtImageName(project, name, svc)
}

/** The services `up` builds: `--build` all of them, `pull_policy: build` always, else when the image is missing. */
export function servicesToBuild(engine: Engine, project: Project, services: string[], o: {build?: boolean; noBuild?: boolean}): string[] {
  if (o.noBuild) return []
  const chosen = services.filter((n) => {
    const svc = project.services[n]
    if (svc.build === undefined) return false
    if (o.build || svc.pull_policy === 'build') return true
    return !engine.images.find(builtImageName(project, n, svc))
  })
  return withContextServices(engine, project, chosen)
}

/** `services` and, transitively, the services whose image their builds read (service:X) that have no image yet. */
export function withContextServices(engine: Engine, project: Project, services: string[]): string[] {
  const out = [...services]
  for (let i = 0; i < out.length; i++) {
    for (const d of contextServices(project, out[i])) {
      const svc = project.services[d]
      if (!out.includes(d) && svc?.build !== undefined && !engine.images.find(builtImageName(project, d, svc))) out.push(d)
    }
  }
  return out
}

/** Build services one after another (their steps share the cache; stages inside a build run in parallel). */
export async function buildServices(project: Project, services: string[], builder: ServiceBuilder, o: ComposeBuildOverrides = {}): Promise<void> {
  for (const name of buildOrder(project, services)) await builder(name, composeBuildOptions(project, name, project.services[name], o))
}
