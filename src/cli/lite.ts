/**
 * The lite path: a command run from its pre-bundled, code-cached lite bundle (dist/lite/*.cjs,
 * see scripts/build-fast.cjs) without oclif's Config, manifest or plugins. oclif costs more
 * than Node's own start: loading its Config reads package.json, the manifest and the plugin
 * tree, checks the Node version with semver, sets up debug and colour support, and the
 * bundle that holds it all is ten times the size of a command's own code.
 *
 * The command class is the same code as under oclif, compiled against lite-oclif.ts (oclif's
 * own flag definitions and parser; a stand-in Command). It runs as oclif's `Command._run`
 * runs it: init (which parses), run, catch, finally; an ExitError ends the process with its
 * code as oclif's error handler does, and a normal end flushes stdout and lets Node exit.
 *
 * Anything that fails before the command has done any work (a flag or argument error in
 * init) is handed back (`false`): bin/run.cjs then runs the whole command line through oclif,
 * which words the error as it always has. Help never gets here (lite-route.ts).
 */
import {collateWithoutIcu} from './collate.js'
import {installLightStdout} from './light-stdout.js'
import {LiteConfig} from './lite-oclif.js'

/** The bundled command modules by command id (`container:ls`). */
export type LiteModules = Record<string, () => unknown>

interface LiteCommand {
  parsed?: boolean
  init(): Promise<void>
  run(): Promise<unknown>
  catch(error: Error): Promise<unknown>
  finally(error: Error | undefined): Promise<unknown>
}

type LiteCommandClass = (new (argv: string[], config: LiteConfig) => LiteCommand) & {id?: string}

/** oclif's @oclif/core command module's handler on stdout: EPIPE (`ncx ps | head -1`) is not an error. */
function onStdoutError(err: NodeJS.ErrnoException): void {
  if (err && err.code === 'EPIPE') return
  throw err
}

/**
 * oclif attaches its handler when its command module loads; here it is attached when stdout is
 * first used, so a command that never writes to it does not create the stream.
 */
function swallowStdoutEpipe(): void {
  const descriptor = Object.getOwnPropertyDescriptor(process, 'stdout')
  if (!descriptor?.get || !descriptor.configurable) {
    process.stdout.on('error', onStdoutError)
    return
  }
  const getStdout = descriptor.get
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: descriptor.enumerable,
    get() {
      Object.defineProperty(process, 'stdout', descriptor)
      const stdout = getStdout.call(process) as NodeJS.WriteStream
      stdout.on('error', onStdoutError)
      return stdout
    },
  })
}

/** oclif's flush after a command: wait until stdout has taken everything written. */
async function flush(): Promise<void> {
  const stdout = process.stdout
  if (stdout.write('')) return
  await new Promise((resolve) => stdout.once('drain', resolve))
}

/** oclif's last word on an error that reached it: an ExitError's code, else the error printed and 1. */
function handle(error: unknown): never {
  const e = error as {oclif?: {exit?: number}; message?: string; stack?: string; constructor?: {name?: string}}
  if (e?.constructor?.name !== 'ExitError') console.error(e?.stack ?? String(error))
  process.exit(e?.oclif?.exit ?? 1)
}

/**
 * Run command `id` with `argv` (the arguments after its words) from `modules`. `root`: the
 * package directory. false: not run (unknown here, or its flags or arguments did not parse);
 * the caller hands the command line to oclif.
 */
export async function liteCommand(id: string, argv: string[], root: string, modules: LiteModules): Promise<boolean> {
  const load = modules[id]
  const Class = (load?.() as {default?: LiteCommandClass} | undefined)?.default
  if (typeof Class !== 'function') return false
  Class.id = id
  collateWithoutIcu()
  // (a file, /dev/null or a pipe: written to without Node's stream machinery, light-stdout.ts)
  if (!installLightStdout(onStdoutError)) swallowStdoutEpipe()
  installLightStdout(undefined, 2)
  const command = new Class(argv, new LiteConfig(root))
  try {
    await command.init()
  } catch {
    return false
  }
  let failure: Error | undefined
  try {
    try {
      await command.run()
    } catch (error) {
      failure = error as Error
      await command.catch(failure)
    } finally {
      await command.finally(failure)
    }
  } catch (error) {
    handle(error)
  }
  // (oclif warns so outside production; the commands that read their own argv never parse)
  if (!command.parsed && ['development', 'test'].includes(process.env.NODE_ENV ?? '')) {
    process.emitWarning(`Command ${id} did not parse its arguments. Did you forget to call 'this.parse'?`, {code: 'UnparsedCommand'})
  }
  await flush()
  return true
}
