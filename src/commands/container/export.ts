import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {exportToFile, exportToStdout} from '../../engine/container/export.js'
import {NcxError} from '../../engine/errors.js'

export default class Export extends BaseCommand<typeof Export> {
  static summary = "Export a container's filesystem as a tar archive"
  static aliases = ['export']
  static args = {container: Args.string({description: 'Container name or ID', required: true})}
  static flags = {output: Flags.string({char: 'o', description: 'Write to a file, instead of STDOUT'})}
  static examples = ['ncx export web > web.tar', 'ncx export -o web.tar web']

  async run(): Promise<void> {
    const {output} = this.flags
    if (!output && process.stdout.isTTY) {
      throw new NcxError('cowardly refusing to save to a terminal. Use the -o flag or redirect', {exitCode: 1})
    }
    const engine = this.engine()
    const record = engine.containers.resolve(this.args.container)
    try {
      if (output) await exportToFile(engine, record, output)
      else await exportToStdout(engine, record)
    } catch (error) {
      // The reader went away (`ncx export c | head`): stop quietly, as a Go program killed by SIGPIPE does.
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') this.exit(141)
      throw error
    }
  }
}
