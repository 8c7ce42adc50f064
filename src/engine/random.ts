/**
 * Random bytes for ids, generated names and temporary file names, read from the kernel's
 * /dev/urandom (the same source as node:crypto's randomBytes, which is getrandom(2)). Loading
 * node:crypto costs several milliseconds (it pulls in the stream and cipher machinery) on
 * `run -d`'s hot path, where ids and names are all it would be used for. Where /dev/urandom
 * cannot be read, node:crypto it is.
 */
import {closeSync, openSync, readSync} from 'node:fs'
import {createRequire} from 'node:module'

export function randomBytes(size: number): Buffer {
  const buf = Buffer.alloc(size)
  let fd: number | undefined
  try {
    fd = openSync('/dev/urandom', 'r')
    let got = 0
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, null)
      if (n <= 0) throw new Error('short read from /dev/urandom')
      got += n
    }
    return buf
  } catch {
    const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')
    return crypto.randomBytes(size)
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
