/**
 * The fast path of `ncx build` (and `image build`, `buildx build`, `builder build`): no
 * oclif, one pre-bundled file with a V8 code cache (dist/fast-build.cjs, see
 * scripts/build-fast.cjs), so a rebuild where every step is cached stays well under a second.
 */
import {renderError} from './errors.js'
import {executeBuild} from './build-flags.js'
import {ModuleImporter} from './build-progress.js'

/** `importer`: bin/run.cjs's own import() (a script run from a code cache has none for ES modules such as chalk). */
export async function fastBuild(argv: string[], importer?: ModuleImporter): Promise<number> {
  try {
    return await executeBuild(argv, (m) => process.stderr.write(`WARNING: ${m}\n`), importer)
  } catch (error) {
    const {text, exitCode} = renderError(error, argv.includes('--debug') || process.env.NCX_DEBUG === '1', {command: 'build'})
    process.stderr.write(text + '\n')
    return exitCode
  }
}
