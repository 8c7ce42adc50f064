/**
 * A container's mounts: the MountSpecs of `-v/--mount/--tmpfs`, `--volumes-from` and the
 * image's VOLUME entries resolved into records (Docker's inspect `Mounts` entries) and OCI
 * mounts; named volumes created on first use, anonymous ones made for the container, and
 * new volumes populated from the image (copy-up) unless `nocopy`.
 */
import {existsSync, readdirSync, statSync} from 'node:fs'
import {posix} from 'node:path'

import {NcxError, UsageError} from '../errors.js'
import {OciMount} from '../spec/oci.js'
import {makeDirWithMode} from '../store/files.js'
import {MountSpec, MountType} from './spec.js'
import {Volume, VolumeStore} from './store.js'

/** One entry of a container's `mounts` (Docker's inspect fields, plus what ncx needs). */
export interface ContainerMount {
  Type: MountType
  Name?: string
  Source: string
  Destination: string
  Driver?: string
  Mode: string
  RW: boolean
  Propagation: string
  /** ncx: an anonymous volume made for this container. */
  Anonymous?: boolean
  /** ncx: the OCI mount options (tmpfs data included). */
  Options: string[]
  /** ncx: a volume the image's content should be copied into (new and empty). */
  CopyUp?: boolean
}

export interface MountContext {
  volumes: VolumeStore
  containerId: string
  /** `--rm`: anonymous volumes go with the container. */
  autoRemove: boolean
  /** The image's `Config.Volumes` paths. */
  imageVolumes: string[]
  /** `--volumes-from` sources, already resolved to their mounts. */
  volumesFrom: Array<{container: string; mounts: ContainerMount[]; mode?: 'ro' | 'rw'}>
}

/** Mount destinations compared as Docker does: cleaned paths. */
function clean(p: string): string {
  return posix.normalize(p).replace(/(.)\/+$/, '$1')
}

function tmpfsOptions(spec: MountSpec): string[] {
  const extra = spec.tmpfsOptions ?? []
  // Docker's defaults for tmpfs mounts, overridable by the user's own flags.
  const opts = ['nosuid', 'nodev', 'noexec'].filter((d) => !extra.includes(d.slice(2)) && !extra.includes(d))
  opts.push(...extra)
  if (spec.readonly) opts.push('ro')
  if (spec.tmpfsSize !== undefined) opts.push(`size=${spec.tmpfsSize}`)
  if (spec.tmpfsMode !== undefined) opts.push(`mode=${spec.tmpfsMode.toString(8)}`)
  return opts
}

function bindOptions(readonly: boolean, propagation: string): string[] {
  return ['rbind', propagation, readonly ? 'ro' : 'rw']
}

function isEmptyDir(path: string): boolean {
  try {
    return readdirSync(path).length === 0
  } catch {
    return false
  }
}

/** A volume's mount: its _data, or what its driver options say (type=none bind, type=tmpfs). */
function volumeMount(v: Volume, spec: MountSpec, created: boolean, mode: string): ContainerMount {
  const base = {Name: v.name, Destination: spec.target, Driver: v.driver, Mode: mode, RW: !spec.readonly, Propagation: ''}
  const o = v.options
  if (o.type === 'tmpfs') {
    const data = (o.o ?? '').split(',').filter((x) => x !== '')
    return {...base, Type: 'volume', Source: v.mountpoint, Options: ['nosuid', 'nodev', ...data, ...(spec.readonly ? ['ro'] : []), 'x-ncx-tmpfs']}
  }
  if (o.type === 'none') {
    if (!existsSync(o.device!)) throw new NcxError(`error while mounting volume '${v.mountpoint}': failed to mount local volume: no such file or directory: ${o.device}`)
    return {...base, Type: 'volume', Source: o.device!, Options: bindOptions(spec.readonly, 'rprivate')}
  }
  const copyUp = !spec.nocopy && (created || isEmptyDir(v.mountpoint))
  return {...base, Type: 'volume', Source: v.mountpoint, Options: bindOptions(spec.readonly, 'rprivate'), ...(copyUp ? {CopyUp: true} : {})}
}

