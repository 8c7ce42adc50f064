import {createReadStream, existsSync} from 'node:fs'
import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base.js'
import {UsageError} from '../engine/errors.js'
import {fetchRootfs, importRootfs} from '../engine/image/archive.js'

export default class Import extends BaseCommand<typeof Import> {
  static summary = 'Import the contents from a tarball to create a filesystem image'
  static aliases = ['image:import']
  static args = {
    file: Args.string({description: 'Tarball (plain or gzip), an http(s) URL, or - for STDIN', required: true}),
    reference: Args.string({description: 'REPOSITORY[:TAG] to name the image'}),
  }
  static flags = {
    change: Flags.string({char: 'c', multiple: true, multipleNonGreedy: true, description: 'Apply Dockerfile instruction to the created image (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL)'}),
    message: Flags.string({char: 'm', description: 'Set commit message for imported image'}),
    platform: Flags.string({description: "The image's platform, linux/ARCH[/VARIANT] (default: this host's)"}),
  }
  static examples = ['ncx import rootfs.tar mybox:1', 'ncx import https://example.com/rootfs.tar.gz mybox:2', 'ncx import --change \'CMD ["sh"]\' rootfs.tar.gz mybox']

  async run(): Promise<void> {
    const {args, flags} = this
    const url = /^https?:\/\//i.test(args.file)
    if (args.file !== '-' && !url && !existsSync(args.file)) throw new UsageError(`open ${args.file}: no such file or directory`)
    const source = args.file === '-' ? process.stdin : url ? await fetchRootfs(args.file) : createReadStream(args.file)
    const engine = this.engine()
    const image = await engine.adding(() => importRootfs(engine, source, {
      changes: flags.change ?? [],
      message: flags.message,
      name: args.reference,
      origin: args.file === '-' ? 'stdin' : args.file,
      ...(flags.platform ? {platform: flags.platform} : {}),
    }))
    this.log(image.id)
  }
}
