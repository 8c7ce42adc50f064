import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {NcxError, NotFoundError} from '../../engine/errors.js'
import {removeNetwork} from '../../engine/network/networks.js'

export default class NetworkRm extends BaseCommand<typeof NetworkRm> {
  static summary = 'Remove one or more networks'
  static aliases = ['network:remove']
  static strict = false
  static args = {network: Args.string({description: 'Network name or ID (one or more)', required: true})}
  static flags = {
    force: Flags.boolean({char: 'f', description: 'Do not error if the network does not exist'}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    const errors: string[] = []
    for (const name of this.positionals) {
      try {
        removeNetwork(engine, name)
        this.log(name)
      } catch (error) {
        if (!(error instanceof NcxError)) throw error
        if (this.flags.force && error instanceof NotFoundError) continue
        errors.push(error.message)
      }
    }
    if (errors.length > 0) throw new NcxError(errors.join('\n'), {exitCode: 1})
  }
}
