import {ComposeCommand} from '../../cli/compose.js'
import {unpauseContainer} from '../../engine/cgroup/control.js'

export default class Unpause extends ComposeCommand<typeof Unpause> {
  static summary = 'Unpause services (cgroup v2 freezer; needs a delegated cgroup, see ncx info)'
  static examples = ['ncx compose unpause', 'ncx compose unpause web']
  static strict = false

  async run(): Promise<void> {
    await this.eachRunning((engine, r) => unpauseContainer(engine, r), 'Unpaused')
  }
}
