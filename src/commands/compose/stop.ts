import {Flags} from '@oclif/core'

import {ComposeCommand, progressPrinter} from '../../cli/compose.js'
import {stopInOrder} from '../../engine/compose/up.js'

export default class Stop extends ComposeCommand<typeof Stop> {
  static summary = 'Stop services'
  static strict = false
  static flags = {timeout: Flags.integer({char: 't', description: 'Specify a shutdown timeout in seconds'})}

  async run(): Promise<void> {
    const {name, project} = this.projectOrName()
    const engine = this.engine()
    const records = this.serviceContainers(engine, name)
    await stopInOrder(engine, project, records, this.flags.timeout, progressPrinter(), false)
  }
}
