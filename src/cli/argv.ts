/**
 * A small argv parser for commands whose positional tail belongs to someone else
 * (`run IMAGE CMD ARGS…`): flags are parsed only up to the first positional, so
 * `ncx run busybox ls -l` passes `-l` to `ls`. oclif keeps parsing flags after
 * positionals, hence this. The same table drives oclif's help for these commands.
 */
import {UsageError} from '../engine/errors.js'
import {FlagError} from './errors.js'

export interface FlagSpec {
  name: string
  char?: string
  aliases?: string[]
  kind: 'boolean' | 'string' | 'multiple'
  description: string
  options?: readonly string[]
  /** oclif's `--no-NAME` (booleans whose default is true). */
  allowNo?: boolean
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
  throw new FlagError(`invalid argument ${JSON.stringify(value)} for ${JSON.stringify(flag)} flag: strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`)
}

function lookup(table: readonly FlagSpec[], token: string): FlagSpec | undefined {
  if (token.startsWith('--')) {
    const name = token.slice(2)
    return table.find((f) => f.name === name || f.aliases?.includes(name))
  }
  return table.find((f) => f.char === token.slice(1))
}

/** `-n, --last` or `--name`, as pflag names a flag in its messages. */
function shown(spec: FlagSpec): string {
  return spec.char ? `-${spec.char}, --${spec.name}` : `--${spec.name}`
}

type Scanned = {kind: 'flag'; spec: FlagSpec; value: string | boolean} | {kind: 'positional'; value: string}

/**
 * pflag's reading of argv (Docker's flag parser): `--name value`, `--name=value`, booleans
 * with an optional `=VALUE` (`-a=false`), clusters of shorthands (`-it`, `-eK=V`), `--`.
 * With `stopAfter`, everything from that many positionals on is positional (the container's
 * command of `run`, ps options of `top`: cobra's SetInterspersed(false)).
 */
function* scan(argv: readonly string[], table: readonly FlagSpec[], stopAfter = Number.POSITIVE_INFINITY): Generator<Scanned> {
  let i = 0
  let positionals = 0
  while (i < argv.length) {
    const token = argv[i]
    if (token === '--') {
      for (const rest of argv.slice(i + 1)) yield {kind: 'positional', value: rest}
      return
    }
    if (!token.startsWith('-') || token === '-') {
      yield {kind: 'positional', value: token}
      if (++positionals >= stopAfter) {
        for (const rest of argv.slice(i + 1)) yield {kind: 'positional', value: rest}
        return
      }
      i++
      continue
    }
    if (token.startsWith('--')) {
      const eq = token.indexOf('=')
      const key = eq > 0 ? token.slice(0, eq) : token
      let spec = lookup(table, key)
      let negated = false
      // oclif's `--no-FLAG` for the booleans that have it (`history --no-human`).
      if (!spec && key.startsWith('--no-')) {
        const positive = lookup(table, `--${key.slice(5)}`)
        if (positive?.allowNo) [spec, negated] = [positive, true]
      }
      if (!spec) throw new FlagError(`unknown flag: ${key}`)
      if (spec.kind === 'boolean') {
        yield {kind: 'flag', spec, value: eq > 0 ? parseBool(token.slice(eq + 1), shown(spec)) : !negated}
        i++
        continue
      }
      if (eq > 0) {
        yield {kind: 'flag', spec, value: token.slice(eq + 1)}
        i++
        continue
      }
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: ${key}`)
      yield {kind: 'flag', spec, value: argv[i + 1]}
      i += 2
      continue
    }
    // Short flags: `-it`, `-e K=V`, `-eK=V`, `-w/src`, `-a=false`.
    let j = 1
    let consumedNext = false
    while (j < token.length) {
      const spec = lookup(table, `-${token[j]}`)
      if (!spec) throw new FlagError(`unknown shorthand flag: '${token[j]}' in ${token}`)
      if (spec.kind === 'boolean') {
        if (token[j + 1] === '=') {
          yield {kind: 'flag', spec, value: parseBool(token.slice(j + 2), shown(spec))}
          break
        }
        yield {kind: 'flag', spec, value: true}
        j++
        continue
      }
      const rest = token.slice(j + 1).replace(/^=/, '')
      if (rest !== '') yield {kind: 'flag', spec, value: rest}
      else {
        if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: '${token[j]}' in -${token[j]}`)
        yield {kind: 'flag', spec, value: argv[i + 1]}
        consumedNext = true
      }
      break
    }
    i += consumedNext ? 2 : 1
  }
}

/** Parse flags until the first positional (or `--`); that positional and the rest are returned as-is. */
export function splitArgv(argv: readonly string[], table: readonly FlagSpec[], maxLeading = 1): SplitArgv {
  const flags: ParsedFlags = {}
  const positionals: string[] = []
  for (const item of scan(argv, table, maxLeading)) {
    if (item.kind === 'positional') {
      positionals.push(item.value)
      continue
    }
    const {spec, value} = item
    if (spec.kind === 'multiple') {
      flags[spec.name] = [...((flags[spec.name] as string[] | undefined) ?? []), String(value)]
      continue
    }
    if (spec.options && typeof value === 'string' && !spec.options.includes(value)) {
      // Docker: `invalid pull option: 'bogus': must be one of "always", "missing" or "never"`.
      const choices = spec.options.map((o) => JSON.stringify(o))
      throw new UsageError(`invalid ${spec.name} option: '${value}': must be one of ${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`)
    }
    flags[spec.name] = value
  }
  return {flags, positionals}
}

/**
 * Docker's flag syntax for an oclif command: argv re-written in the one form oclif reads
 * without surprises (`--name=value` for every value, `--name`/`--no-name` for booleans, a
 * boolean given `=false` dropped, then `--` and the positionals), so a multiple-value flag
 * never swallows a positional (`network create --label k=v NAME`), `-a=false` is a boolean,
 * and an unknown flag is Docker's `unknown flag` error. `stopAfter`: see scan().
 */
export function docker2oclif(argv: readonly string[], table: readonly FlagSpec[], stopAfter?: number): {argv: string[]; positionals: string[]; values: Map<string, string>} {
  const tokens: string[] = []
  const positionals: string[] = []
  const values = new Map<string, string>()
  for (const item of scan(argv, table, stopAfter)) {
    if (item.kind === 'positional') positionals.push(item.value)
    else if (item.spec.kind === 'boolean') {
      if (item.value === true) tokens.push(`--${item.spec.name}`)
      else if (item.spec.allowNo) tokens.push(`--no-${item.spec.name}`)
    } else {
      tokens.push(`--${item.spec.name}=${String(item.value)}`)
      if (!values.has(String(item.value))) values.set(String(item.value), item.spec.name)
    }
  }
  return {argv: [...tokens, '--', ...positionals], positionals, values}
}
