import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {forgetStoppedContainer, releaseContainer} from '../../engine/network/attach.js'

/**
 * Run by the monitor of a detached container on a user-defined network once the container is
 * gone (conmon's exit command): its peers' /etc/hosts forget it; when it was removed (`--rm`),
 * its addresses go back to their networks too.
 */
export default class NetworkRelease extends BaseCommand<typeof NetworkRelease> {
  static hidden = true
  static summary = 'Release the network endpoints of a removed container (internal)'
  static args = {container: Args.string({description: 'Full container ID', required: true})}

  async run(): Promise<void> {
    const engine = this.engine()
    if (!/^[0-9a-f]{64}$/.test(this.args.container)) return
    // A stopped container keeps its addresses; only its peers' /etc/hosts forget it.
    if (engine.containers.find(this.args.container)) forgetStoppedContainer(engine, this.args.container)
    else releaseContainer(engine, this.args.container)
  }
}
