import {ComposeCommand} from '../../cli/compose.js'
import {pauseContainer} from '../../engine/cgroup/control.js'
import {stateOf} from '../../engine/container/lifecycle.js'
import {projectContainers, serviceOf} from '../../engine/compose/containers.js'

export default class Pause extends ComposeCommand<typeof Pause> {
  static summary = 'Pause services (cgroup v2 freezer; needs a delegated cgroup, see ncx info)'
  static examples = ['ncx compose pause', 'ncx compose pause web']
  static strict = false

  async run(): Promise<void> {
    const {name} = this.projectOrName()
    const engine = this.engine()
    for (const r of projectContainers(engine, name).filter((x) => this.positionals.length === 0 || this.positionals.includes(serviceOf(x)))) {
      if (stateOf(engine, r).status !== 'running') continue
      await pauseContainer(engine, r)
      process.stderr.write(` Container ${r.name}  Paused\n`)
    }
  }
}
