import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {compileTemplate} from '../../cli/template.js'
import {EngineEvent, eventMatches, followEvents, parseEventFilters, readEvents} from '../../engine/events.js'
import {parseUntil} from '../../engine/prune.js'
import {UsageError} from '../../engine/errors.js'

/** `2024-01-02T15:04:05.123456789+01:00`: Docker's event time, local time with nanoseconds. */
export function eventTime(timeNano: number, offsetMinutes = -new Date(Math.floor(timeNano / 1e6)).getTimezoneOffset()): string {
  const ms = Math.floor(timeNano / 1e6)
  const local = new Date(ms + offsetMinutes * 60_000)
  // timeNano is beyond 2^53: microseconds are exact, the rest is float noise.
  const nanos = `${String(Math.floor(timeNano / 1e3) % 1e6).padStart(6, '0')}000`
  const sign = offsetMinutes >= 0 ? '+' : '-'
  const abs = Math.abs(offsetMinutes)
  const zone = offsetMinutes === 0 ? 'Z' : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
  return `${local.toISOString().slice(0, 19)}.${nanos}${zone}`
}

/** Docker's line: `TIME TYPE ACTION ID (k=v, …)`, attributes sorted by key. */
export function eventLine(e: EngineEvent, offsetMinutes?: number): string {
  const attrs = Object.entries(e.Actor.Attributes)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')
  return `${eventTime(e.timeNano, offsetMinutes)} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs ? ` (${attrs})` : ''}`
}

/** A --since/--until value, with Docker's message (its timetypes package) for one that is neither. */
function flagTime(value: string, flag: string, now: number): number {
  try {
    return parseUntil(value, now)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    throw new UsageError(`failed to parse value as time or duration: ${JSON.stringify(value)}`, `give ${flag} a timestamp (1700000000), a date (2024-01-02T15:04:05Z) or a duration (10m)`)
  }
}

/**
 * What a template sees: Docker's Go struct, whose legacy fields are Status, ID and From
 * (`status`, `id`, `from` in JSON, left out when empty).
 */
function templateData(e: EngineEvent): object {
  const data = {...e}
  const legacy: Array<[string, string | undefined]> = [['Status', e.status], ['ID', e.id], ['From', e.from]]
  for (const [k, v] of legacy) Object.defineProperty(data, k, {value: v ?? '', enumerable: false})
  return data
}

export default class Events extends BaseCommand<typeof Events> {
  static summary = 'Get real time events from ncx'
  static description =
    'Container lifecycle events (create, start, die, stop, kill, destroy, rename), image events (pull, push, tag, untag, delete, load, save, import), network and volume events (create, destroy), recorded in <data root>/events.jsonl. Without --since only new events are shown; without --until ncx keeps following until interrupted. Times: Unix timestamps, RFC 3339 dates or durations back from now (10m, 1h30m).'
  static aliases = ['events']
  static examples = ['ncx events', 'ncx events --since 1h --until 0s', 'ncx events --filter type=network --filter type=volume', "ncx events --filter event=die --filter container=web --format '{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}'", 'ncx events --since 10m --until 0s --format json']
  static flags = {
    since: Flags.string({description: 'Show all events created since timestamp'}),
    until: Flags.string({description: 'Stream events until this timestamp'}),
    filter: Flags.string({char: 'f', description: 'Filter output based on conditions provided (container=, event=, image=, label=, network=, type=, volume=)', multiple: true}),
    format: Flags.string({description: "Format output: 'json' or a Go template such as '{{.Action}} {{.Actor.ID}}'", helpGroup: 'OUTPUT'}),
  }

  async run(): Promise<void> {
    const now = Date.now()
    const since = this.flags.since === undefined ? now : flagTime(this.flags.since, '--since', now)
    const until = this.flags.until === undefined ? undefined : flagTime(this.flags.until, '--until', now)
    const filters = parseEventFilters(this.flags.filter ?? [])
    const {format} = this.flags
    const tpl = format && format !== 'json' ? compileTemplate(format) : undefined
    const print = (e: EngineEvent) => {
      const ms = e.timeNano / 1e6
      if (ms < since || (until !== undefined && ms > until) || !eventMatches(e, filters)) return
      process.stdout.write((format === 'json' ? JSON.stringify(e) : tpl ? tpl.render(templateData(e)) : eventLine(e)) + '\n')
    }
    const paths = this.engine().paths
    const {events, offset} = readEvents(paths)
    if (this.flags.since !== undefined) for (const e of events) print(e)
    if (until !== undefined && until <= Date.now()) return
    // Follow: until --until passes, or until interrupted.
    await new Promise<void>((resolve) => {
      const stop = followEvents(paths, offset, print)
      const finish = () => {
        stop()
        resolve()
      }
      process.once('SIGINT', finish)
      process.once('SIGTERM', finish)
      if (until !== undefined) setTimeout(finish, until - Date.now())
    })
  }
}
