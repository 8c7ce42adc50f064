/**
 * Events (`ncx events`): one JSON object a line in `<data root>/events.jsonl`, in Docker's
 * event shape. Containers: the engine appends create/stop/kill/destroy/rename (and start/die
 * of foreground runs); a detached container's monitor (ncx-runtime) appends its start and
 * die (every restart too), from the template the engine hands it (`--event-template`).
 * Images (pull, push, tag, untag, delete, load, save, import), networks (create, destroy,
 * connect, disconnect: Actor.ID the network, Attributes container, name, type)
 * and volumes (create, destroy): the engine, as Docker's daemon does. Each line is one O_APPEND write,
 * so concurrent writers never interleave. Above MAX_BYTES the file is renamed to
 * `events.jsonl.1` (one older generation kept), as json-file logs rotate.
 */
import {appendFileSync, closeSync, existsSync, openSync, readFileSync, readSync, renameSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {ContainerRecord} from './container/store.js'
import {UsageError} from './errors.js'
import {StorePaths} from './store/paths.js'

export const MAX_BYTES = 4 * 1024 * 1024

export type EventType = 'container' | 'image' | 'network' | 'volume'

/** Docker's event message (`docker events --format '{{json .}}'`). */
export interface EngineEvent {
  status?: string
  id?: string
  from?: string
  Type: EventType
  Action: string
  Actor: {ID: string; Attributes: Record<string, string>}
  scope: 'local'
  time: number
  timeNano: number
}

export function eventsPath(paths: StorePaths): string {
  return join(paths.data, 'events.jsonl')
}

/** What identifies a container in its events. */
export interface ContainerActor {
  id: string
  name: string
  image: string
  labels?: Record<string, string>
}

export function actorOf(record: ContainerRecord): ContainerActor {
  return {id: record.id, name: record.name, image: record.image, ...(record.config?.labels ? {labels: record.config.labels} : {})}
}

/** Arguments that make a container's monitor record its `start` and `die` (each restart too). */
export function monitorEventArgs(paths: StorePaths, record: ContainerRecord): string[] {
  return ['--events', eventsPath(paths), '--event-template', JSON.stringify(containerEvent('die', actorOf(record), {}, 0))]
}

/** A container event as recorded (time filled in). */
export function containerEvent(action: string, c: ContainerActor, extra: Record<string, string> = {}, now = Date.now()): EngineEvent {
  return {
    status: action,
    id: c.id,
    from: c.image,
    Type: 'container',
    Action: action,
    Actor: {ID: c.id, Attributes: {...(c.labels ?? {}), image: c.image, name: c.name, ...extra}},
    scope: 'local',
    time: Math.floor(now / 1000),
    timeNano: now * 1_000_000,
  }
}

/** Append one event; never fails the operation that caused it (events are a record, not a gate). */
export function recordEvent(paths: StorePaths, event: EngineEvent): void {
  const file = eventsPath(paths)
  try {
    if (existsSync(file) && statSync(file).size > MAX_BYTES) renameSync(file, `${file}.1`)
    appendFileSync(file, JSON.stringify(event) + '\n', {mode: 0o600})
  } catch {
    // the data root is gone or read-only: nothing to record into
  }
}

/**
 * An image, network or volume event. Image events keep Docker's legacy `status`/`id` fields;
 * the actor's ID is the image ID (or, for pull and push, the reference), the network's ID,
 * or the volume's name.
 */
export function objectEvent(type: Exclude<EventType, 'container'>, action: string, id: string, attributes: Record<string, string> = {}, now = Date.now()): EngineEvent {
  return {
    ...(type === 'image' ? {status: action, id} : {}),
    Type: type,
    Action: action,
    Actor: {ID: id, Attributes: attributes},
    scope: 'local',
    time: Math.floor(now / 1000),
    timeNano: now * 1_000_000,
  }
}

export function recordObjectEvent(paths: StorePaths, type: Exclude<EventType, 'container'>, action: string, id: string, attributes: Record<string, string> = {}): void {
  recordEvent(paths, objectEvent(type, action, id, attributes))
}

export function recordContainerEvent(paths: StorePaths, action: string, c: ContainerActor, extra: Record<string, string> = {}): void {
  recordEvent(paths, containerEvent(action, c, extra))
}

export interface EventFilters {
  container: string[]
  event: string[]
  image: string[]
  label: Array<{key: string; value?: string}>
  network: string[]
  type: string[]
  volume: string[]
}

const FILTER_KEYS = ['container', 'event', 'status', 'image', 'label', 'network', 'type', 'volume']

export function parseEventFilters(values: readonly string[]): EventFilters {
  const f: EventFilters = {container: [], event: [], image: [], label: [], network: [], type: [], volume: []}
  for (const v of values) {
    const i = v.indexOf('=')
    const key = i > 0 ? v.slice(0, i) : ''
    if (!FILTER_KEYS.includes(key)) throw new UsageError(`invalid filter ${JSON.stringify(v)}`, `event filters: ${FILTER_KEYS.join(', ')} (key=value)`)
    const value = v.slice(i + 1)
    if (key === 'label') {
      const j = value.indexOf('=')
      f.label.push(j < 0 ? {key: value} : {key: value.slice(0, j), value: value.slice(j + 1)})
    } else f[key === 'status' ? 'event' : (key as 'container' | 'event' | 'image' | 'network' | 'type' | 'volume')].push(value)
  }
  return f
}

/** Docker's rules: values of one key are alternatives, different keys must all match. */
export function eventMatches(e: EngineEvent, f: EventFilters): boolean {
  const a = e.Actor.Attributes
  if (f.type.length > 0 && !f.type.includes(e.Type)) return false
  if (f.event.length > 0 && !f.event.includes(e.Action)) return false
  // Each object filter selects events of its own type only (Docker's rule).
  const named = (list: string[], type: EventType, byPrefix: boolean) =>
    list.length === 0 || (e.Type === type && list.some((v) => v === a.name || v === e.Actor.ID || (byPrefix && v.length >= 3 && e.Actor.ID.replace(/^sha256:/, '').startsWith(v.replace(/^sha256:/, '')))))
  if (!named(f.container, 'container', true)) return false
  if (!named(f.network, 'network', true)) return false
  if (!named(f.volume, 'volume', false)) return false
  if (f.image.length > 0) {
    // A container's image, or an image event's image (`busybox` also names busybox:latest).
    const matches =
      e.Type === 'container'
        ? f.image.some((i) => i === a.image || i === e.from || `${i}:latest` === a.image)
        : e.Type === 'image' && (named(f.image, 'image', true) || f.image.some((i) => `${i}:latest` === a.name || `${i}:latest` === e.Actor.ID))
    if (!matches) return false
  }
  for (const l of f.label) if (!(l.key in a) || (l.value !== undefined && a[l.key] !== l.value)) return false
  return true
}

function parseLines(text: string): EngineEvent[] {
  const out: EngineEvent[] = []
  for (const line of text.split('\n')) {
    if (!line) continue
    try {
      out.push(JSON.parse(line) as EngineEvent)
    } catch {
      // a torn last line of a crashed writer: skip it
    }
  }
  return out
}

/** Events recorded so far (the rotated generation first), in time order. */
export function readEvents(paths: StorePaths): {events: EngineEvent[]; offset: number} {
  const file = eventsPath(paths)
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8')
    } catch {
      return ''
    }
  }
  const current = read(file)
  const events = [...parseLines(read(`${file}.1`)), ...parseLines(current)]
  return {events: events.sort((x, y) => x.timeNano - y.timeNano), offset: Buffer.byteLength(current)}
}

/**
 * Poll the events file from `offset` for new complete lines; `onEvent` for each.
 * Returns a stop function. A rotation (file shorter than the offset) restarts at 0.
 */
export function followEvents(paths: StorePaths, offset: number, onEvent: (e: EngineEvent) => void, intervalMs = 200): () => void {
  const file = eventsPath(paths)
  let pos = offset
  let partial = ''
  const tick = () => {
    let size: number
    try {
      size = statSync(file).size
    } catch {
      return
    }
    if (size < pos) {
      pos = 0
      partial = ''
    }
    if (size === pos) return
    const fd = openSync(file, 'r')
    try {
      const buf = Buffer.alloc(size - pos)
      const n = readSync(fd, buf, 0, buf.length, pos)
      pos += n
      const text = partial + buf.subarray(0, n).toString('utf8')
      const cut = text.lastIndexOf('\n')
      partial = text.slice(cut + 1)
      for (const e of parseLines(text.slice(0, cut + 1))) onEvent(e)
    } finally {
      closeSync(fd)
    }
  }
  const timer = setInterval(tick, intervalMs)
  return () => clearInterval(timer)
}
