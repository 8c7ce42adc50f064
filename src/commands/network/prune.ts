import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {confirmDeletion} from '../../cli/confirm.js'
import {pruneNetworks} from '../../engine/network/networks.js'

export default class NetworkPrune extends BaseCommand<typeof NetworkPrune> {
  static summary = 'Remove all unused networks'
  static flags = {
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation'}),
  }

  async run(): Promise<void> {
    if (!(await confirmDeletion('network prune', 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?', this.flags.force))) return
    const removed = pruneNetworks(this.engine())
    if (removed.length > 0) this.log(['Deleted Networks:', ...removed].join('\n'))
  }
}
