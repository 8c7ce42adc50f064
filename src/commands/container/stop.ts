import {BaseCommand} from '../../cli/base.js'
import {CONTAINERS_ARG, STOP_FLAGS, eachContainer} from '../../cli/containers.js'
import {stopContainer} from '../../engine/container/lifecycle.js'

export default class Stop extends BaseCommand<typeof Stop> {
  static summary = 'Stop one or more running containers'
  static description = 'Sends the stop signal (--stop-signal, the image\'s STOPSIGNAL, else SIGTERM), then SIGKILL after the timeout.'
  static aliases = ['stop']
  static strict = false
  static args = CONTAINERS_ARG
  static flags = STOP_FLAGS

  async run(): Promise<void> {
    const engine = this.engine()
    const code = await eachContainer(engine, this.positionals, async (record, name) => {
      await stopContainer(engine, record, {timeout: this.flags.time, signal: this.flags.signal})
      this.log(name)
    })
    if (code !== 0) this.exit(code)
  }
}
