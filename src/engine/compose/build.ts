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
  if (b.additional_contexts !== undefined && Object.keys(mapOf(b.additional_contexts, {})).length > 0) {
    throw new NcxError(`service ${JSON.stringify(name)}: build.additional_contexts is not supported by ncx yet`, {exitCode: 1})
  }
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
    cacheFrom: list(b.cache_from).filter((c) => c.startsWith('type=local')).map((c) => ({type: 'local', src: /src=([^,]+)/.exec(c)?.[1] ?? ''})),
    cacheTo: list(b.cache_to).filter((c) => c.startsWith('type=local')).map((c) => ({type: 'local', dest: /dest=([^,]+)/.exec(c)?.[1] ?? ''})),
  }
}

/** Give services with `build:` and no `image:` their `<project>-<service>` name in the model. */
export function nameBuiltImages(project: Project): void {
  for (const [name, svc] of Object.entries(project.services)) if (svc.build !== undefined && svc.image === undefined) svc.image = builtImageName(project, name, svc)
}

/** The services `up` builds: `--build` all of them, `pull_policy: build` always, else when the image is missing. */
export function servicesToBuild(engine: Engine, project: Project, services: string[], o: {build?: boolean; noBuild?: boolean}): string[] {
  if (o.noBuild) return []
  return services.filter((n) => {
    const svc = project.services[n]
    if (svc.build === undefined) return false
    if (o.build || svc.pull_policy === 'build') return true
    return !engine.images.find(builtImageName(project, n, svc))
  })
}

/** Build services one after another (their steps share the cache; stages inside a build run in parallel). */
export async function buildServices(project: Project, services: string[], builder: ServiceBuilder, o: ComposeBuildOverrides = {}): Promise<void> {
  for (const name of services) await builder(name, composeBuildOptions(project, name, project.services[name], o))
}
