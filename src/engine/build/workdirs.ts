/**
 * A build's work files and directories (RUN bundles, temporary files, mount points, secret
 * files) are named after the building process, so what a killed build left can be told apart
 * from what a running one uses, and removed.
 */
import {randomBytes} from 'node:crypto'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'

import {Engine} from '../engine.js'
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

/** Remove what killed builds left (work directories, secret files) whose process is gone. */
export function reapBuildLeftovers(engine: Engine): void {
  const doomed: string[] = []
  const dirs = ['runs', 'tmp', 'mnt'].map((d) => join(buildLayout.root(engine.paths), d))
  dirs.push(join(engine.paths.run, 'build-secrets'))
  for (const dir of dirs) {
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      continue
    }
    for (const n of names) {
      const m = /^(?:build-)?(\d+)-/.exec(n)
      if (m && !alive(Number(m[1]))) doomed.push(join(dir, n))
    }
  }
  try {
    const snaps = layout.snapshots(engine.paths)
    for (const n of readdirSync(snaps)) {
      const m = /^\.tmp-[0-9a-f]{16}-(\d+)b$/.exec(n)
      if (m && !alive(Number(m[1]))) doomed.push(join(snaps, n))
    }
  } catch {
    // no snapshots yet
  }
  if (doomed.length > 0) engine.snapshots.removeTree(doomed)
}
