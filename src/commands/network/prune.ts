import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {UsageError} from '../../engine/errors.js'
import {pruneNetworks} from '../../engine/network/networks.js'

export default class NetworkPrune extends BaseCommand<typeof NetworkPrune> {
  static summary = 'Remove all unused networks'
  static flags = {
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation'}),
  }

  async run(): Promise<void> {
    if (!this.flags.force) {
      if (!process.stdin.isTTY) throw new UsageError('prune needs confirmation: use -f (--force) when not on a terminal')
      const {confirm} = await import('@inquirer/prompts')
      const ok = await confirm({message: 'This will remove all custom networks not used by at least one container. Are you sure you want to continue?', default: false})
      if (!ok) return
    }
    const removed = pruneNetworks(this.engine())
    if (removed.length > 0) this.log(['Deleted Networks:', ...removed].join('\n'))
  }
}
