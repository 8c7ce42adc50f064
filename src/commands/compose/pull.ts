import {Flags} from '@oclif/core'

import {ComposeCommand} from '../../cli/compose.js'
import {ensureImage} from '../../cli/pull-policy.js'
import {selectServices} from '../../engine/compose/up.js'

export default class Pull extends ComposeCommand<typeof Pull> {
  static summary = 'Pull service images'
  static strict = false
  static flags = {
    'ignore-pull-failures': Flags.boolean({description: 'Pull what it can and ignores images with pull failures'}),
    'include-deps': Flags.boolean({description: 'Also pull services declared as dependencies'}),
    quiet: Flags.boolean({char: 'q', description: 'Pull without printing progress information'}),
  }

  async run(): Promise<void> {
    const project = this.project()
    const engine = this.engine()
    const names = selectServices(project, this.positionals, !this.flags['include-deps'])
    const services = names.map((n) => project.services[n]).filter((s) => s.image && !(s.build && s.pull_policy === 'build'))
    const images = [...new Set(services.map((s) => s.image!))]
    const platformOf = new Map(services.filter((s) => typeof s.platform === 'string').map((s) => [s.image!, s.platform as string]))
    const write = this.flags.quiet ? () => {} : (line: string) => process.stderr.write(line)
    await Promise.all(
      images.map(async (image) => {
        try {
          await ensureImage(engine, image, 'always', write, platformOf.get(image))
        } catch (error) {
          if (!this.flags['ignore-pull-failures']) throw error
          this.warnLine(`${image}: ${(error as Error).message}`)
        }
      }),
    )
  }
}
