// Over 600 lines on purpose: one checker per Compose service field, in one table-like file, found by the field's name.
/**
 * Validation and normalisation of one file's service definitions to the long syntax (the
 * Compose Specification's rules). Every error names the file, the path and the line.
 */
import {homedir} from 'node:os'
import {isAbsolute, join, resolve} from 'node:path'

import {ComposeError, ModelPath} from './errors.js'
import {DependsOn, HealthcheckConfig, PortConfig, ServiceConfig, VolumeMount} from './types.js'
import {InvalidValue, checkDnsOption, checkDnsSearch, checkDomainname, checkEnvEntry, checkHostname, checkIpAddress, checkLabelKey, checkNetworkAlias, goDurationNs, parseExtraHost} from '../spec/values.js'

/** Where values come from: for messages (file, line) and relative paths (baseDir). */
export interface SourceContext {
  file: string
  baseDir: string
  line: (path: ModelPath) => number | undefined
  /**
   * Uninterpolated (`config --no-interpolate`, `--variables`): a value that cannot be
   * normalised while it still holds a `$` reference is kept as written, as compose-go does.
   */
  uninterpolated?: boolean
}

export type Raw = unknown
type Obj = Record<string, unknown>

export function fail(ctx: SourceContext, path: ModelPath, message: string, hint?: string): never {
  throw new ComposeError(message, {file: ctx.file, path, line: ctx.line(path), hint})
}

/** A value through one of the engine's checks (spec/values.ts), refused with the file, path and line. */
function valid<T>(ctx: SourceContext, path: ModelPath, value: string, check: (v: string) => T): T {
  try {
    return check(value)
  } catch (error) {
    if (error instanceof InvalidValue) fail(ctx, path, error.message)
    throw error
  }
}

/** A string or list of strings, each through a check (the path of a list item names its index). */
function checkedList(check: (v: string) => string, allowString = true): Normalizer {
  return (ctx, path, v) => strList(ctx, path, v, allowString).map((x, i) => valid(ctx, Array.isArray(v) ? [...path, i] : path, x, check))
}

/** `extra_hosts` as a list (`HOST:IP`, `HOST=IP`) or a mapping, to `HOST=IP` entries. */
function extraHosts(ctx: SourceContext, path: ModelPath, v: Raw): string[] {
  const entries: Array<[ModelPath, string]> = Array.isArray(v)
    ? v.map((x, i) => [[...path, i], str(ctx, [...path, i], x)])
    : Object.entries(mapOrList(ctx, path, v)).map(([h, ip]) => [[...path, h], `${h}=${ip ?? ''}`])
  return entries.map(([p, e]) => {
    const {name, address} = valid(ctx, p, e, parseExtraHost)
    return `${name}=${address}`
  })
}

/** `environment`: names, and no NUL byte in an entry (no process environment can hold one). */
function environment(ctx: SourceContext, path: ModelPath, v: Raw): Record<string, string | null> {
  const env = mapOrList(ctx, path, v)
  Object.entries(env).forEach(([k, x], i) => {
    if (x !== null && isMarker(x)) return
    valid(ctx, Array.isArray(v) ? [...path, i] : [...path, k], x === null ? k : `${k}=${x}`, checkEnvEntry)
  })
  return env
}

/** `labels`: keys without whitespace (Docker's label rule). */
function labels(ctx: SourceContext, path: ModelPath, v: Raw): Record<string, string> {
  const m = stringMap(ctx, path, v)
  for (const k of Object.keys(m)) valid(ctx, [...path, k], k, checkLabelKey)
  return m
}

export function isObj(v: Raw): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function typeName(v: Raw): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return `a ${typeof v}`
}

export function str(ctx: SourceContext, path: ModelPath, v: Raw): string {
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return fail(ctx, path, `must be a string, not ${typeName(v)}`)
}

export function bool(ctx: SourceContext, path: ModelPath, v: Raw): boolean {
  if (typeof v === 'boolean') return v
  if (typeof v === 'string' && /^(true|false|yes|no|y|n|on|off)$/i.test(v)) return /^(true|yes|y|on)$/i.test(v)
  return fail(ctx, path, `must be a boolean, not ${JSON.stringify(v)}`)
}

export function int(ctx: SourceContext, path: ModelPath, v: Raw): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim())
  return fail(ctx, path, `must be an integer, not ${JSON.stringify(v)}`)
}

function strList(ctx: SourceContext, path: ModelPath, v: Raw, allowString = true): string[] {
  if (allowString && (typeof v === 'string' || typeof v === 'number')) return [String(v)]
  if (!Array.isArray(v)) return fail(ctx, path, `must be ${allowString ? 'a string or ' : ''}a list of strings, not ${typeName(v)}`)
  return v.map((x, i) => str(ctx, [...path, i], x))
}

