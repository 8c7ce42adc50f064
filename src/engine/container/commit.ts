/**
 * `commit`: a container's writable layer becomes a new image layer. The runtime writes the
 * upper dir as an OCI layer tar (overlay whiteouts as `.wh.` files), which goes into the
 * content store as it streams (its digest is the diff-id: the layer is stored uncompressed);
 * the new config is the parent's with the container's settings, `--change`s and a history
 * entry; then the image is recorded like a loaded one (commitImage).
 */
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {applyChanges, storeOciImage} from '../image/archive.js'
import {hostArchitecture} from '../image/platform.js'
import {parseReference} from '../image/reference.js'
import {ImageConfig, ImageRecord, MediaType} from '../image/types.js'
import {joinArgs} from '../rootless/session.js'
import {mergeEnv} from '../spec/env.js'
import {INIT_PATHS, requireOverlay, runtimeStreaming} from './files.js'
import {ContainerConfig, ContainerRecord} from './store.js'

export interface CommitOptions {
  message?: string
  author?: string
  /** Dockerfile instructions (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL). */
  changes: string[]
  /** REPOSITORY[:TAG]. */
  name?: string
}

/** The new image's `config`: the parent's, with the container's own settings, then `--change`s. */
export function committedConfig(parent: NonNullable<ImageConfig['config']>, container: ContainerConfig | undefined, userEnv: string[], changes: string[]): NonNullable<ImageConfig['config']> {
  const cfg: NonNullable<ImageConfig['config']> = {...parent}
  // The image's environment and the container's -e values; not what the runtime adds (HOSTNAME, HOME, TERM).
  if (userEnv.length > 0) cfg.Env = mergeEnv(parent.Env ?? [], userEnv)
  if (container) {
    cfg.Cmd = container.cmd.length > 0 ? container.cmd : null
    cfg.Entrypoint = container.entrypoint.length > 0 ? container.entrypoint : null
    if (container.workdir) cfg.WorkingDir = container.workdir
    cfg.User = container.user
    if (container.labels) cfg.Labels = container.labels
    if (container.stopSignal) cfg.StopSignal = container.stopSignal
  }
  applyChanges(cfg, changes)
  return cfg
}

export async function commitContainer(engine: Engine, record: ContainerRecord, options: CommitOptions): Promise<ImageRecord> {
  requireOverlay(engine, 'commit')
  if (options.name) parseReference(options.name)
  const parentImage = engine.images.list().find((i) => i.id === record.imageId)
  if (!parentImage || !engine.content.has(record.imageId)) {
    throw new NcxError(`the image of container ${record.name} (${record.imageId.slice(7, 19)}) is no longer in the store`)
  }
  const parent = engine.content.readJson<ImageConfig>(record.imageId, 'image config')
  const session = engine.session()
  const dir = engine.containers.dir(record.id)
  const args = ['layer-tar', ...joinArgs(session), '--upper', join(dir, 'upper'), '--xattr-prefix', session.rootless ? 'user.' : 'trusted.', '--exclude-empty', INIT_PATHS.join(',')]
  return engine.adding(async () => {
    let layer: {digest: string; size: number} | undefined
    await runtimeStreaming(args, async (out) => {
      layer = await engine.content.ingest(out as unknown as import('node:stream').Readable, undefined, `layer of container ${record.name}`)
    })
    if (!layer) throw new NcxError('the layer was not written')
    const created = new Date().toISOString()
    const config: ImageConfig = {
      ...parent,
      architecture: parent.architecture ?? hostArchitecture(),
      os: parent.os ?? 'linux',
      created,
      ...(options.author ? {author: options.author} : {}),
      config: committedConfig(parent.config ?? {}, record.config, record.options.env ?? [], options.changes),
      rootfs: {type: 'layers', diff_ids: [...(parent.rootfs?.diff_ids ?? []), layer.digest]},
      history: [
        ...(parent.history ?? []),
        {created, created_by: record.args.join(' '), ...(options.author ? {author: options.author} : {}), ...(options.message ? {comment: options.message} : {})},
      ],
    }
    const layers = [
      ...parentImage.layers.map((l) => ({mediaType: l.mediaType, digest: l.digest, size: l.size})),
      {mediaType: MediaType.ociLayer, digest: layer.digest, size: layer.size},
    ]
    return storeOciImage(engine, config, Buffer.from(JSON.stringify(config)), layers, options.name ? [options.name] : [])
  })
}
