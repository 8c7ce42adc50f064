import {Args} from '@oclif/core'

import {BaseCommand} from '../cli/base.js'
import {removeCredentials} from '../engine/registry/credentials.js'
import {parseServer} from '../engine/registry/server.js'

export default class Logout extends BaseCommand<typeof Logout> {
  static summary = 'Log out from a registry'
  static args = {server: Args.string({description: 'Registry (default: Docker Hub)'})}

  async run(): Promise<void> {
    const domain = parseServer(this.args.server)
    const shown = domain === 'docker.io' ? 'https://index.docker.io/v1/' : domain
    if (!removeCredentials(domain)) this.log(`Not logged in to ${shown}`)
    else this.log(`Removing login credentials for ${shown}`)
  }
}