/**
 * Resolve the container's mounts. Volumes are created here (named ones on first use);
 * on failure the anonymous volumes made so far are removed again.
 */
export function resolveMounts(ctx: MountContext, specs: MountSpec[]): ContainerMount[] {
  const seen = new Set<string>()
  for (const s of specs) {
    const d = clean(s.target)
    if (seen.has(d)) throw new UsageError(`Duplicate mount point: ${d}`)
    seen.add(d)
  }
  const out: ContainerMount[] = []
  const anonymous: string[] = []
  try {
    for (const spec of specs) out.push(resolveOne(ctx, spec, anonymous))
    for (const from of ctx.volumesFrom) {
      for (const m of from.mounts) {
        if (m.Type === 'tmpfs' || seen.has(clean(m.Destination))) continue
        seen.add(clean(m.Destination))
        const rw = from.mode === undefined ? m.RW : from.mode === 'rw'
        const options = m.Options.filter((o) => o !== 'ro' && o !== 'rw').concat(m.Options.includes('x-ncx-tmpfs') ? (rw ? [] : ['ro']) : [rw ? 'rw' : 'ro'])
        const {CopyUp: _c, Anonymous: _a, ...rest} = m
        out.push({...rest, RW: rw, Options: options})
      }
    }
    for (const path of ctx.imageVolumes) {
      const d = clean(path)
      if (seen.has(d)) continue
      seen.add(d)
      out.push(resolveOne(ctx, {type: 'volume', target: d, readonly: false}, anonymous))
    }
  } catch (error) {
    if (anonymous.length > 0) ctx.volumes.removeAnonymousOf(ctx.containerId, anonymous)
    throw error
  }
  return out
}

function resolveOne(ctx: MountContext, spec: MountSpec, anonymous: string[]): ContainerMount {
  const mode = spec.bind !== undefined ? (spec.bind.split(':')[2] ?? '') : ''
  if (spec.type === 'bind') {
    const source = spec.source!
    if (!existsSync(source)) {
      if (!spec.createSource) throw new UsageError(`invalid mount config for type "bind": bind source path does not exist: ${source}`)
      try {
        // Docker's daemon makes them 0755 (each level), whatever ncx's own umask is.
        makeDirWithMode(source, 0o755, 0o755)
      } catch (error) {
        throw new NcxError(`error while creating mount source path '${source}': ${(error as Error).message}`)
      }
    }
    statSync(source)
    const propagation = spec.propagation ?? 'rprivate'
    return {Type: 'bind', Source: source, Destination: spec.target, Mode: mode, RW: !spec.readonly, Propagation: propagation, Options: bindOptions(spec.readonly, propagation)}
  }
  if (spec.type === 'tmpfs') {
    return {Type: 'tmpfs', Source: '', Destination: spec.target, Mode: '', RW: !spec.readonly, Propagation: '', Options: tmpfsOptions(spec)}
  }
  if (spec.source === undefined) {
    const {volume} = ctx.volumes.create({createdFor: ctx.containerId, autoRemove: ctx.autoRemove, labels: spec.volumeLabels, options: spec.volumeOptions})
    anonymous.push(volume.name)
    return {...volumeMount(volume, spec, true, mode), Anonymous: true}
  }
  const existing = ctx.volumes.find(spec.source)
  const {volume, created} = existing ? {volume: existing, created: false} : ctx.volumes.create({name: spec.source, labels: spec.volumeLabels, options: spec.volumeOptions})
  return volumeMount(volume, spec, created, mode)
}

/** Docker mounts parents before children: sort by the number of path components (stable). */
export function sortMounts<T extends {destination: string}>(mounts: T[]): T[] {
  const depth = (p: string) => clean(p).split('/').filter((c) => c !== '').length
  return mounts.map((m, i) => ({m, i})).sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i).map((x) => x.m)
}

