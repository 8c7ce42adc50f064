import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {parseDuration} from '../../cli/run-flags.js'
import {UsageError} from '../../engine/errors.js'
import {readLogs} from '../../engine/container/logs.js'

/** Docker's --since/--until: RFC 3339, a Unix timestamp, or a duration before now (`10m`). */
export function parseTimeArg(text: string, flag: string, now: number): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(text) || !text.includes('T') ? text : `${text}Z`)
    if (!Number.isNaN(t)) return t
  }
  try {
    return now - parseDuration(text, flag) / 1e6
  } catch {
    // (Docker's message, from its timetypes package; the hint names the flag)
    throw new UsageError(`failed to parse value as time or duration: ${JSON.stringify(text)}`, `give ${flag} a timestamp (1700000000), a date (2024-01-02T15:04:05Z) or a duration (10m)`)
  }
}

export default class Logs extends BaseCommand<typeof Logs> {
  static summary = 'Fetch the logs of a container'
  static aliases = ['logs']
  static args = {container: Args.string({description: 'Container name or ID', required: true})}
  static flags = {
    follow: Flags.boolean({char: 'f', description: 'Follow log output'}),
    tail: Flags.string({char: 'n', description: 'Number of lines to show from the end of the logs (default "all")'}),
    since: Flags.string({description: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m")'}),
    until: Flags.string({description: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m")'}),
    timestamps: Flags.boolean({char: 't', description: 'Show timestamps'}),
    details: Flags.boolean({description: 'Show extra details provided to logs'}),
  }

  async run(): Promise<void> {
    const {follow, tail, since, until, timestamps} = this.flags
    const now = Date.now()
    if (tail !== undefined && tail !== 'all' && !/^-?\d+$/.test(tail)) throw new UsageError(`invalid value for "tail": ${JSON.stringify(tail)}`)
    const engine = this.engine()
    const record = engine.containers.resolve(this.args.container)
    const entries = readLogs(engine, record, {
      follow,
      tail: tail === undefined || tail === 'all' || Number(tail) < 0 ? undefined : Number(tail),
      since: since === undefined ? undefined : parseTimeArg(since, '--since', now),
      until: until === undefined ? undefined : parseTimeArg(until, '--until', now),
    })
    for await (const e of entries) {
      const out = e.stream === 'stderr' ? process.stderr : process.stdout
      out.write(timestamps ? `${e.time} ${e.log}` : e.log)
    }
  }
}
