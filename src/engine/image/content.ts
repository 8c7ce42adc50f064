import {createHash, randomBytes} from 'node:crypto'
import {createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {Readable, Writable} from 'node:stream'
import {finished, pipeline} from 'node:stream/promises'

import {loadNative} from '../../native/index.js'
import {NcxError} from '../errors.js'
import {writeFileAtomic} from '../store/files.js'
import {StorePaths, layout} from '../store/paths.js'
import {noSpaceError} from '../store/space.js'

const DIGEST = /^sha256:[a-f0-9]{64}$/

export function validateDigest(digest: string, where: string): string {
  if (!DIGEST.test(digest)) throw new NcxError(`${where}: unsupported or malformed digest ${JSON.stringify(digest)} (expected sha256:<64 hex>)`)
  return digest
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`
}

/** The consumer of a tee (an unpack) stopped; its own error says why. */
export class TeeClosedError extends NcxError {}

const teeClosed = () => new TeeClosedError('the receiving side closed early')

/**
 * Write with back-pressure; fails instead of hanging when the destination died, with
 * `closed()`: what the destination's death means (its own error, for a file).
 */
async function writeOrFail(stream: Writable, chunk: Buffer, closed: () => Error): Promise<void> {
  if (stream.destroyed) throw closed()
  if (stream.write(chunk)) return
  await new Promise<void>((resolve, reject) => {
    const done = () => {
      stream.off('drain', done)
      stream.off('close', gone)
      resolve()
    }
    const gone = () => {
      stream.off('drain', done)
      reject(closed())
    }
    stream.once('drain', done)
    stream.once('close', gone)
  })
}

/** A write into the store that failed: a full disk named as such, anything else with the file. */
function storeWriteError(error: unknown, path: string, what: string): NcxError {
  if (error instanceof NcxError) return error
  return noSpaceError(error, path, `writing ${what} to`) ?? new NcxError(`${what}: cannot write ${path}: ${(error as Error)?.message ?? String(error)}`, {cause: error})
}

/** A partial download kept for resuming (`tmp/partial-<hex>`). */
export interface PartialDownload {
  digest: string
  size: number
  path: string
}

/** The content-addressed blob store: `blobs/sha256/<hex>`, verified before commit. */
export class ContentStore {
  constructor(private readonly paths: StorePaths) {}

  path(digest: string): string {
    return layout.blob(this.paths, digest)
  }

  has(digest: string): boolean {
    return existsSync(this.path(digest))
  }

  read(digest: string): Buffer {
    return readFileSync(this.path(digest))
  }

  readJson<T>(digest: string, what: string): T {
    try {
      return JSON.parse(this.read(digest).toString('utf8')) as T
    } catch (error) {
      throw new NcxError(`${what} ${digest} is not valid JSON: ${(error as Error).message}`)
    }
  }

  /** Store bytes whose digest is known (or computed). */
  put(data: Uint8Array, expected?: string): string {
    const digest = sha256(data)
    if (expected && expected !== digest) throw new NcxError(`digest mismatch: expected ${expected}, content has ${digest}`)
    if (!this.has(digest)) writeFileAtomic(this.path(digest), data)
    return digest
  }

  /**
   * Stream `source` into the store, hashing as it goes; the blob appears under its
   * digest only after the digest and size checked out.
   */
  async ingest(source: Readable, expected?: {digest: string; size?: number}, what = 'blob'): Promise<{digest: string; size: number}> {
    const tmpDir = layout.tmp(this.paths)
    mkdirSync(tmpDir, {recursive: true, mode: 0o700})
    mkdirSync(layout.blobs(this.paths), {recursive: true, mode: 0o700})
    const tmp = join(tmpDir, `ingest-${randomBytes(8).toString('hex')}`)
    const hash = createHash('sha256')
    let size = 0
    try {
      const file = createWriteStream(tmp, {flags: 'wx', mode: 0o600})
      try {
        await pipeline(
          source,
          async function* (chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
              hash.update(chunk)
              size += chunk.length
              yield chunk
            }
          },
          file,
        )
      } catch (error) {
        // The file's own failure (a full disk) is ours to name; the source's is the caller's.
        if (file.errored) throw storeWriteError(file.errored, tmp, what)
        throw error
      }
      const digest = `sha256:${hash.digest('hex')}`
      if (expected && expected.digest !== digest) {
        throw new NcxError(`${what}: digest mismatch: expected ${expected.digest}, content has ${digest}`, {
          hint: 'the archive or registry content is corrupt or was tampered with',
        })
      }
      if (expected?.size !== undefined && expected.size !== size) {
        throw new NcxError(`${what}: size mismatch: expected ${expected.size} bytes, got ${size}`)
      }
      renameSync(tmp, this.path(digest))
      return {digest, size}
    } finally {
      rmSync(tmp, {force: true})
    }
  }

  /**
   * Download `digest` resumably: bytes already fetched by an earlier, interrupted attempt
   * (`tmp/partial-<hex>`) are kept, `fetch(offset)` is asked for the rest, and every byte
   * — old and new, in order — also goes to `tee` (a layer unpacking while it streams). The
   * blob is committed only when its digest and size check out. Callers hold the blob's lock.
   */
  async ingestResumable(
    expected: {digest: string; size: number},
    fetch: (offset: number) => Promise<{stream: Readable; offset: number}>,
    tee: Writable | undefined,
    onBytes: (n: number) => void,
    what: string,
  ): Promise<void> {
    const partial = this.partialPath(expected.digest)
    let stream: Readable
    let offset: number
    try {
      try {
        mkdirSync(layout.tmp(this.paths), {recursive: true, mode: 0o700})
        mkdirSync(layout.blobs(this.paths), {recursive: true, mode: 0o700})
      } catch (error) {
        throw storeWriteError(error, partial, what)
      }
      const have = existsSync(partial) ? statSync(partial).size : 0
      ;({stream, offset} = await fetch(have > expected.size ? 0 : have))
    } catch (error) {
      // Nothing flows to the unpack: stop it, or it waits for its input forever.
      tee?.destroy(error as Error)
      throw error
    }
    const hash = createHash('sha256')
    let size = 0
    const out = createWriteStream(partial, {flags: offset > 0 ? 'r+' : 'w', start: offset, mode: 0o600})
    const outDone = finished(out)
    outDone.catch(() => undefined) // reported through the writes, or awaited below
    const outFailed = () => storeWriteError(out.errored ?? new Error('closed early'), partial, what)
    try {
      if (offset > 0) {
        for await (const chunk of createReadStream(partial, {start: 0, end: offset - 1})) {
          hash.update(chunk as Buffer)
          size += (chunk as Buffer).length
          onBytes((chunk as Buffer).length)
          if (tee) await writeOrFail(tee, chunk as Buffer, teeClosed)
        }
      }
      for await (const chunk of stream) {
        const buf = chunk as Buffer
        hash.update(buf)
        size += buf.length
        onBytes(buf.length)
        await writeOrFail(out, buf, outFailed)
        if (tee) await writeOrFail(tee, buf, teeClosed)
      }
      out.end()
      await outDone.catch(() => {
        throw outFailed()
      })
    } catch (error) {
      stream.destroy()
      out.end()
      await outDone.catch(() => undefined)
      tee?.destroy(error as Error)
      throw error instanceof NcxError ? error : new NcxError(`${what}: download interrupted: ${(error as Error).message}`, {hint: 'pull again: it resumes where it stopped', cause: error})
    }
    tee?.end()
    const digest = `sha256:${hash.digest('hex')}`
    if (digest !== expected.digest || size !== expected.size) {
      rmSync(partial, {force: true})
      throw new NcxError(`${what}: digest mismatch: expected ${expected.digest} (${expected.size} bytes), content has ${digest} (${size} bytes)`, {
        hint: 'the registry content is corrupt or was tampered with',
      })
    }
    renameSync(partial, this.path(digest))
  }

  /** Where an interrupted download of `digest` is kept for resuming. */
  partialPath(digest: string): string {
    return join(layout.tmp(this.paths), `partial-${digest.replace(/^sha256:/, '')}`)
  }

  /** The lock a download of `digest` holds (one download per blob at a time, across processes). */
  downloadLock(digest: string): string {
    return layout.lock(this.paths, `blob-${digest.replace(/^sha256:/, '').slice(0, 16)}`)
  }

  /** Partial downloads kept for resuming (what `system df` shows and prune removes). */
  partials(): PartialDownload[] {
    const dir = layout.tmp(this.paths)
    if (!existsSync(dir)) return []
    const out: PartialDownload[] = []
    for (const name of readdirSync(dir)) {
      const m = /^partial-([a-f0-9]{64})$/.exec(name)
      if (!m) continue
      try {
        out.push({digest: `sha256:${m[1]}`, size: statSync(join(dir, name)).size, path: join(dir, name)})
      } catch {
        // finished or removed meanwhile
      }
    }
    return out
  }

  /**
   * Remove the partial downloads no pull is writing now (their download lock is free);
   * returns the bytes freed. Used when the disk is full, where keeping them only makes
   * the next, smaller pull fail too.
   */
  dropPartials(): number {
    const native = loadNative()
    let freed = 0
    for (const p of this.partials()) {
      const fd = native.tryLockFile(this.downloadLock(p.digest), true)
      if (fd === null) continue
      try {
        rmSync(p.path, {force: true})
        freed += p.size
      } finally {
        native.unlockFile(fd)
      }
    }
    return freed
  }

  /**
   * Drop leftovers of killed commands in tmp/: ingests (never resumable) at once, partial
   * downloads once older than `partialAgeMs`; returns the bytes freed. Runs under the
   * exclusive GC lock, so no load or pull of this store is writing them.
   */
  pruneTemporary(partialAgeMs: number): number {
    const dir = layout.tmp(this.paths)
    if (!existsSync(dir)) return 0
    const now = Date.now()
    let freed = 0
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      let st
      try {
        st = statSync(path)
      } catch {
        continue
      }
      if (name.startsWith('ingest-') || (name.startsWith('partial-') && now - st.mtimeMs >= partialAgeMs)) {
        rmSync(path, {force: true})
        freed += st.size
      }
    }
    return freed
  }

  /** Every stored digest. */
  list(): string[] {
    const dir = layout.blobs(this.paths)
    if (!existsSync(dir)) return []
    return readdirSync(dir).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`)
  }

  /** Bytes a stored blob takes (0 when it is gone). */
  size(digest: string): number {
    try {
      return statSync(this.path(digest)).size
    } catch {
      return 0
    }
  }

  remove(digest: string): void {
    rmSync(this.path(digest), {force: true})
  }

  stream(digest: string): Readable {
    return createReadStream(this.path(digest))
  }
}
