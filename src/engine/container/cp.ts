/**
 * `cp`: copy files between a container and the host with Docker's rules for trailing `/`
 * and `/.`. The runtime does the copy inside the user namespace; paths in the container are
 * resolved confined to its root (openat2 RESOLVE_IN_ROOT), and nothing the copy writes follows
 * a symlink (crates/ncx-core/src/tree.rs). A running container is reached through its own root
 * (/proc/PID/root); a stopped one through its overlay, mounted in a private mount namespace
 * (writes land in its upper dir, copied up by the kernel).
 */
import {ChildProcess, spawn, spawnSync} from 'node:child_process'
import {isAbsolute, resolve} from 'node:path'

import {runtimeBinary} from '../../native/index.js'

import {Engine} from '../engine.js'
import {NcxError, UsageError} from '../errors.js'
import {joinArgs} from '../rootless/session.js'
import {runtimeErrorText, runtimeSync} from '../runtime.js'
import {RootSpec, containerRoot} from './files.js'
import {ContainerRecord} from './store.js'

/** One side of `cp` as written: `CONTAINER:PATH` or a local path (Docker's splitCpArg). */
export interface CpArg {
  container?: string
  path: string
}

export function parseCpArg(arg: string): CpArg {
  if (isAbsolute(arg)) return {path: arg}
  const i = arg.indexOf(':')
  if (i <= 0 || arg.startsWith('.')) return {path: arg}
  return {container: arg.slice(0, i), path: arg.slice(i + 1)}
}

/** A host path made absolute, keeping the trailing `/` or `/.` that carries meaning. */
export function hostPath(p: string, cwd = process.cwd()): string {
  const abs = resolve(cwd, p)
  if (p === '.' || p.endsWith('/.')) return abs === '/' ? '/.' : `${abs}/.`
  if (p.endsWith('/') && abs !== '/') return `${abs}/`
  return abs
}

/** A path in the container: relative ones are relative to its root, as in Docker. */
export function containerPath(p: string): string {
  if (p === '') throw new UsageError('the container path must not be empty')
  return p.startsWith('/') ? p : `/${p}`
}

export interface CopyOptions {
  followLink: boolean
  /**
   * The tar side (`-`) over a pipe instead of this process's stdin/stdout (the Engine API's
   * archive endpoints): called with the runtime child (its stdin or stdout is the tar stream)
   * and a promise of its end.
   */
  tarPipe?: (child: ChildProcess, done: Promise<void>) => void
}

/**
 * The root and path `cp` works in for a container path. A running container: its own root,
 * mounts included. A stopped one: its overlay, or, for a path in one of its volumes or bind
 * mounts, that mount's source (confined to it), as Docker copies into a stopped container's
 * mounts.
 */
function containerSide(engine: Engine, record: ContainerRecord, path: string, write: boolean): {root: RootSpec; path: string} {
  const root = containerRoot(engine, record, {write, live: true})
  if (root.spec.startsWith('pid:')) return {root, path}
  const mount = mountOf(record, path)
  if (!mount) return {root, path}
  return {root: {spec: `dir:${mount.source}`}, path: mount.rest}
}

/** The volume or bind mount (the deepest) `path` lies in, and the path inside it. */
export function mountOf(record: Pick<ContainerRecord, 'mounts'>, path: string): {source: string; rest: string} | undefined {
  let best: {source: string; rest: string; depth: number} | undefined
  for (const m of record.mounts ?? []) {
    if (m.Type !== 'volume' && m.Type !== 'bind') continue
    const dest = m.Destination.replace(/\/+$/, '') || '/'
    if (dest === '/') continue
    if (path !== dest && !path.startsWith(`${dest}/`)) continue
    if (best && best.depth >= dest.length) continue
    best = {source: m.Source, rest: path.slice(dest.length) || '/', depth: dest.length}
  }
  return best && {source: best.source, rest: best.rest.startsWith('/') ? best.rest : `/${best.rest}`}
}

/** Copy; returns the number of bytes of file content copied. */
export function copyFiles(engine: Engine, from: {record?: ContainerRecord; path: string}, to: {record?: ContainerRecord; path: string}, options: CopyOptions): number {
  if (from.record && to.record) throw new UsageError('copying between containers is not supported')
  if (!from.record && !to.record) throw new UsageError('must specify at least one container source')
  // `-` on the host side is a tar stream: stdout (from the container) or stdin (into it).
  const side = (s: {record?: ContainerRecord; path: string}, write: boolean) =>
    s.record
      ? containerSide(engine, s.record, containerPath(s.path), write)
      : s.path === '-'
        ? {root: {spec: 'tar'} as RootSpec, path: '-'}
        : {root: {spec: 'host'} as RootSpec, path: hostPath(s.path)}
  const src = side(from, false)
  const dst = side(to, true)
  const mountpoint = src.root.mountpoint ?? dst.root.mountpoint
  const args = ['cp', ...joinArgs(engine.session()), '--src-root', src.root.spec, '--src', src.path, '--dst-root', dst.root.spec, '--dst', dst.path]
  if (mountpoint) args.push('--mountpoint', mountpoint)
  if (options.followLink) args.push('--follow-link', '1')
  // Docker's wording names the container; its errors exit 1.
  const cpError = (error: NcxError) => {
    const name = (from.record ?? to.record)!.name
    return new NcxError(error.message.replace(/ in container$/, ` in container ${name}`), {exitCode: error.exitCode === 125 ? 125 : 1})
  }
  if (src.root.spec === 'tar' || dst.root.spec === 'tar') {
    args.push('--xattr-prefix', engine.session().rootless ? 'user.' : 'trusted.')
    if (options.tarPipe) {
      const child = spawn(runtimeBinary(), args, {stdio: [src.root.spec === 'tar' ? 'pipe' : 'ignore', dst.root.spec === 'tar' ? 'pipe' : 'ignore', 'pipe']})
      let stderr = ''
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
      const done = new Promise<void>((resolve, reject) => {
        child.on('error', reject)
        child.on('close', (code, signal) => {
          if (code === 0) resolve()
          else reject(cpError(new NcxError(runtimeErrorText(stderr) ?? `ncx-runtime cp failed (${code ?? signal})`, {exitCode: code ?? 125})))
        })
      })
      options.tarPipe(child, done)
      return 0
    }
    const r = spawnSync(runtimeBinary(), args, {stdio: [src.root.spec === 'tar' ? 'inherit' : 'ignore', dst.root.spec === 'tar' ? 'inherit' : 'pipe', 'pipe'], encoding: 'utf8'})
    if (r.error) throw r.error
    if (r.status === 141) throw Object.assign(new Error('EPIPE'), {code: 'EPIPE'})
    if (r.status !== 0) throw cpError(new NcxError(runtimeErrorText(r.stderr) ?? `ncx-runtime cp failed (${r.status ?? r.signal})`, {exitCode: r.status ?? 125}))
    return dst.root.spec === 'tar' ? 0 : ((JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as {bytes?: number}).bytes ?? 0)
  }
  let out: string
  try {
    out = runtimeSync(args, {keepCode: true})
  } catch (error) {
    throw error instanceof NcxError ? cpError(error) : error
  }
  const parsed = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {bytes?: number}
  return parsed.bytes ?? 0
}
