import {chmodSync, closeSync, existsSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync} from 'node:fs'
import {dirname} from 'node:path'

import {loadNative} from '../../native/index.js'
import {randomBytes} from '../random.js'
import {rethrowNoSpace} from './space.js'

/**
 * Write a file so that readers see either the old or the new content, never a mix. Its mode
 * is exactly `mode` whatever the umask (ncx's files are private: 0600); missing parent
 * directories are made 0700. A failed write leaves no temporary file behind; a full disk is
 * named as such (store/space.ts).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600, durable = true): void {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`
  try {
    mkdirSync(dirname(path), {recursive: true, mode: 0o700})
    const fd = openSync(tmp, 'wx', mode)
    try {
      fchmodSync(fd, mode)
      const bytes = typeof data === 'string' ? Buffer.from(data) : data
      // writeSync may write less than asked (a nearly full disk): loop until all is written.
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done)
      if (durable) fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
  } catch (error) {
    try {
      unlinkSync(tmp)
    } catch {
      // never created, or renamed already
    }
    rethrowNoSpace(error, path, 'writing')
  }
}

export function readJson<T>(path: string, fallback: T): T {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback
    throw error
  }
  return JSON.parse(text) as T
}

/** fsync a file written earlier without it (`durable: false`); a missing file is not an error. */
export function syncFile(path: string): void {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Remove a file if it is there (rmSync's `force` loads a recursive remover first, on every `run`). */
export function removeFile(path: string): void {
  try {
    unlinkSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

/** `durable: false` skips the fsync (for a file rewritten moments later, or rebuilt after a crash). */
export function writeJson(path: string, value: unknown, durable = true): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', 0o600, durable)
}

/**
 * Create (or replace the content of) a file with exactly `mode`, whatever the umask: for the
 * files a container sees through a bind mount (its /etc/hosts, compose secrets), which a
 * non-root container user must be able to read (0644) while the store above them stays 0700.
 */
export function writeFileWithMode(path: string, data: string | Uint8Array, mode: number): void {
  const fd = openSync(path, 'w', mode)
  try {
    fchmodSync(fd, mode)
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
  } finally {
    closeSync(fd)
  }
}

/**
 * `mkdir -p` whatever the umask: the last directory, if made here, gets exactly `mode`, the
 * missing ones above it `parentMode` (0700 inside the store). Existing ones are left alone.
 */
export function makeDirWithMode(path: string, mode: number, parentMode = 0o700): void {
  const parent = dirname(path)
  if (parent !== path && !existsSync(parent)) makeDirWithMode(parent, parentMode, parentMode)
  try {
    mkdirSync(path, {mode})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return
  }
  chmodSync(path, mode)
}

/**
 * Hold an flock on `path` while `fn` runs. Locks are per open file description, so they
 * serialise separate ncx processes (compose starts services in parallel).
 */
export function withLock<T>(path: string, fn: () => T, exclusive = true): T {
  mkdirSync(dirname(path), {recursive: true, mode: 0o700})
  const native = loadNative()
  const fd = native.lockFile(path, exclusive)
  try {
    return fn()
  } finally {
    native.unlockFile(fd)
  }
}

/** `withLock` without waiting: undefined (and `fn` not run) when someone else holds the lock. */
export function tryWithLock<T>(path: string, fn: () => T, exclusive = true): {value: T} | undefined {
  mkdirSync(dirname(path), {recursive: true})
  const native = loadNative()
  const fd = native.tryLockFile(path, exclusive)
  if (fd === null) return undefined
  try {
    return {value: fn()}
  } finally {
    native.unlockFile(fd)
  }
}

/**
 * The async form: waits for the lock without blocking the event loop (polls a
 * non-blocking flock), so parallel downloads in this process keep flowing.
 */
export async function withLockAsync<T>(path: string, fn: () => Promise<T>, exclusive = true): Promise<T> {
  mkdirSync(dirname(path), {recursive: true, mode: 0o700})
  const native = loadNative()
  let fd = native.tryLockFile(path, exclusive)
  for (let wait = 5; fd === null; wait = Math.min(wait * 2, 100)) {
    await new Promise((r) => setTimeout(r, wait))
    fd = native.tryLockFile(path, exclusive)
  }
  try {
    return await fn()
  } finally {
    native.unlockFile(fd)
  }
}
