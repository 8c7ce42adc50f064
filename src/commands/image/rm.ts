import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {NcxError, NotFoundError} from '../../engine/errors.js'
import {removeImages} from '../../engine/image/remove.js'

export default class ImageRm extends BaseCommand<typeof ImageRm> {
  static summary = 'Remove one or more images'
  static aliases = ['rmi', 'image:remove']
  static strict = false
  static args = {image: Args.string({description: 'Image name or ID (one or more)', required: true})}
  static flags = {
    force: Flags.boolean({char: 'f', description: 'Force removal of the image'}),
  }

  async run(): Promise<void> {
    const names = this.positionals
    let failed: NcxError | undefined
    for (const name of names) {
      try {
        const result = removeImages(this.engine(), name, {force: this.flags.force})
        for (const u of result.untagged) this.log(`Untagged: ${u}`)
        for (const d of result.deleted) this.log(`Deleted: ${d}`)
      } catch (error) {
        if (!(error instanceof NcxError)) throw error
        process.stderr.write(`ncx: ${error.message}\n`)
        // Docker's -f ignores images that do not exist (docker/cli image/remove.go).
        if (!(this.flags.force && error instanceof NotFoundError)) failed = error
      }
    }
    if (failed) this.exit(1)
  }
}
