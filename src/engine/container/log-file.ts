/**
 * The container's json-file log as the runtime writes it: where it lives (Docker's file name)
 * and the rotation options (`--log-opt max-size/max-file`) handed to the runtime.
 */
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {ContainerRecord} from './store.js'

/** Where a container's json-file log lives (Docker's name). */
export function logPath(engine: Engine, record: ContainerRecord): string {
  return join(engine.containers.dir(record.id), `${record.id}-json.log`)
}

/**
 * Docker's units.FromHumanSize, which json-file's max-size is read with: decimal units
 * (`10m` is 10,000,000 bytes), fractions allowed (`1.5m`), an optional `b`/`ib` suffix.
 */
export function logSizeBytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?$/i.exec(text)
  if (!m) return undefined
  const unit = {'': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15}[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't' | 'p']
  return Math.floor(Number(m[1]) * unit)
}

/** The runtime's arguments for the container's json-file log (monitor and foreground run alike). */
export function logRuntimeArgs(engine: Engine, record: ContainerRecord): string[] {
  const o = record.options
  if ((o.logDriver ?? 'json-file') !== 'json-file') return []
  const args = ['--log-path', logPath(engine, record)]
  const size = o.logOpts?.['max-size'] ? logSizeBytes(o.logOpts['max-size']) : undefined
  if (size) args.push('--log-max-size', String(size))
  if (o.logOpts?.['max-file']) args.push('--log-max-file', o.logOpts['max-file'])
  return args
}
