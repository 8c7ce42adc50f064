/**
 * Attaching to a container's monitor (`attach`, `start -a`, `run -it`): `ncx-runtime attach`
 * relays the terminal to the monitor's attach socket (crates/ncx-runtime/src/attach.rs)
 * and handles the detach keys, so detaching leaves the container running.
 */
import {ChildProcess, spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import type {Duplex, Writable} from 'node:stream'

import {runtimeBinary} from '../../native/index.js'
import {Engine} from '../engine.js'
import {NcxError, UsageError} from '../errors.js'
import {AttachStream, ContainerOptions} from '../spec/generate.js'
import {releaseContainer} from '../network/container.js'
import {startContainer, stateOf, waitContainer} from './lifecycle.js'
import {Resize, resizeLine, resizer} from './exec.js'
import {childReports, createContainer, superviseRuntime} from './run.js'
import {ContainerRecord} from './store.js'

/** Docker's default detach sequence. */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q'

const CTRL_SPECIAL: Record<string, number> = {'@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31}

/**
 * Docker's detach-key syntax (`ctrl-p,ctrl-q`, `a,ctrl-@`): comma-separated single
 * characters or `ctrl-X` with X one of a-z @ [ \ ] ^ _. Returns the bytes.
 */
export function parseDetachKeys(spec: string): number[] {
  const invalid = () => new UsageError(`Invalid detach keys (${spec}) provided`, `use comma-separated keys such as ${DEFAULT_DETACH_KEYS} (a letter, or ctrl- followed by a-z, @, [, \\, ], ^ or _)`)
  if (spec === '') throw invalid()
  return spec.split(',').map((key) => {
    if (key.length > 1 && key.startsWith('ctrl-')) {
      const c = key.slice(5)
      if (c.length !== 1) throw invalid()
      if (c >= 'a' && c <= 'z') return c.charCodeAt(0) - 96
      if (c in CTRL_SPECIAL) return CTRL_SPECIAL[c]
      throw invalid()
    }
    if ([...key].length !== 1 || key.charCodeAt(0) > 127) throw invalid()
    return key.charCodeAt(0)
  })
}

export interface AttachOptions {
  /** Forward our stdin to the container (it must keep stdin open: -i, or a terminal). */
  stdin: boolean
  /** Detach sequence as bytes (empty: no detaching). */
  detachKeys: number[]
  /** Pass signals to the container (only without a terminal, as Docker). */
  sigProxy: boolean
  /** `run -a`: stdout/stderr not listed go to /dev/null (unset: both connected). */
  streams?: AttachStream[]
}

export interface AttachOutcome {
  /** The container's exit code; undefined when we detached. */
  exitCode?: number
  detached: boolean
}

/** Relay the terminal to a running container until it exits or the user detaches. */
export async function attachContainer(engine: Engine, record: ContainerRecord, options: AttachOptions): Promise<AttachOutcome> {
  const s = stateOf(engine, record)
  if (s.status !== 'running' && s.status !== 'restarting') throw new NcxError('You cannot attach to a stopped container, start it first', {exitCode: 1})
  const dir = engine.containers.dir(record.id)
  const tty = record.options.tty
  const args = ['attach', '--bundle', dir, '--status-fd', '3', '--detach-keys', options.detachKeys.join(',')]
  if (tty) args.push('--tty')
  if (!options.stdin) args.push('--no-stdin')
  if (options.sigProxy) args.push('--sig-proxy')
  const out = (s: AttachStream) => (!options.streams || options.streams.includes(s) ? 'inherit' : 'ignore')
  const child = spawn(runtimeBinary(), args, {stdio: [options.stdin ? 'inherit' : 'ignore', out('stdout'), out('stderr'), 'pipe']})
  const outcome = await superviseRuntime(childReports(child))
  if (outcome.failure) throw new NcxError(outcome.failure.message, {exitCode: outcome.failure.code})
  // The monitor closed without an exit code (it died): the store knows the rest.
  if (outcome.closed) return {detached: false, exitCode: await waitContainer(engine, record)}
  // Detach keys, or the client ended by a signal (^C with --sig-proxy=false): the container
  // keeps running, as with Docker.
  if (outcome.detached || !outcome.exited) return {detached: true}
  return {detached: false, exitCode: outcome.exitCode ?? 125}
}

/**
 * Attach over pipes instead of this process's terminal (the Engine API's hijacked
 * connections): the caller relays the child's stdin/stdout/stderr. With a terminal the
 * container's output all comes on stdout, as on a terminal.
 */
export function attachPipes(engine: Engine, record: ContainerRecord, options: {stdin: boolean}): {child: ChildProcess; outcome: Promise<AttachOutcome>; resize?: Resize} {
  const s = stateOf(engine, record)
  if (s.status !== 'running' && s.status !== 'restarting') throw new NcxError('You cannot attach to a stopped container, start it first', {exitCode: 1})
  const tty = record.options.tty
  const args = ['attach', '--bundle', engine.containers.dir(record.id), '--status-fd', '3']
  // With a terminal, the size comes through a pipe (fd 4): the client has no terminal here.
  if (tty) args.push('--tty', '--resize-fd', '4')
  if (!options.stdin) args.push('--no-stdin')
  const child = spawn(runtimeBinary(), args, {stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe', ...(tty ? ['pipe' as const] : [])]})
  const outcome = superviseRuntime(childReports(child)).then(async (o): Promise<AttachOutcome> => {
    if (o.failure) throw new NcxError(o.failure.message, {exitCode: o.failure.code})
    if (o.closed) return {detached: false, exitCode: await waitContainer(engine, record)}
    if (o.detached || !o.exited) return {detached: true}
    return {detached: false, exitCode: o.exitCode ?? 125}
  })
  if (!tty) return {child, outcome}
  const pipe = child.stdio[4] as Duplex
  pipe.on('error', () => undefined)
  // (its end would end the session: only when the session is over anyway)
  void outcome.finally(() => pipe.end()).catch(() => undefined)
  return {child, outcome, resize: resizer(pipe)}
}

/**
 * Set a running terminal container's size without a session of our own: a resize-only
 * `ncx-runtime attach` (one line on its `--resize-fd`, whose end ends it). Resolves when the
 * monitor has it.
 */
export function resizeContainer(engine: Engine, record: ContainerRecord, rows: number, cols: number): Promise<void> {
  const args = ['attach', '--bundle', engine.containers.dir(record.id), '--tty', '--no-stdin', '--resize-fd', '3']
  const child = spawn(runtimeBinary(), args, {stdio: ['ignore', 'ignore', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  const pipe = child.stdio[3] as Writable
  pipe.on('error', () => undefined)
  pipe.end(resizeLine(rows, cols))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve() : reject(new NcxError(stderr.trim() || `resize failed (${code})`, {exitCode: 1}))))
  })
}

/** `start -a [-i]` (also on a running container, which is just attached to). */
export async function startAttached(engine: Engine, record: ContainerRecord, options: AttachOptions): Promise<AttachOutcome> {
  startContainer(engine, record, {attachWait: true})
  return attachContainer(engine, record, options)
}

/**
 * `run -it` (and `run --sig-proxy=false`): the container runs under its monitor from the
 * start, and this process is only attached to it, so the detach keys leave it running.
 */
export async function runAttached(engine: Engine, options: ContainerOptions, attach: Omit<AttachOptions, 'stdin'>): Promise<AttachOutcome> {
  const {container} = createContainer(engine, options, true)
  // With --rm the monitor removes the bundle after the exit (or a failed start); then the
  // container's network address is freed.
  const released = async () => {
    if (!options.rm) return
    const dir = engine.containers.dir(container.id)
    const end = Date.now() + 5000
    while (existsSync(dir) && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
    releaseContainer(engine, container.id)
  }
  try {
    startContainer(engine, container, {attachWait: true})
  } catch (error) {
    await released()
    throw error
  } finally {
    engine.containers.settle(container.id)
  }
  const stdin = options.interactive && (options.attach?.includes('stdin') ?? true)
  const outcome = await attachContainer(engine, container, {...attach, stdin, ...(options.attach ? {streams: options.attach} : {})})
  if (!outcome.detached) await released()
  return outcome
}
