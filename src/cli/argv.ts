/**
 * A small argv parser for commands whose positional tail belongs to someone else
 * (`run IMAGE CMD ARGS…`): flags are parsed only up to the first positional, so
 * `ncx run busybox ls -l` passes `-l` to `ls`. oclif keeps parsing flags after
 * positionals, hence this. The same table drives oclif's help for these commands.
 */
import {UsageError} from '../engine/errors.js'

export interface FlagSpec {
  name: string
  char?: string
  aliases?: string[]
  kind: 'boolean' | 'string' | 'multiple'
  description: string
  options?: readonly string[]
}

export type ParsedFlags = Record<string, string | boolean | string[] | undefined>

export interface SplitArgv {
  flags: ParsedFlags
  positionals: string[]
}

/** Go's strconv.ParseBool, which Docker's flag parsing uses. */
function parseBool(value: string, flag: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false
  throw new UsageError(`invalid boolean value ${JSON.stringify(value)} for ${flag}`, 'use true or false')
}

function lookup(table: readonly FlagSpec[], token: string): FlagSpec | undefined {
  if (token.startsWith('--')) {
    const name = token.slice(2)
    return table.find((f) => f.name === name || f.aliases?.includes(name))
  }
  return table.find((f) => f.char === token.slice(1))
}

/** Parse flags until the first positional (or `--`); that positional and the rest are returned as-is. */
export function splitArgv(argv: readonly string[], table: readonly FlagSpec[], maxLeading = 1): SplitArgv {
  const flags: ParsedFlags = {}
  const set = (spec: FlagSpec, value: string | boolean, shown: string) => {
    if (spec.kind === 'multiple') {
      flags[spec.name] = [...((flags[spec.name] as string[] | undefined) ?? []), String(value)]
      return
    }
    if (spec.options && typeof value === 'string' && !spec.options.includes(value)) {
      throw new UsageError(`invalid value ${JSON.stringify(value)} for ${shown}`, `expected one of: ${spec.options.join(', ')}`)
    }
    flags[spec.name] = value
  }
  let i = 0
  const positionals: string[] = []
  while (i < argv.length) {
    const token = argv[i]
    if (token === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (!token.startsWith('-') || token === '-') {
      positionals.push(token)
      if (positionals.length >= maxLeading) {
        positionals.push(...argv.slice(i + 1))
        break
      }
      i++
      continue
    }
    if (token.startsWith('--')) {
      const eq = token.indexOf('=')
      const key = eq > 0 ? token.slice(0, eq) : token
      const spec = lookup(table, key)
      if (!spec) throw new UsageError(`unknown flag: ${key}`, 'see the command\'s --help')
      if (spec.kind === 'boolean') {
        set(spec, eq > 0 ? parseBool(token.slice(eq + 1), key) : true, key)
        i++
        continue
      }
      if (eq > 0) {
        set(spec, token.slice(eq + 1), key)
        i++
        continue
      }
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: ${key}`)
      set(spec, argv[i + 1], key)
      i += 2
      continue
    }
    // Short flags: `-it`, `-e K=V`, `-eK=V`, `-w/src`.
    let j = 1
    let consumedNext = false
    while (j < token.length) {
      const spec = lookup(table, `-${token[j]}`)
      if (!spec) throw new UsageError(`unknown shorthand flag: '${token[j]}' in ${token}`, 'see the command\'s --help')
      if (spec.kind === 'boolean') {
        if (token[j + 1] === '=') {
          set(spec, parseBool(token.slice(j + 2), `-${token[j]}`), `-${token[j]}`)
          break
        }
        set(spec, true, `-${token[j]}`)
        j++
        continue
      }
      const rest = token.slice(j + 1).replace(/^=/, '')
      if (rest !== '') set(spec, rest, `-${token[j]}`)
      else {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: '${token[j]}' in -${token[j]}`)
        set(spec, argv[i + 1], `-${token[j]}`)
        consumedNext = true
      }
      break
    }
    i += consumedNext ? 2 : 1
  }
  return {flags, positionals}
}
