import {ComposeCommand} from '../../cli/compose.js'
import {NcxError} from '../../engine/errors.js'

export default class Build extends ComposeCommand<typeof Build> {
  static summary = 'Build or rebuild services (not available yet: ncx has no image build)'
  static strict = false

  async run(): Promise<void> {
    const project = this.project()
    const built = Object.entries(project.services).filter(([, s]) => s.build !== undefined).map(([n]) => n)
    if (built.length === 0) {
      process.stderr.write('No services to build\n')
      return
    }
    throw new NcxError(`ncx has no image build yet: cannot build ${built.join(', ')}`, {hint: 'build the images elsewhere and load them with "ncx load", then name them with image:'})
  }
}
