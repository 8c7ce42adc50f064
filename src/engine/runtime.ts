import {execFile, execFileSync} from 'node:child_process'

import {runtimeBinary} from '../native/index.js'
import {NcxError} from './errors.js'

/**
 * Run a short `ncx-runtime` helper command and return its stdout. Failures are NcxErrors
 * with exit code 125, or with the runtime's own code when `keepCode` (e.g. 126/127 when a
 * container's command cannot be started).
 */
export function runtimeSync(args: string[], options: {keepCode?: boolean} = {}): string {
  try {
    return execFileSync(runtimeBinary(), args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  } catch (error) {
    const e = error as {stderr?: string; status?: number; message: string}
    const exitCode = options.keepCode && typeof e.status === 'number' && e.status > 0 ? e.status : 125
    throw new NcxError(runtimeErrorText(e.stderr) ?? `ncx-runtime ${args[0]} failed: ${e.message}`, {exitCode})
  }
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
