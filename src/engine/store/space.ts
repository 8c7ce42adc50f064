/**
 * Full disks: a write that found no space (ENOSPC, or EDQUOT for an exhausted quota) becomes
 * one message naming the cause, the file being written and the file system it lives on, with
 * how much is free there.
 */
import {existsSync, readFileSync, realpathSync, statfsSync} from 'node:fs'
import {dirname} from 'node:path'

import {NcxError} from '../errors.js'

const CODES: Record<string, string> = {ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded'}
/** errno values of ENOSPC and EDQUOT on Linux, as the runtime reports them. */
const ERRNOS: Record<number, string> = {28: 'ENOSPC', 122: 'EDQUOT'}

/** A write failed for want of space; `path` is where. */
export class NoSpaceError extends NcxError {
  constructor(
    readonly path: string,
    message: string,
    hint: string,
    cause?: unknown,
  ) {
    super(message, {hint, cause})
    this.name = 'NoSpaceError'
  }
}

/** `ENOSPC`/`EDQUOT` when `error` (or a cause of it) is a full disk or quota. */
export function noSpaceCode(error: unknown): string | undefined {
  let e = error
  for (let depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    if (e instanceof NoSpaceError) return 'ENOSPC'
    const {code, errno} = e as {code?: unknown; errno?: unknown}
    if (typeof code === 'string' && CODES[code]) return code
    if (typeof errno === 'number' && ERRNOS[errno]) return ERRNOS[errno]
    e = (e as {cause?: unknown}).cause
  }
  return undefined
}

export function isNoSpace(error: unknown): boolean {
  return noSpaceCode(error) !== undefined
}

/** The mount point of the file system holding `path` (the longest matching one in mountinfo). */
function mountPoint(path: string): string | undefined {
  let best: string | undefined
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const point = line.split(' ')[4]?.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
      if (!point) continue
      const inside = point === '/' || path === point || path.startsWith(`${point}/`)
      if (inside && (best === undefined || point.length > best.length)) best = point
    }
  } catch {
    // no /proc: the message goes without the mount point
  }
  return best
}

/** Decimal units, 3 significant digits (Docker's sizes). */
export function sizeText(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']
  let v = bytes
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${Number(v.toPrecision(3))}${units[i]}`
}

/** Where `path` lives and how full it is: "the file system at /data has 1.2MB free of 50MB". */
export function fileSystemText(path: string): string {
  let probe = path
  while (!existsSync(probe) && dirname(probe) !== probe) probe = dirname(probe)
  try {
    const real = realpathSync(probe)
    const st = statfsSync(real)
    const mount = mountPoint(real)
    return `the file system ${mount ? `at ${mount} ` : ''}has ${sizeText(st.bavail * st.bsize)} free of ${sizeText(st.blocks * st.bsize)}`
  } catch {
    return 'its file system could not be measured'
  }
}

/**
 * The error for `doing` (e.g. "writing layer sha256:… to") `path` when the disk was full,
 * or undefined when `error` is about something else.
 */
export function noSpaceError(error: unknown, path: string, doing: string): NoSpaceError | undefined {
  if (error instanceof NoSpaceError) return error
  const code = noSpaceCode(error)
  if (!code) return undefined
  return new NoSpaceError(
    path,
    `${CODES[code]}: ${doing} ${path} (${fileSystemText(path)})`,
    `free space there ("ncx system df" shows what ncx holds; "ncx image prune -a" and "ncx system prune -a" remove what no container uses), or move ncx's data root (--root, NCX_ROOT)`,
    error,
  )
}

/** Rethrow a failed write into `path` as a NoSpaceError when the disk was full; as it was otherwise. */
export function rethrowNoSpace(error: unknown, path: string, doing: string): never {
  throw noSpaceError(error, path, doing) ?? error
}
