import {BaseCommand} from '../../cli/base.js'
import {CONTAINERS_ARG, STOP_FLAGS, eachContainer} from '../../cli/containers.js'
import {restartContainer} from '../../engine/container/lifecycle.js'

export default class Restart extends BaseCommand<typeof Restart> {
  static summary = 'Restart one or more containers'
  static aliases = ['restart']
  static strict = false
  static args = CONTAINERS_ARG
  static flags = STOP_FLAGS

  async run(): Promise<void> {
    const engine = this.engine()
    const code = await eachContainer(engine, this.positionals, async (record, name) => {
      await restartContainer(engine, record, {timeout: this.flags.time, signal: this.flags.signal})
      this.log(name)
    })
    if (code !== 0) this.exit(code)
  }
}
