import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {renderTable} from '../../cli/output.js'
import {PS_EF_TITLES, psEfRows} from '../../cli/top.js'
import {topContainer, topWithPsOptions} from '../../engine/container/lifecycle.js'

export default class Top extends BaseCommand<typeof Top> {
  static summary = 'Display the running processes of a container'
  static aliases = ['top']
  static usage = 'top CONTAINER [ps OPTIONS]'
  static strict = false
  // What follows the container belongs to ps (`top web -o pid,comm`).
  static flagsEndAfter = 1
  static args = {container: Args.string({description: 'Container name or ID', required: true})}

  async run(): Promise<void> {
    const engine = this.engine()
    const [name, ...psArgs] = this.positionals
    const record = engine.containers.resolve(name)
    if (psArgs.length > 0) {
      const {titles, lines} = topWithPsOptions(engine, record, psArgs)
      process.stdout.write(renderTable(lines, titles.map((t, i) => ({header: t, value: (l: string[]) => l[i] ?? ''}))))
      return
    }
    const rows = psEfRows(topContainer(engine, record))
    process.stdout.write(renderTable(rows, PS_EF_TITLES.map((t, i) => ({header: t, value: (l: string[]) => l[i] ?? ''}))))
  }
}
