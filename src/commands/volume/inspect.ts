import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {renderInspect} from '../../cli/output.js'
import {NcxError} from '../../engine/errors.js'

export default class VolumeInspectCommand extends BaseCommand<typeof VolumeInspectCommand> {
  static summary = 'Display detailed information on one or more volumes'
  static strict = false
  static args = {volume: Args.string({description: 'Volume name (one or more)', required: true})}
  static flags = {
    format: Flags.string({char: 'f', description: "Format output using a Go template, or 'json'"}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    const {text, errors} = renderInspect(this.positionals, (name) => engine.volumes.inspect(name), this.flags.format)
    process.stdout.write(text)
    if (errors.length > 0) throw new NcxError(errors.join('\n'), {exitCode: 1})
  }
}
