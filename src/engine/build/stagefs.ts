/**
 * A stage's or an image's file system as COPY --from reads it: listed by the runtime
 * (`ncx-runtime build-list`, inside the user namespace: files belong to subordinate ids).
 */
import {spawn} from 'node:child_process'
import {mkdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {runtimeBinary} from '../../native/index.js'
import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {joinArgs} from '../rootless/session.js'
import {runtimeErrorText} from '../runtime.js'
import {buildLayout} from './cache.js'
import {ResolvedSource, SourceFS, TreeEntry, splitWildcards} from './context.js'
import {CopyRoot} from './copy.js'
import {filepathMatch, hasWildcards} from './patterns.js'
import {workName} from './workdirs.js'

function normalizePosix(p: string): string {
  const parts: string[] = []
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue
    if (c === '..') parts.pop()
    else parts.push(c)
  }
  return `/${parts.join('/')}`
}

/** Run a runtime helper with `input` on stdin; resolves to its stdout. */
export async function runtimeWithInput(engine: Engine, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(runtimeBinary(), args, {stdio: ['pipe', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d))
    child.stderr.on('data', (d: Buffer) => (err += d))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve(out)
      else reject(new NcxError(runtimeErrorText(err) ?? `ncx-runtime ${args[0]} failed (${code})`, {exitCode: 1}))
    })
    child.stdin.on('error', () => undefined)
    child.stdin.end(input)
  })
}

/** A stage's or image's file system, read through the runtime (owners are subordinate ids). */
export class LayersFS implements SourceFS {
  constructor(
    private readonly engine: Engine,
    private readonly root: CopyRoot,
  ) {}

  private async list(paths: Array<{path: string; follow: boolean; depth: number | null}>): Promise<Array<{resolved?: string; entries?: Array<Record<string, unknown>>; error?: string}>> {
    let root = this.root
    let mnt: string | undefined
    if (root.mountpoint === '') {
      mnt = join(buildLayout.root(this.engine.paths), 'mnt', workName())
      mkdirSync(mnt, {recursive: true})
      root = {...root, mountpoint: mnt}
    }
    try {
      const out = await runtimeWithInput(this.engine, ['build-list', ...joinArgs(this.engine.session())], JSON.stringify({root, paths}))
      return (JSON.parse(out) as {results: Array<{resolved?: string; entries?: Array<Record<string, unknown>>; error?: string}>}).results
    } finally {
      if (mnt) rmSync(mnt, {recursive: true, force: true})
    }
  }

  async resolveSources(args: string[]): Promise<ResolvedSource[]> {
    const toEntry = (e: Record<string, unknown>): TreeEntry => ({
      path: e.p as string,
      kind: e.k as TreeEntry['kind'],
      mode: e.m as number,
      uid: e.u as number,
      gid: e.g as number,
      size: e.s as number,
      mtime: e.mt as [number, number],
      ...(e.l !== undefined ? {link: e.l as string} : {}),
    })
    const out: ResolvedSource[] = []
    for (const arg of args) {
      const clean = normalizePosix(arg).slice(1)
      if (!hasWildcards(clean)) {
        const [r] = await this.list([{path: `/${clean}`, follow: true, depth: null}])
        if (!r.entries) out.push({arg, trees: [], missing: {path: `/${clean}`, excluded: false}})
        else out.push({arg, trees: [{name: clean, path: r.resolved!, entries: r.entries.map(toEntry)}]})
        continue
      }
      const [base, pattern] = splitWildcards(clean)
      const depth = pattern.split('/').length
      const [r] = await this.list([{path: `/${base}`, follow: true, depth}])
      const matches = (r.entries ?? []).map(toEntry).filter((e) => e.path !== '' && filepathMatch(pattern, e.path))
      if (matches.length === 0) {
        out.push({arg, trees: []})
        continue
      }
      const baseResolved = r.resolved ?? `/${base}`
      const trees = await this.list(matches.map((m) => ({path: `${baseResolved === '/' ? '' : baseResolved}/${m.path}`, follow: true, depth: null})))
      out.push({arg, trees: trees.filter((t) => t.entries).map((t, i) => ({name: `${base ? `${base}/` : ''}${matches[i].path}`, path: t.resolved!, entries: t.entries!.map(toEntry)}))})
    }
    return out
  }
}
