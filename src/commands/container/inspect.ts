import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {CliError} from '../../cli/errors.js'
import {inspectObjects} from '../../cli/inspect.js'

export default class ContainerInspectCommand extends BaseCommand<typeof ContainerInspectCommand> {
  static summary = 'Display detailed information on one or more containers'
  static description = "Docker's JSON shape (Id, Name, State, Config, HostConfig, GraphDriver, NetworkSettings …) plus Bundle, the container's OCI runtime bundle."
  static strict = false
  static args = {container: Args.string({description: 'Container name or ID (one or more)', required: true})}
  static flags = {
    format: Flags.string({char: 'f', description: "Format output using a Go template, or 'json'"}),
    size: Flags.boolean({char: 's', description: 'Display total file sizes'}),
  }

  async run(): Promise<void> {
    const {text, errors} = inspectObjects(this.engine(), this.positionals, ['container'], {format: this.flags.format, size: this.flags.size})
    process.stdout.write(text)
    if (errors.length > 0) throw new CliError(errors.join('\n'), 1)
  }
}
