/**
 * Compose's log multiplexing: every container's log with a `name  | ` prefix (coloured on
 * a TTY), for `compose logs` and attached `compose up` — which also stops everything on
 * Ctrl-C and, with --abort-on-container-exit, when the first container exits.
 */
import {Engine} from '../engine/engine.js'
import {LogEntry, readLogs} from '../engine/container/logs.js'
import {killContainer, stateOf} from '../engine/container/lifecycle.js'
import {ContainerRecord} from '../engine/container/store.js'
import {serviceOf, shortName} from '../engine/compose/containers.js'
import {ComposeEvent, stopInOrder} from '../engine/compose/up.js'
import {Project} from '../engine/compose/types.js'
import {logPrefixer} from './compose.js'

export interface StreamOptions {
  follow?: boolean
  tail?: number
  since?: number
  until?: number
  timestamps?: boolean
  color: boolean
  prefix: boolean
}

/** Write one container's entries line by line with its prefix; resolves when its log ends. */
export async function streamLogs(engine: Engine, records: ContainerRecord[], o: StreamOptions, onEnd?: (r: ContainerRecord) => void): Promise<void> {
  const prefixOf = logPrefixer(records.map(shortName), o.color)
  await Promise.all(
    records.map(async (r) => {
      const pfx = o.prefix ? prefixOf(shortName(r)) : ''
      let partial = ''
      const write = (e: LogEntry) => {
        const out = e.stream === 'stderr' ? process.stderr : process.stdout
        const text = partial + e.log
        const lines = text.split('\n')
        partial = lines.pop() ?? ''
        for (const l of lines) out.write(`${pfx}${o.timestamps ? `${e.time} ` : ''}${l}\n`)
      }
      try {
        for await (const batch of readLogs(engine, r, {follow: o.follow, tail: o.tail, since: o.since, until: o.until})) for (const e of batch) write(e)
      } catch {
        // logging driver none, or removed meanwhile
      }
      if (partial !== '') process.stdout.write(`${pfx}${partial}\n`)
      onEnd?.(r)
    }),
  )
}

export interface AttachOptions {
  attach?: string[]
  noAttach?: string[]
  color: boolean
  prefix: boolean
  timestamps?: boolean
  abortOnExit?: boolean
  exitCodeFrom?: string
  timeout?: number
  onEvent: (e: ComposeEvent) => void
}

/** Attached `up`: follow every container until all have stopped; returns the exit code Compose would. */
export async function attachLogs(engine: Engine, project: Project, containers: Record<string, ContainerRecord[]>, o: AttachOptions): Promise<number> {
  const all = Object.values(containers).flat()
  const attachedServices = Object.keys(containers).filter((s) => (o.attach ? o.attach.includes(s) : project.services[s]?.attach !== false) && !(o.noAttach ?? []).includes(s))
  const attached = all.filter((r) => attachedServices.includes(serviceOf(r)))
  let stopping: Promise<void> | undefined
  let interrupted = false
  let firstExit: number | undefined
  const stopAll = () => {
    stopping ??= (async () => {
      process.stdout.write('Gracefully stopping... (press Ctrl+C again to force)\n')
      await stopInOrder(engine, project, all, o.timeout, o.onEvent, false)
    })()
    return stopping
  }
  const onSigint = () => {
    if (interrupted) {
      // (not awaited: the streams end as the containers do; one not running rejects)
      for (const r of all) killContainer(engine, r).catch(() => undefined)
      return
    }
    interrupted = true
    void stopAll()
  }
  process.on('SIGINT', onSigint)
  process.on('SIGTERM', onSigint)
  try {
    const waiters = attached.length > 0 ? attached : all
    await streamLogs(engine, waiters, {follow: true, color: o.color, prefix: o.prefix, timestamps: o.timestamps}, (r) => {
      const s = stateOf(engine, r)
      if (s.status === 'exited' && !stopping) {
        process.stdout.write(`${shortName(r)} exited with code ${s.exitCode}\n`)
        firstExit ??= s.exitCode
        if (o.abortOnExit) void stopAll()
      }
    })
    // Services not attached keep running until everything attached ended; then stop them as Compose does on abort.
    if (stopping) await stopping
  } finally {
    process.off('SIGINT', onSigint)
    process.off('SIGTERM', onSigint)
  }
  if (interrupted) return 130
  if (o.exitCodeFrom) {
    const r = containers[o.exitCodeFrom]?.[0]
    return r ? stateOf(engine, r).exitCode : 0
  }
  return o.abortOnExit ? (firstExit ?? 0) : 0
}
