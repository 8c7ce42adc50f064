import {execFile} from 'node:child_process'
import {closeSync, read, readFileSync} from 'node:fs'

import {loadNative, runtimeBinary} from '../native/index.js'
import {NcxError} from './errors.js'

/** A runtime command started by `runtimeStart`: `finish` waits for it and returns its stdout. */
export interface RunningRuntime {
  pid: number
  finish(): string
}

/**
 * Start a short `ncx-runtime` helper command; the caller may work while it runs, then
 * `finish()` returns its stdout. Failures are NcxErrors with exit code 125, or with the
 * runtime's own code when `keepCode` (e.g. 126/127 when a container's command cannot be
 * started). Spawned by the native addon (already loaded for the store's locks): no
 * node:child_process on `run -d`'s path.
 */
export function runtimeStart(args: string[], options: {keepCode?: boolean} = {}): RunningRuntime {
  const native = loadNative()
  let pid: number
  try {
    pid = native.startProgram(runtimeBinary(), args)
  } catch (error) {
    throw new NcxError(`ncx-runtime ${args[0]} failed: ${(error as Error).message}`)
  }
  return {
    pid,
    finish() {
      const r = native.finishProgram(pid)
      if (r.code === 0) return r.stdout
      const exitCode = options.keepCode && r.code !== null && r.code > 0 ? r.code : 125
      const how = r.code === null ? `killed by signal ${r.signal}` : `exit status ${r.code}`
      throw new NcxError(runtimeErrorText(r.stderr) ?? `ncx-runtime ${args[0]} failed: ${how}`, {exitCode, ...runtimeErrnoCause(r.stderr)})
    },
  }
}

/** Run a short `ncx-runtime` helper command and return its stdout (see `runtimeStart`). */
export function runtimeSync(args: string[], options: {keepCode?: boolean} = {}): string {
  return runtimeStart(args, options).finish()
}

/** `runtimeSync` without blocking the event loop (compose stops and starts containers concurrently). */
/**
 * As runtimeAsync, for a runtime command whose output is a few lines (`stop`): started through
 * the addon (posix_spawn) rather than node:child_process, whose loading and spawning cost a
 * `stop` several milliseconds, and awaited without blocking (a compose project stops its
 * containers in parallel) by watching /proc: the finished runtime stays a zombie until
 * finish() reaps it. (A command that writes more than a pipe holds would never finish here.)
 */
export async function runtimeShort(args: string[], options: {keepCode?: boolean} = {}): Promise<string> {
  const running = runtimeStart(args, options)
  for (let delay = 1; !exited(running.pid); delay = Math.min(delay * 2, 20)) await new Promise((r) => setTimeout(r, delay))
  return running.finish()
}

/** Has process `pid` (our unreaped child) exited? Without /proc: yes (finish() then blocks). */
function exited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return stat[stat.lastIndexOf(')') + 2] === 'Z'
  } catch {
    return true
  }
}

/**
 * A runtime process that reports on its descriptor 3 (`--status-fd 3`: one JSON event a
 * line), as `superviseRuntime` (container/run.ts) waits for it.
 */
export interface RuntimeReports {
  /** The lines it writes on descriptor 3, up to the end of the pipe. */
  lines: AsyncIterable<string>
  /** Its exit code (128 when a signal ended it), once it has exited; call after `lines` ended. */
  closed(): Promise<number>
  /** It stays behind (`exec --detach-keys`): do not wait for it. */
  release(): void
}

/**
 * `ncx-runtime ARGS --status-fd 3`, started through the addon (posix_spawn) with our stdin,
 * stdout and stderr where `inherit` says so (else /dev/null): `ncx run` in the foreground
 * without loading node:child_process, which costs it 3-4 ms, and spawning with it 2-3 more.
 */
export function runtimeReporting(args: string[], inherit: boolean[]): RuntimeReports {
  const native = loadNative()
  let started: {pid: number; statusFd: number}
  try {
    started = native.startReportingProgram(runtimeBinary(), args, inherit)
  } catch (error) {
    throw new NcxError(`ncx-runtime ${args[0]} failed: ${(error as Error).message}`)
  }
  const {pid, statusFd} = started
  return {
    lines: fdLines(statusFd),
    async closed() {
      // (the pipe ends as the runtime exits: a few polls of /proc, then a reap that does not block)
      for (let delay = 1; !exited(pid); delay = Math.min(delay * 2, 20)) await new Promise((r) => setTimeout(r, delay))
      const end = native.reapProgram(pid)
      return end.code ?? (end.signal ? 128 : 125)
    },
    release() {},
  }
}

/** The lines of a text that arrives in chunks (a line split across chunks stays whole). */
export async function* textLines(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let rest = ''
  for await (const chunk of chunks) {
    const parts = (rest + chunk).split('\n')
    rest = parts.pop() ?? ''
    yield* parts
  }
  if (rest) yield rest
}

/** The lines read from `fd` (a pipe) to its end; closes it. */
function fdLines(fd: number): AsyncGenerator<string> {
  return textLines(fdText(fd))
}

/** The UTF-8 text read from `fd` to its end, chunk by chunk; closes it. */
async function* fdText(fd: number): AsyncGenerator<string> {
  const buf = Buffer.allocUnsafe(8192)
  const decoder = new TextDecoder() // (multi-byte characters split across reads stay whole)
  try {
    for (;;) {
      const n = await new Promise<number>((resolve, reject) => read(fd, buf, 0, buf.length, null, (error, count) => (error ? reject(error) : resolve(count))))
      if (n === 0) break
      yield decoder.decode(buf.subarray(0, n), {stream: true})
    }
  } finally {
    closeSync(fd)
  }
  yield decoder.decode()
}

export function runtimeAsync(args: string[], options: {keepCode?: boolean} = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(runtimeBinary(), args, {encoding: 'utf8'}, (error, stdout, stderr) => {
      if (!error) return resolve(stdout)
      const status = typeof error.code === 'number' ? error.code : undefined
      const exitCode = options.keepCode && status !== undefined && status > 0 ? status : 125
      reject(new NcxError(runtimeErrorText(stderr) ?? `ncx-runtime ${args[0]} failed: ${error.message}`, {exitCode}))
    })
  })
}

/**
 * The errno the runtime put in its error line (`"errno": 28` for ENOSPC), as a cause an
 * NcxError can carry: store/space.ts recognises a full disk by it.
 */
export function runtimeErrnoCause(stderr: string | undefined): {cause?: Error} {
  for (const line of (stderr ?? '').trim().split('\n').reverse()) {
    try {
      const parsed = JSON.parse(line) as {error?: unknown; errno?: unknown}
      if (typeof parsed.error === 'string') return typeof parsed.errno === 'number' ? {cause: Object.assign(new Error(parsed.error), {errno: parsed.errno})} : {}
    } catch {
      // not a JSON line
    }
  }
  return {}
}

/** The runtime reports failures as one JSON line `{"error": "...", "code": N}` on stderr. */
export function runtimeErrorText(stderr: string | undefined): string | undefined {
  if (!stderr) return undefined
  for (const line of stderr.trim().split('\n').reverse()) {
    try {
      const parsed = JSON.parse(line) as {error?: unknown}
      if (typeof parsed.error === 'string') return parsed.error
    } catch {
      // not a JSON line
    }
  }
  return stderr.trim() || undefined
}
