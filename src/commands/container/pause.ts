import {BaseCommand} from '../../cli/base.js'
import {CONTAINERS_ARG, eachContainer} from '../../cli/containers.js'
import {pauseContainer} from '../../engine/cgroup/control.js'

export default class Pause extends BaseCommand<typeof Pause> {
  static summary = 'Pause all processes within one or more containers (cgroup v2 freezer)'
  static aliases = ['pause']
  static examples = ['ncx pause api']
  static strict = false
  static args = CONTAINERS_ARG

  async run(): Promise<void> {
    const engine = this.engine()
    const code = await eachContainer(engine, this.positionals, async (record, name) => {
      await pauseContainer(engine, record)
      this.log(name)
    })
    if (code !== 0) this.exit(code)
  }
}
