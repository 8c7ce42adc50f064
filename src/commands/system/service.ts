import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {UsageError} from '../../engine/errors.js'
import {parseListenUri, startService} from '../../server/service.js'

const LEVELS = ['debug', 'info', 'warn', 'error'] as const

export default class Service extends BaseCommand<typeof Service> {
  static summary = 'Serve the Docker Engine API, so Docker clients drive ncx'
  static description =
    'Listens on a unix socket (0600, in your runtime directory) unless a URI is given; point DOCKER_HOST at it. TCP is served on loopback addresses only. Exits after --timeout seconds without a request (0: never).'
  static usage = 'system service [OPTIONS] [URI]'
  static args = {uri: Args.string({description: 'unix:///PATH or tcp://127.0.0.1:PORT (default: unix://$XDG_RUNTIME_DIR/ncx/docker.sock)'})}
  static flags = {
    timeout: Flags.string({char: 't', description: 'Seconds without a request before the service exits (0: never)', default: '5'}),
    'log-level': Flags.string({description: 'Log requests (debug) or only problems (info, warn, error) on stderr', options: [...LEVELS], default: 'warn'}),
  }
  static examples = ['ncx system service --timeout 0 &\nexport DOCKER_HOST=unix://$XDG_RUNTIME_DIR/ncx/docker.sock', 'ncx system service tcp://127.0.0.1:2375']

  async run(): Promise<void> {
    const timeout = Number(this.flags.timeout)
    if (!/^\d+$/.test(this.flags.timeout) || !Number.isSafeInteger(timeout)) throw new UsageError(`invalid argument "${this.flags.timeout}" for "-t, --timeout" flag: a whole number of seconds`)
    const engine = this.engine()
    const listen = parseListenUri(this.args.uri, engine.paths.run)
    const level = LEVELS.indexOf(this.flags['log-level'] as (typeof LEVELS)[number])
    const line = (min: number, text: string) => {
      if (level <= min) process.stderr.write(`${new Date().toISOString()} ${LEVELS[min]} ${text}\n`)
    }
    if (listen.kind === 'tcp') this.warnLine(`the API is served without TLS on ${listen.host}:${listen.port}: every local user who can reach it controls your containers`)
    // The user namespace is set up before the first request, so requests do not pay for it.
    engine.session()
    const service = await startService({listen, timeoutSeconds: timeout, version: this.config.version, engine, log: {debug: (t) => line(0, t), info: (t) => line(1, t), error: (t) => line(3, t)}})
    process.stdout.write(`DOCKER_HOST=${service.address}\n`)
    const stop = () => void service.close()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    await service.closed
    // Containers started meanwhile may hold pipes of ours open (their monitors outlive us by design).
    this.exit(0)
  }
}
