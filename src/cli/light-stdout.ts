/**
 * process.stdout and process.stderr for the lite path (lite.ts) when their fd is a file,
 * /dev/null or a pipe: Node's
 * own stream for these is built from the stream machinery (SyncWriteStream, or net.Socket for a
 * pipe), whose modules cost more to load than a `volume ls` does. Node writes to both
 * synchronously on Linux, and so does this one (writeSync on the fd), so output and its order
 * are the same; `isTTY` is absent as on Node's.
 *
 * Only `write`, `end` and the events are its own. Anything else a command asks of stdout
 * (piping an archive into it, `_writableState`, `columns`…) creates Node's stream and is
 * answered by it from then on, with the listeners moved over; so is a write that meets a full
 * non-blocking pipe (EAGAIN), and every write after it. A write to a pipe whose reader has
 * gone (EPIPE) emits 'error' on the next tick, as Node's socket does; later writes are dropped.
 * A terminal keeps Node's stream (colours, sizes).
 */
import {EventEmitter} from 'node:events'
import {fstatSync, statSync, writeSync} from 'node:fs'

type WriteCallback = (error?: Error | null) => void

/** Is `fd` a file, /dev/null or a pipe (what Node writes to synchronously)? */
function plainOutput(fd: number): boolean {
  try {
    const st = fstatSync(fd)
    if (st.isFile() || st.isFIFO() || st.isSocket()) return true
    return st.isCharacterDevice() && st.rdev === statSync('/dev/null').rdev
  } catch {
    return false
  }
}

/**
 * Make process.stdout (fd 1) or process.stderr (fd 2) the light writer when its fd suits it;
 * `onError` is attached to whichever stream it is (oclif's EPIPE handler on stdout). False:
 * the stream is left as it is.
 */
export function installLightStdout(onError?: (error: NodeJS.ErrnoException) => void, fd: 1 | 2 = 1): boolean {
  const name = fd === 1 ? 'stdout' : 'stderr'
  const descriptor = Object.getOwnPropertyDescriptor(process, name)
  if (!descriptor?.get || !descriptor.configurable || !plainOutput(fd)) return false
  const nodeStdout = descriptor.get
  const events = new EventEmitter()
  let real: NodeJS.WriteStream | undefined
  let broken = false

  const toReal = (): NodeJS.WriteStream => {
    if (!real) {
      real = nodeStdout.call(process) as NodeJS.WriteStream
      for (const name of events.eventNames()) for (const listener of events.rawListeners(name)) real.on(name, listener as (...args: unknown[]) => void)
      events.removeAllListeners()
    }
    return real
  }

  const write = (chunk: string | Uint8Array, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean => {
    const cb = typeof encoding === 'function' ? encoding : callback
    if (real) return real.write(chunk, typeof encoding === 'function' ? undefined : (encoding as BufferEncoding), cb)
    if (broken) return false
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : chunk
    let done = 0
    try {
      while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done)
    } catch (error) {
      const e = error as NodeJS.ErrnoException
      if (e.code === 'EAGAIN') return toReal().write(buf.subarray(done), cb)
      broken = true
      process.nextTick(() => {
        events.emit('error', e)
        cb?.(e)
      })
      return false
    }
    if (cb) process.nextTick(cb, null)
    return true
  }

  const end = (...args: unknown[]): unknown => {
    if (real) return real.end(...(args as []))
    const cb = typeof args.at(-1) === 'function' ? (args.pop() as () => void) : undefined
    if (args[0] !== undefined && typeof args[0] !== 'function') write(args[0] as string, args[1] as BufferEncoding)
    process.nextTick(() => {
      events.emit('finish')
      cb?.()
    })
    return stdout
  }

  const own: Record<PropertyKey, unknown> = {write, end, fd, writable: true}
  const stdout = new Proxy(events, {
    get(target, key) {
      if (real) {
        const value = Reflect.get(real, key, real)
        return typeof value === 'function' ? value.bind(real) : value
      }
      if (key in own) return own[key]
      if (key === 'isTTY') return undefined
      if (key in EventEmitter.prototype) {
        const value = Reflect.get(target, key, target)
        return typeof value === 'function' ? value.bind(target) : value
      }
      const value = Reflect.get(toReal(), key, real)
      return typeof value === 'function' ? value.bind(real) : value
    },
    set(_, key, value) {
      return Reflect.set(toReal(), key, value)
    },
    has(_, key) {
      return real ? key in real : key in own || key in EventEmitter.prototype || key in toReal()
    },
  }) as unknown as NodeJS.WriteStream

  if (onError) stdout.on('error', onError)
  Object.defineProperty(process, name, {configurable: true, enumerable: descriptor.enumerable, get: () => stdout})
  return true
}
