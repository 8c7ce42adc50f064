/** `export`: a container's merged file system as a tar stream. */
import {closeSync, fchmodSync, openSync, renameSync, rmSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {Engine} from '../engine.js'
import {joinArgs} from '../rootless/session.js'
import {callersUmaskValue} from '../store/private.js'
import {containerRoot, runtimeStreaming} from './files.js'
import {ContainerRecord} from './store.js'

function exportArgs(engine: Engine, record: ContainerRecord): string[] {
  const root = containerRoot(engine, record, {write: false, live: false})
  return ['export', ...joinArgs(engine.session()), '--root', root.spec, ...(root.mountpoint ? ['--mountpoint', root.mountpoint] : [])]
}

/** Stream the tar to this process's stdout. */
export async function exportToStdout(engine: Engine, record: ContainerRecord): Promise<void> {
  await runtimeStreaming(exportArgs(engine, record), 'inherit')
}

/** Stream the tar into `dest` (the Engine API's response); `dest` closing early stops the runtime. */
export async function exportToStream(engine: Engine, record: ContainerRecord, dest: Writable): Promise<void> {
  await runtimeStreaming(exportArgs(engine, record), (out) => pipeline(out, dest, {end: false}))
}

/** Write the tar to `file`: a temporary file renamed into place, so a failure leaves nothing. */
export async function exportToFile(engine: Engine, record: ContainerRecord, file: string): Promise<void> {
  const args = exportArgs(engine, record)
  const tmp = join(dirname(file), `.${basename(file)}.ncx-${randomBytes(4).toString('hex')}`)
  const fd = openSync(tmp, 'wx', 0o644)
  try {
    fchmodSync(fd, 0o644 & ~callersUmaskValue()) // the user's file: as before ncx ran under umask 077
    await runtimeStreaming(args, fd)
    closeSync(fd)
    renameSync(tmp, file)
  } catch (error) {
    try {
      closeSync(fd)
    } catch {
      // closed already
    }
    rmSync(tmp, {force: true})
    throw error
  }
}
