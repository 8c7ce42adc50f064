/**
 * Restart after reboot (`ncx system boot`): with no daemon, nothing is running when the
 * machine comes back, so a boot-time job (a `systemd --user` unit or an `@reboot` crontab
 * line, see docs/containers.md) starts the containers Docker's daemon would start: restart policy
 * `always`, or `unless-stopped` when the user did not stop them. No root is needed.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {errorMessage} from '../errors.js'
import {withLock} from '../store/files.js'
import {layout} from '../store/paths.js'
import {startContainer, stateOf} from './lifecycle.js'
import {STOP_MARKER} from './state.js'
import {ContainerRecord} from './store.js'

export interface BootResult {
  container: ContainerRecord
  /** Why it was not started; undefined when it was. */
  error?: string
}

/** Should this container run again after a reboot (or a crash of everything)? */
export function comesBackAtBoot(engine: Engine, record: ContainerRecord): boolean {
  const policy = record.options.restart ?? 'no'
  if (policy === 'always') return true
  // `stopping` is left by stop/kill: a container the user stopped stays stopped.
  return policy === 'unless-stopped' && !existsSync(join(engine.containers.dir(record.id), STOP_MARKER))
}

/**
 * Start every container that should come back and is not running. One boot at a time
 * (a lock), so two boot jobs never start a container twice.
 */
export function bootContainers(engine: Engine): BootResult[] {
  return withLock(layout.lock(engine.paths, 'boot'), () => {
    const results: BootResult[] = []
    for (const record of engine.containers.list()) {
      if (!comesBackAtBoot(engine, record)) continue
      const s = stateOf(engine, record)
      if (s.status === 'running' || s.status === 'restarting') continue
      try {
        startContainer(engine, record)
        results.push({container: record})
      } catch (error) {
        results.push({container: record, error: errorMessage(error)})
      }
    }
    return results
  })
}
