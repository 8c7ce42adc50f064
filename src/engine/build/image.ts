/**
 * The image config a build writes, as BuildKit's Dockerfile frontend writes it: the config
 * fields in Docker's order, history entries with `created_by` in BuildKit's words and the
 * `buildkit.dockerfile.v0` comment, `empty_layer` for metadata-only steps, and created times
 * taken from the layers (a step's layer carries the time it was first built), so a fully
 * cached rebuild gives the very same image ID.
 */
import {hostArchitecture} from '../image/platform.js'
import {HealthConfig} from './dockerfile/instructions.js'

export const HISTORY_COMMENT = 'buildkit.dockerfile.v0'
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

export interface HistoryEntry {
  created?: string
  created_by?: string
  author?: string
  comment?: string
  empty_layer?: boolean
}

export interface RunConfig {
  User?: string
  ExposedPorts?: Record<string, object> | null
  Env?: string[] | null
  Entrypoint?: string[] | null
  Cmd?: string[] | null
  Volumes?: Record<string, object> | null
  WorkingDir?: string
  Labels?: Record<string, string> | null
  StopSignal?: string
  ArgsEscaped?: boolean
  Healthcheck?: HealthConfig | null
  OnBuild?: string[] | null
  Shell?: string[] | null
  [k: string]: unknown
}

export interface BuildImageConfig {
  architecture?: string
  os?: string
  variant?: string
  author?: string
  created?: string
  config: RunConfig
  rootfs: {type: string; diff_ids: string[]}
  history: HistoryEntry[]
  [k: string]: unknown
}

export function emptyImage(): BuildImageConfig {
  return {architecture: hostArchitecture(), os: 'linux', config: {Env: [DEFAULT_PATH_ENV], WorkingDir: '/'}, rootfs: {type: 'layers', diff_ids: []}, history: []}
}

/** A deep copy (configs are mutated step by step). */
export function cloneImage(img: BuildImageConfig): BuildImageConfig {
  return JSON.parse(JSON.stringify(img)) as BuildImageConfig
}

/** `ENV`'s rule: a key is replaced where it is, else appended. */
export function addEnv(env: string[], key: string, value: string): string[] {
  const out = [...env]
  const i = out.findIndex((e) => e.split('=')[0] === key)
  if (i >= 0) out[i] = `${key}=${value}`
  else out.push(`${key}=${value}`)
  return out
}

export function getEnv(env: readonly string[], key: string): string | undefined {
  for (let i = env.length - 1; i >= 0; i--) {
    const e = env[i]
    const j = e.indexOf('=')
    if ((j < 0 ? e : e.slice(0, j)) === key) return j < 0 ? '' : e.slice(j + 1)
  }
  return undefined
}

/** Go's %q of a string slice: `["a" "b"]`. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`
}

/** Go's %v of a string slice: `[a b]`. */
export function goList(list: readonly string[]): string {
  return `[${list.join(' ')}]`
}

function goDuration(ns: number | undefined): string {
  if (!ns) return '0s'
  const parts: string[] = []
  let rest = ns
  const h = Math.floor(rest / 3600e9)
  rest -= h * 3600e9
  const m = Math.floor(rest / 60e9)
  rest -= m * 60e9
  const s = rest / 1e9
  if (h) parts.push(`${h}h`)
  if (h || m) parts.push(`${m}m`)
  parts.push(`${Number.isInteger(s) ? s : Number(s.toFixed(9))}s`)
  return parts.join('')
}

/** BuildKit's HEALTHCHECK history text (Go's %+v of the config). */
export function healthHistory(h: HealthConfig): string {
  return `HEALTHCHECK {Test:[${h.Test.join(' ')}] Interval:${goDuration(h.Interval)} Timeout:${goDuration(h.Timeout)} StartPeriod:${goDuration(h.StartPeriod)} StartInterval:${goDuration(h.StartInterval)} Retries:${h.Retries ?? 0}}`
}

/**
 * Created times as BuildKit's exporter fills them: entries without one take the time of the
 * first new layer (before it) or of the latest layer before them; the image's `created` is
 * the last entry's.
 */
export function normalizeHistory(history: HistoryEntry[]): {history: HistoryEntry[]; created?: string} {
  let created: string | undefined
  let gap = false
  for (const h of history) {
    if (h.created !== undefined) {
      created = h.created
      if (gap) break
    } else gap = true
  }
  gap = false
  const out = history.map((h) => {
    if (h.created !== undefined) {
      if (gap) created = h.created
      return h
    }
    gap = true
    return created === undefined ? h : {...h, created}
  })
  let last: string | undefined
  for (const h of out) if (h.created !== undefined) last = h.created
  return {history: out, created: last}
}

const CONFIG_ORDER = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'Healthcheck', 'OnBuild', 'Shell']

function ordered<T extends Record<string, unknown>>(o: T, order: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of order) if (o[k] !== undefined) out[k] = o[k]
  for (const k of Object.keys(o).sort()) if (!(k in out) && o[k] !== undefined) out[k] = o[k]
  return out
}

/** The final config bytes: keys in BuildKit's order, empty fields left out. */
export function serializeImage(img: BuildImageConfig): Buffer {
  const cfg: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(img.config)) {
    // Go's omitempty: no nulls, empty strings, false, empty lists or maps.
    if (v === null || v === undefined || v === '' || v === false) continue
    if (typeof v === 'object' && (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0)) continue
    cfg[k] = v
  }
  const top: Record<string, unknown> = {
    architecture: img.architecture,
    ...(img.author ? {author: img.author} : {}),
    config: ordered(cfg, CONFIG_ORDER),
    created: img.created,
    history: img.history.map((h) => ordered(h as Record<string, unknown>, ['created', 'created_by', 'author', 'comment', 'empty_layer'])),
    os: img.os,
    rootfs: img.rootfs,
    ...(img.variant ? {variant: img.variant} : {}),
  }
  for (const [k, v] of Object.entries(img)) if (!(k in top) && !['config', 'history', 'rootfs'].includes(k) && v !== undefined) top[k] = v
  return Buffer.from(JSON.stringify(ordered(top, [])))
}

/** EXPOSE arguments (`80`, `80/tcp`, `8000-8002/udp`, `1.2.3.4:80:80`) → `port/proto` keys. */
export function exposedPorts(ports: string[]): string[] {
  const out: string[] = []
  for (const raw of ports) {
    let p = raw
    const colon = p.lastIndexOf(':')
    if (colon >= 0) p = p.slice(colon + 1)
    const [range, protoRaw = 'tcp'] = p.split('/', 2)
    const proto = protoRaw.toLowerCase()
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new Error(`invalid proto: ${protoRaw}`)
    const m = /^(\d+)(?:-(\d+))?$/.exec(range)
    if (!m) throw new Error(`invalid containerPort: ${range}`)
    const start = Number(m[1])
    const end = m[2] === undefined ? start : Number(m[2])
    if (end < start || end > 65535) throw new Error(`invalid containerPort: ${range}`)
    for (let i = start; i <= end; i++) out.push(`${i}/${proto}`)
  }
  return out
}
