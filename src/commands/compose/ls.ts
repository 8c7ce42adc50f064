import {Flags} from '@oclif/core'

import {ComposeCommand} from '../../cli/compose.js'
import {renderList} from '../../cli/output.js'
import {stateOf} from '../../engine/container/lifecycle.js'
import {LABEL, labelsOf} from '../../engine/compose/containers.js'

interface Row {
  Name: string
  Status: string
  ConfigFiles: string
}

export default class Ls extends ComposeCommand<typeof Ls> {
  static summary = 'List running compose projects'
  static flags = {
    all: Flags.boolean({char: 'a', description: 'Show all stopped Compose projects'}),
    quiet: Flags.boolean({char: 'q', description: 'Only display project names'}),
    format: Flags.string({description: 'Format the output. Values: [table | json]'}),
    filter: Flags.string({description: 'Filter output based on conditions provided (name=…)'}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    const projects = new Map<string, {states: Map<string, number>; files: string}>()
    for (const r of engine.containers.list()) {
      const l = labelsOf(r)
      const p = l[LABEL.project]
      if (!p) continue
      const entry = projects.get(p) ?? {states: new Map(), files: l[LABEL.configFiles] ?? ''}
      const s = stateOf(engine, r).status
      entry.states.set(s, (entry.states.get(s) ?? 0) + 1)
      projects.set(p, entry)
    }
    const nameFilter = this.flags.filter?.startsWith('name=') ? this.flags.filter.slice(5) : undefined
    const rows: Row[] = [...projects]
      .filter(([, e]) => this.flags.all || e.states.has('running') || e.states.has('restarting'))
      .filter(([n]) => nameFilter === undefined || n.includes(nameFilter))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([n, e]) => ({Name: n, Status: [...e.states].sort(([a], [b]) => a.localeCompare(b)).map(([s, c]) => `${s}(${c})`).join(', '), ConfigFiles: e.files}))
    if (this.flags.quiet) {
      for (const r of rows) this.log(r.Name)
      return
    }
    if (this.flags.format === 'json') {
      this.log(JSON.stringify(rows))
      return
    }
    process.stdout.write(renderList(rows, [{header: 'NAME', value: (r: Row) => r.Name}, {header: 'STATUS', value: (r: Row) => r.Status}, {header: 'CONFIG FILES', value: (r: Row) => r.ConfigFiles}], this.flags.format, (r) => r))
  }
}
