/**
 * The build context: a directory, a tar archive on stdin (unpacked into a temporary
 * directory first), or none (`-f -` / `build -` with a Dockerfile only). The `.dockerignore`
 * (or `<Dockerfile>.dockerignore` beside a named Dockerfile) filters it as BuildKit's
 * context transfer does: excluded paths are not there, except directories that hold an
 * entry a `!` exception brings back. Only what COPY/ADD name is read, and file contents are
 * hashed for cache keys with a stat cache (size, mtime, inode, ctime) kept in the store.
 */
import {createHash, randomBytes} from 'node:crypto'
import {chmodSync, closeSync, createWriteStream, existsSync, linkSync, lstatSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync} from 'node:fs'
import {dirname, isAbsolute, join, resolve} from 'node:path'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGunzip, gunzipSync} from 'node:zlib'
import {extract} from 'tar-stream'

import {NcxError, UsageError} from '../errors.js'
import {makeDirWithMode, writeFileAtomic} from '../store/files.js'
import {PatternMatcher, cleanPath, filepathMatch, hasWildcards, readIgnoreFile} from './patterns.js'

/** An entry of a source tree (the context or a stage), relative to the listed top. */
export interface TreeEntry {
  /** Relative to the listed top; '' is the top. */
  path: string
  kind: 'd' | 'f' | 'l' | 'p' | 'c' | 'b' | 's'
  mode: number
  uid: number
  gid: number
  size: number
  mtime: [number, number]
  link?: string
}

/** A resolved COPY source: where it is in its root, and its tree. */
export interface SourceTree {
  /** The source as written (wildcards resolved). */
  name: string
  /** The resolved path in the root (symlinks followed), absolute. */
  path: string
  entries: TreeEntry[]
}

/** The outcome of resolving one COPY source argument. */
export interface ResolvedSource {
  arg: string
  trees: SourceTree[]
  /** A literal path that is not there; `excluded` when .dockerignore removed it. */
  missing?: {path: string; excluded: boolean}
}

/** Where COPY reads from: the context, a stage, an image. */
export interface SourceFS {
  resolveSources(args: string[]): Promise<ResolvedSource[]>
}

const MAX_LINKS = 255

/** The build context directory seen through .dockerignore. */
export class ContextFS implements SourceFS {
  private readonly presentCache = new Map<string, boolean>()

  constructor(
    readonly root: string,
    readonly matcher: PatternMatcher,
  ) {}

