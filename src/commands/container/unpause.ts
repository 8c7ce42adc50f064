import {BaseCommand} from '../../cli/base.js'
import {CONTAINERS_ARG, eachContainer} from '../../cli/containers.js'
import {unpauseContainer} from '../../engine/cgroup/control.js'

export default class Unpause extends BaseCommand<typeof Unpause> {
  static summary = 'Unpause all processes within one or more containers'
  static aliases = ['unpause']
  static examples = ['ncx unpause api']
  static strict = false
  static args = CONTAINERS_ARG

  async run(): Promise<void> {
    const engine = this.engine()
    const code = await eachContainer(engine, this.positionals, async (record, name) => {
      await unpauseContainer(engine, record)
      this.log(name)
    })
    if (code !== 0) this.exit(code)
  }
}
