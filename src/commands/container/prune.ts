import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {confirmDeletion} from '../../cli/confirm.js'
import {pruneContainers} from '../../engine/container/lifecycle.js'

export default class Prune extends BaseCommand<typeof Prune> {
  static summary = 'Remove all stopped containers'
  static flags = {
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation'}),
  }

  async run(): Promise<void> {
    if (!(await confirmDeletion('container prune', 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue?', this.flags.force))) return
    const removed = await pruneContainers(this.engine())
    const lines = removed.length > 0 ? ['Deleted Containers:', ...removed, ''] : []
    this.log([...lines, 'Total reclaimed space: 0B'].join('\n'))
  }
}
