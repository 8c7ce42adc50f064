import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {confirmDeletion} from '../../cli/confirm.js'
import {humanSize} from '../../cli/output.js'
import {PruneReport, pruneImages} from '../../engine/image/prune.js'

const DANGLING_WARNING = 'WARNING! This will remove all dangling images.\nAre you sure you want to continue?'
const ALL_WARNING = 'WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?'

/** Docker's report: the deleted images (if any), a blank line, the total. */
export function renderPrune(report: PruneReport): string {
  let out = ''
  if (report.images.length > 0) {
    out += 'Deleted Images:\n'
    for (const image of report.images) {
      for (const u of image.untagged) out += `untagged: ${u}\n`
      out += `deleted: ${image.deleted}\n`
    }
    out += '\n'
  }
  return out + `Total reclaimed space: ${humanSize(report.spaceReclaimed)}\n`
}

export default class ImagePrune extends BaseCommand<typeof ImagePrune> {
  static summary = 'Remove unused images'
  static description = 'Without -a, removes dangling images (no name); with -a, every image no container uses. Then deletes the blobs and unpacked layers nothing references.'
  static flags = {
    all: Flags.boolean({char: 'a', description: 'Remove all unused images, not just dangling ones'}),
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation'}),
  }

  async run(): Promise<void> {
    const {all, force} = this.flags
    if (!(await confirmDeletion('image prune', all ? ALL_WARNING : DANGLING_WARNING, force))) return
    process.stdout.write(renderPrune(pruneImages(this.engine(), {all})))
  }
}
