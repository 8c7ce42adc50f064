/**
 * The start-up fast path: `ncx run …` and `ncx exec …` without oclif. Loading @oclif/core
 * costs more than starting Node itself, and these parse their own argv anyway (see
 * argv.ts), so bin/run.cjs sends them here. `--help` and everything else go through oclif.
 */
import {renderError} from './errors.js'
import {executeExec, executeRun} from './run-flags.js'

async function guarded(argv: string[], fn: () => Promise<number>): Promise<number> {
  try {
    return await fn()
  } catch (error) {
    const {text, exitCode} = renderError(error, argv.includes('--debug'))
    process.stderr.write(text + '\n')
    return exitCode
  }
}

const warn = (m: string) => process.stderr.write(`WARNING: ${m}\n`)

export async function fastRun(argv: string[]): Promise<number> {
  return guarded(argv, () => executeRun(argv, warn))
}

export async function fastExec(argv: string[]): Promise<number> {
  return guarded(argv, () => executeExec(argv, warn))
}
