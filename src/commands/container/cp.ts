import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {copyFiles, parseCpArg} from '../../engine/container/cp.js'
import {NcxError, UsageError} from '../../engine/errors.js'

function humanSize(n: number): string {
  // Docker's units.HumanSize: decimal, 3 significant digits.
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let i = 0
  let v = n
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${Number(v.toPrecision(3))}${units[i]}`
}

export default class Cp extends BaseCommand<typeof Cp> {
  static summary = 'Copy files/folders between a container and the local filesystem'
  static description =
    'SRC_PATH ending in /. copies the directory contents; a missing DEST_PATH is created. Paths in the container never resolve outside it, and nothing copied follows a symlink. Use - as DEST_PATH to write a tar archive to STDOUT, or as SRC_PATH to unpack one from STDIN into the directory DEST_PATH.'
  static aliases = ['cp']
  static args = {
    src: Args.string({description: 'CONTAINER:SRC_PATH or a local SRC_PATH', required: true}),
    dest: Args.string({description: 'CONTAINER:DEST_PATH or a local DEST_PATH', required: true}),
  }
  static flags = {
    'follow-link': Flags.boolean({char: 'L', description: 'Always follow symbol link in SRC_PATH'}),
    archive: Flags.boolean({char: 'a', description: 'Archive mode (accepted; owners are those of the user copying)'}),
    quiet: Flags.boolean({char: 'q', description: 'Suppress progress output during copy'}),
  }
  static examples = ['ncx cp web:/etc/hostname .', 'ncx cp ./conf/. web:/etc/app/', 'ncx cp web:/var/log - | tar t', 'tar c conf | ncx cp - web:/etc']

  async run(): Promise<void> {
    const engine = this.engine()
    const src = parseCpArg(this.args.src)
    const dest = parseCpArg(this.args.dest)
    if (dest.path === '-' && !dest.container && process.stdout.isTTY) {
      throw new NcxError('cowardly refusing to write a tar stream to a terminal. Redirect the output', {exitCode: 1})
    }
    if (src.container && dest.container) throw new UsageError('copying between containers is not supported')
    if (!src.container && !dest.container) throw new UsageError('must specify at least one container source')
    let bytes: number
    try {
      bytes = copyFiles(
        engine,
        {record: src.container ? engine.containers.resolve(src.container) : undefined, path: src.path},
        {record: dest.container ? engine.containers.resolve(dest.container) : undefined, path: dest.path},
        {followLink: this.flags['follow-link']},
      )
    } catch (error) {
      // The reader of `cp C:SRC -` went away: stop quietly, as a Go program killed by SIGPIPE does.
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') this.exit(141)
      throw error
    }
    if (this.args.dest === '-' || this.args.src === '-') return
    if (!this.flags.quiet && process.stderr.isTTY) process.stderr.write(`Successfully copied ${humanSize(bytes)} to ${this.args.dest}\n`)
  }
}
