import {createReadStream, existsSync} from 'node:fs'
import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base.js'
import {UsageError} from '../engine/errors.js'
import {loadImages} from '../engine/image/archive.js'
import {familiarName, parseReference} from '../engine/image/reference.js'

export default class Load extends BaseCommand<typeof Load> {
  static summary = 'Load an image from a tar archive or STDIN'
  static description = 'Takes OCI image-layout archives and docker-archives, as written by docker save, podman save, skopeo or ncx save.'
  static aliases = ['image:load']
  static flags = {
    input: Flags.string({char: 'i', description: 'Read from tar archive file, instead of STDIN'}),
    // Docker's -q hides the progress only; the Loaded image lines are still printed.
    quiet: Flags.boolean({char: 'q', description: 'Suppress the load progress output'}),
  }

  async run(): Promise<void> {
    const {input} = this.flags
    if (!input && process.stdin.isTTY) throw new UsageError('requested load from stdin, but stdin is empty', 'use -i FILE, or pipe an archive in')
    if (input && !existsSync(input)) throw new UsageError(`open ${input}: no such file or directory`)
    const source = input ? createReadStream(input) : process.stdin
    const engine = this.engine()
    const loaded = await loadImages(engine, source, input ?? 'stdin')
    for (const {image, names} of loaded) {
      if (names.length === 0) this.log(`Loaded image ID: ${image.id}`)
      for (const n of names) this.log(`Loaded image: ${familiarName(parseReference(n))}`)
    }
  }
}
