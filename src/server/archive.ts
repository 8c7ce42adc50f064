/**
 * `GET/HEAD/PUT /containers/{id}/archive` (what `docker cp` uses), over the engine's copy
 * (container/cp.ts, the runtime's tar streams). The path's stat header comes from the first
 * entry of the tar the runtime writes (the path itself, under its base name).
 */
import {ServerResponse} from 'node:http'
import {Readable} from 'node:stream'

import {copyFiles} from '../engine/container/cp.js'
import {NotFoundError, errorMessage} from '../engine/errors.js'
import {ApiError, Router, baseHeaders, queryBool} from './http.js'
import {ServiceContext} from './context.js'

/** Go's os.FileMode bits for the type (what Docker's clients test). */
const MODE_DIR = 2 ** 31
const MODE_SYMLINK = 2 ** 27

interface PathStat {
  name: string
  size: number
  mode: number
  mtime: string
  linkTarget: string
}

function tarString(b: Buffer, start: number, length: number): string {
  const raw = b.subarray(start, start + length)
  const end = raw.indexOf(0)
  return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8')
}

function tarNumber(b: Buffer, start: number, length: number): number {
  if (b[start] & 0x80) return Number(b.readBigUInt64BE(start + length - 8))
  return parseInt(tarString(b, start, length).trim() || '0', 8)
}

/** The stat of a tar's first entry (ustar header, PAX/GNU long names read from their records). */
function firstEntryStat(data: Buffer): PathStat | undefined {
  let off = 0
  let longName: string | undefined
  let longLink: string | undefined
  while (off + 512 <= data.length) {
    const h = data.subarray(off, off + 512)
    if (h.every((x) => x === 0)) return undefined
    const type = String.fromCharCode(h[156] || 48)
    const size = tarNumber(h, 124, 12)
    const body = data.subarray(off + 512, off + 512 + size)
    if (type === 'x' || type === 'L' || type === 'K') {
      if (body.length < size) return undefined
      if (type === 'L') longName = tarString(body, 0, size)
      else if (type === 'K') longLink = tarString(body, 0, size)
      else {
        for (const rec of body.toString('utf8').split('\n')) {
          const m = /^\d+ (path|linkpath)=(.*)$/.exec(rec)
          if (m?.[1] === 'path') longName = m[2]
          if (m?.[1] === 'linkpath') longLink = m[2]
        }
      }
      off += 512 + Math.ceil(size / 512) * 512
      continue
    }
    const prefix = tarString(h, 345, 155)
    const name = longName ?? (prefix ? `${prefix}/${tarString(h, 0, 100)}` : tarString(h, 0, 100))
    const perm = tarNumber(h, 100, 8) & 0o7777
    const mode = perm + (type === '5' ? MODE_DIR : type === '2' ? MODE_SYMLINK : 0)
    return {name: name.replace(/\/+$/, '').split('/').pop() ?? name, size, mode, mtime: new Date(tarNumber(h, 136, 12) * 1000).toISOString(), linkTarget: longLink ?? tarString(h, 157, 100)}
  }
  return undefined
}

export function archiveRoutes(router: Router, ctx: ServiceContext): void {
  const {engine} = ctx

  const get = async (req: {params: string[]; query: URLSearchParams; method: string}, res: ServerResponse) => {
    const record = engine.containers.find(req.params[0])
    if (!record) throw new NotFoundError(`No such container: ${req.params[0]}`)
    const path = req.query.get('path')
    if (!path) throw new ApiError(400, 'path is required')
    const head = req.method === 'HEAD'
    await new Promise<void>((resolve, reject) => {
      copyFiles(engine, {record, path}, {path: '-'}, {
        followLink: false,
        tarPipe: (child, done) => {
          const out = child.stdout as Readable
          let buffered = Buffer.alloc(0)
          let stat: PathStat | undefined
          const gone = () => {
            if (child.exitCode === null) child.kill('SIGTERM')
          }
          res.on('close', gone)
          out.on('data', (d: Buffer) => {
            if (stat) {
              if (!res.write(d)) {
                out.pause()
                res.once('drain', () => out.resume())
              }
              return
            }
            buffered = Buffer.concat([buffered, d])
            stat = firstEntryStat(buffered)
            if (!stat) return
            res.writeHead(200, {...baseHeaders(), 'Content-Type': 'application/x-tar', 'X-Docker-Container-Path-Stat': Buffer.from(JSON.stringify(stat)).toString('base64')})
            if (head) {
              res.end()
              gone()
              return
            }
            res.write(buffered)
          })
          done.then(
            () => {
              if (!res.headersSent) {
                res.writeHead(200, {...baseHeaders(), 'Content-Type': 'application/x-tar'})
                res.end(buffered)
              } else res.end()
              resolve()
            },
            (error) => {
              if (res.headersSent) {
                res.end()
                resolve()
              } else {
                reject(/no such file|not found|does not exist|Could not find/i.test(errorMessage(error)) ? new ApiError(404, `Could not find the file ${path} in container ${record.name}`) : error)
              }
            },
          )
        },
      })
    })
    return 'handled' as const
  }
  router.on('GET', '/containers/{id}/archive', (req, res) => get(req, res))

  router.on('PUT', '/containers/{id}/archive', async (req) => {
    const record = engine.containers.find(req.params[0])
    if (!record) throw new NotFoundError(`No such container: ${req.params[0]}`)
    const path = req.query.get('path')
    if (!path) throw new ApiError(400, 'path is required')
    if (queryBool(req.query, 'copyUIDGID')) ctx.log.debug('copyUIDGID: the owners in the tar are kept as they are')
    await new Promise<void>((resolve, reject) => {
      try {
        copyFiles(engine, {path: '-'}, {record, path}, {
          followLink: false,
          tarPipe: (child, done) => {
            child.stdin!.on('error', () => undefined)
            req.raw.pipe(child.stdin!)
            done.then(resolve, (error) => reject(/no such file|not found|does not exist|not a directory/i.test(errorMessage(error)) ? new ApiError(404, errorMessage(error)) : error))
          },
        })
      } catch (error) {
        reject(error)
      }
    })
    return {status: 200}
  })
}
