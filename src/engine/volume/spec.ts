/**
 * Docker's mount syntaxes → one MountSpec: `-v/--volume [SRC:]DST[:OPTS]`,
 * `--mount type=bind|volume|tmpfs,…`, `--tmpfs DST[:OPTS]`. Pure functions (compose's short
 * and long volume syntax are the same two grammars); messages follow Docker's.
 */
import {isAbsolute, posix, resolve} from 'node:path'

import {UsageError} from '../errors.js'

export type MountType = 'bind' | 'volume' | 'tmpfs'

export const PROPAGATIONS = ['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'] as const
export type Propagation = (typeof PROPAGATIONS)[number]

export interface MountSpec {
  type: MountType
  /** bind: an absolute host path; volume: its name (none: anonymous). */
  source?: string
  /** Absolute path in the container. */
  target: string
  readonly: boolean
  /** Bind propagation (binds only; Docker's default rprivate). */
  propagation?: Propagation
  /** `nocopy` / `volume-nocopy`: no copy-up of the image's content into a new volume. */
  nocopy?: boolean
  /** `-v` creates a missing host directory; `--mount type=bind` refuses it (Docker). */
  createSource?: boolean
  /** `--mount …,volume-label=…,volume-opt=…`: used when the volume is created. */
  volumeLabels?: Record<string, string>
  volumeOptions?: Record<string, string>
  /** tmpfs: size in bytes, mode, extra mount options (exec, noexec, …). */
  tmpfsSize?: number
  tmpfsMode?: number
  tmpfsOptions?: string[]
  /** The `-v` text as given (HostConfig.Binds). */
  bind?: string
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/

function invalidSpec(text: string, why?: string): UsageError {
  return new UsageError(`invalid volume specification: '${text}'${why ? `: ${why}` : ''}`)
}

function checkTarget(target: string, text: string, type: MountType): string {
  if (!isAbsolute(target)) throw invalidSpec(text, `invalid mount config for type "${type}": invalid mount path: '${target}' mount path must be absolute`)
  if (target === '/') throw invalidSpec(text, `invalid mount config for type "${type}": invalid specification: destination can't be '/'`)
  // As runc: nothing is mounted on or inside /proc (it would shadow what the masked paths hide).
  const clean = posix.normalize(target).replace(/\/+$/, '')
  if (clean === '/proc' || clean.startsWith('/proc/')) throw invalidSpec(text, `${target} cannot be mounted because it is inside /proc`)
  return target.length > 1 ? target.replace(/\/+$/, '') : target
}

/** A host path as written: absolute, or relative (`.`, `./x`, `../x`) to `cwd`. */
function hostPath(source: string, cwd: string): string | undefined {
  if (isAbsolute(source)) return resolve(source)
  if (source === '.' || source === '..' || source.startsWith('./') || source.startsWith('../') || source === '~' || source.startsWith('~/')) {
    if (source === '~' || source.startsWith('~/')) return resolve(process.env.HOME ?? cwd, source.slice(2))
    return resolve(cwd, source)
  }
  return undefined
}

/** `-v/--volume`: `DST`, `SRC:DST`, `SRC:DST:OPTS`; SRC a host path or a volume name. */
export function parseVolumeFlag(text: string, cwd: string = process.cwd()): MountSpec {
  const parts = text.split(':')
  if (text === '' || parts.length > 3 || parts.some((p) => p === '')) throw invalidSpec(text)
  let source: string | undefined
  let target: string
  let mode = ''
  if (parts.length === 1) target = parts[0]
  else if (parts.length === 2) {
    if (isMode(parts[1])) throw invalidSpec(text, 'a mode needs a source: use SOURCE:DESTINATION:MODE (an anonymous volume takes no mode)')
    ;[source, target] = parts
  } else [source, target, mode] = parts
  const host = source === undefined ? undefined : hostPath(source, cwd)
  const type: MountType = host !== undefined ? 'bind' : 'volume'
  target = checkTarget(target, text, type)
  if (source !== undefined && host === undefined && !VOLUME_NAME.test(source)) {
    throw new UsageError(
      `invalid volume specification: '${text}': "${source}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    )
  }
  const spec: MountSpec = {type, target, readonly: false, bind: text}
  if (host !== undefined) {
    spec.source = host
    spec.createSource = true
  } else if (source !== undefined) spec.source = source
  let rw: string | undefined
  for (const opt of mode === '' ? [] : mode.split(',')) {
    if (opt === 'ro' || opt === 'rw') {
      if (rw !== undefined) throw new UsageError(`invalid mode: ${mode}`, 'give ro or rw once')
      rw = opt
      spec.readonly = opt === 'ro'
    } else if (opt === 'z' || opt === 'Z' || opt === 'consistent' || opt === 'cached' || opt === 'delegated') {
      // SELinux relabelling and macOS consistency: accepted, nothing to do here.
    } else if ((PROPAGATIONS as readonly string[]).includes(opt)) {
      if (type !== 'bind') throw new UsageError(`invalid mode: ${mode}`, 'propagation options apply to bind mounts only')
      if (spec.propagation !== undefined) throw new UsageError(`invalid mode: ${mode}`, 'give one propagation option')
      spec.propagation = opt as Propagation
    } else if (opt === 'nocopy') {
      if (type !== 'volume') throw new UsageError(`invalid mode: ${mode}`, 'nocopy applies to volumes only')
      spec.nocopy = true
    } else {
      throw new UsageError(`invalid mode: ${mode}`, 'options are ro, rw, z, Z, nocopy and rprivate, private, rshared, shared, rslave, slave')
    }
  }
  return spec
}

function isMode(text: string): boolean {
  return text.split(',').every((o) => ['ro', 'rw', 'z', 'Z', 'nocopy', ...PROPAGATIONS].includes(o))
}

function boolValue(key: string, value: string | undefined, text: string): boolean {
  if (value === undefined) return true
  const v = value.toLowerCase()
  if (['true', '1'].includes(v)) return true
  if (['false', '0'].includes(v)) return false
  throw mountError(text, `invalid value for ${key}: ${value}`)
}

function mountError(text: string, why: string): UsageError {
  return new UsageError(`invalid argument "${text}" for "--mount" flag: ${why}`)
}

/** Docker's RAMInBytes: `64m`, `1g`, `512k`, `1024` (bytes). */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(text.trim())
  if (!m) return undefined
  const unit = {'': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5}[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't' | 'p']
  return Math.floor(Number(m[1]) * unit)
}

/** `--mount type=…,src=…,dst=…,readonly,…` (CSV; Docker's keys and messages). */
export function parseMountFlag(text: string, cwd: string = process.cwd()): MountSpec {
  const fields = splitCsv(text)
  let type: MountType = 'volume'
  let source: string | undefined
  let target: string | undefined
  let readonly = false
  const spec: Partial<MountSpec> = {}
  const volumeOnly: string[] = []
  const tmpfsOnly: string[] = []
  const bindOnly: string[] = []
  for (const field of fields) {
    const eq = field.indexOf('=')
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase()
    const value = eq < 0 ? undefined : field.slice(eq + 1)
    const need = () => {
      if (value === undefined) throw mountError(text, `invalid field '${field}' must be a key=value pair`)
      return value
    }
    switch (key) {
      case 'type': {
        const t = need()
        if (t !== 'bind' && t !== 'volume' && t !== 'tmpfs') throw mountError(text, `invalid mount type '${t}'`) // npipe, cluster: not here
        type = t
        break
      }
      case 'source':
      case 'src':
        source = need()
        break
      case 'target':
      case 'destination':
      case 'dst':
        target = need()
        break
      case 'readonly':
      case 'ro':
        readonly = boolValue(key, value, text)
        break
      case 'consistency':
        need()
        break
      case 'bind-propagation': {
        const p = need()
        if (!(PROPAGATIONS as readonly string[]).includes(p)) throw mountError(text, `invalid bind-propagation: ${JSON.stringify(p)}`)
        spec.propagation = p as Propagation
        bindOnly.push(key)
        break
      }
      case 'bind-nonrecursive':
      case 'bind-recursive':
      case 'bind-create-mountpoint':
        bindOnly.push(key)
        if (key === 'bind-create-mountpoint') spec.createSource = boolValue(key, value, text)
        break
      case 'volume-nocopy':
        spec.nocopy = boolValue(key, value, text)
        volumeOnly.push(key)
        break
      case 'volume-driver':
        if (need() !== 'local') throw mountError(text, `volume driver ${JSON.stringify(value)} is not available: ncx has the local driver only`)
        volumeOnly.push(key)
        break
      case 'volume-label':
      case 'volume-opt': {
        const kv = need()
        const i = kv.indexOf('=')
        if (i <= 0) throw mountError(text, `invalid ${key} '${kv}': expected KEY=VALUE`)
        const bag = key === 'volume-label' ? (spec.volumeLabels ??= {}) : (spec.volumeOptions ??= {})
        bag[kv.slice(0, i)] = kv.slice(i + 1)
        volumeOnly.push(key)
        break
      }
      case 'volume-subpath':
        throw mountError(text, 'volume-subpath is not supported')
      case 'tmpfs-size': {
        const bytes = parseSize(need())
        if (bytes === undefined) throw mountError(text, `invalid tmpfs-size ${JSON.stringify(value)}: use bytes or a size such as 64m`)
        spec.tmpfsSize = bytes
        tmpfsOnly.push(key)
        break
      }
      case 'tmpfs-mode': {
        const v = need()
        if (!/^[0-7]{1,4}$/.test(v)) throw mountError(text, `invalid tmpfs-mode ${JSON.stringify(v)}: an octal mode such as 1777`)
        spec.tmpfsMode = parseInt(v, 8)
        tmpfsOnly.push(key)
        break
      }
      default:
        throw mountError(text, `unexpected key '${key}' in '${field}'`)
    }
  }
  if (target === undefined || target === '') throw mountError(text, 'target is required')
  const wrong = (keys: string[], kind: MountType) => {
    if (keys.length > 0 && type !== kind) throw new UsageError(`invalid mount config for type "${type}": field ${keys[0]} is only valid for type ${kind}`)
  }
  wrong(volumeOnly, 'volume')
  wrong(tmpfsOnly, 'tmpfs')
  wrong(bindOnly, 'bind')
  const t = checkTarget(target, text, type)
  const out: MountSpec = {...spec, type, target: t, readonly}
  if (type === 'bind') {
    if (source === undefined || source === '') throw new UsageError(`invalid mount config for type "bind": field Source must not be empty`)
    out.source = hostPath(source, cwd)
    if (out.source === undefined) throw new UsageError(`invalid mount config for type "bind": invalid mount path: '${source}' mount path must be absolute`)
  } else if (type === 'volume') {
    if (source !== undefined && source !== '') {
      if (!VOLUME_NAME.test(source)) throw new UsageError(`invalid mount config for type "volume": invalid volume name ${JSON.stringify(source)}: only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`)
      out.source = source
    }
  } else if (source !== undefined && source !== '') {
    throw new UsageError(`invalid mount config for type "tmpfs": field Source must not be specified`)
  }
  return out
}

/** Docker splits --mount values as CSV: a field may be quoted to hold commas. */
function splitCsv(text: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (const ch of text) {
    if (ch === '"') quoted = !quoted
    else if (ch === ',' && !quoted) {
      out.push(cur)
      cur = ''
    } else cur += ch
  }
  if (quoted) throw mountError(text, 'unterminated quote')
  out.push(cur)
  return out.filter((f) => f !== '')
}

const TMPFS_FLAGS = new Set(['ro', 'rw', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev', 'atime', 'noatime', 'relatime', 'strictatime', 'nodiratime', 'sync', 'async', 'dirsync'])

/** `--tmpfs DST[:OPTS]` (OPTS as mount(8): size=64m, mode=1777, exec, …). */
export function parseTmpfsFlag(text: string): MountSpec {
  const i = text.indexOf(':')
  const target = i < 0 ? text : text.slice(0, i)
  const opts = i < 0 ? [] : text.slice(i + 1).split(',').filter((o) => o !== '')
  if (target === '') throw new UsageError(`invalid argument "${text}" for "--tmpfs" flag: a destination is required`)
  const spec: MountSpec = {type: 'tmpfs', target: checkTarget(target, text, 'tmpfs'), readonly: false, tmpfsOptions: []}
  for (const o of opts) {
    const eq = o.indexOf('=')
    const k = eq < 0 ? o : o.slice(0, eq)
    const v = eq < 0 ? '' : o.slice(eq + 1)
    if (k === 'size') {
      const bytes = parseSize(v)
      if (bytes === undefined) throw new UsageError(`invalid tmpfs option ${JSON.stringify(o)}: size takes bytes or a size such as 64m`)
      spec.tmpfsSize = bytes
    } else if (k === 'mode') {
      if (!/^[0-7]{1,4}$/.test(v)) throw new UsageError(`invalid tmpfs option ${JSON.stringify(o)}: mode takes an octal mode such as 1777`)
      spec.tmpfsMode = parseInt(v, 8)
    } else if (k === 'uid' || k === 'gid' || k === 'nr_inodes') {
      if (!/^\d+$/.test(v)) throw new UsageError(`invalid tmpfs option ${JSON.stringify(o)}: ${k} takes a number`)
      spec.tmpfsOptions!.push(o)
    } else if (TMPFS_FLAGS.has(o)) {
      if (o === 'ro') spec.readonly = true
      else spec.tmpfsOptions!.push(o)
    } else {
      throw new UsageError(`invalid tmpfs option ${JSON.stringify(o)}`, 'options: size=, mode=, uid=, gid=, nr_inodes=, ro, rw, exec, noexec, suid, nosuid, dev, nodev, …')
    }
  }
  return spec
}

/** `--volumes-from CONTAINER[:ro|rw]`. */
export function parseVolumesFrom(text: string): {container: string; mode?: 'ro' | 'rw'} {
  const [container, mode, ...rest] = text.split(':')
  if (!container || rest.length > 0 || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    throw new UsageError(`invalid argument "${text}" for "--volumes-from" flag: expected CONTAINER[:ro|rw]`)
  }
  return mode === undefined ? {container} : {container, mode}
}
