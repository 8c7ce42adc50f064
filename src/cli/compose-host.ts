/**
 * A compose service's limits and security keys as the container options `run` would give
 * them: the keys are spelled as `run` flags and parsed by the same parsers, so validation
 * and messages are those of `ncx run --cap-add …` (prefixed with the service).
 */
import {NcxError} from '../engine/errors.js'
import {ServiceConfig} from '../engine/compose/types.js'
import {ContainerOptions} from '../engine/spec/generate.js'
import {ParsedFlags} from './argv.js'
import {parseResourceFlags} from './resource-flags.js'
import {parseSecurityFlags} from './security-flags.js'

/** The compose keys these options come from (their `run` flag). */
export const HOST_KEYS: Record<string, string> = {
  cap_add: 'cap-add',
  cap_drop: 'cap-drop',
  privileged: 'privileged',
  security_opt: 'security-opt',
  sysctls: 'sysctl',
  group_add: 'group-add',
  devices: 'device',
  ulimits: 'ulimit',
  oom_score_adj: 'oom-score-adj',
  init: 'init',
  mem_limit: 'memory',
  memswap_limit: 'memory-swap',
  mem_reservation: 'memory-reservation',
  cpus: 'cpus',
  cpu_shares: 'cpu-shares',
  cpu_quota: 'cpu-quota',
  cpu_period: 'cpu-period',
  cpuset: 'cpuset-cpus',
  pids_limit: 'pids-limit',
  oom_kill_disable: 'oom-kill-disable',
}

/** `run` flags for a service's limits and security keys (deploy.resources as the fallback, as Compose). */
export function hostFlags(svc: ServiceConfig): ParsedFlags {
  const f: ParsedFlags = {}
  const s = svc as Record<string, unknown>
  for (const [key, flag] of Object.entries(HOST_KEYS)) {
    const v = s[key]
    if (v === undefined || v === null) continue
    if (typeof v === 'boolean') f[flag] = v
    else if (Array.isArray(v)) f[flag] = v.map((x) => (typeof x === 'object' && x !== null ? deviceText(x as Record<string, unknown>) : String(x)))
    else if (key === 'sysctls') f[flag] = Object.entries(v as Record<string, string>).map(([k, x]) => `${k}=${x}`)
    else if (key === 'ulimits') {
      f[flag] = Object.entries(v as Record<string, number | {soft: number; hard: number}>).map(([k, x]) => (typeof x === 'number' ? `${k}=${x}` : `${k}=${x.soft}:${x.hard}`))
    } else f[flag] = String(v)
  }
  const res = svc.deploy?.resources as {limits?: {cpus?: number | string; memory?: number | string; pids?: number}; reservations?: {memory?: number | string}} | undefined
  if (res?.limits?.memory !== undefined && f.memory === undefined) f.memory = String(res.limits.memory)
  if (res?.limits?.cpus !== undefined && f.cpus === undefined) f.cpus = String(res.limits.cpus)
  if (res?.limits?.pids !== undefined && f['pids-limit'] === undefined) f['pids-limit'] = String(res.limits.pids)
  if (res?.reservations?.memory !== undefined && f['memory-reservation'] === undefined) f['memory-reservation'] = String(res.reservations.memory)
  return f
}

/** Compose's long device syntax (`source`, `target`, `permissions`) as `--device` text. */
function deviceText(d: Record<string, unknown>): string {
  return [d.source, d.target ?? d.source, d.permissions ?? 'rwm'].map(String).join(':')
}

/** The `security` and `resources` options of one service's containers. */
export function hostOptions(name: string, svc: ServiceConfig, network: string): Pick<ContainerOptions, 'security' | 'resources'> {
  const flags = hostFlags(svc)
  try {
    const security = parseSecurityFlags(flags, network)
    const resources = parseResourceFlags(flags)
    return {...(security ? {security} : {}), ...(resources ? {resources} : {})}
  } catch (error) {
    if (error instanceof NcxError) throw new NcxError(`service ${JSON.stringify(name)}: ${error.message}`, {exitCode: error.exitCode, hint: error.hint})
    throw error
  }
}
