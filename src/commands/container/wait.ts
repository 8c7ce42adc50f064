import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {eachContainer} from '../../cli/containers.js'
import {waitContainer} from '../../engine/container/lifecycle.js'

export default class Wait extends BaseCommand<typeof Wait> {
  static summary = 'Block until one or more containers stop, then print their exit codes'
  static aliases = ['wait']
  static strict = false
  static args = {container: Args.string({description: 'Container name or ID (one or more)', required: true})}

  async run(): Promise<void> {
    const engine = this.engine()
    const code = await eachContainer(engine, this.positionals, async (record) => {
      this.log(String(await waitContainer(engine, record)))
    })
    if (code !== 0) this.exit(code)
  }
}
