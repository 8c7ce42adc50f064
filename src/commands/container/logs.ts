import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {parseDuration} from '../../cli/run-flags.js'
import {UsageError} from '../../engine/errors.js'
import {LogEntry, readLogs} from '../../engine/container/logs.js'

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
    if (await writeEntries(entries, Boolean(timestamps))) this.exit(141)
  }
}

/**
 * Each batch as few writes as its stream changes allow (stdout and stderr apart, in order),
 * waiting for a slow reader (a pipe) before reading on: memory stays bounded whatever the
 * log's size. True when the reader went away (`| head`): the command ends as SIGPIPE would.
 */
async function writeEntries(batches: AsyncIterable<LogEntry[]>, timestamps: boolean): Promise<boolean> {
  let broken: NodeJS.ErrnoException | undefined
  const onError = (error: NodeJS.ErrnoException) => {
    broken ??= error
  }
  process.stdout.on('error', onError)
  process.stderr.on('error', onError)
  const write = async (out: NodeJS.WriteStream, text: string) => {
    if (text === '' || broken) return
    if (!out.write(text)) await new Promise<void>((resolve) => {
      const done = () => {
        out.off('drain', done)
        out.off('error', done)
        resolve()
      }
      out.on('drain', done)
      out.on('error', done)
    })
  }
  try {
    for await (const batch of batches) {
      let run = ''
      let stream: LogEntry['stream'] = batch[0].stream
      for (const e of batch) {
        if (e.stream !== stream) {
          await write(stream === 'stderr' ? process.stderr : process.stdout, run)
          run = ''
          stream = e.stream
        }
        run += timestamps ? `${e.time} ${e.log}` : e.log
      }
      await write(stream === 'stderr' ? process.stderr : process.stdout, run)
      if (broken) break
    }
  } finally {
    process.stdout.off('error', onError)
    process.stderr.off('error', onError)
  }
  if (broken && broken.code !== 'EPIPE') throw broken
  return broken !== undefined
}
