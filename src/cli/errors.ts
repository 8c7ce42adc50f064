/**
 * How an error reaches the user: one line naming what failed (then the fix), and Docker's
 * exit code for it. Docker's rules (docker/cli):
 *
 *   - a flag that does not parse (unknown, missing its value, a bad value): 125, with
 *     `See 'ncx CMD --help'.` (cli/cobra.go FlagErrorFunc);
 *   - the wrong number of arguments: 1, with the usage (cli/required.go);
 *   - any other failure of `run`/`create`: 125 (the container's own 126/127 stay);
 *   - any other failure of every other command: 1.
 *
 * The engine's errors carry 125 for "the engine failed"; this module turns that into 1
 * for the commands where Docker exits 1, in one place, instead of per command.
 */
import {NcxError, UsageError} from '../engine/errors.js'

/** Errors the command line itself raises (flags, argument counts): their exit code is final. */
export class CliError extends NcxError {
  constructor(message: string, exitCode: number, hint?: string) {
    super(message, {exitCode, hint})
    this.name = 'CliError'
  }
}

/** A flag that does not parse: exit 125, and the pointer to the command's help. */
export class FlagError extends UsageError {
  constructor(message: string) {
    super(message)
    this.name = 'FlagError'
  }
}

/** The wrong number of arguments: exit 1; the message carries the help pointer and the usage. */
export class ArgCountError extends CliError {
  constructor(message: string) {
    super(message, 1)
    this.name = 'ArgCountError'
  }
}

/** Docker's `invalid argument "V" for "-n, --last" flag: REASON`. */
export function invalidFlagValue(value: string, flag: {name: string; char?: string}, reason: string): FlagError {
  const shown = flag.char ? `-${flag.char}, --${flag.name}` : `--${flag.name}`
  return new FlagError(`invalid argument ${JSON.stringify(value)} for ${JSON.stringify(shown)} flag: ${reason}`)
}

/** The command line as the user typed it, for messages: `ncx`, `ncx run`, `ncx network ls`. */
export interface ErrorContext {
  /** The command's id as invoked (`run`, `container:rm`, `network:ls`); none for the root. */
  command?: string
}

/** The commands whose engine failures exit 125 in Docker (docker/cli container/run.go, create.go). */
const ENGINE_EXIT_COMMANDS = new Set(['run', 'create', 'container:run', 'container:create'])

export function commandPath(context: ErrorContext): string {
  return ['ncx', ...(context.command ? context.command.split(':') : [])].join(' ')
}

/** Docker's exit code for an error of `context`'s command. */
export function exitCodeFor(error: unknown, context: ErrorContext = {}): number {
  const engineExit = context.command === undefined || ENGINE_EXIT_COMMANDS.has(context.command)
  if (error instanceof FlagError) return 125
  if (error instanceof CliError) return error.exitCode
  if (error instanceof NcxError) return error.exitCode === 125 && !engineExit ? 1 : error.exitCode
  return engineExit ? 125 : 1
}

/** One line naming what failed, then the fix: how every error reaches the user. */
export function renderError(error: unknown, debug = false, context: ErrorContext = {}): {text: string; exitCode: number} {
  const exitCode = exitCodeFor(error, context)
  const e = error as {message?: string; stack?: string; hint?: string}
  let text = `ncx: ${e?.message ?? String(error)}`
  // Docker's flag errors are bare (`unknown flag: --rmm`) and point at the command's help.
  if (error instanceof FlagError) text = `${error.message}\nSee '${commandPath(context)} --help'.`
  else if (error instanceof ArgCountError) text = error.message
  else if (error instanceof NcxError && error.hint) text += `\n  hint: ${error.hint}`
  if (debug && e?.stack) text += `\n${e.stack}`
  return {text, exitCode}
}
