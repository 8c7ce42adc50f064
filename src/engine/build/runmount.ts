/** `RUN --mount=…` as BuildKit reads it: keys, defaults and messages. */
import {UsageError} from '../errors.js'

export interface RunMount {
  type: 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh'
  from?: string
  source?: string
  target: string
  readonly?: boolean
  id?: string
  sharing?: string
  required?: boolean
  size?: number
  mode?: number
  uid?: number
  gid?: number
  env?: string
}

/** `--mount=type=…,target=…` with BuildKit's keys, defaults and messages. */
export function parseRunMount(value: string, expand: (w: string) => string): RunMount {
  const fields = splitCsv(value)
  const m: RunMount = {type: 'bind', target: ''}
  let roAuto = true
  for (const field of fields) {
    const eq = field.indexOf('=')
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase()
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') {
        m.readonly = true
        roAuto = false
        continue
      }
      if (key === 'readwrite' || key === 'rw') {
        m.readonly = false
        roAuto = false
        continue
      }
      if (key === 'required') {
        if (m.type !== 'secret' && m.type !== 'ssh') throw new UsageError(`unexpected key '${key}' for mount type '${m.type}'`)
        m.required = true
        continue
      }
      throw new UsageError(`invalid field '${field}' must be a key=value pair`)
    }
    const v = expand(field.slice(eq + 1))
    const bool = (): boolean => {
      if (/^(1|t|T|true|TRUE|True)$/.test(v)) return true
      if (/^(0|f|F|false|FALSE|False)$/.test(v)) return false
      throw new UsageError(`invalid value for ${key}: ${v}`)
    }
    switch (key) {
      case 'type':
        if (!['bind', 'cache', 'tmpfs', 'secret', 'ssh'].includes(v.toLowerCase())) throw new UsageError(`unsupported mount type ${JSON.stringify(v)}`)
        m.type = v.toLowerCase() as RunMount['type']
        break
      case 'from':
        m.from = v
        break
      case 'source':
      case 'src':
        m.source = v
        break
      case 'target':
      case 'dst':
      case 'destination':
        m.target = v
        break
      case 'readonly':
      case 'ro':
        m.readonly = bool()
        roAuto = false
        break
      case 'readwrite':
      case 'rw':
        m.readonly = !bool()
        roAuto = false
        break
      case 'required':
        if (m.type !== 'secret' && m.type !== 'ssh') throw new UsageError(`unexpected key '${key}' for mount type '${m.type}'`)
        m.required = bool()
        break
      case 'size': {
        if (m.type !== 'tmpfs') throw new UsageError(`unexpected key '${key}' for mount type '${m.type}'`)
        const n = parseBytes(v)
        if (n === undefined) throw new UsageError(`invalid value for ${key}: ${v}`)
        m.size = n
        break
      }
      case 'id':
        m.id = v
        break
      case 'sharing':
        if (!['shared', 'private', 'locked'].includes(v.toLowerCase())) throw new UsageError(`unsupported sharing value ${JSON.stringify(v)}`)
        m.sharing = v.toLowerCase()
        break
      case 'mode':
        if (!/^[0-7]+$/.test(v)) throw new UsageError(`invalid value ${v} for mode`)
        m.mode = Number.parseInt(v, 8)
        break
      case 'uid':
      case 'gid':
        if (!/^\d+$/.test(v)) throw new UsageError(`invalid value ${v} for ${key}`)
        m[key] = Number(v)
        break
      case 'env':
        m.env = v
        break
      default:
        throw new UsageError(`unexpected key '${key}' in '${field}'`)
    }
  }
  const fileInfo = m.type === 'secret' || m.type === 'ssh' || m.type === 'cache'
  if (!fileInfo) {
    for (const k of ['mode', 'uid', 'gid'] as const) if (m[k] !== undefined) throw new UsageError(`${k} not allowed for ${JSON.stringify(m.type)} type mounts`)
  }
  if (roAuto) m.readonly = !(m.type === 'cache' || m.type === 'tmpfs')
  if (m.type === 'secret') {
    if (m.from !== undefined) throw new UsageError('secret mount should not have a from')
    if (m.sharing !== undefined) throw new UsageError('secret mount should not define sharing')
    if (m.source === undefined && m.target === '' && m.id === undefined) throw new UsageError('invalid secret mount. one of source, target required')
    if (m.source !== undefined && m.id !== undefined) throw new UsageError("both source and id can't be set")
    if (m.source !== undefined) m.id = m.source
  }
  if (m.sharing !== undefined && m.type !== 'cache') throw new UsageError(`invalid cache sharing set for ${m.type} mount`)
  if (m.target === '' && m.type !== 'secret' && m.type !== 'ssh') throw new UsageError('mount target is required')
  return m
}

/** CSV fields, with "quoted, values". */
function splitCsv(value: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]
    if (ch === '"') {
      if (quoted && value[i + 1] === '"') {
        cur += '"'
        i++
      } else quoted = !quoted
    } else if (ch === ',' && !quoted) {
      out.push(cur)
      cur = ''
    } else cur += ch
  }
  out.push(cur)
  return out.filter((f) => f !== '')
}

/** `64m`, `1g`, `1024` (Docker's RAMInBytes). */
export function parseBytes(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(v.trim())
  if (!m) return undefined
  const mult = {'': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5}[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't' | 'p']
  return Math.floor(Number(m[1]) * mult)
}
