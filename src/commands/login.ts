import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base.js'
import {interactive} from '../cli/style.js'
import {UsageError} from '../engine/errors.js'
import {registrySettings} from '../engine/registry/config.js'
import {RegistryClient} from '../engine/registry/client.js'
import {storeCredentials} from '../engine/registry/credentials.js'
import {parseServer} from '../engine/registry/server.js'

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

export default class Login extends BaseCommand<typeof Login> {
  static summary = 'Log in to a registry'
  static description = 'Credentials are checked against the registry, then stored in the Docker-compatible config.json ($DOCKER_CONFIG/config.json, default ~/.docker/config.json), or in its credential helper.'
  static args = {server: Args.string({description: 'Registry (default: Docker Hub)'})}
  static flags = {
    username: Flags.string({char: 'u', description: 'Username'}),
    password: Flags.string({char: 'p', description: 'Password (prefer --password-stdin)'}),
    'password-stdin': Flags.boolean({description: 'Take the password from stdin'}),
  }

  async run(): Promise<void> {
    const domain = parseServer(this.args.server)
    let {username, password} = this.flags
    if (this.flags['password-stdin']) {
      if (password) throw new UsageError('--password and --password-stdin are mutually exclusive')
      if (!username) throw new UsageError('must provide --username with --password-stdin')
      password = await readStdin()
    } else if (password) {
      process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n')
    }
    if (!username || !password) {
      if (!interactive()) throw new UsageError(`cannot perform an interactive login from a non TTY device${process.env.CI ? ' (CI is set)' : ''}`, 'use -u USER --password-stdin')
      const {input, password: secret} = await import('@inquirer/prompts')
      username ??= await input({message: 'Username:'})
      password ??= await secret({message: 'Password:', mask: false})
    }
    if (!username || !password) throw new UsageError('username and password are required')
    const client = new RegistryClient({domain, settings: registrySettings(this.engine().paths), credentials: {username, password}})
    await client.checkLogin()
    const file = storeCredentials(domain, {username, password})
    process.stderr.write(`WARNING! Your password will be stored unencrypted in ${file}.\nConfigure a credential helper to remove this warning.\n\n`)
    this.log('Login Succeeded')
  }
}
