import {Flags} from '@oclif/core'

import {ComposeCommand} from '../../cli/compose.js'
import {killContainer, stateOf} from '../../engine/container/lifecycle.js'
import {projectContainers, serviceOf} from '../../engine/compose/containers.js'

export default class Kill extends ComposeCommand<typeof Kill> {
  static summary = 'Force stop service containers'
  static strict = false
  static flags = {
    signal: Flags.string({char: 's', description: 'SIGNAL to send to the container', default: 'SIGKILL'}),
    'remove-orphans': Flags.boolean({description: 'Remove containers for services not defined in the Compose file'}),
  }

  async run(): Promise<void> {
    const {name} = this.projectOrName()
    const engine = this.engine()
    for (const r of projectContainers(engine, name).filter((x) => this.positionals.length === 0 || this.positionals.includes(serviceOf(x)))) {
      if (stateOf(engine, r).status !== 'running') continue
      killContainer(engine, r, this.flags.signal)
      process.stderr.write(` Container ${r.name}  Killed\n`)
    }
  }
}
