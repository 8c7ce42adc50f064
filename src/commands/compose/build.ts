import {Flags} from '@oclif/core'

import {ComposeCommand} from '../../cli/compose.js'
import {builderFor} from '../../cli/compose-build.js'
import {buildServices, nameBuiltImages, withContextServices} from '../../engine/compose/build.js'
import {selectServices} from '../../engine/compose/up.js'
import {parseBuildArgs} from '../image/build.js'

export default class Build extends ComposeCommand<typeof Build> {
  static summary = 'Build or rebuild services'
  static strict = false
  static flags = {
    'build-arg': Flags.string({description: 'Set build-time variables for services', multiple: true, multipleNonGreedy: true}),
    'no-cache': Flags.boolean({description: 'Do not use cache when building the image'}),
    pull: Flags.boolean({description: 'Always attempt to pull a newer version of the image'}),
    quiet: Flags.boolean({char: 'q', description: "Don't print anything to STDOUT"}),
    'with-dependencies': Flags.boolean({description: 'Also build dependencies (transitively)'}),
  }

  async run(): Promise<void> {
    const f = this.flags
    const project = this.project(this.positionals)
    nameBuiltImages(project)
    const services = selectServices(project, this.positionals.length > 0 ? this.positionals : undefined, !f['with-dependencies']).filter((n) => project.services[n].build !== undefined)
    if (services.length === 0) {
      if (!f.quiet) process.stderr.write('No services to build\n')
      return
    }
    const progress = (this.flags as unknown as {progress?: string}).progress ?? 'auto'
    const engine = this.engine()
    await buildServices(project, withContextServices(engine, project, services), builderFor(engine, progress, f.quiet), {
      ...(f['no-cache'] ? {noCache: true} : {}),
      ...(f.pull ? {pull: true} : {}),
      ...(f['build-arg'] ? {buildArgs: parseBuildArgs(f['build-arg'])} : {}),
    })
  }
}
