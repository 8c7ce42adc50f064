/**
 * oclif's argv parser (@oclif/core 4, parser/parse.ts and validate.ts) for the flag and
 * argument definitions the commands use, for the lite path (lite.ts): the same walk over argv,
 * the same values, defaults, environment variables and argument order, without oclif's error
 * classes, debug logging and stdin reading, which would cost more to load than the parse.
 *
 * Whatever oclif would answer with an error, and every feature the commands do not use
 * (required or exclusive flags, relationships, delimiters, stdin, variadic or function
 * defaults), throws LiteUnsupported instead: the lite path then hands the whole command line
 * to oclif, which parses it (again) and says what is wrong in its own words. So this parser
 * only ever has to agree with oclif on command lines that parse; test/unit/lite-parse.test.ts
 * runs both over the commands' real definitions.
 */

/** The lite parser leaves this command line to oclif (an error, or a feature it does not have). */
export class LiteUnsupported extends Error {
  constructor(reason: string) {
    super(reason)
    this.name = 'LiteUnsupported'
  }
}

type Parse = (input: never, context: Record<string, unknown>, definition: never) => Promise<unknown>

export interface LiteFlag {
  name?: string
  type: 'boolean' | 'option'
  char?: string
  aliases?: string[]
  charAliases?: string[]
  multiple?: boolean
  multipleNonGreedy?: boolean
  allowNo?: boolean
  options?: readonly string[]
  default?: unknown
  env?: string
  parse?: Parse
}

export interface LiteArg {
  name?: string
  required?: boolean
  options?: readonly string[]
  default?: unknown
  ignoreStdin?: boolean
  multiple?: boolean
  parse?: Parse
}

export interface LiteParseInput {
  flags?: Record<string, unknown>
  args?: Record<string, unknown>
  strict?: boolean
  context?: unknown
  '--'?: boolean
  constraints?: unknown
}

export interface LiteParseOutput {
  args: Record<string, unknown>
  argv: unknown[]
  flags: Record<string, unknown>
  metadata: {flags: Record<string, {setFromDefault?: boolean}>}
  nonExistentFlags: string[]
  raw: Token[]
}

type Token = {type: 'flag'; flag: string; input: string} | {type: 'arg'; arg: string | undefined; input: string}

/** Definition features oclif implements and the lite parser leaves to it. */
const FLAG_FEATURES_LEFT_TO_OCLIF = ['required', 'dependsOn', 'exclusive', 'exactlyOne', 'atLeastOne', 'combinable', 'relationships', 'allowStdin', 'delimiter', 'defaultHelp', 'deprecated', 'deprecateAliases']

const NEGATION = '--no-'

function unsupported(reason: string): never {
  throw new LiteUnsupported(reason)
}

async function callParse(parse: Parse | undefined, input: unknown, context: Record<string, unknown>, definition: unknown): Promise<unknown> {
  if (!parse) return input
  try {
    return await parse(input as never, context, definition as never)
  } catch (error) {
    return unsupported(`a value does not parse: ${(error as Error).message}`)
  }
}

