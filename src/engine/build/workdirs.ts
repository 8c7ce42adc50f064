/**
 * A build's work files and directories (RUN bundles, temporary files, mount points, secret
 * files, the layer being made) are named after the building process, so what a killed build
 * left can be told apart from what a running one uses, and removed: by the next build, and
 * by `system check --repair` (which reports them first).
 */
import {randomBytes} from 'node:crypto'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {LAYER_WORK} from '../snapshot/store.js'
import {layout} from '../store/paths.js'
import {buildLayout} from './cache.js'

/** A name for a build's work file or directory: the builder's pid first, so a killed build's leftovers can be told apart. */
export function workName(): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}`
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export interface BuildLeftover {
  /** Absolute path. */
  path: string
  /** The dead builder's pid. */
  pid: number
  /** A layer's work area under snapshots/ (the rest are build/ work dirs and secret files). */
  layerWork: boolean
}

/** What builds whose process is gone left: work directories, cache-mount dirs half made, secret files, layer work areas. */
export function buildLeftovers(engine: Engine): BuildLeftover[] {
  const found: BuildLeftover[] = []
  const root = buildLayout.root(engine.paths)
  const dirs: Array<[string, RegExp]> = [
    [join(root, 'runs'), /^(?:build-)?(\d+)-/],
    [join(root, 'tmp'), /^(\d+)-/],
    [join(root, 'mnt'), /^(\d+)-/],
    // a cache mount's directory made under a temporary name, then renamed (cache.ts mountDir)
    [buildLayout.mounts(engine.paths), /^[0-9a-f]{32}\.tmp-(\d+)$/],
    [join(engine.paths.run, 'build-secrets'), /^(\d+)-/],
    [layout.snapshots(engine.paths), LAYER_WORK],
  ]
  const snapshots = layout.snapshots(engine.paths)
  for (const [dir, pattern] of dirs) {
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      continue
    }
    for (const n of names) {
      const m = pattern.exec(n)
      if (m && !alive(Number(m[1]))) found.push({path: join(dir, n), pid: Number(m[1]), layerWork: dir === snapshots})
    }
  }
  return found
}

/**
 * Remove what killed builds left (see buildLeftovers). Best effort: what cannot be removed
 * is said in a warning (and `system check` reports it), never a reason for this build to fail.
 */
export function reapBuildLeftovers(engine: Engine, warn: (m: string) => void = (m) => engine.warn(m)): void {
  const doomed = buildLeftovers(engine).map((l) => l.path)
  if (doomed.length === 0) return
  try {
    engine.snapshots.removeTree(doomed)
  } catch (error) {
    warn(`could not remove what a killed build left (${(error as Error).message}); "ncx system check --repair" retries`)
  }
}
