import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {eachContainer} from '../../cli/containers.js'
import {removeContainer} from '../../engine/container/lifecycle.js'

export default class Rm extends BaseCommand<typeof Rm> {
  static summary = 'Remove one or more containers'
  static aliases = ['rm', 'container:remove']
  static strict = false
  static args = {container: Args.string({description: 'Container name or ID (one or more)', required: true})}
  static flags = {
    force: Flags.boolean({char: 'f', description: 'Force the removal of a running container (uses SIGKILL)'}),
    volumes: Flags.boolean({char: 'v', description: 'Remove anonymous volumes associated with the container'}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    const code = await eachContainer(engine, this.positionals, async (record, name) => {
      await removeContainer(engine, record, {force: this.flags.force, volumes: this.flags.volumes})
      this.log(name)
    }, {ignoreMissing: this.flags.force})
    if (code !== 0) this.exit(code)
  }
}
