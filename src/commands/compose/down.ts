import {Flags} from '@oclif/core'

import {ComposeCommand, progressPrinter} from '../../cli/compose.js'
import {down} from '../../engine/compose/up.js'

export default class Down extends ComposeCommand<typeof Down> {
  static summary = 'Stop and remove containers, networks'
  static flags = {
    'remove-orphans': Flags.boolean({description: 'Remove containers for services not defined in the Compose file'}),
    volumes: Flags.boolean({char: 'v', description: 'Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers'}),
    rmi: Flags.string({description: 'Remove images used by services. "local" remove only images that don\'t have a custom tag', options: ['local', 'all']}),
    timeout: Flags.integer({char: 't', description: 'Specify a shutdown timeout in seconds'}),
  }

  async run(): Promise<void> {
    const {name, project} = this.projectOrName()
    await down(this.engine(), name, project, {
      removeOrphans: this.flags['remove-orphans'],
      volumes: this.flags.volumes,
      rmi: this.flags.rmi as 'local' | 'all' | undefined,
      timeout: this.flags.timeout,
      onEvent: progressPrinter(),
      onWarning: (m) => this.warnLine(m),
    })
  }
}
