import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {commitContainer} from '../../engine/container/commit.js'

export default class Commit extends BaseCommand<typeof Commit> {
  static summary = "Create a new image from a container's changes"
  static aliases = ['commit']
  static args = {
    container: Args.string({description: 'Container name or ID', required: true}),
    reference: Args.string({description: 'REPOSITORY[:TAG] to name the image'}),
  }
  static flags = {
    author: Flags.string({char: 'a', description: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'}),
    change: Flags.string({char: 'c', multiple: true, multipleNonGreedy: true, description: 'Apply Dockerfile instruction to the created image (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL)'}),
    message: Flags.string({char: 'm', description: 'Commit message'}),
    pause: Flags.boolean({char: 'p', allowNo: true, default: true, description: 'Pause container during commit (accepted; the container is not paused)'}),
  }
  static examples = ['ncx commit web mybox:2', 'ncx commit -m "add config" -c \'CMD ["httpd", "-f"]\' web']

  async run(): Promise<void> {
    const engine = this.engine()
    const record = engine.containers.resolve(this.args.container)
    const image = await commitContainer(engine, record, {
      author: this.flags.author,
      changes: this.flags.change ?? [],
      message: this.flags.message,
      name: this.args.reference,
    })
    this.log(image.id)
  }
}
