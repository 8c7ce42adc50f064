/** Rendering shared by the container commands: Docker's status text, ps rows, multi-target loops, shared flags. */
import {Args, Flags} from '@oclif/core'

import {NcxError, NotFoundError} from '../engine/errors.js'
import {Engine} from '../engine/engine.js'
import {ContainerState} from '../engine/container/state.js'
import {ContainerRecord} from '../engine/container/store.js'
import {humanDuration} from './output.js'

/** Docker's `State.String()`: "Up 5 seconds (healthy)", "Exited (3) 2 minutes ago", "Created". */
export function statusText(s: ContainerState, now: number): string {
  const since = (t: string | undefined) => humanDuration(Math.max(0, now - (t ? Date.parse(t) : now)))
  switch (s.status) {
    case 'running': {
      const health = s.health ? (s.health.Status === 'starting' ? ' (health: starting)' : ` (${s.health.Status})`) : ''
      return `Up ${since(s.startedAt)}${health}`
    }
    case 'restarting':
      return `Restarting (${s.exitCode}) ${since(s.finishedAt)} ago`
    case 'exited':
      return s.finishedAt ? `Exited (${s.exitCode}) ${since(s.finishedAt)} ago` : `Exited (${s.exitCode})`
    default:
      return 'Created'
  }
}

/** Docker's COMMAND column: quoted, cut to 20 characters with an ellipsis unless --no-trunc. */
export function commandText(args: string[], noTrunc: boolean): string {
  // moby's daemon/list.go quotes the arguments (not the path) that hold a space.
  let cmd = args.map((a, i) => (i > 0 && a.includes(' ') ? `'${a}'` : a)).join(' ')
  if (!noTrunc && [...cmd].length > 20) cmd = [...cmd].slice(0, 19).join('') + '…'
  return `"${cmd}"`
}

/**
 * Apply `fn` to each named container, as Docker's multi-target commands do: a failure is
 * printed and the rest still run; the exit code is 1 if anything failed (`failed` collects
 * the names that did). With
 * `ignoreMissing` (`rm -f`), a container that does not exist is reported but is no failure,
 * as Docker's force ignores "not found" (`docker rm -f app` is written without `|| true`).
 */
export async function eachContainer(
  engine: Engine,
  names: string[],
  fn: (record: ContainerRecord, name: string) => Promise<void> | void,
  options: {ignoreMissing?: boolean; failed?: string[]} = {},
): Promise<number> {
  let failed = false
  for (const name of names) {
    try {
      await fn(engine.containers.resolve(name), name)
    } catch (error) {
      if (!(error instanceof NcxError)) throw error
      process.stderr.write(`ncx: ${error.message}\n`)
      if (!(options.ignoreMissing && error instanceof NotFoundError)) {
        failed = true
        options.failed?.push(name)
      }
    }
  }
  return failed ? 1 : 0
}

/** The positional of the commands that take one or more containers (stop, restart, pause, …). */
export const CONTAINERS_ARG = {container: Args.string({description: 'Container name or ID (one or more)', required: true})}

/** `stop` and `restart`: the same two flags, as Docker's. */
export const STOP_FLAGS = {
  time: Flags.integer({char: 't', aliases: ['timeout'], description: 'Seconds to wait before killing the container'}),
  signal: Flags.string({char: 's', description: 'Signal to send to the container'}),
}
