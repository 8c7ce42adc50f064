/**
 * Reading a container's json-file log (written by its monitor, crates/ncx-core/src/logfile.rs,
 * rotated as `LOG.1`, `LOG.2` … with `LOG.1` the newest rotated file) in bounded memory:
 * entries stream out in batches as the files are read; `tail` finds its starting line by
 * reading backwards from the end; `follow` keeps reading until the container stops and follows
 * rotation (the rest of the old file, every file rotated meanwhile, then the new one).
 */
import {closeSync, fstatSync, openSync, readSync, statSync} from 'node:fs'

import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {logPath} from './log-file.js'
import {stateOf} from './lifecycle.js'
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
  /** Stops a follow (the reader went away): the log ends as if the container had stopped. */
  signal?: AbortSignal
}

/** Where a log is and how to follow it: the engine gives a container's, tests their own. */
export interface LogSource {
  /** The current file; rotated ones are `PATH.1` (newest) … `PATH.<maxFile - 1>`. */
  path: string
  /** The writer's max-file (how many rotated files may exist, plus one). */
  maxFile: number
  /** Whether the writer may still append (the container runs or restarts). */
  live: () => boolean
  /** Wait between two polls while following (nothing new was there). */
  pause?: () => Promise<void>
}

/** Reads, forward and backward (tail): small batches keep the reader's memory low. */
const CHUNK = 64 << 10
/** A "line" longer than this without a newline is not an entry the writer made (at most 16 KiB of output, escaped): dropped. */
const MAX_LINE = 16 << 20
/** Rescans of the rotated files when the writer rotated while they were being opened. */
const RESCANS = 20

/** Milliseconds since the epoch of an RFC 3339 timestamp with nanoseconds. */
export function entryTime(time: string): number {
  return Date.parse(time)
}

function parseEntry(line: string): LogEntry | undefined {
  if (line === '') return undefined
  try {
    const e = JSON.parse(line) as Partial<LogEntry>
    if (typeof e.log === 'string' && typeof e.time === 'string' && (e.stream === 'stdout' || e.stream === 'stderr')) return e as LogEntry
  } catch {
    // not an entry (the writer makes whole lines with one write each; a damaged file may not)
  }
  return undefined
}

interface LogFile {
  fd: number
  ino: number
}

function open(path: string): LogFile | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  return {fd, ino: fstatSync(fd).ino}
}

function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino
  } catch {
    return undefined
  }
}

function readAt(fd: number, buf: Buffer, length: number, position: number): number {
  let n = 0
  while (n < length) {
    const r = readSync(fd, buf, n, length - n, position + n)
    if (r <= 0) break
    n += r
  }
  return n
}

/** The time of a file's first entry ('' when it has none yet). */
function firstTime(f: LogFile): string {
  const buf = Buffer.allocUnsafe(4096)
  let line = ''
  for (let pos = 0; line.length < MAX_LINE; ) {
    const n = readAt(f.fd, buf, buf.length, pos)
    if (n <= 0) return ''
    const nl = buf.subarray(0, n).indexOf(10)
    line += buf.toString('utf8', 0, nl < 0 ? n : nl)
    if (nl >= 0) break
    pos += n
  }
  return parseEntry(line)?.time ?? ''
}

/**
 * The log's files, oldest first, each opened (so a rotation after this cannot move them away).
 * The writer renames `PATH.i` → `PATH.i+1` downwards, then `PATH` → `PATH.1`, then creates
 * `PATH`: files only move up, so opening `PATH`, `PATH.1`, … in that order meets each file at
 * least once (duplicates are known by inode), newest first, as long as `PATH` itself was not
 * replaced meanwhile. If it was, scan again; a writer rotating faster than a scan can open the
 * files gets them ordered by their first entry's time.
 */
