import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {NcxError} from '../../engine/errors.js'

export default class VolumeRm extends BaseCommand<typeof VolumeRm> {
  static summary = 'Remove one or more volumes'
  static aliases = ['volume:remove']
  static strict = false
  static args = {volume: Args.string({description: 'Volume name (one or more)', required: true})}
  static flags = {
    force: Flags.boolean({char: 'f', description: 'Do not fail on volumes that do not exist (volumes in use are still refused)'}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    const errors: string[] = []
    for (const name of this.positionals) {
      try {
        engine.volumes.remove(name, {force: this.flags.force})
        this.log(name)
      } catch (error) {
        if (!(error instanceof NcxError)) throw error
        errors.push(error.message)
      }
    }
    if (errors.length > 0) throw new NcxError(errors.join('\n'), {exitCode: 1})
  }
}