/** `KEY=VALUE` list or mapping → mapping (values as strings, null for a bare KEY). */
export function mapOrList(ctx: SourceContext, path: ModelPath, v: Raw, sep = '='): Record<string, string | null> {
  const out: Record<string, string | null> = {}
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      const s = str(ctx, [...path, i], item)
      const at = s.indexOf(sep)
      if (at === 0) fail(ctx, [...path, i], `invalid entry ${JSON.stringify(s)}: empty name`)
      if (at < 0) out[s] = null
      else out[s.slice(0, at)] = s.slice(at + 1)
    })
    return out
  }
  if (!isObj(v)) return fail(ctx, path, `must be a mapping or a list of "KEY${sep}VALUE" strings, not ${typeName(v)}`)
  for (const [k, x] of Object.entries(v)) {
    if (x === null || x === undefined) out[k] = null
    else if (typeof x === 'object') fail(ctx, [...path, k], `must be a string, number, boolean or null, not ${typeName(x)}`)
    else out[k] = String(x)
  }
  return out
}

function stringMap(ctx: SourceContext, path: ModelPath, v: Raw): Record<string, string> {
  const m = mapOrList(ctx, path, v)
  return Object.fromEntries(Object.entries(m).map(([k, x]) => [k, x ?? '']))
}

/** A POSIX shell word split, as Compose does for `command: "sh -c 'echo hi'"`. */
export function shellSplit(ctx: SourceContext, path: ModelPath, s: string): string[] {
  const words: string[] = []
  let cur = ''
  let inWord = false
  let q: string | null = null
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (q === "'") {
      if (c === "'") q = null
      else cur += c
    } else if (q === '"') {
      if (c === '"') q = null
      else if (c === '\\' && i + 1 < s.length && '"\\$`'.includes(s[i + 1])) cur += s[++i]
      else cur += c
    } else if (c === "'" || c === '"') {
      q = c
      inWord = true
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur)
      cur = ''
      inWord = false
    } else {
      cur += c
      inWord = true
    }
  }
  if (q) fail(ctx, path, `unterminated ${q === '"' ? 'double' : 'single'} quote in ${JSON.stringify(s)}`)
  if (inWord) words.push(cur)
  return words
}

/** Go duration text → milliseconds (`1m30s`, `500ms`; a bare number is seconds, as Compose accepts). */
export function durationMs(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000
  const ns = goDurationNs(text)
  return ns === undefined ? undefined : ns / 1e6
}

/** Go's time.Duration.String() for whole milliseconds: `1m30s`, `500ms`, `1h0m0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s'
  if (ms < 1000) return `${ms}ms`
  const h = Math.floor(ms / 3_600_000)
  const m = Math.floor((ms % 3_600_000) / 60_000)
  const s = (ms % 60_000) / 1000
  const sec = `${Number(s.toFixed(3))}s`
  if (h > 0) return `${h}h${m}m${sec}`
  if (m > 0) return `${m}m${sec}`
  return sec
}

function duration(ctx: SourceContext, path: ModelPath, v: Raw): string {
  const text = str(ctx, path, v)
  const ms = durationMs(text)
  if (ms === undefined) fail(ctx, path, `invalid duration ${JSON.stringify(text)}`, 'use a Go duration such as 10s, 1m30s or 500ms')
  return formatDuration(ms)
}

function hostPath(ctx: SourceContext, p: string): string {
  if (p === '~' || p.startsWith('~/')) return join(homedir(), p.slice(1))
  return isAbsolute(p) ? p : resolve(ctx.baseDir, p)
}

/** `[ip:][published:]target[/proto]` with ranges → long port entries. */
export function parsePortShort(ctx: SourceContext, path: ModelPath, spec: string): PortConfig[] {
  const bad = (why: string) => fail(ctx, path, `invalid port ${JSON.stringify(spec)}: ${why}`, 'use [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. "8080:80" or "127.0.0.1:8080:80/udp"')
  let rest = spec
  let protocol: 'tcp' | 'udp' = 'tcp'
  const slash = rest.lastIndexOf('/')
  if (slash >= 0) {
    const p = rest.slice(slash + 1)
    if (p !== 'tcp' && p !== 'udp') bad(`unknown protocol ${JSON.stringify(p)}`)
    protocol = p as 'tcp' | 'udp'
    rest = rest.slice(0, slash)
  }
  let hostIp: string | undefined
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest)
  let parts: string[]
  if (v6) {
    hostIp = v6[1]
    parts = v6[2].split(':')
  } else {
    parts = rest.split(':')
    if (parts.length === 3) hostIp = parts.shift()
  }
  if (parts.length > 2) bad('too many colons')
  const target = parts.pop()!
  const published = parts.length > 0 ? parts.pop()! : ''
  const range = (s: string, what: string): [number, number] => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(s)
    if (!m) return bad(`${what} ${JSON.stringify(s)} is not a port number or range`)
    const lo = Number(m[1])
    const hi = m[2] === undefined ? lo : Number(m[2])
    if (lo < 0 || hi > 65535 || hi < lo) bad(`${what} ${JSON.stringify(s)} is out of range`)
    return [lo, hi]
  }
  const [tlo, thi] = range(target, 'container port')
  if (tlo === 0) bad('container port 0 is out of range')
  const pub = published === '' ? undefined : range(published, 'host port')
  const out: PortConfig[] = []
  for (let i = 0; i <= thi - tlo; i++) {
    const e: PortConfig = {mode: 'ingress', target: tlo + i, protocol}
    if (hostIp !== undefined && hostIp !== '') e.host_ip = hostIp
    if (pub) {
      if (pub[1] - pub[0] === thi - tlo) e.published = String(pub[0] + i)
      else if (tlo === thi) e.published = pub[0] === pub[1] ? String(pub[0]) : `${pub[0]}-${pub[1]}`
      else bad('host and container port ranges differ in size')
    }
    out.push(e)
  }
  return out
}

