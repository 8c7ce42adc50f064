import {execFileSync} from 'node:child_process'

import {runtimeBinary} from '../native/index.js'
import {NcxError} from './errors.js'

/** Run a short `ncx-runtime` helper command and return its stdout. */
export function runtimeSync(args: string[]): string {
  try {
    return execFileSync(runtimeBinary(), args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  } catch (error) {
    const e = error as {stderr?: string; status?: number; message: string}
    throw new NcxError(runtimeErrorText(e.stderr) ?? `ncx-runtime ${args[0]} failed: ${e.message}`)
  }
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
