import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {eachContainer} from '../../cli/containers.js'
import {stopContainer} from '../../engine/container/lifecycle.js'

export default class Stop extends BaseCommand<typeof Stop> {
  static summary = 'Stop one or more running containers'
  static description = 'Sends the stop signal (--stop-signal, the image\'s STOPSIGNAL, else SIGTERM), then SIGKILL after the timeout.'
  static aliases = ['stop']
  static strict = false
  static args = {container: Args.string({description: 'Container name or ID (one or more)', required: true})}
  static flags = {
    time: Flags.integer({char: 't', aliases: ['timeout'], description: 'Seconds to wait before killing the container'}),
    signal: Flags.string({char: 's', description: 'Signal to send to the container'}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    const code = await eachContainer(engine, this.positionals, async (record, name) => {
      await stopContainer(engine, record, {timeout: this.flags.time, signal: this.flags.signal})
      this.log(name)
    })
    if (code !== 0) this.exit(code)
  }
}
