import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {ComposeCommand, composeFlagsLongFile, progressPrinter} from '../../cli/compose.js'
import {stateOf} from '../../engine/container/lifecycle.js'
import {stopInOrder} from '../../engine/compose/up.js'

export default class Rm extends ComposeCommand<typeof Rm> {
  static summary = 'Removes stopped service containers'
  static strict = false
  static baseFlags = {...BaseCommand.baseFlags, ...composeFlagsLongFile}
  static flags = {
    force: Flags.boolean({char: 'f', description: "Don't ask to confirm removal"}),
    stop: Flags.boolean({char: 's', description: 'Stop the containers, if required, before removing'}),
    volumes: Flags.boolean({char: 'v', description: 'Remove any anonymous volumes attached to containers'}),
  }

  async run(): Promise<void> {
    const {name, project} = this.projectOrName()
    const engine = this.engine()
    let records = this.serviceContainers(engine, name, {oneoff: true})
    if (!this.flags.stop) records = records.filter((r) => !['running', 'restarting'].includes(stateOf(engine, r).status))
    if (records.length === 0) {
      process.stderr.write('No stopped containers\n')
      return
    }
    if (!this.flags.force) process.stderr.write(`Going to remove ${records.map((r) => r.name).join(', ')}\n`)
    await stopInOrder(engine, project, records, undefined, progressPrinter(), true)
  }
}