/** The OCI mounts of a container's mounts. */
export function ociMounts(mounts: ContainerMount[]): OciMount[] {
  return sortMounts(
    mounts.map((m) => {
      if (m.Type === 'tmpfs' || m.Options.includes('x-ncx-tmpfs')) {
        return {destination: m.Destination, type: 'tmpfs', source: 'tmpfs', options: m.Options.filter((o) => o !== 'x-ncx-tmpfs')}
      }
      return {destination: m.Destination, type: 'bind', source: m.Source, options: m.Options}
    }),
  )
}

/** The default mounts and the user's, parents first (a user mount on /dev/shm replaces the default one). */
export function mergeMounts(defaults: OciMount[], user: OciMount[]): OciMount[] {
  const taken = new Set(user.map((m) => clean(m.destination)))
  // Sorted together: a volume on /etc goes under the /etc/hosts bind, not over it.
  return sortMounts([...defaults.filter((m) => !taken.has(clean(m.destination))), ...user])
}

/** Docker's inspect `Mounts` entries (ncx's own fields left out). */
export function inspectMounts(mounts: ContainerMount[] | undefined): object[] {
  return (mounts ?? []).map((m) =>
    m.Type === 'volume'
      ? {Type: 'volume', Name: m.Name, Source: m.Source, Destination: m.Destination, Driver: m.Driver ?? 'local', Mode: m.Mode, RW: m.RW, Propagation: m.Propagation}
      : m.Type === 'bind'
        ? {Type: 'bind', Source: m.Source, Destination: m.Destination, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation}
        : {Type: 'tmpfs', Source: '', Destination: m.Destination, Mode: m.Mode, RW: m.RW, Propagation: ''},
  )
}

/** `HostConfig` fields of a container's mount flags (Binds, Mounts, Tmpfs, VolumesFrom). */
export function hostConfigMounts(specs: MountSpec[] | undefined, volumesFrom: string[] | undefined): Record<string, unknown> {
  // Docker: anonymous `-v /dst` volumes are in Config.Volumes, not in Binds.
  const binds = (specs ?? []).filter((s) => s.bind !== undefined && s.source !== undefined).map((s) => s.bind!)
  const mounts = (specs ?? []).filter((s) => s.bind === undefined)
  const tmpfs: Record<string, string> = {}
  const long: object[] = []
  for (const s of mounts) {
    if (s.type === 'tmpfs' && s.tmpfsOptions !== undefined) {
      tmpfs[s.target] = tmpfsOptions(s).join(',')
      continue
    }
    long.push({
      Type: s.type,
      Source: s.source ?? '',
      Target: s.target,
      ...(s.readonly ? {ReadOnly: true} : {}),
      ...(s.type === 'bind' && s.propagation ? {BindOptions: {Propagation: s.propagation}} : {}),
      ...(s.type === 'volume' && (s.nocopy || s.volumeLabels || s.volumeOptions)
        ? {VolumeOptions: {...(s.nocopy ? {NoCopy: true} : {}), ...(s.volumeLabels ? {Labels: s.volumeLabels} : {}), ...(s.volumeOptions ? {DriverConfig: {Name: 'local', Options: s.volumeOptions}} : {})}}
        : {}),
      ...(s.type === 'tmpfs' ? {TmpfsOptions: {...(s.tmpfsSize !== undefined ? {SizeBytes: s.tmpfsSize} : {}), ...(s.tmpfsMode !== undefined ? {Mode: s.tmpfsMode} : {})}} : {}),
    })
  }
  return {
    Binds: binds.length > 0 ? binds : null,
    ...(long.length > 0 ? {Mounts: long} : {}),
    ...(Object.keys(tmpfs).length > 0 ? {Tmpfs: tmpfs} : {}),
    VolumesFrom: volumesFrom && volumesFrom.length > 0 ? volumesFrom : null,
  }
}

/** `Config.Volumes`: the image's VOLUME paths and anonymous `-v /dst` ones. */
export function configVolumes(mounts: ContainerMount[] | undefined): Record<string, object> | null {
  const anon = (mounts ?? []).filter((m) => m.Anonymous).map((m) => m.Destination)
  return anon.length > 0 ? Object.fromEntries(anon.map((d) => [d, {}])) : null
}