function ports(ctx: SourceContext, path: ModelPath, v: Raw): PortConfig[] {
  if (!Array.isArray(v)) return fail(ctx, path, `must be a list, not ${typeName(v)}`)
  return v.flatMap((item, i) => {
    const p = [...path, i]
    if (typeof item === 'number') return parsePortShort(ctx, p, String(item))
    if (typeof item === 'string') return parsePortShort(ctx, p, item)
    if (!isObj(item)) return fail(ctx, p, `must be a string, a number or a mapping, not ${typeName(item)}`)
    checkKeys(ctx, p, item, ['target', 'published', 'host_ip', 'protocol', 'mode', 'name', 'app_protocol'])
    if (item.target === undefined) fail(ctx, p, 'target is required')
    const e: PortConfig = {mode: (item.mode === undefined ? 'ingress' : str(ctx, [...p, 'mode'], item.mode)) as PortConfig['mode'], target: int(ctx, [...p, 'target'], item.target), protocol: 'tcp'}
    if (e.mode !== 'ingress' && e.mode !== 'host') fail(ctx, [...p, 'mode'], `must be ingress or host, not ${JSON.stringify(e.mode)}`)
    if (item.host_ip !== undefined) e.host_ip = str(ctx, [...p, 'host_ip'], item.host_ip)
    if (item.published !== undefined && item.published !== null && item.published !== '') {
      e.published = str(ctx, [...p, 'published'], item.published)
      if (!/^\d+(-\d+)?$/.test(e.published)) fail(ctx, [...p, 'published'], `invalid published port ${JSON.stringify(e.published)}`)
    }
    if (item.protocol !== undefined) {
      const proto = str(ctx, [...p, 'protocol'], item.protocol)
      if (proto !== 'tcp' && proto !== 'udp') fail(ctx, [...p, 'protocol'], `must be tcp or udp, not ${JSON.stringify(proto)}`)
      e.protocol = proto
    }
    if (item.name !== undefined) e.name = str(ctx, [...p, 'name'], item.name)
    if (item.app_protocol !== undefined) e.app_protocol = str(ctx, [...p, 'app_protocol'], item.app_protocol)
    return [e]
  })
}

/** `[SOURCE:]TARGET[:MODE]` → a long volume entry. */
export function parseVolumeShort(ctx: SourceContext, path: ModelPath, spec: string): VolumeMount {
  const parts = spec.split(':')
  if (parts.length > 3 || spec === '') fail(ctx, path, `invalid volume specification ${JSON.stringify(spec)}`, 'use [SOURCE:]TARGET[:MODE], e.g. "data:/var/lib/data" or "./conf:/etc/app:ro"')
  if (parts.length === 1) return {type: 'volume', target: parts[0], volume: {}}
  const [source, target, mode = ''] = parts
  if (!target.startsWith('/')) fail(ctx, path, `invalid volume specification ${JSON.stringify(spec)}: the target ${JSON.stringify(target)} is not an absolute path`)
  const isPath = source.startsWith('.') || source.startsWith('/') || source.startsWith('~')
  const m: VolumeMount = isPath ? {type: 'bind', source: hostPath(ctx, source), target} : {type: 'volume', source, target}
  const opts = mode === '' ? [] : mode.split(',')
  for (const o of opts) {
    if (o === 'ro') m.read_only = true
    else if (o === 'rw') continue
    else if (['z', 'Z'].includes(o)) m.bind = {...m.bind, selinux: o}
    else if (['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate'].includes(o)) m.bind = {...m.bind, propagation: o}
    else if (o === 'nocopy') m.volume = {...m.volume, nocopy: true}
    else if (['cached', 'delegated', 'consistent'].includes(o)) m.consistency = o
    else fail(ctx, path, `invalid volume mode ${JSON.stringify(o)} in ${JSON.stringify(spec)}`, 'use ro, rw, z, Z, nocopy or a propagation mode')
  }
  if (m.type === 'bind') m.bind = {...m.bind, create_host_path: true}
  else m.volume = m.volume ?? {}
  return m
}

