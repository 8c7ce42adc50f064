import {readFileSync} from 'node:fs'

import {UsageError, goPathError} from '../errors.js'
import {InvalidValue, checkEnvEntry, invalidUtf8At, lineAt} from './values.js'

/**
 * Docker's `-e` rules: `KEY=VALUE` sets, a bare `KEY` copies the host's value and is
 * dropped when the host has none.
 */
export function resolveEnvEntry(entry: string, hostEnv: NodeJS.ProcessEnv): string | undefined {
  try {
    checkEnvEntry(entry)
  } catch (error) {
    if (error instanceof InvalidValue) throw new UsageError(`invalid argument ${JSON.stringify(entry)} for "-e, --env" flag: ${error.message}`)
    throw error
  }
  if (entry.includes('=')) return entry
  const value = hostEnv[entry]
  return value === undefined ? undefined : `${entry}=${value}`
}

/**
 * Parse an `--env-file` as Docker does: UTF-8 (a BOM dropped), `KEY=VALUE` or `KEY` lines,
 * leading whitespace dropped, `#` comments and blank lines skipped, no whitespace in a name.
 * What Docker would pass on but no process environment can hold (a NUL byte) is refused,
 * like invalid UTF-8, with the file and line.
 */
export function parseEnvFile(path: string, hostEnv: NodeJS.ProcessEnv): string[] {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (error) {
    throw new UsageError(goPathError((error as NodeJS.ErrnoException).code === 'EISDIR' ? 'read' : 'open', path, error), 'give an existing file to --env-file')
  }
  const bad = invalidUtf8At(bytes)
  if (bad !== undefined) throw new UsageError(`${path}:${lineAt(bytes, bad)}: invalid env file: invalid UTF-8 (byte 0x${bytes[bad].toString(16).padStart(2, '0')} at offset ${bad})`)
  const out: string[] = []
  bytes
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const where = `${path}:${i + 1}: invalid env file`
      const line = raw.replace(/^\s+/, '')
      if (line === '' || line.startsWith('#')) return
      const name = line.split('=')[0]
      if (name === '') throw new UsageError(`${where}: no variable name on line '${line}'`)
      if (/\s/.test(name)) throw new UsageError(`${where}: variable '${name}' contains whitespaces`)
      if (line.includes('\0')) throw new UsageError(`${where}: variable '${name.replaceAll('\0', '\\0')}' holds a NUL byte, which no environment can carry`)
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