  private host(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel)
  }

  /** Is `rel` excluded by .dockerignore (itself or through a parent)? */
  excluded(rel: string): boolean {
    if (rel === '' || this.matcher.empty) return false
    return this.matcher.matchesPath(rel)
  }

  /** Is `rel` in the filtered view (not excluded, or a directory that holds something kept)? */
  present(rel: string): boolean {
    if (rel === '') return true
    const cached = this.presentCache.get(rel)
    if (cached !== undefined) return cached
    // Matching looks at the parents too: a path below an excluded directory is excluded
    // unless an exception brings it back.
    let result = !this.excluded(rel)
    if (!result && this.matcher.exclusions) {
      try {
        if (lstatSync(this.host(rel)).isDirectory()) result = this.readdirRaw(rel).some((n) => this.present(rel === '' ? n : `${rel}/${n}`))
      } catch {
        result = false
      }
    }
    this.presentCache.set(rel, result)
    return result
  }

  private readdirRaw(rel: string): string[] {
    return readdirSync(this.host(rel)).sort()
  }

  /** lstat in the filtered view. */
  entry(rel: string, path = ''): TreeEntry | undefined {
    if (!this.present(rel)) return undefined
    let st
    try {
      st = lstatSync(this.host(rel), {bigint: true})
    } catch {
      return undefined
    }
    const kind: TreeEntry['kind'] = st.isDirectory() ? 'd' : st.isFile() ? 'f' : st.isSymbolicLink() ? 'l' : st.isFIFO() ? 'p' : st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : 's'
    return {
      path,
      kind,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: Number(st.size),
      mtime: [Number(st.mtimeNs / 1_000_000_000n), Number(st.mtimeNs % 1_000_000_000n)],
      ...(kind === 'l' ? {link: readlinkSync(this.host(rel))} : {}),
    }
  }

  /** Children in the filtered view, sorted. */
  children(rel: string): string[] {
    let names: string[]
    try {
      names = this.readdirRaw(rel)
    } catch {
      return []
    }
    return names.filter((n) => this.present(rel === '' ? n : `${rel}/${n}`))
  }

  /** Resolve symlinks inside the context (Docker's fs.RootPath); the result is relative. */
  resolveLinks(rel: string, followLast = true): string {
    const pending = cleanPath(`/${rel}`).split('/').filter(Boolean).reverse()
    const out: string[] = []
    let links = 0
    while (pending.length > 0) {
      const c = pending.pop()!
      if (c === '..') {
        out.pop()
        continue
      }
      if (c === '.') continue
      const candidate = [...out, c].join('/')
      let isLink = false
      try {
        isLink = lstatSync(this.host(candidate)).isSymbolicLink()
      } catch {
        isLink = false
      }
      if (isLink && (pending.length > 0 || followLast) && this.present(candidate)) {
        if (++links > MAX_LINKS) throw new NcxError(`too many levels of symbolic links: ${rel}`)
        const target = readlinkSync(this.host(candidate))
        if (target.startsWith('/')) out.length = 0
        pending.push(...target.split('/').filter(Boolean).reverse())
      } else out.push(c)
    }
    return out.join('/')
  }

  /** The tree at `rel` (already resolved): the top, then everything below, parents first. */
  tree(rel: string): TreeEntry[] {
    const top = this.entry(rel)
    if (!top) return []
    const out: TreeEntry[] = [top]
    const walk = (dir: string, prefix: string) => {
      for (const n of this.children(dir)) {
        const childRel = dir === '' ? n : `${dir}/${n}`
        const p = prefix === '' ? n : `${prefix}/${n}`
        const e = this.entry(childRel, p)
        if (!e) continue
        out.push(e)
        if (e.kind === 'd') walk(childRel, p)
      }
    }
    if (top.kind === 'd') walk(rel, '')
    return out
  }

  async resolveSources(args: string[]): Promise<ResolvedSource[]> {
    return args.map((arg) => this.resolveOne(arg))
  }

  private resolveOne(arg: string): ResolvedSource {
    const clean = cleanPath(`/${arg}`).slice(1)
    if (!hasWildcards(clean)) {
      const resolved = this.resolveLinks(clean)
      const entries = this.tree(resolved)
      if (entries.length === 0) {
        const shown = `/${clean}`
        let excluded = false
        try {
          lstatSync(this.host(resolved))
          excluded = true
        } catch {
          excluded = false
        }
        return {arg, trees: [], missing: {path: shown, excluded}}
      }
      return {arg, trees: [{name: clean, path: `/${resolved}`, entries}]}
    }
    const [base, pattern] = splitWildcards(clean)
    const baseRel = this.resolveLinks(base)
    const matches: string[] = []
    const depth = pattern.split('/').length
    const walk = (dir: string, prefix: string, level: number) => {
      for (const n of this.children(dir)) {
        const rel = prefix === '' ? n : `${prefix}/${n}`
        const childDir = dir === '' ? n : `${dir}/${n}`
        let matched = false
        try {
          matched = filepathMatch(pattern, rel)
        } catch {
          throw new UsageError(`invalid pattern ${JSON.stringify(arg)}: syntax error in pattern`)
        }
        if (matched) {
          matches.push(childDir)
          continue
        }
        if (level < depth && this.entry(childDir)?.kind === 'd') walk(childDir, rel, level + 1)
      }
    }
    if (this.entry(baseRel)?.kind === 'd') walk(baseRel, '', 1)
    const trees: SourceTree[] = []
    for (const m of matches) {
      const resolved = this.resolveLinks(m)
      const entries = this.tree(resolved)
      if (entries.length > 0) trees.push({name: m, path: `/${resolved}`, entries})
    }
    return {arg, trees}
  }
}