function volumes(ctx: SourceContext, path: ModelPath, v: Raw): VolumeMount[] {
  if (!Array.isArray(v)) return fail(ctx, path, `must be a list, not ${typeName(v)}`)
  return v.map((item, i) => {
    const p = [...path, i]
    if (typeof item === 'string') return parseVolumeShort(ctx, p, item)
    if (!isObj(item)) return fail(ctx, p, `must be a string or a mapping, not ${typeName(item)}`)
    checkKeys(ctx, p, item, ['type', 'source', 'target', 'read_only', 'consistency', 'bind', 'volume', 'tmpfs', 'image'])
    const type = str(ctx, [...p, 'type'], item.type ?? fail(ctx, p, 'type is required (volume, bind or tmpfs)'))
    if (!['volume', 'bind', 'tmpfs', 'image', 'npipe', 'cluster'].includes(type)) fail(ctx, [...p, 'type'], `must be volume, bind or tmpfs, not ${JSON.stringify(type)}`)
    if (item.target === undefined) fail(ctx, p, 'target is required')
    const m: VolumeMount = {type: type as VolumeMount['type'], target: str(ctx, [...p, 'target'], item.target)}
    if (item.source !== undefined && item.source !== null && item.source !== '') {
      const s = str(ctx, [...p, 'source'], item.source)
      m.source = type === 'bind' ? hostPath(ctx, s) : s
    } else if (type === 'bind') fail(ctx, p, 'source is required for a bind mount')
    if (item.read_only !== undefined) m.read_only = bool(ctx, [...p, 'read_only'], item.read_only)
    if (item.consistency !== undefined) m.consistency = str(ctx, [...p, 'consistency'], item.consistency)
    if (item.bind !== undefined) {
      if (!isObj(item.bind)) fail(ctx, [...p, 'bind'], 'must be a mapping')
      m.bind = {...(item.bind as object)}
    }
    if (item.volume !== undefined) {
      if (!isObj(item.volume)) fail(ctx, [...p, 'volume'], 'must be a mapping')
      m.volume = {...(item.volume as object)}
    }
    if (item.tmpfs !== undefined) {
      if (!isObj(item.tmpfs)) fail(ctx, [...p, 'tmpfs'], 'must be a mapping')
      m.tmpfs = {...(item.tmpfs as object)}
    }
    if (type === 'volume') m.volume = m.volume ?? {}
    return m
  })
}

function dependsOn(ctx: SourceContext, path: ModelPath, v: Raw): Record<string, DependsOn> {
  const out: Record<string, DependsOn> = {}
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out[str(ctx, [...path, i], x)] = {condition: 'service_started', required: true}
    })
    return out
  }
  if (!isObj(v)) return fail(ctx, path, `must be a list of service names or a mapping, not ${typeName(v)}`)
  for (const [name, x] of Object.entries(v)) {
    const p = [...path, name]
    const d: DependsOn = {condition: 'service_started', required: true}
    if (x !== null) {
      if (!isObj(x)) fail(ctx, p, `must be a mapping, not ${typeName(x)}`)
      checkKeys(ctx, p, x, ['condition', 'restart', 'required'])
      if (x.condition !== undefined) {
        const c = str(ctx, [...p, 'condition'], x.condition)
        if (!['service_started', 'service_healthy', 'service_completed_successfully'].includes(c)) {
          fail(ctx, [...p, 'condition'], `must be service_started, service_healthy or service_completed_successfully, not ${JSON.stringify(c)}`)
        }
        d.condition = c as DependsOn['condition']
      }
      if (x.required !== undefined) d.required = bool(ctx, [...p, 'required'], x.required)
      if (x.restart !== undefined) d.restart = bool(ctx, [...p, 'restart'], x.restart)
    }
    out[name] = d
  }
  return out
}