function openChain(src: LogSource): LogFile[] {
  let files: LogFile[] = []
  for (let attempt = 0; ; attempt++) {
    const seen = new Set<number>()
    files = []
    const add = (f: LogFile | undefined) => {
      if (!f) return
      if (seen.has(f.ino)) closeSync(f.fd)
      else {
        seen.add(f.ino)
        files.push(f)
      }
    }
    add(open(src.path))
    for (let i = 1; i < Math.max(src.maxFile, 2) || inodeOf(`${src.path}.${i}`) !== undefined; i++) add(open(`${src.path}.${i}`))
    files.reverse()
    const current = files.at(-1)
    if (!current || inodeOf(src.path) === current.ino) return files
    if (attempt === RESCANS) break
    for (const f of files) closeSync(f.fd)
  }
  const keyed = files.map((f) => ({f, t: firstTime(f)}))
  // A file without an entry yet is the one just created: the newest.
  keyed.sort((a, b) => (a.t === b.t ? 0 : a.t === '' ? 1 : b.t === '' ? -1 : a.t < b.t ? -1 : 1))
  return keyed.map((k) => k.f)
}

/**
 * The lines of `fd` between `from` and `end` (no end: up to the last newline there is), as
 * entries in batches; `state.offset` advances past every complete line consumed.
 */
function* readForward(fd: number, state: {offset: number}, keep: (e: LogEntry) => boolean, end?: number): Generator<LogEntry[]> {
  let buf = Buffer.allocUnsafe(CHUNK)
  let have = 0 // bytes of an unfinished line at the start of buf
  for (;;) {
    if (have === buf.length) {
      if (buf.length >= MAX_LINE) {
        // Not a line the writer made: skip to its end.
        state.offset += have
        have = 0
      } else {
        const bigger = Buffer.allocUnsafe(buf.length * 2)
        buf.copy(bigger, 0, 0, have)
        buf = bigger
      }
    }
    const want = end === undefined ? buf.length - have : Math.min(buf.length - have, end - state.offset - have)
    if (want <= 0) return
    const n = readAt(fd, buf.subarray(have), want, state.offset + have)
    if (n <= 0) return
    const total = have + n
    const cut = buf.lastIndexOf(10, total - 1) + 1
    if (cut === 0) {
      have = total
      continue
    }
    const batch: LogEntry[] = []
    for (const line of buf.toString('utf8', 0, cut).split('\n')) {
      const e = parseEntry(line)
      if (e && keep(e)) batch.push(e)
    }
    state.offset += cut
    buf.copy(buf, 0, cut, total)
    have = total - cut
    if (batch.length > 0) yield batch
  }
}

/** The complete lines of `fd` before `end`, last first, with the offset each starts at. */
function* linesBackward(fd: number, end: number): Generator<{start: number; line: Buffer}> {
  let pos = end
  let pending = Buffer.alloc(0) // bytes [pos, …) up to the end of the earliest line not yet given
  while (pos > 0) {
    const lo = Math.max(0, pos - CHUNK)
    const chunk = Buffer.allocUnsafe(pos - lo)
    const n = readAt(fd, chunk, chunk.length, lo)
    const data = pending.length > 0 ? Buffer.concat([chunk.subarray(0, n), pending]) : chunk.subarray(0, n)
    let e = data.length // exclusive end of the current line, its newline included
    for (;;) {
      const p = e >= 2 ? data.lastIndexOf(10, e - 2) : -1
      if (p < 0 && lo > 0) break
      yield {start: lo + p + 1, line: data.subarray(p + 1, e - 1)}
      if (p < 0) return
      e = p + 1
    }
    pending = data.subarray(0, e)
    if (pending.length > MAX_LINE) pending = Buffer.alloc(0)
    pos = lo
  }
}

/** Where the last `n` entries kept by the filter start: a file of `files` and an offset in it. */
function tailStart(files: LogFile[], ends: number[], n: number, keep: (e: LogEntry) => boolean): {file: number; offset: number} {
  let count = 0
  for (let i = files.length - 1; i >= 0; i--) {
    for (const {start, line} of linesBackward(files[i].fd, ends[i])) {
      const e = line.length > 0 ? parseEntry(line.toString('utf8')) : undefined
      if (e && (!keep || keep(e)) && ++count === n) return {file: i, offset: start}
    }
  }
  return {file: 0, offset: 0}
}

