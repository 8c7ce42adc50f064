/**
 * COPY and ADD with Docker's (BuildKit's) semantics, planned here and carried out by the
 * runtime (`ncx-runtime build-copy`) inside the user namespace:
 * - a source directory's contents are copied, merged into the destination; a file onto an
 *   existing directory (or a destination ending in `/`) goes inside it;
 * - files from the context are owned by 0:0, files from a stage or image keep their owners,
 *   unless `--chown` (names looked up in the stage's /etc/passwd and /etc/group);
 * - `--chmod` (octal or symbolic, as chmod(1)) replaces modes of files and directories;
 * - `--exclude` patterns match paths below each source;
 * - ADD unpacks local tar archives (plain, gzip, zstd; bzip2/xz with the host's tools) and
 *   downloads http(s) URLs (mode 0600, `--checksum` verified).
 */
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {closeSync, mkdirSync, openSync, readSync, rmSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {gunzipSync} from 'node:zlib'

import {NcxError, UsageError} from '../errors.js'
import {readImageFile} from '../spec/user.js'
import {HashCache, ResolvedSource, SourceTree, TreeEntry, looksLikeTar} from './context.js'
import {PatternMatcher, cleanPath} from './patterns.js'

export interface Owner {
  uid: number
  gid: number
}

/** `--chmod`: an octal mode, or a symbolic one (`u+x,go=rX`). */
export type Chmod = {octal: number} | {symbolic: string}

export function parseChmod(value: string): Chmod {
  if (/^[0-7]+$/.test(value)) {
    const n = Number.parseInt(value, 8)
    if (n > 0o7777) throw new UsageError(`invalid chmod parameter: '${value}'. it should be octal string and between 0 and 07777`)
    return {octal: n}
  }
  if (/^\d+$/.test(value)) throw new UsageError(`invalid chmod parameter: '${value}'. it should be octal string and between 0 and 07777`)
  applySymbolic(0o644, false, value) // syntax check
  return {symbolic: value}
}

/** chmod(1) symbolic modes, with a zero umask. */
export function applySymbolic(mode: number, isDir: boolean, spec: string): number {
  let m = mode & 0o7777
  for (const clause of spec.split(',')) {
    const cm = /^([ugoa]*)((?:[-+=](?:[ugo]|[rwxXst]*))+)$/.exec(clause)
    if (!cm) throw new UsageError(`invalid chmod parameter: '${spec}'`)
    const who = cm[1] === '' || cm[1].includes('a') ? 'ugo' : cm[1]
    const mask = (who.includes('u') ? 0o4700 : 0) | (who.includes('g') ? 0o2070 : 0) | (who.includes('o') ? 0o0007 : 0)
    for (const [, op, perms] of cm[2].matchAll(/([-+=])([ugo]|[rwxXst]*)/g)) {
      let bits = 0
      if (/^[ugo]$/.test(perms)) {
        const shift = perms === 'u' ? 6 : perms === 'g' ? 3 : 0
        const v = (m >> shift) & 7
        bits = (v << 6) | (v << 3) | v
      } else {
        for (const p of perms) {
          if (p === 'r') bits |= 0o444
          else if (p === 'w') bits |= 0o222
          else if (p === 'x') bits |= 0o111
          else if (p === 'X') {
            if (isDir || (mode & 0o111) !== 0) bits |= 0o111
          } else if (p === 's') bits |= 0o6000
          else if (p === 't') bits |= 0o1000
        }
      }
      bits &= mask | (who.includes('o') && perms.includes('t') ? 0o1000 : 0)
      if (op === '+') m |= bits
      else if (op === '-') m &= ~bits
      else m = (m & ~mask) | bits
    }
  }
  return m
}

function applyChmod(chmod: Chmod | undefined, mode: number, isDir: boolean): number {
  if (!chmod) return mode
  if ('octal' in chmod) return chmod.octal
  return applySymbolic(mode, isDir, chmod.symbolic)
}

interface PasswdLine {
  name: string
  uid: number
  gid: number
}

/**
 * `--chown` / the WORKDIR owner: `user[:group]`, names looked up in the stage's files (a
 * name that is not there is 0, as BuildKit does); a numeric user alone is also the group.
 */
export function resolveOwner(spec: string, layerDirs: string[]): Owner {
  const [user, group] = spec.split(':', 2)
  const isId = (s: string) => /^\d+$/.test(s)
  const owner: Owner = {uid: 0, gid: 0}
  if (user !== undefined && user !== '') {
    if (isId(user)) {
      owner.uid = Number(user)
      owner.gid = Number(user)
    } else {
      const found = parsePasswd(readImageFile(layerDirs, '/etc/passwd')).find((p) => p.name === user)
      if (found) {
        owner.uid = found.uid
        owner.gid = found.gid
      }
    }
  }
  if (group !== undefined && group !== '') {
    if (isId(group)) owner.gid = Number(group)
    else {
      const g = (readImageFile(layerDirs, '/etc/group') ?? '')
        .split('\n')
        .map((l) => l.split(':'))
        .find((f) => f.length >= 3 && f[0] === group)
      if (g) owner.gid = Number(g[2])
    }
  }
  return owner
}

function parsePasswd(text: string | undefined): PasswdLine[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && f[0] !== '')
    .map((f) => ({name: f[0], uid: Number(f[2]), gid: Number(f[3])}))
}