function healthcheck(ctx: SourceContext, path: ModelPath, v: Raw): HealthcheckConfig {
  if (!isObj(v)) return fail(ctx, path, `must be a mapping, not ${typeName(v)}`)
  checkKeys(ctx, path, v, ['test', 'interval', 'timeout', 'start_period', 'start_interval', 'retries', 'disable'])
  const h: HealthcheckConfig = {}
  if (v.test !== undefined) {
    if (typeof v.test === 'string') h.test = ['CMD-SHELL', v.test]
    else {
      h.test = strList(ctx, [...path, 'test'], v.test, false)
      if (h.test.length > 0 && !['CMD', 'CMD-SHELL', 'NONE'].includes(h.test[0])) fail(ctx, [...path, 'test'], `the first element must be CMD, CMD-SHELL or NONE, not ${JSON.stringify(h.test[0])}`)
    }
  }
  for (const k of ['interval', 'timeout', 'start_period', 'start_interval'] as const) if (v[k] !== undefined) h[k] = duration(ctx, [...path, k], v[k])
  if (v.retries !== undefined) h.retries = int(ctx, [...path, 'retries'], v.retries)
  if (v.disable !== undefined) h.disable = bool(ctx, [...path, 'disable'], v.disable)
  return h
}

function networks(ctx: SourceContext, path: ModelPath, v: Raw): ServiceConfig['networks'] {
  const out: NonNullable<ServiceConfig['networks']> = {}
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out[str(ctx, [...path, i], x)] = null
    })
    return out
  }
  if (!isObj(v)) return fail(ctx, path, `must be a list or a mapping, not ${typeName(v)}`)
  for (const [name, x] of Object.entries(v)) {
    const p = [...path, name]
    if (x === null) {
      out[name] = null
      continue
    }
    if (!isObj(x)) fail(ctx, p, `must be a mapping or null, not ${typeName(x)}`)
    checkKeys(ctx, p, x, ['aliases', 'ipv4_address', 'ipv6_address', 'link_local_ips', 'mac_address', 'priority', 'driver_opts', 'gw_priority', 'interface_name'])
    const n: Record<string, unknown> = {...x}
    if (x.aliases !== undefined) n.aliases = strList(ctx, [...p, 'aliases'], x.aliases, false).map((a, i) => valid(ctx, [...p, 'aliases', i], a, checkNetworkAlias))
    if (x.ipv4_address !== undefined) n.ipv4_address = str(ctx, [...p, 'ipv4_address'], x.ipv4_address)
    if (x.priority !== undefined) n.priority = int(ctx, [...p, 'priority'], x.priority)
    out[name] = n
  }
  return out
}

function envFiles(ctx: SourceContext, path: ModelPath, v: Raw): Array<{path: string; required: boolean; format?: string}> {
  const list = Array.isArray(v) ? v : [v]
  return list.map((x, i) => {
    const p = Array.isArray(v) ? [...path, i] : path
    if (typeof x === 'string') return {path: hostPath(ctx, x), required: true}
    if (!isObj(x)) return fail(ctx, p, `must be a path or a mapping, not ${typeName(x)}`)
    checkKeys(ctx, p, x, ['path', 'required', 'format'])
    if (x.path === undefined) fail(ctx, p, 'path is required')
    return {path: hostPath(ctx, str(ctx, [...p, 'path'], x.path)), required: x.required === undefined ? true : bool(ctx, [...p, 'required'], x.required), ...(x.format !== undefined ? {format: str(ctx, [...p, 'format'], x.format)} : {})}
  })
}

export function checkKeys(ctx: SourceContext, path: ModelPath, v: Obj, allowed: readonly string[]): void {
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k) && !k.startsWith('x-')) fail(ctx, [...path, k], `additional property ${JSON.stringify(k)} is not allowed`, `allowed here: ${allowed.join(', ')}`)
  }
}

function anyObj(ctx: SourceContext, path: ModelPath, v: Raw): Obj {
  if (!isObj(v)) return fail(ctx, path, `must be a mapping, not ${typeName(v)}`)
  return v
}

function size(ctx: SourceContext, path: ModelPath, v: Raw): string | number {
  if (typeof v === 'number') return v
  const s = str(ctx, path, v)
  if (!/^\d+(\.\d+)?\s*([bkmgt]i?b?)?$/i.test(s)) fail(ctx, path, `invalid size ${JSON.stringify(s)}`, 'use bytes or a size such as 512m or 1g')
  return s
}

function numberish(ctx: SourceContext, path: ModelPath, v: Raw): number | string {
  if (typeof v === 'number') return v
  const s = str(ctx, path, v)
  if (!/^\d+(\.\d+)?$/.test(s)) fail(ctx, path, `must be a number, not ${JSON.stringify(s)}`)
  return Number(s)
}

