/**
 * The start-up fast path: `ncx run …` and `ncx exec …` without oclif. Loading @oclif/core
 * costs more than starting Node itself, and these parse their own argv anyway (see
 * argv.ts), so bin/run.cjs sends them here. `--help` and everything else go through oclif.
 */
import {writeSync} from 'node:fs'

import {renderError} from './errors.js'
import {executeExec, executeRun} from './run-flags.js'

/**
 * Run, or report the error and exit. An error ends the command as it does under oclif: a
 * download, an unpack or a socket still open below must not keep the process alive (the
 * fast path otherwise ends when the event loop drains). stderr is a file, pipe or terminal,
 * written synchronously on Linux, so the message is out before the exit.
 */
async function guarded(command: FastCommand, argv: string[], fn: () => Promise<number>): Promise<number> {
  try {
    return await fn()
  } catch (error) {
    const {text, exitCode} = renderError(error, argv.includes('--debug') || process.env.NCX_DEBUG === '1', {command})
    process.stderr.write(text + '\n')
    process.exit(exitCode)
  }
}

/** The command as typed (`run` or `container run`): messages name it so. */
export type FastCommand = 'run' | 'container:run' | 'exec' | 'container:exec'

const warn = (m: string) => process.stderr.write(`WARNING: ${m}\n`)

/**
 * `run -d`'s ID, written to fd 1 directly: the first use of process.stdout loads node:net and
 * the stream machinery when stdout is a pipe (a few ms of a `run -d`).
 */
function out(text: string): void {
  const buf = Buffer.from(text)
  let done = 0
  try {
    while (done < buf.length) done += writeSync(1, buf, done)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error
    process.stdout.write(buf.subarray(done)) // a non-blocking stdout that is full: let Node queue it
  }
}

export async function fastRun(argv: string[], command: FastCommand = 'run'): Promise<number> {
  return guarded(command, argv, () => executeRun(argv, warn, out))
}

export async function fastExec(argv: string[], command: FastCommand = 'exec'): Promise<number> {
  return guarded(command, argv, () => executeExec(argv, warn))
}
