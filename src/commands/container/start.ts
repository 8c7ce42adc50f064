import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {eachContainer} from '../../cli/containers.js'
import {UsageError} from '../../engine/errors.js'
import {startContainer, waitContainer} from '../../engine/container/lifecycle.js'
import {readLogs} from '../../engine/container/logs.js'

export default class Start extends BaseCommand<typeof Start> {
  static summary = 'Start one or more stopped containers'
  static aliases = ['start']
  static strict = false
  static args = {container: Args.string({description: 'Container name or ID (one or more)', required: true})}
  static flags = {
    attach: Flags.boolean({char: 'a', description: "Attach STDOUT/STDERR and forward signals; exit with the container's code"}),
    interactive: Flags.boolean({char: 'i', description: "Attach container's STDIN (not supported yet)"}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    if (this.flags.attach) {
      if (this.positionals.length > 1) throw new UsageError('you cannot start and attach multiple containers at once')
      const record = engine.containers.resolve(this.positionals[0])
      const since = Date.now()
      startContainer(engine, record)
      if ((record.options.logDriver ?? 'json-file') === 'json-file') {
        for await (const e of readLogs(engine, record, {follow: true, since: since - 1000})) {
          ;(e.stream === 'stderr' ? process.stderr : process.stdout).write(e.log)
        }
      }
      const code = await waitContainer(engine, record)
      if (code !== 0) this.exit(code)
      return
    }
    const code = await eachContainer(engine, this.positionals, (record, name) => {
      startContainer(engine, record)
      this.log(name)
    })
    if (code !== 0) this.exit(code)
  }
}