/** Docker's COPY destination: relative to the working directory, a trailing `/` kept. */
export function destinationPath(dest: string, workdir: string): string {
  const keepSlash = dest.endsWith('/') || dest.endsWith('/.') || dest === '.' || dest === ''
  const full = dest.startsWith('/') ? cleanPath(dest) : cleanPath(`${workdir || '/'}/${dest}`)
  return keepSlash && !full.endsWith('/') ? `${full}/` : full
}

/** A root the runtime opens for the copy. */
export interface CopyRoot {
  spec: string
  mountpoint?: string
}

interface PlanEntry {
  p: string
  k: string
  m: number
  u: number
  g: number
  mt: [number, number]
  l?: string
  src?: string
  data?: string
}

export type CopyOp =
  | {op: 'copy'; dest: string; item: {source: number; base: string; top: PlanEntry; children: PlanEntry[]}}
  | {op: 'untar'; dest: string; file: string; chown: [number, number] | null}

export interface CopySettings {
  dest: string
  chown?: Owner
  chmod?: Chmod
  exclude: string[]
  /** Files from this source are owned by 0:0 (the context) unless --chown. */
  resetOwners: boolean
}

/** Plan the copy of resolved sources from one root (index `source`). */
export function planItems(resolved: ResolvedSource[], source: number, s: CopySettings): CopyOp[] {
  const ops: CopyOp[] = []
  let excluder: PatternMatcher | undefined
  try {
    excluder = s.exclude.length > 0 ? new PatternMatcher(s.exclude) : undefined
  } catch (error) {
    throw new UsageError(`invalid --exclude: ${(error as Error).message}`)
  }
  for (const r of resolved) for (const tree of r.trees) ops.push({op: 'copy', dest: s.dest, item: itemOf(tree, source, s, excluder)})
  return ops
}

function metaOf(e: TreeEntry, s: CopySettings): Pick<PlanEntry, 'm' | 'u' | 'g' | 'mt'> {
  const owner = s.chown ?? (s.resetOwners ? {uid: 0, gid: 0} : {uid: e.uid, gid: e.gid})
  return {m: e.kind === 'l' ? e.mode : applyChmod(s.chmod, e.mode, e.kind === 'd'), u: owner.uid, g: owner.gid, mt: e.mtime}
}

function itemOf(tree: SourceTree, source: number, s: CopySettings, excluder: PatternMatcher | undefined) {
  const [topEntry, ...rest] = tree.entries
  const top: PlanEntry = {p: '', k: topEntry.kind, ...metaOf(topEntry, s), ...(topEntry.kind === 'f' ? {src: tree.path} : {})}
  const children: PlanEntry[] = []
  const keep = excluder ? keptEntries(rest, excluder) : new Set(rest.map((e) => e.path))
  for (const e of rest) {
    if (!keep.has(e.path)) continue
    if (e.kind === 'c' || e.kind === 'b' || e.kind === 's') continue // not creatable in a user namespace
    children.push({p: e.path, k: e.kind, ...metaOf(e, s), ...(e.kind === 'f' ? {src: `${tree.path === '/' ? '' : tree.path}/${e.path}`} : {}), ...(e.kind === 'l' ? {l: e.link ?? ''} : {})})
  }
  return {source, base: basename(tree.name) || '/', top, children}
}

/** Entries `--exclude` keeps: not excluded, or a directory holding something kept. */
function keptEntries(entries: TreeEntry[], excluder: PatternMatcher): Set<string> {
  const kept = new Set<string>()
  for (const e of entries) {
    if (!excluder.matchesPath(e.path)) {
      kept.add(e.path)
      // its parents, even when excluded themselves
      const parts = e.path.split('/')
      for (let i = 1; i < parts.length; i++) kept.add(parts.slice(0, i).join('/'))
    }
  }
  // Children of an excluded directory stay out unless an exception brings them back.
  if (!excluder.exclusions) {
    for (const p of [...kept]) {
      const parts = p.split('/')
      for (let i = 1; i < parts.length; i++) {
        if (excluder.matchesPath(parts.slice(0, i).join('/'))) {
          kept.delete(p)
          break
        }
      }
    }
  }
  return kept
}

