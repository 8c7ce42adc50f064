/**
 * Short paths for layer directories: `l/<hex10…>` links to `snapshots/<diff-id hex>/fs`, as
 * containers-storage's `l/` directory. Overlay's mount data is one page (4096 bytes), which
 * full snapshot paths fill after ~35 layers; Docker allows 127 (and builds make many).
 */
import {existsSync, mkdirSync, readdirSync, readlinkSync, statSync, symlinkSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'

import type {Engine} from '../engine.js'

export function layerLinksDir(engine: Engine): string {
  return join(engine.paths.data, 'l')
}

/** The short path of a layer's directory (made on first use; the full path if it cannot be). */
export function shortLayerPath(engine: Engine, diffId: string): string {
  const hex = diffId.replace(/^sha256:/, '')
  const dir = layerLinksDir(engine)
  const target = join('..', 'snapshots', hex, 'fs')
  for (let len = 10; len <= 64; len += 6) {
    const link = join(dir, hex.slice(0, len))
    try {
      if (readlinkSync(link) === target) return link
      continue // a prefix collision: try a longer name
    } catch {
      // missing
    }
    mkdirSync(dir, {recursive: true, mode: 0o700})
    try {
      symlinkSync(target, link)
      return link
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return engine.snapshots.dir(diffId)
      try {
        if (readlinkSync(link) === target) return link
      } catch {
        // raced with a removal
      }
    }
  }
  return engine.snapshots.dir(diffId)
}

/** Remove links to layers that are gone. */
export function pruneLayerLinks(engine: Engine): void {
  const dir = layerLinksDir(engine)
  if (!existsSync(dir)) return
  for (const n of readdirSync(dir)) {
    const link = join(dir, n)
    try {
      statSync(link)
    } catch {
      try {
        unlinkSync(link)
      } catch {
        // gone already
      }
    }
  }
}
