import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'

export default class Rename extends BaseCommand<typeof Rename> {
  static summary = 'Rename a container'
  static aliases = ['rename']
  static args = {
    container: Args.string({description: 'Container name or ID', required: true}),
    name: Args.string({description: 'New name', required: true}),
  }

  async run(): Promise<void> {
    const containers = this.engine().containers
    containers.rename(containers.resolve(this.args.container).id, this.args.name.replace(/^\//, ''))
  }
}