/** The end of the complete lines of a file as it is now. */
function completeEnd(fd: number): number {
  const size = fstatSync(fd).size
  if (size === 0) return 0
  const buf = Buffer.allocUnsafe(1)
  if (readAt(fd, buf, 1, size - 1) === 1 && buf[0] === 10) return size
  for (const {start} of linesBackward(fd, size)) return start
  return 0
}

/**
 * The log as batches of entries: what is there (all, or the last `tail` kept by since/until),
 * then with `follow` what the writer adds until it stops.
 */
export async function* readLogFiles(src: LogSource, options: LogOptions = {}): AsyncGenerator<LogEntry[]> {
  const {since, until} = options
  const keep = (e: LogEntry) => (since === undefined || entryTime(e.time) >= since) && (until === undefined || entryTime(e.time) <= until)
  let files = openChain(src)
  let current: LogFile | undefined
  const position = {offset: 0}
  /** The time of the first entry of `current`, once read past it. */
  let head: string | undefined
  try {
    const ends = files.map((f) => completeEnd(f.fd))
    let from = {file: 0, offset: 0}
    if (options.tail !== undefined && options.tail >= 0) from = options.tail === 0 ? {file: files.length, offset: 0} : tailStart(files, ends, options.tail, keep)
    for (let i = 0; files.length > 0; i++) {
      // Taken out of `files` only once closed or kept, so that `finally` closes each fd once.
      const f = files[0]
      const last = files.length === 1
      position.offset = i === from.file ? from.offset : 0
      if (i >= from.file) yield* readForward(f.fd, position, keep, last ? ends[i] : undefined)
      files.shift()
      if (last) {
        position.offset = Math.max(position.offset, ends[i])
        current = f
      } else closeSync(f.fd)
    }
    if (!options.follow) return
    for (;;) {
      const live = src.live()
      let read = false
      if (current) {
        // A writer with max-file 1 truncates its only file instead of renaming it: known by
        // the file being shorter, or starting with another entry, than when it was read.
        if (src.maxFile <= 1 && position.offset > 0 && head !== undefined && (fstatSync(current.fd).size < position.offset || firstTime(current) !== head)) {
          position.offset = 0
          head = undefined
        }
        for (const batch of readForward(current.fd, position, keep)) {
          read = true
          yield batch
        }
        if (src.maxFile <= 1 && head === undefined && position.offset > 0) head = firstTime(current)
      }
      const ino = inodeOf(src.path)
      if (ino !== undefined && ino !== current?.ino) {
        // Rotated (or created): the old file is complete now; then every file after it, in order.
        if (current) for (const batch of readForward(current.fd, position, keep)) yield batch
        files = openChain(src)
        const at = current ? files.findIndex((f) => f.ino === current!.ino) : -1
        for (const f of files.slice(0, at + 1)) closeSync(f.fd)
        files = files.slice(at + 1)
        if (current) closeSync(current.fd)
        current = undefined
        head = undefined
        while (files.length > 0) {
          const f = files[0]
          position.offset = 0
          if (files.length > 1) for (const batch of readForward(f.fd, position, keep)) yield batch
          files.shift()
          if (files.length === 0) current = f
          else closeSync(f.fd)
        }
        continue
      }
      if (!live || (until !== undefined && Date.now() > until)) return
      if (!read) await (src.pause ?? defaultPause)()
    }
  } finally {
    for (const f of files) closeSync(f.fd)
    if (current) closeSync(current.fd)
  }
}

const defaultPause = () => new Promise<void>((r) => setTimeout(r, 100))

/** A container's log, then (with `follow`) what it writes until it stops. */
export function readLogs(engine: Engine, record: ContainerRecord, options: LogOptions = {}): AsyncGenerator<LogEntry[]> {
  if ((record.options.logDriver ?? 'json-file') === 'none') {
    throw new NcxError('configured logging driver does not support reading', {exitCode: 1})
  }
  const maxFile = Number(record.options.logOpts?.['max-file'] ?? 1)
  return readLogFiles(
    {
      path: logPath(engine, record),
      maxFile: Number.isInteger(maxFile) && maxFile > 0 ? maxFile : 1,
      live: () => {
        if (options.signal?.aborted) return false
        const s = stateOf(engine, record)
        return s.status === 'running' || s.status === 'restarting'
      },
    },
    options,
  )
}
