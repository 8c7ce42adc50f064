import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {CREATE_FLAGS, executeCreate} from '../../cli/run-flags.js'
import {oclifFlags} from '../run.js'

export default class Create extends BaseCommand<typeof Create> {
  static summary = 'Create a new container'
  static description = 'Everything after IMAGE is the command and its arguments. Prints the container ID; start it with "ncx start".'
  static usage = 'create [OPTIONS] IMAGE [COMMAND] [ARG...]'
  static aliases = ['create']
  static strict = false
  static parsesOwnArgv = true
  static args = {image: Args.string({description: 'Image to create the container from', required: true})}
  static flags = oclifFlags(CREATE_FLAGS)

  async run(): Promise<void> {
    const code = await executeCreate(this.argv, (m) => this.warnLine(m), (t) => process.stdout.write(t))
    if (code !== 0) this.exit(code)
  }
}
