/**
 * `/containers/…` and `/exec/…`: Docker's container endpoints over the engine's container
 * modules (the ones `ncx run`, `ps`, `logs`, `exec` call).
 */
import {ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {Readable, Writable, Duplex} from 'node:stream'

import {Engine} from '../engine/engine.js'
import {NcxError, NotFoundError} from '../engine/errors.js'
import {attachPipes, resizeContainer} from '../engine/container/attach.js'
import {execPipes, ExecOptions, Resize} from '../engine/container/exec.js'
import {inspectContainer} from '../engine/container/inspect.js'
import {networkSettings} from '../engine/network/container.js'
import {inspectMounts} from '../engine/volume/attach.js'
import {killContainer, removeContainer, restartContainer, startContainerAsync, stateOf, stopContainer, waitContainer} from '../engine/container/lifecycle.js'
import {readLogs} from '../engine/container/logs.js'
import {createContainer} from '../engine/container/run.js'
import {ContainerRecord} from '../engine/container/store.js'
import {ContainerState} from '../engine/container/state.js'
import {isPaused} from '../engine/cgroup/control.js'
import {statusText} from '../cli/containers.js'
import {consoleSize, createOptions} from './create.js'
import {ApiError, Request, Router, frame, hijackResponse, queryBool, queryFilters} from './http.js'
import {ServiceContext} from './context.js'

type Json = Record<string, unknown>

export function find(engine: Engine, name: string): ContainerRecord {
  const record = engine.containers.find(name)
  if (!record) throw new NotFoundError(`No such container: ${name}`)
  return record
}

/** Docker's State.Status, with `paused` for a frozen container. */
function dockerStatus(engine: Engine, record: ContainerRecord, s: ContainerState): string {
  return s.status === 'running' && isPaused(engine, record) ? 'paused' : s.status
}

/**
 * One element of `GET /containers/json`, from the record, its state and its network file only
 * (not the whole inspect document: `docker ps` lists every container, and inspect reads the
 * image's layers, the storage driver and more that a summary does not show).
 */
function summary(engine: Engine, record: ContainerRecord, s: ContainerState, now: number): Json {
  const settings = networkSettings(engine, record.id, record.options.network, s.status === 'running') as {Ports?: Record<string, Array<{HostIp: string; HostPort: string}> | null>; Networks?: Record<string, unknown>}
  const ports: Json[] = []
  // A container that is not running has no ports (Docker's ps shows none for it either).
  if (s.status === 'running') for (const [key, bindings] of Object.entries(settings.Ports ?? {})) {
    const [port, type] = key.split('/')
    const bound = (bindings ?? []).filter((b) => b.HostPort !== '')
    if (bound.length === 0) ports.push({PrivatePort: Number(port), Type: type})
    else for (const b of bound) ports.push({IP: b.HostIp || '0.0.0.0', PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type})
  }
  const status = dockerStatus(engine, record, s)
  return {
    Id: record.id,
    Names: [`/${record.name}`],
    Image: record.image,
    ImageID: record.imageId,
    Command: record.args.join(' '),
    Created: Math.floor(Date.parse(record.created) / 1000),
    Ports: ports,
    Labels: record.config?.labels ?? {},
    State: status,
    Status: status === 'paused' ? `${statusText(s, now)} (Paused)` : statusText(s, now),
    HostConfig: {NetworkMode: record.options.network},
    NetworkSettings: {Networks: settings.Networks ?? {}},
    Mounts: inspectMounts(record.mounts),
  }
}

function matches(engine: Engine, record: ContainerRecord, s: ContainerState, filters: Map<string, string[]>): boolean {
  for (const [key, values] of filters) {
    if (key === 'label') {
      const labels = record.config?.labels ?? record.options.labels ?? {}
      const ok = values.every((v) => (v.includes('=') ? labels[v.slice(0, v.indexOf('='))] === v.slice(v.indexOf('=') + 1) : v in labels))
      if (!ok) return false
      continue
    }
    const ok = values.some((v) => {
      switch (key) {
        case 'status':
          return dockerStatus(engine, record, s) === v
        case 'name':
          return new RegExp(v.replace(/^\//, '')).test(record.name)
        case 'id':
          return record.id.startsWith(v)
        case 'ancestor':
          return record.image === v || record.image === `${v}:latest` || record.imageId.replace(/^sha256:/, '').startsWith(v.replace(/^sha256:/, ''))
        case 'exited':
          return s.status === 'exited' && String(s.exitCode) === v
        case 'health':
          return (s.health?.Status ?? 'none') === v
        case 'network':
          return record.options.network === v || (record.options.networks ?? []).includes(v)
        case 'volume':
          return (record.mounts ?? []).some((m) => (m as {name?: string; destination?: string}).name === v || (m as {destination?: string}).destination === v)
        default:
          throw new ApiError(400, `invalid filter '${key}'`)
      }
    })
    if (!ok) return false
  }
  return true
}

/** Exec instances, created by `POST /containers/{id}/exec` and run by `POST /exec/{id}/start`. */
interface ExecInstance {
  id: string
  container: string
  options: ExecOptions
  running: boolean
  exitCode: number | null
  pid: number
  child?: ChildProcess
  /** Set while it runs with a terminal. */
  resize?: Resize
}

/** `?h=&w=` of a resize: [rows, cols]; Docker answers 400 for a value that is not a number. */
function resizeQuery(req: Request): [number, number] {
  const parse = (key: string) => {
    const text = req.query.get(key) ?? ''
    const n = Number(text)
    if (text.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new ApiError(400, `invalid resize parameter ${key}=${JSON.stringify(text)}: expected a number 0-65535`)
    return n
  }
  return [parse('h'), parse('w')]
}

/** Relay a child's stdout/stderr to a client: raw with a terminal, Docker's frames otherwise. */
function relayOutput(child: ChildProcess, out: Writable, tty: boolean, wanted = {stdout: true, stderr: true}): Promise<void> {
  const streams = [child.stdout, child.stderr].filter((s): s is Readable => s !== null)
  return Promise.all(
    streams.map(
      (stream) =>
        new Promise<void>((resolve) => {
          const kind = stream === child.stderr ? 2 : 1
          const keep = kind === 2 ? wanted.stderr : wanted.stdout
          stream.on('data', (data: Buffer) => {
            if (keep && !out.writableEnded && !out.destroyed) out.write(tty ? data : frame(kind, data))
          })
          stream.on('end', resolve)
          stream.on('error', () => resolve())
        }),
    ),
  ).then(() => undefined)
}

/** A hijacked client's input to the child's stdin; the client going away ends the child. */
function relayInput(socket: Duplex, head: Buffer, child: ChildProcess, onGone: () => void): void {
  const stdin = child.stdin
  if (stdin) {
    stdin.on('error', () => undefined)
    if (head.length > 0) stdin.write(head)
    socket.on('data', (d: Buffer) => stdin.write(d))
    socket.on('end', () => stdin.end())
    socket.resume()
  }
  socket.on('close', onGone)
  socket.on('error', onGone)
}

export function containerRoutes(router: Router, ctx: ServiceContext): void {
  const {engine} = ctx
  const execs = new Map<string, ExecInstance>()
  /** The resizers of each container's attach sessions with a terminal (`…/resize` sets them all). */
  const ttySessions = new Map<string, Set<Resize>>()
  /** Attach clients waiting for their container's start (`docker run` attaches first). */
  const waitingAttach = new Map<string, Array<() => void>>()
  /**
   * `AutoRemove` containers: the service removes them after their exit (instead of the
   * monitor, which would take the exit code with the bundle), so `wait` still reports it.
   */
  const autoRemove = new Set<string>()
  const exitCodes = new Map<string, number>()
  const removeAfterExit = (record: ContainerRecord) => {
    const release = ctx.hold()
    void waitContainer(engine, record)
      .then(async (code) => {
        exitCodes.set(record.id, code)
        setTimeout(() => exitCodes.delete(record.id), 60_000).unref()
        autoRemove.delete(record.id)
        await removeContainer(engine, record, {force: true, volumes: true})
      })
      .catch((error) => ctx.log.error(`removing ${record.id}: ${error instanceof Error ? error.message : String(error)}`))
      .finally(release)
  }

  router.on('GET', '/containers/json', async (req) => {
    const all = queryBool(req.query, 'all')
    const limit = Number(req.query.get('limit') ?? '-1')
    const filters = queryFilters(req.query)
    const now = Date.now()
    // Each container's state is read once, for the filters and its row.
    let list = engine.containers
      .list()
      .sort((a, b) => b.created.localeCompare(a.created))
      .map((record) => ({record, state: stateOf(engine, record)}))
    if (!all && !filters.has('status') && !(limit > 0)) list = list.filter(({state}) => state.status === 'running' || state.status === 'restarting')
    list = list.filter(({record, state}) => matches(engine, record, state, filters))
    if (limit > 0) list = list.slice(0, limit)
    return {body: list.map(({record, state}) => summary(engine, record, state, now))}
  })

  router.on('POST', '/containers/create', async (req) => {
    const name = req.query.get('name') ?? undefined
    if (name !== undefined && name !== '' && !/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) throw new ApiError(400, `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`)
    const {options, warnings} = createOptions(await req.json(), name ? name.replace(/^\//, '') : undefined, req.query.get('platform') || undefined)
    if (!engine.images.find(options.image)) throw new ApiError(404, `No such image: ${options.image}`)
    const rm = options.rm
    const {container} = createContainer(engine, {...options, rm: false})
    if (rm) autoRemove.add(container.id)
    return {status: 201, body: {Id: container.id, Warnings: warnings}}
  })

  router.on('GET', '/containers/{id}/json', async (req) => {
    const record = find(engine, req.params[0])
    const inspect = inspectContainer(engine, record, {size: queryBool(req.query, 'size')})
    return {body: {...inspect, Name: `/${record.name}`}}
  })

  router.on('POST', '/containers/{id}/start', async (req) => {
    const record = find(engine, req.params[0])
    const s = stateOf(engine, record)
    if (s.status === 'running') return {status: 304}
    const waiters = waitingAttach.get(record.id)
    waitingAttach.delete(record.id)
    await startContainerAsync(engine, record, {attachWait: waiters !== undefined})
    for (const w of waiters ?? []) w()
    if (autoRemove.has(record.id)) removeAfterExit(record)
    return {status: 204}
  })

  router.on('POST', '/containers/{id}/stop', async (req) => {
    const record = find(engine, req.params[0])
    if (stateOf(engine, record).status !== 'running' && stateOf(engine, record).status !== 'restarting') return {status: 304}
    const t = req.query.get('t') ?? req.query.get('timeout')
    await stopContainer(engine, record, {...(t !== null ? {timeout: Number(t)} : {}), ...(req.query.get('signal') ? {signal: req.query.get('signal')!} : {})})
    return {status: 204}
  })

  router.on('POST', '/containers/{id}/restart', async (req) => {
    const record = find(engine, req.params[0])
    const t = req.query.get('t') ?? req.query.get('timeout')
    await restartContainer(engine, record, {...(t !== null ? {timeout: Number(t)} : {}), ...(req.query.get('signal') ? {signal: req.query.get('signal')!} : {})})
    return {status: 204}
  })

  router.on('POST', '/containers/{id}/kill', async (req) => {
    const record = find(engine, req.params[0])
    try {
      await killContainer(engine, record, req.query.get('signal') || 'KILL')
    } catch (error) {
      if (error instanceof NcxError && /is not running/.test(error.message)) throw new ApiError(409, error.message)
      throw error
    }
    return {status: 204}
  })

  router.on('POST', '/containers/{id}/wait', async (req, res) => {
    const record = find(engine, req.params[0])
    const condition = req.query.get('condition') || 'not-running'
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new ApiError(400, `invalid condition: "${condition}"`)
    // The headers go out at once (Docker's clients wait for them before `start`).
    res.writeHead(200, {'Content-Type': 'application/json', 'Api-Version': '1.47'})
    res.flushHeaders()
    const gone = new AbortController()
    res.on('close', () => gone.abort())
    if (condition === 'next-exit') {
      // Wait for the container to run first (`docker run` waits before it starts it).
      while (!gone.signal.aborted && engine.containers.find(record.id) && stateOf(engine, record).status === 'created') await sleep(50)
    }
    let code = 0
    if (!gone.signal.aborted) code = await waitContainer(engine, record)
    if (condition === 'removed') {
      const end = Date.now() + 30_000
      while (!gone.signal.aborted && engine.containers.find(record.id) && Date.now() < end) await sleep(50)
    }
    if (exitCodes.has(record.id)) code = exitCodes.get(record.id)!
    const s = engine.containers.find(record.id) ? stateOf(engine, record) : undefined
    res.end(JSON.stringify({StatusCode: code, ...(s?.error ? {Error: {Message: s.error}} : {})}) + '\n')
    return 'handled'
  })

  router.on('DELETE', '/containers/{id}', async (req) => {
    const record = find(engine, req.params[0])
    const force = queryBool(req.query, 'force')
    const s = stateOf(engine, record).status
    if (!force && (s === 'running' || s === 'restarting')) {
      throw new ApiError(409, `cannot remove container "/${record.name}": container is running: stop the container before removing or force remove`)
    }
    await removeContainer(engine, record, {force, volumes: queryBool(req.query, 'v')})
    return {status: 204}
  })

  router.on('GET', '/containers/{id}/logs', async (req, res) => {
    const record = find(engine, req.params[0])
    const q = req.query
    const stdout = queryBool(q, 'stdout')
    const stderr = queryBool(q, 'stderr')
    if (!stdout && !stderr) throw new ApiError(400, 'Bad parameters: you must choose at least one stream')
    const tailText = q.get('tail')
    const tail = tailText === null || tailText === 'all' ? undefined : Number(tailText)
    const since = timeParam(q.get('since'))
    const until = timeParam(q.get('until'))
    const gone = new AbortController()
    const batches = readLogs(engine, record, {follow: queryBool(q, 'follow'), ...(tail !== undefined && Number.isFinite(tail) && tail >= 0 ? {tail} : {}), ...(since ? {since} : {}), ...(until ? {until} : {}), signal: gone.signal})
    const tty = record.options.tty
    res.writeHead(200, {'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream', 'Api-Version': '1.47'})
    res.flushHeaders()
    res.on('close', () => gone.abort())
    const timestamps = queryBool(q, 'timestamps')
    for await (const batch of batches) {
      if (gone.signal.aborted) break
      for (const e of batch) {
        if ((e.stream === 'stdout' && !stdout) || (e.stream === 'stderr' && !stderr)) continue
        const data = Buffer.from(timestamps ? `${e.time} ${e.log}` : e.log)
        res.write(tty ? data : frame(e.stream === 'stderr' ? 2 : 1, data))
      }
    }
    res.end()
    return 'handled'
  })

  const attach = async (req: Request, socket: Duplex, head: Buffer) => {
    const record = find(engine, req.params[0])
    const q = req.query
    const wantStdin = queryBool(q, 'stdin') && record.options.interactive
    const wantStdout = queryBool(q, 'stdout')
    const wantStderr = queryBool(q, 'stderr')
    const tty = record.options.tty
    hijackResponse(req, socket, tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream')
    if (!queryBool(q, 'stream')) {
      // `logs=1` without `stream`: what is logged so far, then the end.
      if (queryBool(q, 'logs')) {
        for await (const batch of readLogs(engine, record, {})) {
          for (const e of batch) if ((e.stream === 'stdout' && wantStdout) || (e.stream === 'stderr' && wantStderr)) socket.write(tty ? e.log : frame(e.stream === 'stderr' ? 2 : 1, Buffer.from(e.log)))
        }
      }
      socket.end()
      return
    }
    let gone = false
    socket.on('close', () => (gone = true))
    if (stateOf(engine, record).status === 'created') {
      // `docker run` attaches before it starts the container: the start holds the output for us.
      await new Promise<void>((resolve) => {
        const list = waitingAttach.get(record.id) ?? []
        list.push(resolve)
        waitingAttach.set(record.id, list)
        socket.on('close', () => {
          const rest = (waitingAttach.get(record.id) ?? []).filter((r) => r !== resolve)
          if (rest.length > 0) waitingAttach.set(record.id, rest)
          else waitingAttach.delete(record.id)
          resolve()
        })
      })
      if (gone) return
    }
    const {child, outcome, resize} = attachPipes(engine, record, {stdin: wantStdin})
    if (resize) {
      const set = ttySessions.get(record.id) ?? new Set()
      set.add(resize)
      ttySessions.set(record.id, set)
      void outcome.finally(() => {
        set.delete(resize)
        if (set.size === 0 && ttySessions.get(record.id) === set) ttySessions.delete(record.id)
      }).catch(() => undefined)
    }
    const relayed = relayOutput(child, socket, tty, {stdout: wantStdout, stderr: wantStderr})
    relayInput(socket, head, child, () => {
      if (child.exitCode === null) child.kill('SIGTERM')
    })
    await Promise.allSettled([outcome, relayed])
    if (!socket.destroyed) socket.end()
  }
  router.upgrade('POST', '/containers/{id}/attach', attach)

  router.on('POST', '/containers/{id}/resize', async (req) => {
    const record = find(engine, req.params[0])
    const [rows, cols] = resizeQuery(req)
    const status = stateOf(engine, record).status
    if (status !== 'running' && status !== 'restarting') throw new ApiError(409, `Container ${record.id} is not running`)
    // Docker: a container without a terminal has nothing to resize (and 0 is no size).
    if (!record.options.tty || rows === 0 || cols === 0) return {status: 200}
    const sessions = ttySessions.get(record.id)
    // Answered once the size is set (the runtime acknowledges it), as dockerd answers.
    if (sessions && sessions.size > 0) await Promise.all([...sessions].map((resize) => resize(rows, cols)))
    else {
      try {
        await resizeContainer(engine, record, rows, cols)
      } catch (error) {
        throw new ApiError(409, error instanceof Error ? error.message : String(error))
      }
    }
    return {status: 200}
  })

  router.on('POST', '/containers/{id}/exec', async (req) => {
    const record = find(engine, req.params[0])
    const s = stateOf(engine, record)
    if (s.status !== 'running') throw new ApiError(409, `container ${record.id} is not running`)
    const body = ((await req.json()) ?? {}) as Json
    const cmd = Array.isArray(body.Cmd) ? body.Cmd.map(String) : []
    if (cmd.length === 0) throw new ApiError(400, 'No exec command specified')
    const id = randomBytes(32).toString('hex')
    execs.set(id, {
      id,
      container: record.id,
      running: false,
      exitCode: null,
      pid: 0,
      options: {
        command: cmd,
        interactive: body.AttachStdin === true,
        tty: body.Tty === true,
        detach: false,
        env: Array.isArray(body.Env) ? body.Env.map(String).filter((e) => e.includes('=')) : [],
        ...(typeof body.WorkingDir === 'string' && body.WorkingDir ? {workdir: body.WorkingDir} : {}),
        ...(typeof body.User === 'string' && body.User ? {user: body.User} : {}),
        privileged: body.Privileged === true,
        ...(body.Tty === true && consoleSize(body.ConsoleSize) ? {consoleSize: consoleSize(body.ConsoleSize)} : {}),
      },
    })
    return {status: 201, body: {Id: id}}
  })

  const execStart = async (req: Request, socket: Duplex | undefined, head: Buffer, body: Json, res?: import('node:http').ServerResponse) => {
    const exec = execs.get(req.params[0])
    if (!exec) throw new ApiError(404, `No such exec instance: ${req.params[0]}`)
    if (exec.running || exec.exitCode !== null) throw new ApiError(409, `exec ${exec.id} has already been started`)
    const record = find(engine, exec.container)
    const detach = body.Detach === true
    const tty = body.Tty === true || exec.options.tty
    // The start's ConsoleSize (API 1.42+) over the create's.
    const size = consoleSize(body.ConsoleSize) ?? exec.options.consoleSize
    const options: ExecOptions = {...exec.options, tty, detach, ...(tty && size ? {consoleSize: size} : {})}
    const {child, exitCode, resize} = execPipes(engine, record, options)
    exec.running = true
    exec.child = child
    exec.resize = resize
    exec.pid = child.pid ?? 0
    const finished = exitCode.then(
      (code) => {
        exec.exitCode = code
        exec.running = false
        delete exec.resize
      },
      () => {
        exec.exitCode = 126
        exec.running = false
        delete exec.resize
      },
    )
    if (detach) {
      await finished.catch(() => undefined)
      return
    }
    const out: Writable = socket ?? res!
    if (socket) hijackResponse(req, socket, tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream')
    else res!.writeHead(200, {'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream'})
    const relayed = relayOutput(child, out, tty)
    if (socket) {
      relayInput(socket, head, child, () => {
        if (child.exitCode === null) child.kill('SIGTERM')
      })
    }
    await Promise.allSettled([finished, relayed])
    out.end()
  }
  router.upgrade('POST', '/exec/{id}/start', async (req, socket, head) => {
    const body = await readUpgradeBody(req, socket, head)
    await execStart(req, socket, body.rest, body.json)
  })
  router.on('POST', '/exec/{id}/start', async (req, res) => {
    const body = ((await req.json()) ?? {}) as Json
    if (body.Detach === true) {
      await execStart(req, undefined, Buffer.alloc(0), body)
      return {status: 200}
    }
    await execStart(req, undefined, Buffer.alloc(0), body, res)
    return 'handled'
  })
  router.on('POST', '/exec/{id}/resize', async (req) => {
    const exec = execs.get(req.params[0])
    if (!exec) throw new ApiError(404, `No such exec instance: ${req.params[0]}`)
    const [rows, cols] = resizeQuery(req)
    // dockerd 20.10: an exec that has ended is 404 "no such exec"; one not started yet it waits
    // 10 s for, then 500: here 409 at once. A running exec is 200 (the API reference says 201).
    if (exec.exitCode !== null) throw new ApiError(404, `no such exec: ${exec.id} has exited`)
    if (!exec.running) throw new ApiError(409, `exec ${exec.id} is not running: start it first`)
    if (exec.resize && rows > 0 && cols > 0) await exec.resize(rows, cols)
    return {status: 200}
  })
  router.on('GET', '/exec/{id}/json', async (req) => {
    const exec = execs.get(req.params[0])
    if (!exec) throw new ApiError(404, `No such exec instance: ${req.params[0]}`)
    return {
      body: {
        ID: exec.id,
        Running: exec.running,
        ExitCode: exec.exitCode,
        ProcessConfig: {tty: exec.options.tty, entrypoint: exec.options.command[0], arguments: exec.options.command.slice(1), privileged: exec.options.privileged, user: exec.options.user ?? ''},
        OpenStdin: exec.options.interactive,
        OpenStderr: true,
        OpenStdout: true,
        CanRemove: false,
        ContainerID: exec.container,
        DetachKeys: '',
        Pid: exec.pid,
      },
    }
  })
}

/** The JSON body of an upgraded request: Node hands the socket over before the body is read. */
async function readUpgradeBody(req: Request, socket: Duplex, head: Buffer): Promise<{json: Json; rest: Buffer}> {
  const length = Number(req.raw.headers['content-length'] ?? '0')
  let data = head
  while (data.length < length) {
    const chunk = await new Promise<Buffer | undefined>((resolve) => {
      const onData = (d: Buffer) => {
        socket.off('end', onEnd)
        resolve(d)
      }
      const onEnd = () => {
        socket.off('data', onData)
        resolve(undefined)
      }
      socket.once('data', onData)
      socket.once('end', onEnd)
    })
    if (!chunk) break
    data = Buffer.concat([data, chunk])
  }
  socket.pause()
  const text = data.subarray(0, length).toString('utf8')
  let json: Json = {}
  try {
    json = text.trim() ? (JSON.parse(text) as Json) : {}
  } catch {
    throw new ApiError(400, 'invalid JSON body')
  }
  return {json, rest: data.subarray(length)}
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** `since`/`until`: Unix seconds (with a fraction) → milliseconds; 0 or absent: none. */
function timeParam(text: string | null): number | undefined {
  if (!text || text === '0') return undefined
  const n = Number(text)
  if (!Number.isFinite(n)) throw new ApiError(400, `invalid time value: ${text}`)
  return n * 1000
}
