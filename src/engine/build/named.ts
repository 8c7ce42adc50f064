/**
 * Named build contexts (`--build-context NAME=VALUE`, compose `build.additional_contexts`):
 * a directory, or an image (`docker-image://REF`). `FROM NAME`, `COPY --from=NAME` and
 * `RUN --mount=from=NAME` use them; a stage of the same name is replaced, as in BuildKit.
 * A directory is read like the main context (through its own `.dockerignore`), its files
 * owned by 0:0 in the image.
 */
import {existsSync, readFileSync, statSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {NcxError, UsageError} from '../errors.js'
import {ContextFS} from './context.js'
import {PatternMatcher, readIgnoreFile} from './patterns.js'

export type NamedContext = {name: string; kind: 'dir'; dir: string; fs: ContextFS; ignoreFile?: string} | {name: string; kind: 'image'; ref: string}

/** `NAME=VALUE` (the `--build-context` flag) → name and value. */
export function parseBuildContextFlag(text: string): [string, string] {
  const i = text.indexOf('=')
  if (i <= 0 || i === text.length - 1) throw new UsageError(`invalid build context ${JSON.stringify(text)}`, 'use --build-context NAME=DIR or NAME=docker-image://IMAGE')
  return [text.slice(0, i), text.slice(i + 1)]
}

/** The named contexts by (lower-case) name; directories relative to `cwd` must exist. */
export function loadNamedContexts(values: Record<string, string>, cwd: string): Map<string, NamedContext> {
  const out = new Map<string, NamedContext>()
  for (const [rawName, value] of Object.entries(values)) {
    const name = rawName.toLowerCase()
    if (!/^[a-z0-9][a-z0-9._/:@-]*$/.test(name)) throw new UsageError(`invalid build context name ${JSON.stringify(rawName)}`)
    if (value.startsWith('docker-image://')) {
      const ref = value.slice('docker-image://'.length)
      if (ref === '') throw new UsageError(`build context ${rawName}: docker-image:// needs an image reference`)
      out.set(name, {name, kind: 'image', ref})
      continue
    }
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1] ?? (/^git@/.test(value) ? 'git' : /^(target|service):/.exec(value)?.[1])
    if (scheme) throw new UsageError(`build context ${rawName}: ${scheme} contexts are not supported by ncx (${value})`, 'give a local directory or docker-image://IMAGE')
    const dir = resolve(cwd, value)
    let st
    try {
      st = statSync(dir)
    } catch {
      throw new NcxError(`unable to prepare context: path ${JSON.stringify(value)} not found (build context ${rawName})`, {exitCode: 1})
    }
    if (!st.isDirectory()) throw new NcxError(`unable to prepare context: build context ${rawName} must be a directory: ${dir}`, {exitCode: 1})
    const ignore = join(dir, '.dockerignore')
    const patterns = existsSync(ignore) ? readIgnoreFile(readFileSync(ignore, 'utf8')) : []
    let matcher: PatternMatcher
    try {
      matcher = new PatternMatcher(patterns)
    } catch (error) {
      throw new UsageError(`failed to parse ${ignore}: ${(error as Error).message}`)
    }
    out.set(name, {name, kind: 'dir', dir, fs: new ContextFS(dir, matcher), ...(patterns.length > 0 ? {ignoreFile: ignore} : {})})
  }
  return out
}
