import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {UsageError} from '../../engine/errors.js'
import {pruneContainers} from '../../engine/container/lifecycle.js'

export default class Prune extends BaseCommand<typeof Prune> {
  static summary = 'Remove all stopped containers'
  static flags = {
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation'}),
  }

  async run(): Promise<void> {
    if (!this.flags.force) {
      if (!process.stdin.isTTY) throw new UsageError('prune needs confirmation: use -f (--force) when not on a terminal')
      const {confirm} = await import('@inquirer/prompts')
      const ok = await confirm({message: 'This will remove all stopped containers. Are you sure you want to continue?', default: false})
      if (!ok) return
    }
    const removed = await pruneContainers(this.engine())
    const lines = removed.length > 0 ? ['Deleted Containers:', ...removed, ''] : []
    this.log([...lines, 'Total reclaimed space: 0B'].join('\n'))
  }
}
