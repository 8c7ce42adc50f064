/**
 * What the commands use of `@oclif/core`, for the lite bundles (dist/lite/*.cjs, see
 * scripts/build-fast.cjs and lite.ts): esbuild resolves `@oclif/core` to this module when it
 * bundles a command for the lite path. `Flags` and `Args` build the same definitions as
 * oclif's (flags.ts, args.ts); `Command` is oclif's Command as its `parse`, `log`, `exit`,
 * `catch` and `finally` behave, without oclif's Config (no package.json, manifest or plugin
 * loading: the class comes from the bundle, its id from the route table), parsing with
 * lite-parse.ts. Any value that does not parse throws, and the lite path hands the command
 * line to oclif (lite.ts), so error messages are always oclif's own.
 *
 * What the stand-in leaves out is checked when the bundles are built (scripts/build-fast.cjs):
 * no command on the lite path is deprecated, has deprecated flags or aliases, enables --json,
 * and the CLI has no hooks but command_not_found and no extra help or version flags.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {format, inspect} from 'node:util'

import {LiteParseInput, LiteParseOutput, liteParse} from './lite-parse.js'

type Options = Record<string, unknown>
type ParseFn = (input: string, context: unknown, options: Options) => Promise<unknown>

/** oclif's `custom` (flags.ts): an option flag; `parse` is identity unless given. */
function customFlag(defaults: Options = {}): (options?: Options) => Options {
  return (options = {}) => ({
    parse: async (input: string) => input,
    ...defaults,
    ...options,
    input: [],
    multiple: Boolean(options.multiple === undefined ? (defaults.multiple ?? false) : options.multiple),
    type: 'option',
  })
}

/** oclif's integer parse; its errors are plain here (oclif words them when it re-parses). */
const parseInteger: ParseFn = async (input, _, options) => {
  if (!/^-?\d+$/.test(input)) throw new Error(`Expected an integer but received: ${input}`)
  const num = Number.parseInt(input, 10)
  if (options.min !== undefined && num < (options.min as number)) throw new Error(`Expected an integer greater than or equal to ${options.min}`)
  if (options.max !== undefined && num > (options.max as number)) throw new Error(`Expected an integer less than or equal to ${options.max}`)
  return num
}

export const Flags = {
  custom: customFlag,
  string: customFlag(),
  integer: customFlag({parse: parseInteger}),
  option: (defaults: Options) => customFlag(defaults),
  boolean: (options: Options = {}): Options => ({parse: async (b: boolean) => b, ...options, allowNo: Boolean(options.allowNo), type: 'boolean'}),
}

/** oclif's `custom` (args.ts). */
function customArg(defaults: Options = {}): (options?: Options) => Options {
  return (options = {}) => ({parse: async (input: string) => input, ...defaults, ...options, input: [], type: 'option'})
}

export const Args = {
  custom: customArg,
  string: customArg(),
  integer: customArg({parse: parseInteger}),
}

/** The part of oclif's Config the commands read (`this.config.version`). */
export class LiteConfig {
  readonly bin = 'ncx'
  private pjsonCache?: {name: string; version: string}

  constructor(readonly root: string) {}

  /** package.json, read when first asked for (`version` reads it, `ps` does not). */
  get pjson(): {name: string; version: string} {
    this.pjsonCache ??= JSON.parse(readFileSync(join(this.root, 'package.json'), 'utf8')) as {name: string; version: string}
    return this.pjsonCache
  }

  get name(): string {
    return this.pjson.name
  }

  get version(): string {
    return this.pjson.version
  }

  get userAgent(): string {
    return `${this.name}/${this.version} ${process.platform}-${process.arch} node-${process.version}`
  }
}

/** oclif's ExitError as the commands and lite.ts see it: `oclif.exit`, code EEXIT, the class name. */
export class ExitError extends Error {
  code = 'EEXIT'
  oclif: {exit: number}

  constructor(exitCode: number) {
    super(`EEXIT: ${exitCode}`)
    this.oclif = {exit: exitCode}
  }
}

/**
 * oclif's Command, as the lite path runs it (oclif 4's command.ts). Static members are the
 * ones a command class sets or oclif reads.
 */
export abstract class Command {
  static id: string
  static aliases: string[] = []
  static hiddenAliases: string[] = []
  static args: Options = {}
  static baseFlags: Options
  static flags: Options
  static strict = true
  static enableJsonFlag = false
  static summary?: string
  static description?: string
  static examples?: unknown
  static hidden?: boolean
  static usage?: string | string[]

  id: string
  parsed = false

  constructor(
    public argv: string[],
    public config: LiteConfig,
  ) {
    this.id = this.ctor.id
  }

  get ctor(): typeof Command {
    return this.constructor as typeof Command
  }

  abstract run(): Promise<unknown>

  async init(): Promise<void> {}

  async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    process.exitCode = process.exitCode ?? err.exitCode ?? 1
    throw err
  }

  async finally(_: Error | undefined): Promise<unknown> {
    return undefined
  }

  exit(code = 0): never {
    throw new ExitError(code)
  }

  /**
   * oclif's `log` (ux.stdout: console.log of the formatted text). Written to stdout directly:
   * console.log of one string writes the same bytes, but first loads Node's colour support,
   * which creates process.stderr (the stream machinery) to look at it. Like the console,
   * it ignores a failed write; stdout's 'error' handler sees it.
   */
  log(message: unknown = '', ...args: unknown[]): void {
    const text = typeof message === 'string' ? message : inspect(message)
    try {
      process.stdout.write(`${text ? format(text, ...args) : format(...args)}\n`)
    } catch {
      // (as console.log)
    }
  }

  async parse(options?: LiteParseInput & {baseFlags?: Options}, argv: string[] = this.argv): Promise<LiteParseOutput> {
    const opts = options ?? (this.ctor as unknown as LiteParseInput & {baseFlags?: Options})
    this.argv = [...argv]
    const results = await liteParse(argv, {context: this, ...opts, flags: {...opts.baseFlags, ...opts.flags}})
    this.parsed = true
    return results
  }
}