function deploy(ctx: SourceContext, path: ModelPath, v: Raw): NonNullable<ServiceConfig['deploy']> {
  const d = anyObj(ctx, path, v)
  checkKeys(ctx, path, d, ['mode', 'replicas', 'labels', 'rollback_config', 'update_config', 'resources', 'restart_policy', 'placement', 'endpoint_mode'])
  const out: NonNullable<ServiceConfig['deploy']> = {...d}
  if (d.replicas !== undefined) out.replicas = int(ctx, [...path, 'replicas'], d.replicas)
  if (d.labels !== undefined) out.labels = stringMap(ctx, [...path, 'labels'], d.labels)
  if (d.restart_policy !== undefined) {
    const rp = anyObj(ctx, [...path, 'restart_policy'], d.restart_policy)
    checkKeys(ctx, [...path, 'restart_policy'], rp, ['condition', 'delay', 'max_attempts', 'window'])
    const r: NonNullable<NonNullable<ServiceConfig['deploy']>['restart_policy']> = {}
    if (rp.condition !== undefined) {
      r.condition = str(ctx, [...path, 'restart_policy', 'condition'], rp.condition)
      if (!['none', 'on-failure', 'any'].includes(r.condition)) fail(ctx, [...path, 'restart_policy', 'condition'], `must be none, on-failure or any, not ${JSON.stringify(r.condition)}`)
    }
    if (rp.delay !== undefined) r.delay = duration(ctx, [...path, 'restart_policy', 'delay'], rp.delay)
    if (rp.max_attempts !== undefined) r.max_attempts = int(ctx, [...path, 'restart_policy', 'max_attempts'], rp.max_attempts)
    if (rp.window !== undefined) r.window = duration(ctx, [...path, 'restart_policy', 'window'], rp.window)
    out.restart_policy = r
  }
  if (d.resources !== undefined) {
    const res = anyObj(ctx, [...path, 'resources'], d.resources)
    checkKeys(ctx, [...path, 'resources'], res, ['limits', 'reservations'])
    const r: Obj = {}
    for (const kind of ['limits', 'reservations'] as const) {
      if (res[kind] === undefined) continue
      const p = [...path, 'resources', kind]
      const l = anyObj(ctx, p, res[kind])
      checkKeys(ctx, p, l, kind === 'limits' ? ['cpus', 'memory', 'pids'] : ['cpus', 'memory', 'devices', 'generic_resources'])
      const o: Obj = {...l}
      if (l.cpus !== undefined) o.cpus = numberish(ctx, [...p, 'cpus'], l.cpus)
      if (l.memory !== undefined) o.memory = size(ctx, [...p, 'memory'], l.memory)
      if (l.pids !== undefined) o.pids = int(ctx, [...p, 'pids'], l.pids)
      r[kind] = o
    }
    out.resources = r
  }
  return out
}

function build(ctx: SourceContext, path: ModelPath, v: Raw): NonNullable<ServiceConfig['build']> {
  if (typeof v === 'string') return {context: hostPath(ctx, v), dockerfile: 'Dockerfile'}
  const b = anyObj(ctx, path, v)
  checkKeys(ctx, path, b, ['context', 'dockerfile', 'dockerfile_inline', 'args', 'ssh', 'labels', 'cache_from', 'cache_to', 'no_cache', 'additional_contexts', 'network', 'pull', 'target', 'shm_size', 'extra_hosts', 'isolation', 'privileged', 'secrets', 'tags', 'ulimits', 'platforms', 'entitlements', 'provenance', 'sbom'])
  return {...b, context: hostPath(ctx, b.context === undefined ? '.' : str(ctx, [...path, 'context'], b.context)), ...(b.dockerfile_inline === undefined ? {dockerfile: b.dockerfile === undefined ? 'Dockerfile' : str(ctx, [...path, 'dockerfile'], b.dockerfile)} : {})}
}

function command(ctx: SourceContext, path: ModelPath, v: Raw): string[] | null {
  if (v === null) return null
  if (typeof v === 'string') return shellSplit(ctx, path, v)
  return strList(ctx, path, v, false)
}

function logging(ctx: SourceContext, path: ModelPath, v: Raw): NonNullable<ServiceConfig['logging']> {
  const l = anyObj(ctx, path, v)
  checkKeys(ctx, path, l, ['driver', 'options'])
  const out: NonNullable<ServiceConfig['logging']> = {}
  if (l.driver !== undefined) out.driver = str(ctx, [...path, 'driver'], l.driver)
  if (l.options !== undefined && l.options !== null) out.options = stringMap(ctx, [...path, 'options'], l.options)
  return out
}

function ulimits(ctx: SourceContext, path: ModelPath, v: Raw): Obj {
  const u = anyObj(ctx, path, v)
  const out: Obj = {}
  for (const [k, x] of Object.entries(u)) {
    if (isObj(x)) {
      checkKeys(ctx, [...path, k], x, ['soft', 'hard'])
      out[k] = {soft: int(ctx, [...path, k, 'soft'], x.soft), hard: int(ctx, [...path, k, 'hard'], x.hard)}
    } else out[k] = int(ctx, [...path, k], x)
  }
  return out
}

