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

import {collateWithoutIcu} from './collate.js'

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

/** oclif's `execute`, with modules from the bundle. `root`: the package directory. */
export async function fastCommand(argv: string[], root: string, modules: BundledModules): Promise<void> {
  serveFromBundle(root, modules)
  collateWithoutIcu()
  await execute({args: argv, loadOptions: {root}})
}
