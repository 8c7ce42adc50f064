import {Flags} from '@oclif/core'

import {ComposeCommand} from '../../cli/compose.js'
import {COMPOSE_VERSION} from '../../engine/compose/containers.js'

export default class Version extends ComposeCommand<typeof Version> {
  static summary = 'Show the compose version information'
  static flags = {
    format: Flags.string({description: 'Format the output. Values: [pretty | json]', options: ['pretty', 'json']}),
    short: Flags.boolean({description: "Shows only Compose's version number"}),
  }

  async run(): Promise<void> {
    const v = `${this.config.version} (compose model ${COMPOSE_VERSION})`
    if (this.flags.short) this.log(this.config.version)
    else if (this.flags.format === 'json') this.log(JSON.stringify({version: this.config.version, composeSpecVersion: COMPOSE_VERSION}))
    else this.log(`ncx compose version ${v}`)
  }
}
