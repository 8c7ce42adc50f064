import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {eachContainer} from '../../cli/containers.js'
import {NcxError, UsageError} from '../../engine/errors.js'
import {DEFAULT_DETACH_KEYS, parseDetachKeys, startAttached} from '../../engine/container/attach.js'
import {startContainer} from '../../engine/container/lifecycle.js'

export default class Start extends BaseCommand<typeof Start> {
  static summary = 'Start one or more stopped containers'
  static aliases = ['start']
  static strict = false
  static args = {container: Args.string({description: 'Container name or ID (one or more)', required: true})}
  static flags = {
    attach: Flags.boolean({char: 'a', description: "Attach STDOUT/STDERR and forward signals; exit with the container's code"}),
    interactive: Flags.boolean({char: 'i', description: "Attach container's STDIN"}),
    'detach-keys': Flags.string({description: 'Override the key sequence for detaching a container (default ctrl-p,ctrl-q)'}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    if (this.flags.attach || this.flags.interactive) {
      if (this.positionals.length > 1) throw new UsageError('you cannot start and attach multiple containers at once')
      const detachKeys = parseDetachKeys(this.flags['detach-keys'] ?? DEFAULT_DETACH_KEYS)
      const record = engine.containers.resolve(this.positionals[0])
      const stdin = Boolean(this.flags.interactive) && record.options.interactive
      const outcome = await startAttached(engine, record, {stdin, detachKeys, sigProxy: true})
      if (!outcome.detached && outcome.exitCode) this.exit(outcome.exitCode)
      return
    }
    const failed: string[] = []
    await eachContainer(
      engine,
      this.positionals,
      (record, name) => {
        startContainer(engine, record)
        this.log(name)
      },
      {failed},
    )
    // docker/cli start.go closes with the list of what did not start.
    if (failed.length > 0) throw new NcxError(`failed to start containers: ${failed.join(', ')}`, {exitCode: 1})
  }
}
