/**
 * The canonical model `ncx compose config` prints, in Docker Compose v2's form: top-level
 * name, services, networks, volumes, secrets, configs; service keys sorted (Go maps and
 * compose-go's field order), nested structures in compose-go's field order.
 */
import {stringify} from 'yaml'

import {isObj} from './schema.js'
import {Project} from './types.js'

type Obj = Record<string, unknown>

/** compose-go's struct field order for nested objects (others are sorted maps). */
const FIELD_ORDER: Record<string, string[]> = {
  port: ['name', 'mode', 'host_ip', 'target', 'published', 'protocol', 'app_protocol'],
  volume: ['type', 'source', 'target', 'read_only', 'consistency', 'bind', 'volume', 'tmpfs', 'image'],
  depends: ['condition', 'restart', 'required'],
  healthcheck: ['test', 'timeout', 'interval', 'retries', 'start_period', 'start_interval', 'disable'],
  network: ['name', 'driver', 'driver_opts', 'ipam', 'external', 'internal', 'attachable', 'labels', 'enable_ipv6'],
  resource: ['name', 'driver', 'driver_opts', 'file', 'environment', 'content', 'external', 'labels'],
  build: ['context', 'dockerfile', 'dockerfile_inline', 'args', 'ssh', 'labels', 'cache_from', 'target', 'network', 'tags', 'platforms'],
  deploy: ['mode', 'replicas', 'labels', 'update_config', 'rollback_config', 'resources', 'restart_policy', 'placement', 'endpoint_mode'],
  restart_policy: ['condition', 'delay', 'max_attempts', 'window'],
}

function ordered(o: Obj, order: string[]): Obj {
  const out: Obj = {}
  for (const k of order) if (o[k] !== undefined) out[k] = o[k]
  for (const k of Object.keys(o).sort()) if (!(k in out) && o[k] !== undefined) out[k] = o[k]
  return out
}

function sorted(o: Obj | undefined): Obj | undefined {
  if (!o) return o
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]))
}

export function canonicalService(svc: Obj): Obj {
  const out: Obj = {}
  for (const k of Object.keys(svc).sort()) {
    const v = svc[k]
    if (v === undefined) continue
    if (['depends_on', 'healthcheck', 'build', 'deploy'].includes(k) && !isObj(v)) {
      out[k] = v
      continue
    }
    switch (k) {
      // Entries left as written (`config --no-interpolate` of `"${PORT}:80"`) stay strings.
      case 'ports':
        out[k] = Array.isArray(v) ? v.map((p) => (isObj(p) ? ordered(p, FIELD_ORDER.port) : p)) : v
        break
      case 'volumes':
        out[k] = Array.isArray(v) ? v.map((p) => (isObj(p) ? ordered(p, FIELD_ORDER.volume) : p)) : v
        break
      case 'depends_on':
        out[k] = Object.fromEntries(Object.entries(sorted(v as Obj)!).map(([n, d]) => [n, ordered(d as Obj, FIELD_ORDER.depends)]))
        break
      case 'healthcheck':
        out[k] = ordered(v as Obj, FIELD_ORDER.healthcheck)
        break
      case 'build':
        out[k] = ordered(v as Obj, FIELD_ORDER.build)
        break
      case 'deploy': {
        const d = ordered(v as Obj, FIELD_ORDER.deploy)
        if (d.restart_policy) d.restart_policy = ordered(d.restart_policy as Obj, FIELD_ORDER.restart_policy)
        out[k] = d
        break
      }
      case 'environment':
      case 'labels':
      case 'networks':
      case 'annotations':
      case 'sysctls':
        out[k] = sorted(v as Obj)
        break
      default:
        out[k] = v
    }
  }
  return out
}

/** The project as the object `config` renders (YAML or JSON). */
export function canonicalModel(project: Project): Obj {
  const out: Obj = {name: project.name}
  out.services = Object.fromEntries(Object.keys(project.services).sort().map((n) => [n, canonicalService(project.services[n])]))
  const section = (o: Record<string, object>, order: string[]) => Object.fromEntries(Object.keys(o).sort().map((n) => [n, ordered(o[n] as Obj, order)]))
  if (Object.keys(project.networks).length > 0) out.networks = section(project.networks, FIELD_ORDER.network)
  if (Object.keys(project.volumes).length > 0) out.volumes = section(project.volumes, FIELD_ORDER.resource)
  if (Object.keys(project.secrets).length > 0) out.secrets = section(project.secrets, FIELD_ORDER.resource)
  if (Object.keys(project.configs).length > 0) out.configs = section(project.configs, FIELD_ORDER.resource)
  for (const [k, v] of Object.entries(project.extensions)) out[k] = v
  return out
}

/** Literal `$` doubled, as Compose renders its model so that the output loads again unchanged. */
function escapeDollars(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(/\$/g, '$$$$')
  if (Array.isArray(v)) return v.map(escapeDollars)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, escapeDollars(x)]))
  return v
}

/** `escape: false` (`config --no-interpolate`): the values still hold their `$` references as written. */
export function renderModel(raw: Obj, format: 'yaml' | 'json', escape = true): string {
  const model = (escape ? escapeDollars(raw) : raw) as Obj
  if (format === 'json') return JSON.stringify(model, null, 2) + '\n'
  return stringify(model, {lineWidth: 0, indentSeq: true, aliasDuplicateObjects: false, nullStr: 'null'})
}
