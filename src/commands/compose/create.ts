import {Flags} from '@oclif/core'

import {hostOptions} from '../../cli/compose-host.js'
import {ComposeCommand, progressPrinter, pullerFor} from '../../cli/compose.js'
import {UsageError} from '../../engine/errors.js'
import {up} from '../../engine/compose/up.js'
import {parseScale} from './up.js'

export default class Create extends ComposeCommand<typeof Create> {
  static summary = 'Creates containers for a service'
  static strict = false
  static flags = {
    'force-recreate': Flags.boolean({description: "Recreate containers even if their configuration and image haven't changed"}),
    'no-recreate': Flags.boolean({description: "If containers already exist, don't recreate them"}),
    pull: Flags.string({description: 'Pull image before running', options: ['always', 'missing', 'never']}),
    'remove-orphans': Flags.boolean({description: 'Remove containers for services not defined in the Compose file'}),
    scale: Flags.string({description: 'Scale SERVICE to NUM instances', multiple: true}),
    build: Flags.boolean({description: 'Build images before starting containers (not available in ncx)'}),
  }

  async run(): Promise<void> {
    const f = this.flags
    if (f.build) throw new UsageError('--build is not available: ncx has no image build yet', 'build the images elsewhere and load them with "ncx load"')
    const engine = this.engine()
    await up(engine, this.project(this.positionals), {
      services: this.positionals,
      noStart: true,
      forceRecreate: f['force-recreate'],
      noRecreate: f['no-recreate'],
      removeOrphans: f['remove-orphans'],
      scale: parseScale(f.scale),
      pull: f.pull as 'always' | 'missing' | 'never' | undefined,
      pullImage: pullerFor(engine),
      onEvent: progressPrinter(),
      onWarning: (m) => this.warnLine(m),
      extraOptions: hostOptions,
    })
  }
}
