import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base.js'
import {INSPECT_TYPES, InspectType, inspectObjects} from '../cli/inspect.js'
import {CliError} from '../cli/errors.js'

export default class Inspect extends BaseCommand<typeof Inspect> {
  static summary = 'Return low-level information on Docker objects'
  static description = "Containers, images, volumes and networks, tried in that order (or only the --type given). Docker's JSON shapes; a container's adds Bundle, its OCI runtime bundle."
  static strict = false
  static examples = ['ncx inspect web', "ncx inspect --format '{{.Id}}' busybox", 'ncx inspect --type volume data']
  static args = {name: Args.string({description: 'Name or ID of a container, image, volume or network (one or more)', required: true})}
  static flags = {
    format: Flags.string({char: 'f', description: "Format output using a Go template, or 'json'"}),
    size: Flags.boolean({char: 's', description: 'Display total file sizes if the type is container'}),
    type: Flags.string({description: 'Return JSON for specified type (container, image, volume, network)'}),
  }

  async run(): Promise<void> {
    const {type} = this.flags
    if (type !== undefined && !(INSPECT_TYPES as readonly string[]).includes(type)) {
      throw new CliError(`"${type}" is not a valid value for --type`, 1)
    }
    const types = type === undefined ? INSPECT_TYPES : [type as InspectType]
    const {text, errors} = inspectObjects(this.engine(), this.positionals, types, {format: this.flags.format, size: this.flags.size})
    process.stdout.write(text)
    if (errors.length > 0) throw new CliError(errors.join('\n'), 1)
  }
}
