/**
 * Reading a container's json-file log (written by its monitor, rotated as `LOG.1`, `LOG.2`
 * … with `LOG.1` the newest rotated file): filters, tail, and follow until the container
 * stops.
 */
import {closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync} from 'node:fs'

import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {logPath, stateOf} from './lifecycle.js'
import {ContainerRecord} from './store.js'

export interface LogEntry {
  stream: 'stdout' | 'stderr'
  log: string
  /** RFC 3339 with nanoseconds, as written. */
  time: string
}

export interface LogOptions {
  follow?: boolean
  /** Last N entries (undefined: all). */
  tail?: number
  /** Milliseconds since the epoch. */
  since?: number
  until?: number
}

function parseLines(text: string): LogEntry[] {
  const out: LogEntry[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    try {
      out.push(JSON.parse(line) as LogEntry)
    } catch {
      // a torn line (cannot happen with one write per entry; skip defensively)
    }
  }
  return out
}

/** Milliseconds since the epoch of an RFC 3339 timestamp with nanoseconds. */
export function entryTime(time: string): number {
  return Date.parse(time)
}

function files(path: string): string[] {
  const rotated: string[] = []
  for (let i = 1; existsSync(`${path}.${i}`); i++) rotated.push(`${path}.${i}`)
  return [...rotated.reverse(), path]
}

/** Read the log, then (with `follow`) what the container writes until it stops. */
export async function* readLogs(engine: Engine, record: ContainerRecord, options: LogOptions = {}): AsyncGenerator<LogEntry> {
  if ((record.options.logDriver ?? 'json-file') === 'none') {
    throw new NcxError('configured logging driver does not support reading', {exitCode: 1})
  }
  const path = logPath(engine, record)
  const keep = (e: LogEntry) => (options.since === undefined || entryTime(e.time) >= options.since) && (options.until === undefined || entryTime(e.time) <= options.until)
  // The current file is read through an fd we keep, so following survives rotation.
  let fd: number | undefined
  let offset = 0
  const entries: LogEntry[] = []
  for (const f of files(path)) {
    if (f === path) {
      if (!existsSync(path)) break
      fd = openSync(path, 'r')
      const size = fstatSync(fd).size
      const buf = Buffer.alloc(size)
      let n = 0
      while (n < size) {
        const r = readSync(fd, buf, n, size - n, n)
        if (r <= 0) break
        n += r
      }
      const text = buf.subarray(0, n).toString('utf8')
      const complete = text.lastIndexOf('\n') + 1
      offset = complete
      entries.push(...parseLines(text.slice(0, complete)))
    } else {
      try {
        entries.push(...parseLines(readFileSync(f, 'utf8')))
      } catch {
        // rotated away meanwhile
      }
    }
  }
  let selected = entries.filter(keep)
  if (options.tail !== undefined && options.tail >= 0) selected = options.tail === 0 ? [] : selected.slice(-options.tail)
  for (const e of selected) yield e
  if (!options.follow) {
    if (fd !== undefined) closeSync(fd)
    return
  }
  let pending = ''
  const drain = function* (): Generator<LogEntry> {
    if (fd === undefined) return
    const buf = Buffer.alloc(64 * 1024)
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, offset)
      if (n <= 0) break
      offset += n
      pending += buf.subarray(0, n).toString('utf8')
      const cut = pending.lastIndexOf('\n') + 1
      if (cut > 0) {
        for (const e of parseLines(pending.slice(0, cut))) if (keep(e)) yield e
        pending = pending.slice(cut)
      }
    }
  }
  try {
    for (;;) {
      const s = stateOf(engine, record)
      const up = s.status === 'running' || s.status === 'restarting'
      yield* drain()
      // Rotated: finish the old file, continue with the new one from its start.
      let rotated = false
      try {
        if (fd === undefined || statSync(path).ino !== fstatSync(fd).ino) rotated = existsSync(path)
      } catch {
        rotated = false
      }
      if (rotated) {
        if (fd !== undefined) closeSync(fd)
        fd = openSync(path, 'r')
        offset = 0
        pending = ''
        continue
      }
      if (!up || (options.until !== undefined && Date.now() > options.until)) {
        yield* drain()
        return
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