/** The digest of what a copy reads from the context: names, kinds, modes, contents. */
export function contentDigest(resolved: ResolvedSource[], rootDir: string, hashes: HashCache): string {
  const h = createHash('sha256')
  for (const r of resolved) {
    h.update(`src\0${r.arg}\0`)
    for (const t of r.trees) {
      h.update(`tree\0${t.name}\0`)
      for (const e of t.entries) {
        h.update(`${e.path}\0${e.kind}\0${e.mode.toString(8)}\0${e.link ?? ''}\0`)
        if (e.kind === 'f') h.update(hashes.digest(join(rootDir, t.path, e.path)))
        h.update('\n')
      }
    }
  }
  return h.digest('hex')
}

// ---------------------------------------------------------------------------------------
// ADD: archives and URLs

const MAGIC = {
  gzip: [0x1f, 0x8b],
  bzip2: [0x42, 0x5a, 0x68],
  xz: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
  zstd: [0x28, 0xb5, 0x2f, 0xfd],
}

function head(path: string, n: number): Buffer {
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(n)
    const got = readSync(fd, buf, 0, n, 0)
    return buf.subarray(0, got)
  } finally {
    closeSync(fd)
  }
}

const startsWith = (b: Buffer, m: number[]) => m.every((x, i) => b[i] === x)

/**
 * Whether a context file is a tar archive ADD unpacks; returns the path of a plain or
 * gzip/zstd tar the runtime reads (bzip2 and xz are decompressed first, into `tmpDir`).
 */
export function archiveForAdd(path: string, tmpDir: string): string | undefined {
  let b: Buffer
  try {
    b = head(path, 512)
  } catch {
    return undefined
  }
  if (b.length === 0) return undefined
  let tool: string | undefined
  if (startsWith(b, MAGIC.bzip2)) tool = 'bzip2'
  else if (startsWith(b, MAGIC.xz)) tool = 'xz'
  if (tool) {
    const out = join(tmpDir, `add-${createHash('sha256').update(path).digest('hex').slice(0, 16)}.tar`)
    const r = spawnSync('sh', ['-c', `${tool} -dc < "$1" > "$2"`, 'sh', path, out], {stdio: ['ignore', 'ignore', 'pipe']})
    if (r.status !== 0) {
      rmSync(out, {force: true})
      return undefined
    }
    return looksLikeTar(head(out, 512)) ? out : (rmSync(out, {force: true}), undefined)
  }
  if (startsWith(b, MAGIC.gzip)) {
    try {
      const plain = gunzipSync(head(path, 1 << 16), {finishFlush: 2})
      return looksLikeTar(plain.subarray(0, 512)) ? path : undefined
    } catch {
      return undefined
    }
  }
  if (startsWith(b, MAGIC.zstd)) return path // the runtime checks the stream as it unpacks
  return looksLikeTar(b) ? path : undefined
}


export interface Download {
  path: string
  name: string
  digest: string
  mtime?: number
}

/** ADD https://…: fetch to `dir`, check `--checksum`, name the file as BuildKit does. */
export async function download(url: string, dir: string, checksum?: string): Promise<Download> {
  let name = '__unnamed__'
  try {
    const base = basename(new URL(url).pathname)
    if (base && base !== '.' && base !== '/') name = decodeURIComponent(base)
  } catch {
    throw new UsageError(`invalid URL ${JSON.stringify(url)}`)
  }
  let res: Response
  try {
    res = await fetch(url, {redirect: 'follow'})
  } catch (error) {
    throw new NcxError(`failed to load ${url}: ${(error as Error).message}`, {exitCode: 1})
  }
  if (!res.ok) throw new NcxError(`invalid response status ${res.status} for ${url}`, {exitCode: 1})
  const data = Buffer.from(await res.arrayBuffer())
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`
  if (checksum !== undefined) {
    if (!/^sha256:[a-f0-9]{64}$/.test(checksum)) throw new UsageError(`invalid checksum ${JSON.stringify(checksum)}: use sha256:<64 hex digits>`)
    if (checksum !== digest) throw new NcxError(`digest mismatch ${checksum}: ${digest}`, {exitCode: 1})
  }
  mkdirSync(dir, {recursive: true})
  const path = join(dir, digest.slice(7, 23))
  writeFileSync(path, data, {mode: 0o600})
  const lm = res.headers.get('last-modified')
  const mtime = lm ? Date.parse(lm) : NaN
  return {path, name, digest, ...(Number.isNaN(mtime) ? {} : {mtime: Math.floor(mtime / 1000)})}
}

export function isUrl(src: string): boolean {
  return /^https?:\/\//.test(src)
}
