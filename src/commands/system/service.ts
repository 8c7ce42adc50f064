import {resolve} from 'node:path'

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {UsageError} from '../../engine/errors.js'
import {Listen, parseListenUri, startService} from '../../server/service.js'
import {activationSocket, installUnits, uninstallUnits} from '../../server/systemd.js'

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
    install: Flags.boolean({description: 'Install a systemd user socket and service (ncx.socket, ncx.service) and enable the socket: the service starts on the first connection', exclusive: ['uninstall']}),
    uninstall: Flags.boolean({description: 'Disable and remove the systemd user units --install wrote', exclusive: ['install']}),
  }
  static examples = ['ncx system service --timeout 0 &\nexport DOCKER_HOST=unix://$XDG_RUNTIME_DIR/ncx/docker.sock', 'ncx system service tcp://127.0.0.1:2375', 'ncx system service --install']

  async run(): Promise<void> {
    const timeout = Number(this.flags.timeout)
    if (!/^\d+$/.test(this.flags.timeout) || !Number.isSafeInteger(timeout)) throw new UsageError(`invalid argument "${this.flags.timeout}" for "-t, --timeout" flag: a whole number of seconds`)
    if (this.flags.install || this.flags.uninstall) return this.installation(timeout)
    const engine = this.engine()
    // Started by systemd's socket unit: serve the socket it passed (LISTEN_FDS), not a URI.
    const activated = activationSocket()
    if (activated !== undefined && this.args.uri) throw new UsageError('a URI cannot be given to a socket-activated service', 'the socket unit says where it listens')
    const listen: Listen = activated !== undefined ? {kind: 'fd', fd: activated} : parseListenUri(this.args.uri, engine.paths.run)
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

  /** `--install` / `--uninstall`: the unit files, and systemctl where a user manager runs. */
  private installation(timeout: number): void {
    if (this.flags.uninstall) {
      const r = uninstallUnits()
      if (r.files.length === 0) this.log('no ncx units installed')
      for (const f of r.files) this.log(`removed ${f}`)
      for (const s of r.steps.filter((x) => !x.ok)) this.warnLine(`systemctl --user ${s.args.join(' ')}: ${s.output || 'failed'}`)
      return
    }
    let socketPath = '%t/ncx/docker.sock'
    if (this.args.uri) {
      const listen = parseListenUri(this.args.uri, '/')
      if (listen.kind !== 'unix') throw new UsageError('--install takes a unix socket URI only', 'serve TCP by hand: ncx system service tcp://127.0.0.1:PORT')
      socketPath = listen.path
    }
    // The ncx that installs is the one systemd starts: node and its entry script, absolute.
    const script = process.argv[1]
    const command = script && /\.[cm]?js$/.test(script) ? [process.execPath, resolve(script)] : [process.execPath]
    const environment: Record<string, string> = {}
    if (process.env.NCX_ROOT) environment.NCX_ROOT = resolve(process.env.NCX_ROOT)
    const r = installUnits({command, socketPath, timeoutSeconds: timeout, environment})
    for (const f of r.files) this.log(`wrote ${f}`)
    if (r.manual.length > 0) {
      const failed = r.steps.find((x) => !x.ok)
      this.warnLine(`systemctl --user ${failed?.args.join(' ') ?? ''} failed${failed?.output ? `: ${failed.output}` : ''}; once a systemd user manager runs, enable the socket with:\n  ${r.manual.join('\n  ')}`)
    } else this.log(`enabled ${'ncx.socket'}: the service starts on the first connection`)
    const shown = socketPath.startsWith('%t/') ? `$XDG_RUNTIME_DIR/${socketPath.slice(3)}` : socketPath
    this.log(`export DOCKER_HOST=unix://${shown}`)
  }
}
