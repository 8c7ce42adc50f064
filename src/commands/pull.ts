import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base.js'
import {LayerProgress} from '../cli/progress.js'
import {familiarName, parseReference} from '../engine/image/reference.js'
import {pullImage} from '../engine/image/pull.js'

export default class Pull extends BaseCommand<typeof Pull> {
  static summary = 'Download an image from a registry'
  static aliases = ['image:pull']
  static args = {name: Args.string({description: 'NAME[:TAG|@DIGEST]', required: true})}
  static flags = {
    platform: Flags.string({description: 'Set platform if the image is multi-platform (os/arch[/variant])'}),
    quiet: Flags.boolean({char: 'q', description: 'Suppress verbose output'}),
  }
  static examples = ['ncx pull busybox', 'ncx pull --platform linux/arm64 alpine:3.20', 'ncx pull localhost:5000/team/app@sha256:…']

  async run(): Promise<void> {
    const ref = parseReference(this.args.name)
    const tty = Boolean(process.stdout.isTTY) && !this.flags.quiet
    const progress = new LayerProgress(process.stdout, tty)
    if (!this.flags.quiet) this.log(`${ref.tag && !ref.digest ? ref.tag : ref.digest}: Pulling from ${ref.path.startsWith('library/') && ref.domain === 'docker.io' ? ref.path : `${ref.domain}/${ref.path}`}`)
    const result = await pullImage(this.engine(), this.args.name, {
      platform: this.flags.platform,
      onEvent: this.flags.quiet ? undefined : (e) => progress.handle(e),
    })
    if (!this.flags.quiet) {
      this.log(`Digest: ${result.digest}`)
      this.log(`Status: ${result.downloaded ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarName(ref)}`)
    }
    this.log(result.reference)
  }
}
