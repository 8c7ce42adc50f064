import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {eachContainer} from '../../cli/containers.js'
import {killContainer} from '../../engine/container/lifecycle.js'

export default class Kill extends BaseCommand<typeof Kill> {
  static summary = 'Kill one or more running containers'
  static aliases = ['kill']
  static strict = false
  static args = {container: Args.string({description: 'Container name or ID (one or more)', required: true})}
  static flags = {
    signal: Flags.string({char: 's', description: 'Signal to send to the container', default: 'KILL'}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    const code = await eachContainer(engine, this.positionals, async (record, name) => {
      await killContainer(engine, record, this.flags.signal)
      this.log(name)
    })
    if (code !== 0) this.exit(code)
  }
}
