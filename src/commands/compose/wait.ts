import {Flags} from '@oclif/core'

import {ComposeCommand} from '../../cli/compose.js'
import {NcxError} from '../../engine/errors.js'
import {waitContainer} from '../../engine/container/lifecycle.js'
import {down} from '../../engine/compose/up.js'

export default class Wait extends ComposeCommand<typeof Wait> {
  static summary = 'Block until the first service container stops'
  static strict = false
  static flags = {'down-project': Flags.boolean({description: 'Drops project when the first container stops'})}

  async run(): Promise<void> {
    const {name, project} = this.projectOrName()
    const engine = this.engine()
    const records = this.serviceContainers(engine, name)
    if (records.length === 0) throw new NcxError('no containers for project ' + name, {exitCode: 1})
    const code = await Promise.race(records.map((r) => waitContainer(engine, r)))
    this.log(String(code))
    if (this.flags['down-project']) await down(engine, name, project, {onWarning: (m) => this.warnLine(m)})
  }
}