/** oclif's `Parser.parse` followed by `validate`, for command lines that parse. */
export async function liteParse(argvIn: readonly string[], input: LiteParseInput): Promise<LiteParseOutput> {
  if (input['--'] === false || input.constraints) unsupported('-- or constraints')
  const flags = (input.flags ?? {}) as Record<string, LiteFlag>
  const argDefs = (input.args ?? {}) as Record<string, LiteArg>
  const strict = input.strict !== false
  const context = (input.context ?? {}) as Record<string, unknown>

  for (const [name, flag] of Object.entries(flags)) {
    const left = FLAG_FEATURES_LEFT_TO_OCLIF.filter((k) => (flag as unknown as Record<string, unknown>)[k] !== undefined)
    if (left.length > 0 || typeof flag.default === 'function') unsupported(`--${name}: ${left.join(', ') || 'default function'}`)
    flag.name = name // (oclif's _setNames)
  }
  let optionalSeen = false
  for (const [name, arg] of Object.entries(argDefs)) {
    if (arg.multiple || typeof arg.default === 'function') unsupported(`argument ${name}`)
    if (!arg.required) optionalSeen = true
    else if (optionalSeen) unsupported('a required argument after an optional one')
    arg.name = name
  }

  const flagAliases = Object.fromEntries(Object.values(flags).flatMap((flag) => [...(flag.aliases ?? []), ...(flag.charAliases ?? [])].map((a) => [a, flag] as const)))
  const findLongFlag = (arg: string): string | undefined => {
    const name = arg.slice(2)
    if (flags[name]) return name
    if (flagAliases[name]) return flagAliases[name].name
    if (arg.startsWith(NEGATION)) {
      const flag = flags[arg.slice(NEGATION.length)]
      if (flag && flag.type === 'boolean' && flag.allowNo) return flag.name
      const alias = flagAliases[arg.slice(NEGATION.length)]
      if (alias && alias.type === 'boolean' && alias.allowNo) return alias.name
    }
    return undefined
  }
  const findShortFlag = (char: string | undefined): string | undefined => {
    if (char !== undefined && flagAliases[char]) return flagAliases[char].name
    return Object.keys(flags).find((k) => flags[k].char === char && char !== undefined && flags[k].char !== undefined)
  }
  const findFlag = (arg: string): {isLong: boolean; name: string | undefined} => {
    const isLong = arg.startsWith('--')
    const short = !isLong && arg.startsWith('-')
    return {isLong, name: isLong ? findLongFlag(arg) : short ? findShortFlag(arg[1]) : undefined}
  }

  // The walk over argv (oclif's parse()).
  const argv = [...argvIn]
  const raw: Token[] = []
  let currentFlag: LiteFlag | undefined
  const parseFlag = (arg: string): boolean => {
    const {isLong, name} = findFlag(arg)
    if (!name) {
      const i = arg.indexOf('=')
      if (i !== -1) {
        argv.unshift(arg.slice(i + 1))
        const parsed = parseFlag(arg.slice(0, i))
        if (!parsed) argv.shift()
        return parsed
      }
      return false
    }
    const flag = flags[name]
    if (flag.type === 'option') {
      if (!flag.multiple && raw.some((o) => o.type === 'flag' && o.flag === name)) unsupported(`--${name} given twice`)
      currentFlag = flag
      const value = isLong || arg.length < 3 ? argv.shift() : arg.slice(arg[2] === '=' ? 3 : 2)
      if (typeof value !== 'string' || findFlag(value).name) unsupported(`--${name} without a value`)
      raw.push({type: 'flag', flag: name, input: value})
    } else {
      raw.push({type: 'flag', flag: name, input: arg})
      if (!isLong && arg.length > 2) argv.unshift(`-${arg.slice(2)}`)
    }
    return true
  }
  let parsingFlags = true
  const originalArgv = [...argv]
  while (argv.length > 0) {
    const token = argv.shift()!
    if (parsingFlags && token.startsWith('-') && token !== '-') {
      if (token === '--') {
        parsingFlags = false
        continue
      }
      if (parseFlag(token)) continue
      if (!/^-\d/.test(token)) unsupported(`no such flag: ${token}`)
    }
    if (parsingFlags && currentFlag && currentFlag.multiple && !currentFlag.multipleNonGreedy) {
      raw.push({type: 'flag', flag: currentFlag.name!, input: token})
      continue
    }
    raw.push({type: 'arg', arg: Object.keys(argDefs)[raw.filter((o) => o.type === 'arg').length], input: token})
  }

  // Arguments (oclif's _args, without a variadic one).
  const argTokens = raw.filter((o): o is Extract<Token, {type: 'arg'}> => o.type === 'arg')
  const parsedArgv: unknown[] = []
  const args: Record<string, unknown> = {}
  for (const [name, arg] of Object.entries(argDefs)) {
    const token = argTokens.find((t) => t.arg === name)
    if (token) {
      if (arg.options && !arg.options.includes(token.input)) unsupported(`argument ${name}: not one of its options`)
      const parsed = await callParse(arg.parse, token.input, {...context, token}, arg)
      parsedArgv.push(parsed)
      args[name] = parsed
    } else if (!arg.ignoreStdin) unsupported(`argument ${name} would be read from stdin`)
    if (args[name] === undefined && (arg.default || arg.default === false)) {
      if (Array.isArray(arg.default)) parsedArgv.push(...(arg.default as unknown[]))
      else parsedArgv.push(arg.default)
      args[name] = arg.default
    }
  }
  for (const token of argTokens) {
    if (args[token.arg as string] !== undefined) continue
    parsedArgv.push(token.input)
  }

  // Flags (oclif's _flags): values from tokens, else the environment, else the default.
  const tokensOf = new Map<string, Extract<Token, {type: 'flag'}>[]>()
  for (const t of raw) if (t.type === 'flag') tokensOf.set(t.flag, [...(tokensOf.get(t.flag) ?? []), t])
  const options = (flag: LiteFlag, value: string): string => {
    if (flag.options && !flag.options.includes(value)) unsupported(`--${flag.name}: not one of its options`)
    return value
  }
  const values: Record<string, unknown> = {}
  const metadata: LiteParseOutput['metadata'] = {flags: {}}
  for (const [name, flag] of Object.entries(flags)) {
    const tokens = tokensOf.get(name)
    let value: unknown
    if (tokens?.length) {
      const last = tokens[tokens.length - 1]
      if (flag.type === 'boolean') {
        const negations = [name, ...(flag.aliases ?? [])].map((n) => `${NEGATION}${n}`)
        value = await callParse(flag.parse, !negations.includes(last.input), {...context, token: last}, flag)
      } else if (flag.multiple) {
        value = await Promise.all(tokens.map((t) => callParse(flag.parse, options(flag, t.input), {...context, token: t}, flag)))
      } else value = await callParse(flag.parse, options(flag, last.input), {...context, token: last}, flag)
    } else if (flag.env && process.env[flag.env]) {
      const fromEnv = process.env[flag.env]!
      value = flag.type === 'option' ? await callParse(flag.parse, options(flag, fromEnv), context, flag) : ['1', 'true', 'y', 'yes'].includes(fromEnv.toLowerCase())
    } else if (flag.type === 'boolean' || flag.env || flag.default !== undefined) {
      // (oclif marks every flag it considered and found no value for, even without a default)
      metadata.flags[name] = {setFromDefault: true}
      value = flag.default
    }
    if (value !== undefined) values[name] = value
  }

  // oclif's validate: what is left to check for these definitions.
  if (strict && parsedArgv.length > Object.keys(argDefs).length) unsupported('unexpected arguments')
  for (const [name, arg] of Object.entries(argDefs)) if (arg.required && args[name] === undefined) unsupported(`missing argument ${name}`)

  return {
    args,
    argv: parsedArgv.sort((a, b) => originalArgv.indexOf(a as string) - originalArgv.indexOf(b as string)),
    flags: values,
    metadata,
    nonExistentFlags: [],
    raw,
  }
}
