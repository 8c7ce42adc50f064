/** The CLI side of compose builds: a ServiceBuilder that shows BuildKit-style progress and Docker's failure report. */
import {ProgressMode, progressPrinter, renderBuildError} from './build-progress.js'
import {BuildError, buildImage} from '../engine/build/builder.js'
import {ServiceBuilder} from '../engine/compose/build.js'
import {Engine} from '../engine/engine.js'
import {NcxError} from '../engine/errors.js'

/** Build a compose service's image on `engine`; `progress` is compose's --progress. */
export function builderFor(engine: Engine, progress = 'auto', quiet = false): ServiceBuilder {
  return async (service, options) => {
    const mode: ProgressMode = quiet || progress === 'quiet' ? 'quiet' : progress === 'plain' || progress === 'tty' ? progress : 'auto'
    const printer = await progressPrinter(mode, process.stderr)
    try {
      await buildImage(engine, {...options, onEvent: (e) => printer.handle(e), onWarning: (m) => printer.warn(m)})
    } catch (error) {
      printer.finish()
      // A failed build (exit 1: the Dockerfile, the context, a step) names the service after Docker's report.
      if (error instanceof BuildError || (error instanceof NcxError && error.exitCode === 1)) {
        process.stderr.write((error instanceof BuildError ? renderBuildError(error) : `ERROR: ${error.message}`) + '\n')
        throw new NcxError(`failed to build service ${JSON.stringify(service)}`, {exitCode: 1})
      }
      throw error
    }
    printer.finish()
  }
}