/** Split a path at its first component with a wildcard: the literal base and the pattern. */
export function splitWildcards(p: string): [string, string] {
  const parts = p.split('/').filter((x) => x !== '')
  const i = parts.findIndex((x) => hasWildcards(x))
  if (i < 0) return [parts.join('/'), '']
  return [parts.slice(0, i).join('/'), parts.slice(i).join('/')]
}

// ---------------------------------------------------------------------------------------
// content hashes

interface StatEntry {
  size: number
  mtime: string
  ino: number
  ctime: string
  digest: string
}

/** File digests by path, reused while size, mtime, inode and ctime are unchanged. */
export class HashCache {
  private entries: Record<string, StatEntry> = {}
  private dirty = false

  constructor(private readonly file?: string) {
    if (file) {
      try {
        this.entries = JSON.parse(readFileSync(file, 'utf8')) as Record<string, StatEntry>
      } catch {
        this.entries = {}
      }
    }
  }

  digest(path: string): string {
    const st = statSync(path, {bigint: true})
    const key = path
    const e = this.entries[key]
    const mtime = String(st.mtimeNs)
    const ctime = String(st.ctimeNs)
    // A file changed in the same clock tick as its stat was taken could be missed: only
    // entries older than a second are trusted (as git's racy-clean rule does).
    if (e && e.size === Number(st.size) && e.mtime === mtime && e.ino === Number(st.ino) && e.ctime === ctime) return e.digest
    const hash = createHash('sha256')
    const fd = openSync(path, 'r')
    try {
      const buf = Buffer.allocUnsafe(1 << 20)
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null)
        if (n <= 0) break
        hash.update(buf.subarray(0, n))
      }
    } finally {
      closeSync(fd)
    }
    const digest = hash.digest('hex')
    if (Date.now() - Number(st.mtimeNs / 1_000_000n) > 1000) {
      this.entries[key] = {size: Number(st.size), mtime, ino: Number(st.ino), ctime, digest}
      this.dirty = true
    }
    return digest
  }

  save(): void {
    if (!this.file || !this.dirty) return
    try {
      writeFileAtomic(this.file, JSON.stringify(this.entries), 0o600, false)
    } catch {
      // a cache: losing it costs time only
    }
  }
}

// ---------------------------------------------------------------------------------------
// loading the context and the Dockerfile

export interface ContextOptions {
  /** A directory, `-` (a tar archive or a Dockerfile on stdin), or undefined (no context). */
  context?: string
  /** `-f`: a path (relative to the current directory), or `-` (stdin). */
  dockerfile?: string
  /** The Dockerfile's text given directly (compose `dockerfile_inline`). */
  dockerfileInline?: string
  stdin?: Readable
  cwd?: string
  /** Where an archive on stdin is unpacked. */
  tmpDir: string
}

export interface LoadedContext {
  /** The context directory, or undefined when there is none. */
  dir?: string
  fs?: ContextFS
  dockerfile: string
  /** The Dockerfile's name as shown in messages (`Dockerfile`, `Dockerfile.prod`). */
  dockerfileName: string
  /** The ignore file used, if any (`.dockerignore` or `<name>.dockerignore`). */
  ignoreFile?: string
  /** A temporary directory to remove afterwards (an archive from stdin). */
  temporary?: string
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string))
  return Buffer.concat(chunks)
}

