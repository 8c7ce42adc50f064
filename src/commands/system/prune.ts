import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {confirmDeletion} from '../../cli/confirm.js'
import {humanSize} from '../../cli/output.js'
import {withSpinner} from '../../cli/style.js'
import {parsePruneFilters, systemPrune} from '../../engine/prune.js'

export default class SystemPrune extends BaseCommand<typeof SystemPrune> {
  static summary = 'Remove unused data'
  static description =
    'Removes stopped containers, networks no container uses, dangling images (with -a: every image no container uses) and the layers nothing references. Asks first on a terminal; without a terminal or with CI=true it never prompts and refuses unless -f is given.'
  static examples = ['ncx system prune', 'ncx system prune -af', "ncx system prune -f --filter until=24h", "ncx system prune -f --filter label=env=test"]
  static flags = {
    all: Flags.boolean({char: 'a', description: 'Remove all unused images, not just dangling ones'}),
    volumes: Flags.boolean({description: 'Prune anonymous volumes'}),
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation'}),
    filter: Flags.string({description: "Provide filter values (e.g. 'label=<key>=<value>', 'until=24h')", multiple: true}),
  }

  async run(): Promise<void> {
    const {all, force, volumes} = this.flags
    const filter = parsePruneFilters(this.flags.filter ?? [])
    const items = [
      'all stopped containers',
      'all networks not used by at least one container',
      ...(volumes ? ['all anonymous volumes not used by at least one container'] : []),
      all ? 'all images without at least one container associated to them' : 'all dangling images',
      'unused build cache',
    ]
    const message = `WARNING! This will remove:\n${items.map((i) => `  - ${i}`).join('\n')}\n\nAre you sure you want to continue?`
    if (!(await confirmDeletion('system prune', message, force))) return
    const report = await withSpinner('Removing unused data', () => systemPrune(this.engine(), {all, filter, volumes}))
    let out = ''
    if (report.containers.length > 0) out += `Deleted Containers:\n${report.containers.join('\n')}\n\n`
    if (report.networks.length > 0) out += `Deleted Networks:\n${report.networks.join('\n')}\n\n`
    if (report.volumes.length > 0) out += `Deleted Volumes:\n${report.volumes.join('\n')}\n\n`
    if (report.images.images.length > 0) {
      out += 'Deleted Images:\n'
      for (const image of report.images.images) {
        for (const u of image.untagged) out += `untagged: ${u}\n`
        out += `deleted: ${image.deleted}\n`
      }
      out += '\n'
    }
    if (report.buildCache.length > 0) out += `Deleted build cache objects:\n${report.buildCache.join('\n')}\n\n`
    process.stdout.write(out + `Total reclaimed space: ${humanSize(report.spaceReclaimed)}\n`)
  }
}
