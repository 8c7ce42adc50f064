/**
 * Where a build's result goes (`-o`/`--output`): the image store (the default), the final
 * stage's files in a directory or a tar stream, or the image as an OCI / docker archive.
 */
import {closeSync, fchmodSync, mkdirSync, openSync, renameSync, rmSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {randomBytes} from 'node:crypto'

import {runtimeStreaming} from '../container/files.js'
import {Engine} from '../engine.js'
import {NcxError, UsageError} from '../errors.js'
import {planSave, saveToFile, writeArchive} from '../image/save.js'
import {ImageRecord, LayerRecord} from '../image/types.js'
import {joinArgs} from '../rootless/session.js'
import {runtimeSync} from '../runtime.js'
import {makeDirWithMode} from '../store/files.js'
import {callersUmaskValue} from '../store/private.js'
import {buildLayout} from './cache.js'
import {lowerDirs, readOnlyOverlayData} from './layers.js'

export type OutputSpec = {type: 'image'; name?: string} | {type: 'local' | 'tar'; dest: string} | {type: 'oci' | 'docker'; dest: string; name?: string}

/** `-o type=local,dest=out`, `-o out` (local), `-o -` (a tar on stdout). */
export function parseOutput(text: string): OutputSpec {
  if (!text.includes('=')) return text === '-' ? {type: 'tar', dest: '-'} : {type: 'local', dest: text}
  const fields: Record<string, string> = {}
  for (const f of text.split(',')) {
    const i = f.indexOf('=')
    if (i < 0) throw new UsageError(`invalid output ${JSON.stringify(text)}: ${JSON.stringify(f)} is not KEY=VALUE`)
    fields[f.slice(0, i).trim()] = f.slice(i + 1)
  }
  const type = fields.type ?? 'local'
  switch (type) {
    case 'image':
    case 'registry':
      if (fields.push === 'true' || type === 'registry') throw new UsageError('pushing from the build is not supported by ncx', 'build, then ncx push NAME')
      return {type: 'image', ...(fields.name ? {name: fields.name} : {})}
    case 'local':
    case 'tar':
      if (!fields.dest) throw new UsageError(`output type ${type} needs dest=…`)
      return {type, dest: fields.dest}
    case 'oci':
    case 'docker':
      if (!fields.dest) throw new UsageError(`output type ${type} needs dest=… (a file, or - for stdout)`)
      return {type, dest: fields.dest, ...(fields.name ? {name: fields.name} : {})}
    default:
      throw new UsageError(`unsupported output type ${JSON.stringify(type)}`, 'use type=image, local, tar, oci or docker')
  }
}

/** The runtime's root spec for the merged layers (`dir:` for one layer). */
function rootOf(engine: Engine, layers: LayerRecord[], emptyDir: string): {spec: string; mountpoint?: string} {
  if (layers.length === 0) return {spec: `dir:${emptyDir}`}
  if (layers.length === 1) return {spec: `dir:${engine.snapshots.dir(layers[0].diffId)}`}
  const mp = join(buildLayout.root(engine.paths), 'mnt', randomBytes(6).toString('hex'))
  mkdirSync(mp, {recursive: true})
  return {spec: `overlay:${readOnlyOverlayData(engine, lowerDirs(engine, layers), emptyDir)}`, mountpoint: mp}
}

export async function exportOutput(engine: Engine, out: OutputSpec, r: {layers: LayerRecord[]; image?: ImageRecord; emptyDir: string; tmpDir: string}): Promise<void> {
  const session = engine.session()
  if (out.type === 'local' || out.type === 'tar') {
    const root = rootOf(engine, r.layers, r.emptyDir)
    try {
      if (out.type === 'local') {
        const dest = resolve(out.dest)
        // The user's directory: made with the caller's umask (ncx itself runs under 077).
        const dirMode = 0o777 & ~callersUmaskValue()
        makeDirWithMode(dest, dirMode, dirMode)
        const args = ['cp', ...joinArgs(session), '--src-root', root.spec, '--src', '/', '--dst-root', 'host', '--dst', dest]
        if (root.mountpoint) args.push('--mountpoint', root.mountpoint)
        runtimeSync(args)
      } else {
        const args = ['export', ...joinArgs(session), '--root', root.spec, ...(root.mountpoint ? ['--mountpoint', root.mountpoint] : [])]
        if (out.dest === '-') await runtimeStreaming(args, 'inherit')
        else {
          const dest = resolve(out.dest)
          const tmp = `${dest}.ncx-${randomBytes(4).toString('hex')}`
          const fd = openSync(tmp, 'wx', 0o600)
          try {
            fchmodSync(fd, 0o666 & ~callersUmaskValue()) // the user's file, with the caller's umask
            await runtimeStreaming(args, fd)
            closeSync(fd)
            renameSync(tmp, dest)
          } catch (error) {
            try {
              closeSync(fd)
            } catch {
              // closed
            }
            rmSync(tmp, {force: true})
            throw error
          }
        }
      }
    } finally {
      if (root.mountpoint) rmSync(root.mountpoint, {recursive: true, force: true})
    }
    return
  }
  if (out.type === 'oci' || out.type === 'docker') {
    if (!r.image) throw new NcxError('the image was not stored')
    const names = out.name ? out.name.split(',') : r.image.names
    const plan = await planSave(engine, [{image: r.image, names}], out.type === 'oci' ? 'oci-archive' : 'docker-archive')
    if (out.dest === '-') await writeArchive(engine, plan, process.stdout)
    else await saveToFile(engine, plan, out.dest)
  }
}
