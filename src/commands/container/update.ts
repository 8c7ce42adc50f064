import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {eachContainer} from '../../cli/containers.js'
import {LIMIT_FLAGS, parseResourceFlags} from '../../cli/resource-flags.js'
import {updateContainer} from '../../engine/cgroup/control.js'
import {checkRestartPolicy, updateRestartPolicy} from '../../engine/container/lifecycle.js'
import {UsageError} from '../../engine/errors.js'

type CharFlag = Parameters<typeof Flags.string>[0] extends infer O ? (O extends {char?: infer C} ? C : never) : never

export default class Update extends BaseCommand<typeof Update> {
  static summary = 'Update configuration of one or more containers'
  static aliases = ['update']
  static examples = ['ncx update --memory 512m --memory-swap 1g api', 'ncx update --cpus 1.5 --pids-limit 200 api worker', 'ncx update --restart unless-stopped api']
  static strict = false
  static args = {container: Args.string({description: 'Container name or ID (one or more)', required: true})}
  static flags = {
    ...Object.fromEntries(LIMIT_FLAGS.map((f) => [f.name, Flags.string({description: f.description, ...(f.char ? {char: f.char as CharFlag} : {})})])),
    restart: Flags.string({description: 'Restart policy to apply when a container exits'}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    const resources = parseResourceFlags(this.flags as unknown as Record<string, string | undefined>)
    const restart = this.flags.restart === undefined ? undefined : checkRestartPolicy(this.flags.restart)
    if (!resources && restart === undefined) throw new UsageError('you must provide one or more flags when using this command', 'e.g. ncx update --memory 512m --cpus 1 CONTAINER')
    const code = await eachContainer(engine, this.positionals, (record, name) => {
      if (resources) updateContainer(engine, record, resources)
      if (restart !== undefined) updateRestartPolicy(engine, record, restart)
      this.log(name)
    })
    if (code !== 0) this.exit(code)
  }
}