/** A ustar/GNU header: its checksum adds up. */
export function looksLikeTar(head: Buffer): boolean {
  if (head.length < 512) return false
  let sum = 0
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : head[i]
  const stored = Number.parseInt(head.subarray(148, 156).toString('ascii').replace(/\0.*$/s, '').trim(), 8)
  return Number.isFinite(stored) && stored === sum
}

/**
 * Where an archive entry goes inside `dir`: no component on the way may be a symbolic link
 * (an archive that plants `a -> /somewhere` and then `a/file` would write outside the
 * context: refused, as a tar of a real directory never holds entries under a symlink), and
 * what is already at the leaf is removed first, so a later entry never writes through an
 * earlier symlink or into an earlier hard link's file.
 */
function entryTarget(dir: string, name: string, replace: boolean): string {
  const parts = name.split('/')
  let cur = dir
  for (const [i, part] of parts.entries()) {
    cur = join(cur, part)
    let st
    try {
      st = lstatSync(cur)
    } catch {
      break
    }
    const leaf = i === parts.length - 1
    if (!leaf && st.isSymbolicLink()) throw new NcxError(`invalid build context archive: ${JSON.stringify(name)} lies under the symbolic link ${JSON.stringify(parts.slice(0, i + 1).join('/'))}`, {exitCode: 1})
    if (leaf && replace && !st.isDirectory()) rmSync(cur, {force: true})
  }
  return join(dir, name)
}

/** Unpack a tar (plain or gzip) into `dir`, as the current user (owners are not kept). */
async function unpackTar(data: Buffer, dir: string): Promise<void> {
  makeDirWithMode(dir, 0o755)
  const gz = data[0] === 0x1f && data[1] === 0x8b
  const tar = extract()
  const done = (async () => {
    for await (const entry of tar) {
      const name = cleanPath(`/${entry.header.name}`).slice(1)
      const h = entry.header
      if (name === '') {
        entry.resume()
        continue
      }
      const isDir = h.type === 'directory'
      const target = entryTarget(dir, name, true)
      // Directories the archive does not list are 0755, as Docker makes them (not ncx's umask 077).
      makeDirWithMode(dirname(target), 0o755, 0o755)
      if (isDir) {
        makeDirWithMode(target, 0o755, 0o755)
        chmodSync(target, (h.mode ?? 0o755) & 0o7777)
        entry.resume()
      } else if (h.type === 'file' || h.type === 'contiguous-file') {
        await pipeline(entry, createWriteStream(target, {mode: (h.mode ?? 0o644) & 0o7777, flags: 'wx'}))
        chmodSync(target, (h.mode ?? 0o644) & 0o7777)
        if (h.mtime) utimesSync(target, h.mtime, h.mtime)
      } else if (h.type === 'symlink') {
        symlinkSync(h.linkname ?? '', target)
        entry.resume()
      } else if (h.type === 'link') {
        // The link's source: an earlier regular file of the archive, reached without symlinks.
        const linkName = cleanPath(`/${h.linkname ?? ''}`).slice(1)
        const source = entryTarget(dir, linkName, false)
        let st
        try {
          st = lstatSync(source)
        } catch {
          throw new NcxError(`invalid build context archive: hard link ${JSON.stringify(name)} to ${JSON.stringify(linkName)}, which the archive does not hold`, {exitCode: 1})
        }
        if (!st.isFile()) throw new NcxError(`invalid build context archive: hard link ${JSON.stringify(name)} to ${JSON.stringify(linkName)}, which is not a regular file`, {exitCode: 1})
        linkSync(source, target)
        entry.resume()
      } else entry.resume()
    }
  })()
  const source = Readable.from([data])
  if (gz) source.pipe(createGunzip()).pipe(tar)
  else source.pipe(tar)
  await done
}

