import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {compileTemplate} from '../../cli/template.js'
import {NcxError} from '../../engine/errors.js'
import {VolumeInspect} from '../../engine/volume/store.js'

export default class VolumeInspectCommand extends BaseCommand<typeof VolumeInspectCommand> {
  static summary = 'Display detailed information on one or more volumes'
  static strict = false
  static args = {volume: Args.string({description: 'Volume name (one or more)', required: true})}
  static flags = {
    format: Flags.string({char: 'f', description: "Format output using a Go template, or 'json'"}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    const docs: VolumeInspect[] = []
    const errors: string[] = []
    for (const name of this.positionals) {
      try {
        docs.push(engine.volumes.inspect(name))
      } catch (error) {
        if (!(error instanceof NcxError)) throw error
        errors.push(error.message)
      }
    }
    const {format} = this.flags
    if (format === undefined || format === '' || format === 'json') process.stdout.write(JSON.stringify(docs, null, 4) + '\n')
    else {
      const tpl = compileTemplate(format)
      process.stdout.write(docs.map((d) => tpl.render(d) + '\n').join(''))
    }
    if (errors.length > 0) throw new NcxError(errors.join('\n'), {exitCode: 1})
  }
}