function fileRefs(ctx: SourceContext, path: ModelPath, v: Raw): Obj[] {
  if (!Array.isArray(v)) return fail(ctx, path, `must be a list, not ${typeName(v)}`)
  return v.map((x, i) => {
    if (typeof x === 'string') return {source: x}
    const o = anyObj(ctx, [...path, i], x)
    checkKeys(ctx, [...path, i], o, ['source', 'target', 'uid', 'gid', 'mode'])
    if (o.source === undefined) fail(ctx, [...path, i], 'source is required')
    return {...o}
  })
}

const asStr = (ctx: SourceContext, p: ModelPath, v: Raw) => str(ctx, p, v)
const asBool = (ctx: SourceContext, p: ModelPath, v: Raw) => bool(ctx, p, v)
const asInt = (ctx: SourceContext, p: ModelPath, v: Raw) => int(ctx, p, v)
const asList = (ctx: SourceContext, p: ModelPath, v: Raw) => strList(ctx, p, v)
const asStrictList = (ctx: SourceContext, p: ModelPath, v: Raw) => strList(ctx, p, v, false)
const asMap = (ctx: SourceContext, p: ModelPath, v: Raw) => stringMap(ctx, p, v)
const asAny = (_ctx: SourceContext, _p: ModelPath, v: Raw) => v

type Normalizer = (ctx: SourceContext, path: ModelPath, v: Raw) => unknown

/**
 * Every service key of the Compose Specification: how it is normalised, and whether ncx
 * honours it yet (`false`: accepted, listed once as a warning, never silently dropped).
 */
export const SERVICE_KEYS: Record<string, {normalize: Normalizer; supported: boolean}> = {
  annotations: {normalize: asMap, supported: true},
  attach: {normalize: asBool, supported: true},
  blkio_config: {normalize: anyObj, supported: false},
  build: {normalize: build, supported: true},
  cap_add: {normalize: asStrictList, supported: true},
  cap_drop: {normalize: asStrictList, supported: true},
  cgroup: {normalize: asStr, supported: true},
  cgroup_parent: {normalize: asStr, supported: true},
  command: {normalize: command, supported: true},
  configs: {normalize: fileRefs, supported: true},
  container_name: {normalize: asStr, supported: true},
  cpu_count: {normalize: asInt, supported: false},
  cpu_percent: {normalize: asInt, supported: false},
  cpu_period: {normalize: asInt, supported: true},
  cpu_quota: {normalize: asInt, supported: true},
  cpu_rt_period: {normalize: asStr, supported: false},
  cpu_rt_runtime: {normalize: asStr, supported: false},
  cpu_shares: {normalize: asInt, supported: true},
  cpus: {normalize: numberish, supported: true},
  cpuset: {normalize: asStr, supported: true},
  credential_spec: {normalize: anyObj, supported: false},
  depends_on: {normalize: dependsOn, supported: true},
  deploy: {normalize: deploy, supported: true},
  develop: {normalize: anyObj, supported: false},
  device_cgroup_rules: {normalize: asStrictList, supported: false},
  devices: {normalize: asAny, supported: true},
  dns: {normalize: checkedList(checkIpAddress), supported: true},
  dns_opt: {normalize: checkedList(checkDnsOption, false), supported: true},
  dns_search: {normalize: checkedList(checkDnsSearch), supported: true},
  domainname: {normalize: (c, p, v) => valid(c, p, str(c, p, v), checkDomainname), supported: true},
  entrypoint: {normalize: command, supported: true},
  env_file: {normalize: envFiles, supported: true},
  environment: {normalize: environment, supported: true},
  expose: {normalize: asStrictList, supported: true},
  extends: {normalize: asAny, supported: true},
  external_links: {normalize: asStrictList, supported: false},
  extra_hosts: {normalize: extraHosts, supported: true},
  gpus: {normalize: asAny, supported: false},
  group_add: {normalize: (c, p, v) => (Array.isArray(v) ? v.map((x, i) => str(c, [...p, i], x)) : fail(c, p, 'must be a list')), supported: true},
  healthcheck: {normalize: healthcheck, supported: true},
  hostname: {normalize: (c, p, v) => valid(c, p, str(c, p, v), checkHostname), supported: true},
  image: {normalize: asStr, supported: true},
  init: {normalize: asBool, supported: true},
  ipc: {normalize: asStr, supported: true},
  isolation: {normalize: asStr, supported: false},
  label_file: {normalize: (c, p, v) => strList(c, p, v).map((f) => hostPath(c, f)), supported: true},
  labels: {normalize: labels, supported: true},
  links: {normalize: asStrictList, supported: true},
  logging: {normalize: logging, supported: true},
  mac_address: {normalize: asStr, supported: true},
  mem_limit: {normalize: size, supported: true},
  mem_reservation: {normalize: size, supported: true},
  mem_swappiness: {normalize: asInt, supported: false},
  memswap_limit: {normalize: size, supported: true},
  network_mode: {normalize: asStr, supported: true},
  networks: {normalize: networks, supported: true},
  oom_kill_disable: {normalize: asBool, supported: true},
  oom_score_adj: {normalize: asInt, supported: true},
  pid: {normalize: asStr, supported: true},
  pids_limit: {normalize: asInt, supported: true},
  platform: {normalize: asStr, supported: true},
  ports: {normalize: ports, supported: true},
  post_start: {normalize: asAny, supported: false},
  pre_stop: {normalize: asAny, supported: false},
  privileged: {normalize: asBool, supported: true},
  profiles: {normalize: asStrictList, supported: true},
  pull_policy: {normalize: (c, p, v) => {
    const s = str(c, p, v)
    if (!['always', 'never', 'missing', 'if_not_present', 'build', 'daily', 'weekly'].includes(s) && !/^every_\w+$/.test(s)) fail(c, p, `invalid pull policy ${JSON.stringify(s)}`, 'use always, never, missing or build')
    return s
  }, supported: true},
  read_only: {normalize: asBool, supported: true},
  restart: {normalize: (c, p, v) => {
    const s = str(c, p, v)
    if (!/^(no|always|unless-stopped|on-failure(:\d+)?)$/.test(s)) fail(c, p, `invalid restart policy ${JSON.stringify(s)}`, 'use no, always, on-failure[:max-retries] or unless-stopped')
    return s
  }, supported: true},
  runtime: {normalize: asStr, supported: true},
  scale: {normalize: asInt, supported: true},
  secrets: {normalize: fileRefs, supported: true},
  security_opt: {normalize: asStrictList, supported: true},
  shm_size: {normalize: size, supported: true},
  stdin_open: {normalize: asBool, supported: true},
  stop_grace_period: {normalize: duration, supported: true},
  stop_signal: {normalize: asStr, supported: true},
  storage_opt: {normalize: anyObj, supported: false},
  sysctls: {normalize: asMap, supported: true},
  tmpfs: {normalize: asList, supported: true},
  tty: {normalize: asBool, supported: true},
  ulimits: {normalize: ulimits, supported: true},
  user: {normalize: asStr, supported: true},
  userns_mode: {normalize: (c, p, v) => {
    const s = str(c, p, v)
    if (!['', 'host', 'keep-id'].includes(s)) fail(c, p, `unsupported userns_mode ${JSON.stringify(s)}`, 'ncx supports keep-id and host')
    return s
  }, supported: true},
  uts: {normalize: asStr, supported: true},
  volume_driver: {normalize: asStr, supported: false},
  volumes: {normalize: volumes, supported: true},
  volumes_from: {normalize: asStrictList, supported: true},
  working_dir: {normalize: asStr, supported: true},
}

