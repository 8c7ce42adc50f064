import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base.js'
import {NcxError} from '../engine/errors.js'
import {ARCHIVE_FORMATS, planSave, saveToFile, selectImages, writeArchive} from '../engine/image/save.js'

export default class Save extends BaseCommand<typeof Save> {
  static summary = 'Save one or more images to a tar archive (streamed to STDOUT by default)'
  static description =
    'docker-archive (the default) is what docker save writes, with uncompressed layers; oci-archive is an OCI image layout with the blobs as stored. Both load back with ncx load, docker load, podman load and skopeo.'
  static aliases = ['image:save']
  static strict = false
  static args = {image: Args.string({description: 'Image name or ID (one or more)', required: true})}
  static flags = {
    output: Flags.string({char: 'o', description: 'Write to a file, instead of STDOUT'}),
    format: Flags.string({description: 'Archive format', options: [...ARCHIVE_FORMATS], default: 'docker-archive'}),
  }

  async run(): Promise<void> {
    const {output} = this.flags
    const format = this.flags.format as (typeof ARCHIVE_FORMATS)[number]
    if (!output && process.stdout.isTTY) {
      throw new NcxError('cowardly refusing to save to a terminal. Use the -o flag or redirect', {exitCode: 1})
    }
    const engine = this.engine()
    const abort = new AbortController()
    const stop = () => abort.abort()
    process.once('SIGINT', stop).once('SIGTERM', stop)
    try {
      // Holding the GC lock (shared) keeps a concurrent rmi from deleting blobs mid-save.
      await engine.adding(async () => {
        const plan = await planSave(engine, selectImages(engine, this.positionals), format)
        if (output) await saveToFile(engine, plan, output, abort.signal)
        else await writeArchive(engine, plan, process.stdout, abort.signal)
      })
    } catch (error) {
      if (abort.signal.aborted) this.exit(130)
      // The reader went away (`ncx save busybox | head`): stop quietly, as a Go program killed by SIGPIPE does.
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') this.exit(141)
      throw error
    } finally {
      process.off('SIGINT', stop).off('SIGTERM', stop)
    }
  }
}
