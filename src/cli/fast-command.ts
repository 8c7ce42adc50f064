/**
 * The start-up path of every command other than `run`/`exec`/`build`: oclif itself (its
 * Config, manifest, argv normalisation, parser, help and error handling), but loaded from
 * one pre-bundled, V8-code-cached file (dist/fast-command.cjs, see scripts/build-fast.cjs)
 * instead of some 150 ES modules of @oclif/core, the command and the engine, each read,
 * resolved and compiled on every call. Only module loading differs: oclif asks its
 * ModuleLoader for `dist/src/commands/…js`, the help class and hooks, and gets the bundled
 * copy of the same module (the bundle's @oclif/core is the one these modules import, so
 * classes and `instanceof` agree). A path the bundle does not have loads as before.
 * `NCX_OCLIF=1` sends a command through the unbundled oclif (the parity test compares both).
 */
import {execute, ModuleLoader} from '@oclif/core'
import {join, relative, resolve, sep} from 'node:path'

/** Bundled modules by their path relative to the package root (`dist/src/commands/ps.js`). */
export type BundledModules = Record<string, () => unknown>

interface Loaded {
  filePath: string
  isESM: boolean
  module: unknown
}

type Loader = typeof ModuleLoader

/**
 * Serve oclif's module loads from the bundle. oclif's ModuleLoader functions are read from
 * its exports object at each call, so replacing them there reaches every caller (commands,
 * hooks, the configured help class).
 */
function serveFromBundle(root: string, modules: BundledModules): void {
  const loader = ModuleLoader as {-readonly [K in keyof Loader]: Loader[K]}
  const bundled = (file: string): unknown => {
    const rel = relative(root, resolve(root, file)).split(sep).join('/')
    const load = modules[rel] ?? modules[`${rel}.js`] ?? modules[rel.replace(/\.ts$/, '.js')]
    return load?.()
  }
  const {load, loadWithData, loadWithDataFromManifest} = loader
  loader.loadWithDataFromManifest = (async (cached: Parameters<Loader['loadWithDataFromManifest']>[0], modulePath: string): Promise<Loaded> => {
    const filePath = cached.relativePath ? join(modulePath, ...cached.relativePath) : ''
    const module = filePath ? bundled(filePath) : undefined
    return module ? {filePath, isESM: true, module} : loadWithDataFromManifest(cached, modulePath)
  }) as Loader['loadWithDataFromManifest']
  loader.loadWithData = (async (config: Parameters<Loader['loadWithData']>[0], modulePath: string): Promise<Loaded> => {
    const module = bundled(modulePath)
    return module ? {filePath: resolve(root, modulePath), isESM: true, module} : loadWithData(config, modulePath)
  }) as Loader['loadWithData']
  loader.load = (async (config: Parameters<Loader['load']>[0], modulePath: string) => bundled(modulePath) ?? load(config, modulePath)) as Loader['load']
}

/** Characters in the order ICU's root collation sorts them (punctuation, digits, letters). */
const COLLATION_ORDER = '_-:./0123456789abcdefghijklmnopqrstuvwxyz'
const RANK = new Map([...COLLATION_ORDER].map((c, i) => [c, i]))
const PLAIN = /^[_\-:./0-9a-zA-Z]*$/

/**
 * `a.localeCompare(b)`'s result for two strings of ASCII letters, digits and `_-:./` (command
 * ids, ISO timestamps, most names), without ICU: its first localeCompare builds a collator,
 * about a tenth of a `ps` (oclif sorts the manifest's commands with it on every call, `ps`
 * its rows by creation time). Among these characters the root collation has no contractions
 * and one primary weight each, a letter's the same in either case, and the primary weights
 * of the whole strings decide before any case difference does: where those differ, their
 * ranks give ICU's answer. Strings equal but for case, other characters, or a locale or
 * options go to ICU (undefined here). test/unit/fast-command.test.ts checks the two agree.
 */
export function plainLocaleCompare(a: string, b: string): number | undefined {
  if (a === b) return 0
  if (!PLAIN.test(a) || !PLAIN.test(b)) return undefined
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = RANK.get(a[i].toLowerCase())!
    const y = RANK.get(b[i].toLowerCase())!
    if (x !== y) return x < y ? -1 : 1
  }
  if (a.length !== b.length) return a.length < b.length ? -1 : 1
  return undefined // equal but for case: ICU's tertiary level
}

function collateWithoutIcu(): void {
  const icu = String.prototype.localeCompare
  // eslint-disable-next-line no-extend-native
  String.prototype.localeCompare = function (this: string | String, that: string, ...rest: unknown[]): number {
    // (`this` is a String object unless the bundle runs in strict mode.)
    if (rest.length === 0 && typeof that === 'string' && (typeof this === 'string' || this instanceof String)) {
      const plain = plainLocaleCompare(String(this), that)
      if (plain !== undefined) return plain
    }
    return icu.call(this, that, ...(rest as [])) // (locales, options)
  } as typeof icu
}

/** oclif's `execute`, with modules from the bundle. `root`: the package directory. */
export async function fastCommand(argv: string[], root: string, modules: BundledModules): Promise<void> {
  serveFromBundle(root, modules)
  collateWithoutIcu()
  await execute({args: argv, loadOptions: {root}})
}
