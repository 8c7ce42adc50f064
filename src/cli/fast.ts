/**
 * The start-up fast path: `ncx run …` without oclif. Loading @oclif/core costs more than
 * starting Node itself, and `run` parses its own argv anyway (see argv.ts), so bin/run.js
 * sends it here. `--help` and everything else go through oclif.
 */
import {renderError} from './errors.js'
import {executeRun} from './run-flags.js'

export async function fastRun(argv: string[]): Promise<number> {
  try {
    return await executeRun(argv, (m) => process.stderr.write(`WARNING: ${m}\n`))
  } catch (error) {
    const {text, exitCode} = renderError(error, argv.includes('--debug'))
    process.stderr.write(text + '\n')
    return exitCode
  }
}
