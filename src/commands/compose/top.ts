import {ComposeCommand} from '../../cli/compose.js'
import {renderTable} from '../../cli/output.js'
import {TopProcess, stateOf, topContainer} from '../../engine/container/lifecycle.js'

export default class Top extends ComposeCommand<typeof Top> {
  static summary = 'Display the running processes'
  static strict = false

  async run(): Promise<void> {
    const {name} = this.projectOrName()
    const engine = this.engine()
    for (const r of this.serviceContainers(engine, name)) {
      if (stateOf(engine, r).status !== 'running') continue
      const rows = topContainer(engine, r)
      process.stdout.write(`${r.name}\n`)
      process.stdout.write(renderTable(rows, [
        {header: 'UID', value: (p: TopProcess) => String(p.uid)},
        {header: 'PID', value: (p: TopProcess) => String(p.pid)},
        {header: 'PPID', value: (p: TopProcess) => String(p.ppid)},
        {header: 'CMD', value: (p: TopProcess) => p.cmd},
      ]) + '\n')
    }
  }
}
