import {Args, Flags, Interfaces} from '@oclif/core'

import {BaseCommand} from '../cli/base.js'
import {RUN_FLAGS, executeRun} from '../cli/run-flags.js'
import {FlagSpec} from '../cli/argv.js'
import {flagGroup} from '../cli/flag-groups.js'

/** oclif flag definitions from the splitter's table, so --help and completion see them. */
export function oclifFlags(table: FlagSpec[]): Interfaces.FlagInput {
  const out: Interfaces.FlagInput = {}
  for (const f of table) {
    if (f.name === 'root' || f.name === 'debug') continue
    const group = flagGroup(f.name)
    const common = {description: f.description, ...(f.char ? {char: f.char as 'a'} : {}), ...(f.aliases ? {aliases: f.aliases} : {}), ...(group ? {helpGroup: group} : {})}
    if (f.kind === 'boolean') out[f.name] = Flags.boolean(common)
    else if (f.kind === 'multiple') out[f.name] = Flags.string({...common, multiple: true})
    else out[f.name] = Flags.string({...common, ...(f.options ? {options: [...f.options]} : {})})
  }
  return out
}

export default class Run extends BaseCommand<typeof Run> {
  static summary = 'Create and run a new container from an image'
  static description = 'Everything after IMAGE is the command and its arguments: `ncx run busybox ls -l` passes -l to ls.'
  static usage = 'run [OPTIONS] IMAGE [COMMAND] [ARG...]'
  static aliases = ['container:run']
  static strict = false
  static parsesOwnArgv = true
  static args = {image: Args.string({description: 'Image to run', required: true})}
  static flags = oclifFlags(RUN_FLAGS)
  static examples = ['ncx run --rm busybox echo hello', 'ncx run --rm -it busybox sh', 'ncx run --rm -e FOO=bar -w /tmp busybox env']

  async run(): Promise<void> {
    // oclif would also take flags after IMAGE; our splitter stops at IMAGE.
    const code = await executeRun(this.argv, (m) => this.warnLine(m))
    if (code !== 0) this.exit(code)
  }
}
