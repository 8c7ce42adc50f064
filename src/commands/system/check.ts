import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {humanSize, renderList} from '../../cli/output.js'
import {withSpinner} from '../../cli/style.js'
import {StoreProblem, checkStore} from '../../engine/check.js'
import {UsageError} from '../../engine/errors.js'

/** A problem as `--format` sees it (Go-template field names, strings as printed). */
function row(p: StoreProblem): Record<string, string> {
  return {
    Kind: p.kind,
    Object: p.object,
    Size: p.size === undefined ? '-' : humanSize(p.size),
    Detail: p.detail,
    Repair: p.repair,
    Status: p.repaired === undefined ? '' : p.repaired ? 'repaired' : `not repaired: ${p.error ?? 'unknown'}`,
  }
}

export default class SystemCheck extends BaseCommand<typeof SystemCheck> {
  static summary = 'Check the store for what a crash or a killed command left, and repair it'
  static description = `Finds half-made containers, interrupted removals, addresses held for containers that are gone, volumes without their record, damaged images (blobs missing or corrupt), containers whose layers are gone, unreferenced blobs and layers (the build cache keeps its own), partial downloads, stale lock files, what killed builds left, and build cache records whose layer is gone.

Without --repair nothing changes. --repair fixes each problem under the lock ncx's own writers take for it, so it is safe while other ncx commands run; removing a damaged image that a container uses, or a container that cannot start again, also needs --force. Exits 0 when the store is consistent (after the repair), 1 when problems remain.`
  static examples = ['ncx system check', 'ncx system check --quick', 'ncx system check --repair', 'ncx system check --repair --force', 'ncx system check --format json']
  static flags = {
    repair: Flags.boolean({char: 'r', description: 'Repair what is found'}),
    force: Flags.boolean({char: 'f', description: 'With --repair: also remove containers that use damaged images or cannot start again'}),
    quick: Flags.boolean({char: 'q', description: 'Skip the slow checks (re-hashing every blob)'}),
    format: Flags.string({description: "Format output: 'table', 'json', or a Go template such as '{{.Kind}} {{.Object}}'", helpGroup: 'OUTPUT'}),
  }

  async run(): Promise<void> {
    const {repair, force, quick, format} = this.flags
    if (force && !repair) throw new UsageError('--force only applies with --repair', 'use ncx system check --repair --force')
    const engine = this.engine()
    const report = await withSpinner(repair ? 'Checking and repairing the store' : 'Checking the store', () => checkStore(engine, {repair, force, quick}))
    const left = report.problems.filter((p) => p.repaired !== true)
    if (format === 'json') {
      this.log(JSON.stringify(report, null, 2))
    } else {
      const columns = [
        {header: 'PROBLEM', value: (r: Record<string, string>) => r.Kind},
        {header: 'OBJECT', value: (r: Record<string, string>) => r.Object},
        {header: 'SIZE', value: (r: Record<string, string>) => r.Size},
        ...(repair ? [{header: 'STATUS', value: (r: Record<string, string>) => r.Status}] : []),
        {header: 'DETAIL', value: (r: Record<string, string>) => r.Detail},
      ]
      if (report.problems.length > 0 || format) process.stdout.write(renderList(report.problems.map(row), columns, format, (r) => r, {Kind: 'PROBLEM', Object: 'OBJECT', Size: 'SIZE', Status: 'STATUS', Detail: 'DETAIL'}))
      if (!format) {
        for (const s of report.skipped) this.log(`note: ${s}`)
        const bytes = report.problems.reduce((sum, p) => sum + (p.size ?? 0), 0)
        const c = report.counted
        const scope = `${c.containers} containers, ${c.images} images, ${c.layers} layers, ${c.blobs} blobs, ${c.volumes} volumes, ${c.networks} networks checked`
        if (report.problems.length === 0) this.log(`No problems found (${scope})`)
        else if (!repair) {
          const forced = report.problems.filter((p) => p.repair === 'force').length
          this.log(`${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} found (${humanSize(bytes)} reclaimable; ${scope}): run "ncx system check --repair" to fix ${forced > 0 ? `them (${forced} also need${forced === 1 ? 's' : ''} --force)` : 'them'}`)
        } else {
          this.log(`${report.problems.length - left.length} of ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} repaired${left.length > 0 ? `; ${left.length} left (see STATUS)` : ''}`)
        }
      }
    }
    if (left.length > 0) this.exit(1)
  }
}
