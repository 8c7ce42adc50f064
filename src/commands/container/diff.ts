import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {containerChanges} from '../../engine/container/diff.js'

export default class Diff extends BaseCommand<typeof Diff> {
  static summary = "Inspect changes to files or directories on a container's filesystem"
  static description = 'A: added, C: changed, D: deleted (against the image the container was created from).'
  static aliases = ['diff']
  static args = {container: Args.string({description: 'Container name or ID', required: true})}

  async run(): Promise<void> {
    const engine = this.engine()
    const changes = containerChanges(engine, engine.containers.resolve(this.args.container))
    process.stdout.write(changes.map((c) => `${c.kind} ${c.path}\n`).join(''))
  }
}