/** Find the context and read the Dockerfile, with Docker's messages when they are missing. */
export async function loadContext(o: ContextOptions): Promise<LoadedContext> {
  const cwd = o.cwd ?? process.cwd()
  let dir: string | undefined
  let temporary: string | undefined
  let stdinDockerfile: string | undefined
  if (o.context === '-') {
    if (o.dockerfile === '-') throw new UsageError('invalid argument: can\'t use stdin for both build context and dockerfile')
    const data = await readAll(o.stdin ?? process.stdin)
    let plain = data
    if (data[0] === 0x1f && data[1] === 0x8b) {
      try {
        plain = gunzipSync(data)
      } catch {
        plain = data
      }
    }
    if (looksLikeTar(plain.subarray(0, 512))) {
      temporary = join(o.tmpDir, `${process.pid}-context-${randomBytes(6).toString('hex')}`)
      await unpackTar(plain, temporary)
      dir = temporary
    } else stdinDockerfile = data.toString('utf8')
  } else if (o.context !== undefined) {
    dir = resolve(cwd, o.context)
    let st
    try {
      st = statSync(dir)
    } catch {
      throw new NcxError(`unable to prepare context: path ${JSON.stringify(o.context)} not found`, {exitCode: 1})
    }
    if (!st.isDirectory()) throw new NcxError(`unable to prepare context: context must be a directory: ${dir}`, {exitCode: 1})
  }
  let dockerfile: string
  let dockerfileName = 'Dockerfile'
  let dockerfilePath: string | undefined
  if (o.dockerfileInline !== undefined) dockerfile = o.dockerfileInline
  else if (stdinDockerfile !== undefined) dockerfile = stdinDockerfile
  else if (o.dockerfile === '-') dockerfile = (await readAll(o.stdin ?? process.stdin)).toString('utf8')
  else {
    if (o.dockerfile !== undefined) {
      dockerfilePath = isAbsolute(o.dockerfile) ? o.dockerfile : o.context === '-' && dir ? join(dir, o.dockerfile) : resolve(cwd, o.dockerfile)
      // Docker also accepts -f relative to the context.
      if (!existsSync(dockerfilePath) && dir && !isAbsolute(o.dockerfile) && existsSync(join(dir, o.dockerfile))) dockerfilePath = join(dir, o.dockerfile)
    } else {
      if (!dir) throw new UsageError('no build context given', 'give a context directory (ncx build .) or a Dockerfile on stdin (ncx build - < Dockerfile)')
      dockerfilePath = join(dir, 'Dockerfile')
      if (!existsSync(dockerfilePath) && existsSync(join(dir, 'dockerfile'))) dockerfilePath = join(dir, 'dockerfile')
    }
    dockerfileName = dockerfilePath.slice(dirname(dockerfilePath).length + 1)
    try {
      dockerfile = readFileSync(dockerfilePath, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EISDIR' ? 'is a directory' : (error as Error).message
      throw new NcxError(`failed to solve: failed to read dockerfile: open ${dockerfileName}: ${why}`, {exitCode: 1})
    }
  }
  let ignoreFile: string | undefined
  let patterns: string[] = []
  if (dir) {
    const candidates = [...(dockerfilePath ? [`${dockerfilePath}.dockerignore`] : []), join(dir, '.dockerignore')]
    for (const c of candidates) {
      if (existsSync(c)) {
        ignoreFile = c
        patterns = readIgnoreFile(readFileSync(c, 'utf8'))
        break
      }
    }
  }
  let matcher: PatternMatcher
  try {
    matcher = new PatternMatcher(patterns)
  } catch (error) {
    throw new UsageError(`failed to parse ${ignoreFile ?? '.dockerignore'}: ${(error as Error).message}`)
  }
  return {
    ...(dir ? {dir, fs: new ContextFS(dir, matcher)} : {}),
    dockerfile,
    dockerfileName,
    ...(ignoreFile ? {ignoreFile} : {}),
    ...(temporary ? {temporary} : {}),
  }
}

/** A context hash cache file's name for a context directory. */
export function hashCacheName(dir: string): string {
  return createHash('sha256').update(dir).digest('hex').slice(0, 32)
}
