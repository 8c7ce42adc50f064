/**
 * `exec`: a new process in a running container. The runtime joins the container's
 * namespaces (crates/ncx-runtime/src/exec.rs); this module builds the process settings
 * from the container's OCI config and the exec options.
 */
import {ChildProcess, StdioOptions, spawn} from 'node:child_process'
import {join} from 'node:path'
import type {Duplex, Writable} from 'node:stream'

import {runtimeBinary} from '../../native/index.js'
import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {mergeEnv} from '../spec/env.js'
import {ALL_CAPABILITIES, OciSpec} from '../spec/oci.js'
import {isPaused} from '../cgroup/control.js'
import {enforceLimits} from '../cgroup/manager.js'
import {resolveUser} from '../spec/user.js'
import {readJson} from '../store/files.js'
import {stateOf} from './lifecycle.js'
import {containerLowerDirs} from './rootfs.js'
import {childReports, superviseRuntime} from './run.js'
import {ContainerRecord} from './store.js'
import {joinsNamespaces} from '../runtimes.js'

export interface ExecOptions {
  command: string[]
  interactive: boolean
  tty: boolean
  detach: boolean
  env: string[]
  workdir?: string
  user?: string
  privileged: boolean
  /** `--detach-keys` as bytes (with -it): the process keeps running after them. */
  detachKeys?: number[]
  /** With `tty`: the terminal's initial size, [rows, cols] (the Engine API's ConsoleSize). */
  consoleSize?: [number, number]
}

/**
 * Sets a running terminal's size (rows, cols): the Engine API's `…/resize`. Resolves once the
 * runtime says the size is set (or after RESIZE_ACK_MS: a runtime older than the
 * acknowledgement says nothing), so the API answers after the resize took effect, as dockerd.
 */
export type Resize = (rows: number, cols: number) => Promise<void>

/** How long a resize waits for the runtime's acknowledgement. */
export const RESIZE_ACK_MS = 1000

/**
 * A `--resize-fd` pipe as a Resize: each size a line written; the runtime writes a line back
 * on the same socket pair (Node's stdio pipes are socket pairs) for each one it has set, and
 * those answer the writes in order.
 */
export function resizer(pipe: Duplex): Resize {
  const waiting: Array<() => void> = []
  const answer = () => waiting.shift()?.()
  let text = ''
  pipe.on('data', (d: Buffer) => {
    text += d.toString('latin1')
    let nl: number
    while ((nl = text.indexOf('\n')) >= 0) {
      text = text.slice(nl + 1)
      answer()
    }
  })
  // The runtime is gone: nothing will answer.
  pipe.on('close', () => {
    while (waiting.length > 0) answer()
  })
  return (rows, cols) =>
    new Promise<void>((resolve) => {
      if (!pipe.writable) return resolve()
      let done = false
      const finish = () => {
        if (done) return
        done = true
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        const i = waiting.indexOf(finish)
        if (i >= 0) waiting.splice(i, 1)
        finish()
      }, RESIZE_ACK_MS)
      timer.unref()
      waiting.push(finish)
      pipe.write(resizeLine(rows, cols))
    })
}

/** A `--resize-fd` pipe's line. */
export function resizeLine(rows: number, cols: number): string {
  return `${Math.trunc(rows)} ${Math.trunc(cols)}\n`
}

/** The OCI `process` for an exec, from the container's own process settings. */
export function execProcess(spec: OciSpec, options: ExecOptions, user?: {uid: number; gid: number; additionalGids: number[]; home: string}): OciSpec['process'] {
  const base = spec.process
  let env = mergeEnv(base.env, options.tty && !base.env.some((e) => e.startsWith('TERM=')) ? ['TERM=xterm'] : [], options.env)
  if (user && !options.env.some((e) => e.startsWith('HOME='))) env = mergeEnv(env, [`HOME=${user.home}`])
  const caps = options.privileged ? [...ALL_CAPABILITIES] : base.capabilities.bounding
  return {
    ...base,
    terminal: options.tty && !options.detach,
    ...(options.tty && !options.detach && options.consoleSize ? {consoleSize: {height: options.consoleSize[0], width: options.consoleSize[1]}} : {}),
    args: options.command,
    env,
    cwd: options.workdir ?? base.cwd,
    user: user ? {uid: user.uid, gid: user.gid, additionalGids: user.additionalGids} : base.user,
    capabilities: options.privileged ? {bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: []} : base.capabilities,
  }
}

/**
 * ncx's exec joins the container's namespaces: right for runtimes whose containers are host
 * processes in namespaces (ncx-runtime, runc, crun, youki), wrong for a sandbox (gVisor's
 * runsc, Kata's VM), where it would run the process outside the sandbox: refused there.
 */
