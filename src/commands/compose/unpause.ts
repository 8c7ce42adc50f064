import {ComposeCommand} from '../../cli/compose.js'
import {unpauseContainer} from '../../engine/cgroup/control.js'
import {stateOf} from '../../engine/container/lifecycle.js'
import {projectContainers, serviceOf} from '../../engine/compose/containers.js'

export default class Unpause extends ComposeCommand<typeof Unpause> {
  static summary = 'Unpause services (cgroup v2 freezer; needs a delegated cgroup, see ncx info)'
  static examples = ['ncx compose unpause', 'ncx compose unpause web']
  static strict = false

  async run(): Promise<void> {
    const {name} = this.projectOrName()
    const engine = this.engine()
    for (const r of projectContainers(engine, name).filter((x) => this.positionals.length === 0 || this.positionals.includes(serviceOf(x)))) {
      if (stateOf(engine, r).status !== 'running') continue
      await unpauseContainer(engine, r)
      process.stderr.write(` Container ${r.name}  Unpaused\n`)
    }
  }
}
