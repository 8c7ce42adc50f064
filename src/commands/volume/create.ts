import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {UsageError} from '../../engine/errors.js'

function pairs(values: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const v of values ?? []) {
    const eq = v.indexOf('=')
    if (flag === '--opt' && eq <= 0) throw new UsageError(`invalid argument "${v}" for "${flag}" flag: expected KEY=VALUE`)
    out[eq < 0 ? v : v.slice(0, eq)] = eq < 0 ? '' : v.slice(eq + 1)
  }
  return out
}

export default class VolumeCreate extends BaseCommand<typeof VolumeCreate> {
  static summary = 'Create a volume'
  static usage = 'volume create [OPTIONS] [VOLUME]'
  static args = {name: Args.string({description: 'Volume name (a random 64-hex name when left out)'})}
  static flags = {
    driver: Flags.string({char: 'd', description: 'Specify volume driver name (only local)', default: 'local'}),
    label: Flags.string({multiple: true, multipleNonGreedy: true, description: 'Set metadata for a volume (KEY=VALUE)'}),
    opt: Flags.string({char: 'o', multiple: true, multipleNonGreedy: true, description: 'Set driver specific options: type=none,o=bind,device=/path or type=tmpfs,device=tmpfs,o=size=64m'}),
    name: Flags.string({description: 'Specify volume name'}),
  }

  async run(): Promise<void> {
    const name = this.args.name ?? this.flags.name
    if (this.args.name && this.flags.name && this.args.name !== this.flags.name) throw new UsageError('conflicting options: either specify --name or provide positional arg, not both')
    const {volume} = this.engine().volumes.create({
      ...(name !== undefined ? {name} : {}),
      driver: this.flags.driver,
      labels: pairs(this.flags.label, '--label'),
      options: pairs(this.flags.opt, '--opt'),
    })
    this.log(volume.name)
  }
}
