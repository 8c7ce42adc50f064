import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {releaseContainer} from '../../engine/network/attach.js'

/**
 * Run by the monitor of a detached `--rm` container once it has removed the container
 * (conmon's exit command): the container's addresses go back to their networks and its
 * peers' /etc/hosts forget it.
 */
export default class NetworkRelease extends BaseCommand<typeof NetworkRelease> {
  static hidden = true
  static summary = 'Release the network endpoints of a removed container (internal)'
  static args = {container: Args.string({description: 'Full container ID', required: true})}

  async run(): Promise<void> {
    const engine = this.engine()
    // (only for a container that is gone: never take the addresses of a live one)
    if (!/^[0-9a-f]{64}$/.test(this.args.container) || engine.containers.find(this.args.container)) return
    releaseContainer(engine, this.args.container)
  }
}
