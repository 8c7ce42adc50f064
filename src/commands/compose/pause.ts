import {ComposeCommand} from '../../cli/compose.js'
import {pauseContainer} from '../../engine/cgroup/control.js'

export default class Pause extends ComposeCommand<typeof Pause> {
  static summary = 'Pause services (cgroup v2 freezer; needs a delegated cgroup, see ncx info)'
  static examples = ['ncx compose pause', 'ncx compose pause web']
  static strict = false

  async run(): Promise<void> {
    await this.eachRunning((engine, r) => pauseContainer(engine, r), 'Paused')
  }
}
