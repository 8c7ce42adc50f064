import {readFileSync} from 'node:fs'

import {UsageError} from '../errors.js'

/**
 * Docker's `-e` rules: `KEY=VALUE` sets, a bare `KEY` copies the host's value and is
 * dropped when the host has none.
 */
export function resolveEnvEntry(entry: string, hostEnv: NodeJS.ProcessEnv): string | undefined {
  const eq = entry.indexOf('=')
  if (eq === 0) throw new UsageError(`invalid environment variable ${JSON.stringify(entry)}: empty name`)
  if (eq > 0) return entry
  const value = hostEnv[entry]
  return value === undefined ? undefined : `${entry}=${value}`
}

/** Parse an `--env-file`: `KEY=VALUE` or `KEY` lines, `#` comments, blank lines. */
export function parseEnvFile(path: string, hostEnv: NodeJS.ProcessEnv): string[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read env file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  const out: string[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '')
    if (line === '' || line.startsWith('#')) return
    if (/\s/.test(line.split('=')[0])) throw new UsageError(`${path}:${i + 1}: variable name ${JSON.stringify(line.split('=')[0])} contains whitespace`)
    const resolved = resolveEnvEntry(line, hostEnv)
    if (resolved !== undefined) out.push(resolved)
  })
  return out
}

/** Merge env lists: a later entry replaces an earlier one with the same key in place (Docker's order). */
export function mergeEnv(...lists: string[][]): string[] {
  const map = new Map<string, string>()
  for (const list of lists) for (const entry of list) map.set(entry.split('=')[0], entry)
  return [...map.values()]
}

/**
 * A container's `Config.Env` as Docker records it (runconfig.Merge): the user's variables,
 * then the image's that the user did not set. What the runtime adds (HOSTNAME, HOME, TERM)
 * is not part of it.
 */
export function configEnv(imageEnv: string[], userEnv: string[]): string[] {
  const keys = new Set(userEnv.map((e) => e.split('=')[0]))
  return [...userEnv, ...imageEnv.filter((e) => !keys.has(e.split('=')[0]))]
}
