import {Args} from '@oclif/core'

import {BaseCommand} from '../cli/base.js'
import {UsageError} from '../engine/errors.js'
import {parseReference} from '../engine/image/reference.js'

export default class Tag extends BaseCommand<typeof Tag> {
  static summary = 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE'
  static aliases = ['image:tag']
  static args = {
    source: Args.string({description: 'SOURCE_IMAGE[:TAG] or image ID', required: true}),
    target: Args.string({description: 'TARGET_IMAGE[:TAG]', required: true}),
  }

  async run(): Promise<void> {
    const {source, target} = this.args
    if (parseReference(target).digest) throw new UsageError(`refusing to create a tag with a digest reference: ${target}`, 'give TARGET as NAME[:TAG]')
    this.engine().images.tag(source, target)
  }
}
