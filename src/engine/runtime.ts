import {execFile} from 'node:child_process'

import {loadNative, runtimeBinary} from '../native/index.js'
import {NcxError} from './errors.js'

/** A runtime command started by `runtimeStart`: `finish` waits for it and returns its stdout. */
export interface RunningRuntime {
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
