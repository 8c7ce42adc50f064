import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {eachContainer} from '../../cli/containers.js'
import {LIMIT_FLAGS, parseResourceFlags} from '../../cli/resource-flags.js'
import {updateContainer} from '../../engine/cgroup/control.js'
import {UsageError} from '../../engine/errors.js'

type CharFlag = Parameters<typeof Flags.string>[0] extends infer O ? (O extends {char?: infer C} ? C : never) : never

export default class Update extends BaseCommand<typeof Update> {
  static summary = 'Update configuration (resource limits) of one or more containers'
  static aliases = ['update']
  static examples = ['ncx update --memory 512m --memory-swap 1g api', 'ncx update --cpus 1.5 --pids-limit 200 api worker']
  static strict = false
  static args = {container: Args.string({description: 'Container name or ID (one or more)', required: true})}
  static flags = Object.fromEntries(LIMIT_FLAGS.map((f) => [f.name, Flags.string({description: f.description, ...(f.char ? {char: f.char as CharFlag} : {})})]))

  async run(): Promise<void> {
    const engine = this.engine()
    const resources = parseResourceFlags(this.flags as Record<string, string | undefined>)
    if (!resources) throw new UsageError('you must provide one or more flags when using this command', 'e.g. ncx update --memory 512m --cpus 1 CONTAINER')
    const code = await eachContainer(engine, this.positionals, (record, name) => {
      updateContainer(engine, record, resources)
      this.log(name)
    })
    if (code !== 0) this.exit(code)
  }
}
