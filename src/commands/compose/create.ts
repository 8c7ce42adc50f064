import {Flags} from '@oclif/core'

import {hostOptions} from '../../cli/compose-host.js'
import {ComposeCommand, progressPrinter, pullerFor} from '../../cli/compose.js'
import {builderFor} from '../../cli/compose-build.js'
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
    build: Flags.boolean({description: 'Build images before starting containers'}),
  }

  async run(): Promise<void> {
    const f = this.flags
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
      build: f.build,
      ...('no-build' in f ? {noBuild: (f as {'no-build'?: boolean})['no-build']} : {}),
      buildImage: builderFor(engine, (this.flags as unknown as {progress?: string}).progress ?? 'auto', ('quiet' in f && (f as {quiet?: boolean}).quiet) || false),
      onEvent: progressPrinter(),
      onWarning: (m) => this.warnLine(m),
      extraOptions: hostOptions,
    })
  }
}
