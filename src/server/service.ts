/**
 * `ncx system service`: the Docker Engine API on a unix socket (0600, in the user's 0700
 * runtime directory) or, when asked, on loopback TCP. One engine for the life of the
 * service; it exits after `timeoutSeconds` without a request or an open stream.
 */
import {chmodSync, lstatSync, mkdirSync, rmSync, statSync} from 'node:fs'
import {Server} from 'node:http'
import {AddressInfo, Socket, connect} from 'node:net'
import {dirname, join} from 'node:path'

import {Engine} from '../engine/engine.js'
import {UsageError} from '../engine/errors.js'
import {containerRoutes} from './containers.js'
import {ServiceContext} from './context.js'
import {Router, ServerLog, ServiceState, apiServer, holdActive} from './http.js'
import {imageRoutes} from './images.js'
import {archiveRoutes} from './archive.js'
import {buildRoutes} from './build.js'
import {objectRoutes} from './objects.js'
import {operationRoutes} from './operations.js'
import {systemRoutes} from './system.js'
import {boundPath} from './systemd.js'

/** Where to listen: a unix socket, loopback TCP, or a socket systemd passed (socket activation). */
export type Listen = {kind: 'unix'; path: string} | {kind: 'tcp'; host: string; port: number} | {kind: 'fd'; fd: number}

/** `unix:///path`, `unix:/path`, `tcp://127.0.0.1:2375`; no URI: `<run root>/docker.sock`. */
export function parseListenUri(uri: string | undefined, runRoot: string): Listen {
  if (!uri) return {kind: 'unix', path: join(runRoot, 'docker.sock')}
  if (uri.startsWith('unix://')) return {kind: 'unix', path: uri.slice('unix://'.length)}
  if (uri.startsWith('unix:')) return {kind: 'unix', path: uri.slice('unix:'.length)}
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(uri)
  if (tcp) {
    const host = tcp[1].replace(/^\[|\]$/g, '')
    const port = Number(tcp[2])
    if (port > 65535) throw new UsageError(`invalid port in ${uri}`, 'give a port from 0 (any free port) to 65535')
    if (!['127.0.0.1', 'localhost', '::1'].includes(host) && !host.startsWith('127.')) {
      throw new UsageError(`refusing to serve the API on ${host}: anyone who reaches it controls your containers`, 'use a loopback address (tcp://127.0.0.1:PORT) or the unix socket')
    }
    return {kind: 'tcp', host, port}
  }
  throw new UsageError(`invalid URI ${JSON.stringify(uri)}`, 'use unix:///PATH or tcp://127.0.0.1:PORT')
}

export interface ServiceOptions {
  listen: Listen
  /** Seconds without requests before the service exits; 0: never. */
  timeoutSeconds: number
  version: string
  log: ServerLog
  engine: Engine
}

export interface RunningService {
  server: Server
  /** `unix:///…` or `tcp://…`, for DOCKER_HOST. */
  address: string
  /** Resolves when the service stopped (idle exit or `close`). */
  closed: Promise<void>
  /**
   * Stop accepting, let requests under way finish for `graceMs`, then end every connection
   * still open (waits, followed logs and events, attach and exec sessions): a client must
   * not keep the service from exiting. Containers are not touched (their monitors keep them).
   */
  close: (graceMs?: number) => Promise<void>
}

/** How long `close` lets requests under way finish before it ends their connections. */
export const CLOSE_GRACE_MS = 1000

/** Whether something accepts connections on the unix socket `path` (a running service). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path)
    probe.once('connect', () => {
      probe.destroy()
      resolve(true)
    })
    probe.once('error', () => resolve(false))
  })
}

/**
 * A unix socket path: its directory private (0700, ours), a stale socket replaced, the socket
 * 0600. A socket another service still listens on is refused: replacing it would leave that
 * service running unreachable.
 */
async function prepareSocketPath(path: string): Promise<void> {
  const dir = dirname(path)
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const st = statSync(dir)
  if (st.uid !== process.getuid!()) throw new UsageError(`${dir} is owned by uid ${st.uid}, not by you`, 'choose a socket path in a directory you own')
  let isSocket: boolean
  try {
    isSocket = lstatSync(path).isSocket()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  if (!isSocket) throw new UsageError(`${path} exists and is not a socket`, 'remove it or choose another path')
  if (await answers(path)) throw new UsageError(`another service is listening on ${path}`, 'stop it first, or give another socket: ncx system service unix:///PATH')
  rmSync(path, {force: true})
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  let idleTimer: NodeJS.Timeout | undefined
  let resolveClosed!: () => void
  const closed = new Promise<void>((r) => (resolveClosed = r))
  const state: ServiceState = {
    active: 0,
    onIdleChange: () => {
      if (idleTimer) clearTimeout(idleTimer)
      idleTimer = undefined
      if (state.active === 0 && options.timeoutSeconds > 0) {
        idleTimer = setTimeout(() => {
          options.log.info(`no requests for ${options.timeoutSeconds}s: exiting`)
          void close()
        }, options.timeoutSeconds * 1000)
      }
    },
  }
  const hold = () => holdActive(state)
  const ctx: ServiceContext = {engine: options.engine, version: options.version, log: options.log, hold}
  const router = new Router()
  systemRoutes(router, ctx)
  containerRoutes(router, ctx)
  imageRoutes(router, ctx)
  archiveRoutes(router, ctx)
  objectRoutes(router, ctx)
  operationRoutes(router, ctx)
  buildRoutes(router, ctx)
  const server = apiServer(router, options.log, state)
  // Every connection, hijacked ones too (Node's closeAllConnections knows HTTP ones only).
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  let closing: Promise<void> | undefined
  const close = (graceMs = CLOSE_GRACE_MS) =>
    (closing ??= (async () => {
      if (idleTimer) clearTimeout(idleTimer)
      await new Promise<void>((r) => {
        server.close(() => r())
        server.closeIdleConnections()
        if (sockets.size === 0) return
        options.log.info(`closing: ${sockets.size} connection(s) open; ending them in ${graceMs} ms`)
        setTimeout(() => {
          for (const socket of sockets) socket.destroy()
        }, graceMs).unref()
      })
      if (options.listen.kind === 'unix') rmSync(options.listen.path, {force: true})
      resolveClosed()
    })())
  let address: string
  if (options.listen.kind === 'unix') {
    const path = options.listen.path
    await prepareSocketPath(path)
    // umask 077 while binding: the socket is never reachable by others, not even briefly.
    const old = process.umask(0o177)
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(path, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } finally {
      process.umask(old)
    }
    chmodSync(path, 0o600)
    address = `unix://${path}`
  } else if (options.listen.kind === 'fd') {
    // Socket activation: systemd made the socket (0600, SocketMode=) and keeps it; we only serve it.
    const fd = options.listen.fd
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({fd}, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const a = server.address()
    const path = boundPath(fd)
    address = path ? `unix://${path}` : a && typeof a === 'object' ? `tcp://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : `fd://${fd}`
  } else {
    const {host, port} = options.listen
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const a = server.address() as AddressInfo
    address = `tcp://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
  }
  state.onIdleChange()
  return {server, address, closed, close}
}
