import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base.js'
import {LayerProgress} from '../cli/progress.js'
import {pushImage} from '../engine/image/push.js'
import {parseReference, repositoryName} from '../engine/image/reference.js'

export default class Push extends BaseCommand<typeof Push> {
  static summary = 'Upload an image to a registry'
  static aliases = ['image:push']
  static args = {name: Args.string({description: 'NAME[:TAG]', required: true})}
  static flags = {quiet: Flags.boolean({char: 'q', description: 'Suppress verbose output'})}
  static examples = ['ncx tag busybox localhost:5000/team/busybox:1 && ncx push localhost:5000/team/busybox:1']

  async run(): Promise<void> {
    const ref = parseReference(this.args.name)
    const quiet = this.flags.quiet
    if (!quiet) this.log(`The push refers to repository [${repositoryName(ref)}]`)
    const progress = new LayerProgress(process.stdout, Boolean(process.stdout.isTTY) && !quiet)
    const result = await pushImage(this.engine(), this.args.name, quiet ? undefined : (e) => progress.handle(e))
    if (quiet) this.log(result.reference)
    else this.log(`${result.tag}: digest: ${result.digest} size: ${result.size}`)
  }
}