function checkJoinable(runtime: string | undefined): void {
  if (runtime === undefined || joinsNamespaces(runtime)) return
  throw new NcxError(`exec is not supported for containers of runtime ${runtime}: ncx enters a container through its namespaces, which would bypass ${runtime}'s sandbox`, {hint: 'run the command with "ncx run" instead, or use runc, crun or youki for this container (docs/runtimes.md)'})
}

/** Run the exec; resolves to its exit code (0 at once with `detach`). */
export async function execInContainer(engine: Engine, record: ContainerRecord, options: ExecOptions): Promise<number> {
  const stdio: StdioOptions = [options.interactive && !options.detach ? 'inherit' : 'ignore', options.detach ? 'ignore' : 'inherit', options.detach ? 'ignore' : 'inherit', 'pipe', 'pipe']
  return startExec(engine, record, options, stdio).exitCode
}

/**
 * The exec over pipes (the Engine API's hijacked connections): the caller relays the
 * child's stdin (with `interactive`), stdout and stderr. With a terminal, `resize` sets its
 * size (the runtime holds the pty's master: `--resize-fd`, fd 5).
 */
export function execPipes(engine: Engine, record: ContainerRecord, options: ExecOptions): {child: ChildProcess; exitCode: Promise<number>; resize?: Resize} {
  const resizable = options.tty && !options.detach
  const stdio: StdioOptions = [options.interactive && !options.detach ? 'pipe' : 'ignore', options.detach ? 'ignore' : 'pipe', options.detach ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(resizable ? ['pipe' as const] : [])]
  const started = startExec(engine, record, options, stdio, resizable ? ['--resize-fd', '5'] : [])
  if (!resizable) return started
  const pipe = (started.child.stdio as unknown as Array<Duplex | null>)[5] as Duplex
  pipe.on('error', () => undefined) // the runtime is gone: nothing left to resize
  void started.exitCode.finally(() => pipe.end()).catch(() => undefined)
  return {...started, resize: resizer(pipe)}
}

function startExec(engine: Engine, record: ContainerRecord, options: ExecOptions, stdio: StdioOptions, extra: string[] = []): {child: ChildProcess; exitCode: Promise<number>} {
  const s = stateOf(engine, record)
  if (s.status !== 'running' || s.pid <= 0) throw new NcxError(`container ${record.id} is not running`, {exitCode: 1})
  checkJoinable(record.options.runtime)
  // (the exec would join the frozen cgroup and freeze with it)
  if (isPaused(engine, record)) throw new NcxError(`Container ${record.id} is paused, unpause the container before exec`, {exitCode: 1})
  const dir = engine.containers.dir(record.id)
  const spec = readJson<OciSpec | undefined>(join(dir, 'config.json'), undefined)
  if (!spec) throw new NcxError(`container ${record.id} has no config.json`)
  // Users are looked up in the container's files: its writable layer over the image's.
  // (a user that is not there: the process cannot be started, 126 as Docker's exec)
  let user: ReturnType<typeof resolveUser> | undefined
  try {
    user = options.user ? resolveUser(options.user, [join(dir, 'upper'), ...containerLowerDirs(engine, record)]) : undefined
  } catch (error) {
    if (error instanceof NcxError) throw new NcxError(error.message, {exitCode: 126, hint: error.hint})
    throw error
  }
  const process_ = execProcess(spec, options, user)
  // Entered through the container's own process (its user namespace first), never through
  // the per-user holder: see crates/ncx-core/src/nsenter.rs. The process (its env holds the
  // container's `-e` values) goes through a pipe (fd 4), not the command line, which every
  // user of the machine can read in /proc/PID/cmdline.
  const args = ['exec', '--pid', String(s.pid), '--process-fd', '4', '--status-fd', '3']
  args.push('--config', join(dir, 'config.json'))
  // Joining the container's cgroup is best effort (one warning) unless limits must be enforced.
  if (enforceLimits()) args.push('--cgroup-strict')
  if (options.detach) args.push('--detach')
  if (options.tty && !options.interactive) args.push('--no-stdin')
  if (options.tty && options.interactive && options.detachKeys?.length) args.push('--detach-keys', options.detachKeys.join(','))
  args.push(...extra)
  const child = spawn(runtimeBinary(), args, {stdio})
  const processPipe = child.stdio[4] as Writable
  processPipe.on('error', () => undefined) // a runtime that failed early: its error comes through the status pipe
  processPipe.end(JSON.stringify(process_))
  const exitCode = superviseRuntime(childReports(child)).then(({exitCode, failure, warnings, detached}) => {
    for (const w of warnings) engine.warn(w)
    if (failure) throw new NcxError(failure.message, {exitCode: failure.code})
    if (detached) return 0
    return exitCode ?? 125
  })
  return {child, exitCode}
}
