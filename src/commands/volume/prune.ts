import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {humanSize} from '../../cli/output.js'
import {UsageError} from '../../engine/errors.js'
import {parseVolumeFilters} from '../../engine/volume/store.js'

export default class VolumePrune extends BaseCommand<typeof VolumePrune> {
  static summary = 'Remove unused local volumes (anonymous ones; all unused with -a)'
  static flags = {
    all: Flags.boolean({char: 'a', description: 'Remove all unused volumes, not just anonymous ones'}),
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation'}),
    filter: Flags.string({multiple: true, multipleNonGreedy: true, description: 'Provide filter values (label=KEY[=VALUE])'}),
  }

  async run(): Promise<void> {
    const filters = parseVolumeFilters(this.flags.filter ?? [], ['label'])
    if (!this.flags.force) {
      if (!process.stdin.isTTY) throw new UsageError('prune needs confirmation: use -f (--force) when not on a terminal')
      const {confirm} = await import('@inquirer/prompts')
      const what = this.flags.all ? 'all local volumes not used by at least one container' : 'anonymous local volumes not used by at least one container'
      const ok = await confirm({message: `WARNING! This will remove ${what}.\nAre you sure you want to continue?`, default: false})
      if (!ok) return
    }
    const {removed, reclaimed} = this.engine().volumes.prune({all: this.flags.all, label: filters.label})
    const lines = removed.length > 0 ? ['Deleted Volumes:', ...removed, ''] : []
    this.log([...lines, `Total reclaimed space: ${humanSize(reclaimed)}`].join('\n'))
  }
}
