import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {renderInspect} from '../../cli/output.js'
import {NcxError, NotFoundError} from '../../engine/errors.js'
import {findNetworkInspect} from '../../engine/network/inspect.js'

export default class NetworkInspectCommand extends BaseCommand<typeof NetworkInspectCommand> {
  static summary = 'Display detailed information on one or more networks'
  static strict = false
  static args = {network: Args.string({description: 'Network name or ID (one or more)', required: true})}
  static flags = {
    format: Flags.string({char: 'f', description: "Format output using a Go template, or 'json'"}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    const {text, errors} = renderInspect(this.positionals, (name) => {
      const doc = findNetworkInspect(engine, name)
      if (!doc) throw new NotFoundError(`network ${name} not found`)
      return doc
    }, this.flags.format)
    process.stdout.write(text)
    if (errors.length > 0) throw new NcxError(errors.join('\n'), {exitCode: 1})
  }
}
