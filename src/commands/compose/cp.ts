import {Args} from '@oclif/core'

import {ComposeCommand} from '../../cli/compose.js'
import {NcxError, UsageError} from '../../engine/errors.js'
import {projectContainers} from '../../engine/compose/containers.js'

/** `compose cp SERVICE:SRC DEST` / `SRC SERVICE:DEST`: the service's first container, through `ncx cp`. */
export default class Cp extends ComposeCommand<typeof Cp> {
  static summary = 'Copy files/folders between a service container and the local filesystem'
  static args = {src: Args.string({required: true}), dest: Args.string({required: true})}

  async run(): Promise<void> {
    const {name} = this.projectOrName()
    const engine = this.engine()
    const map = (p: string) => {
      const m = /^([a-zA-Z0-9._-]+):(.*)$/.exec(p)
      if (!m) return p
      const r = projectContainers(engine, name, {service: m[1]})[0]
      if (!r) throw new NcxError(`no container found for service ${JSON.stringify(m[1])}`, {exitCode: 1})
      return `${r.name}:${m[2]}`
    }
    const [src, dest] = [map(this.args.src), map(this.args.dest)]
    if (src === this.args.src && dest === this.args.dest) throw new UsageError('one of SRC and DEST must be SERVICE:PATH')
    const {default: Cp} = await import('../container/cp.js')
    await Cp.run([src, dest, ...(this.flags.root ? ['--root', this.flags.root] : [])], this.config)
  }
}
