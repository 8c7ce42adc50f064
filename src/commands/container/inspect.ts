import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {compileTemplate} from '../../cli/template.js'
import {NotFoundError} from '../../engine/errors.js'
import {ContainerInspect, inspectContainer} from '../../engine/container/inspect.js'
import {ImageInspect, inspectImage} from '../../engine/image/inspect.js'

export default class Inspect extends BaseCommand<typeof Inspect> {
  static summary = 'Display detailed information on one or more containers'
  static description = "Containers (and, as plain `inspect`, images). Docker's JSON shape (Id, Name, State, Config, HostConfig, GraphDriver, NetworkSettings …) plus Bundle, the container's OCI runtime bundle."
  static aliases = ['inspect']
  static strict = false
  static args = {container: Args.string({description: 'Container name or ID (one or more)', required: true})}
  static flags = {
    format: Flags.string({char: 'f', description: "Format output using a Go template, or 'json'"}),
    size: Flags.boolean({char: 's', description: 'Display total file sizes'}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    const found: Array<ContainerInspect | ImageInspect> = []
    let failed = false
    const plain = this.id === 'inspect'
    for (const name of this.positionals) {
      const record = engine.containers.find(name)
      // `inspect` (not `container inspect`) falls back to images, as Docker's does.
      const image = !record && plain ? engine.images.find(name) : undefined
      if (image) {
        found.push(inspectImage(engine, image))
        continue
      }
      if (!record) {
        process.stderr.write(`ncx: ${new NotFoundError(plain ? `No such object: ${name}` : `No such container: ${name}`).message}\n`)
        failed = true
        continue
      }
      found.push(inspectContainer(engine, record))
    }
    const {format} = this.flags
    if (format && format !== 'json') {
      const tpl = compileTemplate(format)
      for (const c of found) this.log(tpl.render(c))
    } else if (found.length > 0 || !failed) {
      this.log(JSON.stringify(found, null, 4))
    }
    if (failed) this.exit(1)
  }
}

