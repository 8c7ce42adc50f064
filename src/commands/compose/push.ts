import {Flags} from '@oclif/core'

import {ComposeCommand} from '../../cli/compose.js'
import {pushImage} from '../../engine/image/push.js'
import {selectServices} from '../../engine/compose/up.js'

export default class Push extends ComposeCommand<typeof Push> {
  static summary = 'Push service images'
  static strict = false
  static flags = {
    'ignore-push-failures': Flags.boolean({description: 'Push what it can and ignores images with push failures'}),
    quiet: Flags.boolean({char: 'q', description: 'Push without printing progress information'}),
  }

  async run(): Promise<void> {
    const project = this.project()
    const engine = this.engine()
    const images = [...new Set(selectServices(project, this.positionals, true).map((n) => project.services[n].image).filter((i): i is string => i !== undefined))]
    for (const image of images) {
      try {
        const r = await pushImage(engine, image)
        if (!this.flags.quiet) process.stderr.write(` Image ${image}  Pushed (${r.tag}: digest: ${r.digest} size: ${r.size})\n`)
      } catch (error) {
        if (!this.flags['ignore-push-failures']) throw error
        this.warnLine(`${image}: ${(error as Error).message}`)
      }
    }
  }
}
