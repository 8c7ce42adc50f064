import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {confirmDeletion} from '../../cli/confirm.js'
import {humanSize} from '../../cli/output.js'
import {pruneBuildCache} from '../../engine/build/prune.js'
import {parsePruneFilters} from '../../engine/prune.js'
import {UsageError} from '../../engine/errors.js'

export default class BuilderPrune extends BaseCommand<typeof BuilderPrune> {
  static summary = 'Remove build cache'
  static description =
    'Removes build cache records no image uses (with -a: every record, and the RUN --mount=type=cache directories), then the layers nothing needs any more. Asks first on a terminal; without a terminal or with CI=true it never prompts and refuses unless -f is given.'
  static aliases = ['buildx:prune']
  static examples = ['ncx builder prune -f', 'ncx builder prune -af', 'ncx builder prune -f --filter until=24h']
  static flags = {
    all: Flags.boolean({char: 'a', description: 'Remove all unused build cache, not just dangling ones'}),
    force: Flags.boolean({char: 'f', description: 'Do not prompt for confirmation'}),
    filter: Flags.string({description: "Provide filter values (e.g. 'until=24h')", multiple: true, multipleNonGreedy: true}),
    'keep-storage': Flags.string({description: 'Amount of disk space to keep for cache (not supported)'}),
  }

  async run(): Promise<void> {
    if (this.flags['keep-storage'] !== undefined) throw new UsageError('--keep-storage is not supported by ncx', 'use --filter until=DURATION')
    const filter = parsePruneFilters(this.flags.filter ?? [])
    if (filter.labels.length > 0) throw new UsageError('build cache has no labels: only the until= filter applies')
    const message = `WARNING! This will remove ${this.flags.all ? 'all build cache' : 'all dangling build cache'}.\nAre you sure you want to continue?`
    if (!(await confirmDeletion('builder prune', message, this.flags.force))) return
    const report = pruneBuildCache(this.engine(), {all: this.flags.all, ...(filter.until !== undefined ? {until: filter.until} : {})})
    let out = ''
    if (report.deleted.length > 0) out += `ID\n${report.deleted.join('\n')}\n`
    process.stdout.write(`${out}Total:\t${humanSize(report.reclaimed)}\n`)
  }
}