/** Normalise one service of one file (before extends and merging). */
export function normalizeService(ctx: SourceContext, name: string, raw: Raw): Obj {
  const path = ['services', name]
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) fail(ctx, path, `invalid service name ${JSON.stringify(name)}`, 'use letters, digits, ".", "_" and "-"')
  if (raw === null) return {}
  if (!isObj(raw)) return fail(ctx, path, `must be a mapping, not ${typeName(raw)}`)
  const out: Obj = {}
  for (const [k, v] of Object.entries(raw)) {
    if (k.startsWith('x-')) {
      out[k] = v
      continue
    }
    const spec = SERVICE_KEYS[k]
    if (!spec) fail(ctx, [...path, k], `additional property ${JSON.stringify(k)} is not allowed`, 'a service key of the Compose Specification, or an extension starting with x-')
    if (v === RESET) {
      out[k] = v
      continue
    }
    if (isObj(v) && OVERRIDE_KEY in v) {
      out[k] = {[OVERRIDE_KEY]: normalizeOrKeep(ctx, v[OVERRIDE_KEY], () => spec.normalize(ctx, [...path, k], v[OVERRIDE_KEY]))}
      continue
    }
    if (v === null && k !== 'command' && k !== 'entrypoint') {
      out[k] = null
      continue
    }
    out[k] = normalizeOrKeep(ctx, v, () => spec.normalize(ctx, [...path, k], v))
  }
  return out
}

function normalizeOrKeep(ctx: SourceContext, v: Raw, normalize: () => unknown): unknown {
  if (!ctx.uninterpolated) return normalize()
  try {
    return normalize()
  } catch (error) {
    if (error instanceof ComposeError && JSON.stringify(v).includes('$')) return v
    throw error
  }
}

/** `!reset` and `!override` from the YAML, carried through normalisation to the merge. */
export const RESET = '\u0000!reset'
export const OVERRIDE_KEY = '\u0000!override'
export function isMarker(v: Raw): boolean {
  return v === RESET || (isObj(v) && OVERRIDE_KEY in v)
}

