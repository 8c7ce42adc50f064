/**
 * `ncx build` progress, as BuildKit shows it. Off a terminal (`--progress plain`): numbered
 * lines (`#5 [build 2/4] RUN npm ci`, `#5 0.512 output`, `#5 DONE 3.2s`, `#4 CACHED`). On a
 * terminal (`tty`): a live view redrawn in place — each step with its time, CACHED steps,
 * the last lines of a running step's output — collapsed to one line per step when done,
 * coloured with chalk (none with NO_COLOR).
 */
import type {ChalkInstance} from 'chalk'

import type {BuildError, BuildEvent} from '../engine/build/builder.js'

export type ProgressMode = 'auto' | 'plain' | 'tty' | 'quiet' | 'rawjson'

export interface ProgressPrinter {
  handle(e: BuildEvent): void
  warn(message: string): void
  /** Stop redrawing; the final state stays on screen. */
  finish(): void
}

interface Vertex {
  id: number
  name: string
  started: number
  ended?: number
  cached?: boolean
  error?: string
  statuses: string[]
  logs: string[]
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`

export class PlainProgress implements ProgressPrinter {
  private readonly vertices = new Map<number, Vertex>()
  private last = 0

  constructor(private readonly out: NodeJS.WritableStream) {}

  private write(id: number, text: string): void {
    if (this.last !== 0 && this.last !== id) this.out.write('\n')
    this.last = id
    this.out.write(`#${id} ${text}\n`)
  }

  handle(e: BuildEvent): void {
    switch (e.type) {
      case 'step':
        this.vertices.set(e.id, {id: e.id, name: e.name, started: Date.now(), statuses: [], logs: []})
        this.write(e.id, e.name)
        return
      case 'status':
        this.write(e.id, e.text)
        return
      case 'log': {
        const v = this.vertices.get(e.id)
        this.write(e.id, `${((Date.now() - (v?.started ?? Date.now())) / 1000).toFixed(3)} ${e.text}`)
        return
      }
      case 'cached':
        this.write(e.id, 'CACHED')
        return
      case 'done': {
        const v = this.vertices.get(e.id)
        this.write(e.id, `DONE ${secs(Date.now() - (v?.started ?? Date.now()))}`)
        return
      }
      case 'error':
        this.write(e.id, `ERROR: ${e.message}`)
        return
    }
  }

  warn(message: string): void {
    if (this.last !== 0) this.out.write('\n')
    this.last = 0
    this.out.write(`WARNING: ${message}\n`)
  }

  finish(): void {
    if (this.last !== 0) this.out.write('\n')
    this.last = 0
  }
}

/** The live view: redrawn in place at 10 Hz while something runs. */
export class TtyProgress implements ProgressPrinter {
  private readonly vertices: Vertex[] = []
  private readonly warnings: string[] = []
  private readonly started = Date.now()
  private drawn = 0
  private timer?: NodeJS.Timeout
  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly c: ChalkInstance,
  ) {
    this.timer = setInterval(() => this.draw(), 100)
    this.timer.unref()
  }

  private find(id: number): Vertex | undefined {
    return this.vertices.find((v) => v.id === id)
  }

  handle(e: BuildEvent): void {
    if (e.type === 'step') this.vertices.push({id: e.id, name: e.name, started: Date.now(), statuses: [], logs: []})
    const v = this.find(e.id)
    if (!v) return
    if (e.type === 'status') v.statuses.push(e.text)
    else if (e.type === 'log') {
      v.logs.push(e.text)
      if (v.logs.length > 6) v.logs.shift()
    } else if (e.type === 'cached') {
      v.cached = true
      v.ended = Date.now()
    } else if (e.type === 'done') v.ended = Date.now()
    else if (e.type === 'error') {
      v.error = e.message
      v.ended = Date.now()
    }
  }

  warn(message: string): void {
    this.warnings.push(message)
  }

  private lines(final: boolean): string[] {
    const width = Math.max(40, (this.out.columns ?? 100) - 1)
    const done = this.vertices.filter((v) => v.ended !== undefined).length
    const total = (this.vertices.length > 0 ? this.vertices[this.vertices.length - 1].id : 0)
    const header = `[+] Building ${secs(Date.now() - this.started)} (${done}/${total})${final ? ' FINISHED' : ''}`
    const out = [this.c.blue(header)]
    const fit = (text: string, time: string) => {
      const room = width - time.length - 1
      const t = text.length > room ? `${text.slice(0, room - 1)}…` : text.padEnd(room)
      return `${t} ${time}`
    }
    for (const v of this.vertices) {
      const time = v.cached ? '0.0s' : secs((v.ended ?? Date.now()) - v.started)
      const name = ` => ${v.cached ? 'CACHED ' : ''}${v.error ? 'ERROR ' : ''}${v.name}`
      const colour = v.error ? this.c.red : v.ended !== undefined ? this.c.blue : (s: string) => s
      out.push(colour(fit(name, time)))
      for (const s of v.statuses) out.push(colour(fit(` => => ${s}`, '')))
      if (v.ended === undefined || v.error) for (const l of v.logs) out.push(this.c.dim(fit(` => => # ${l.replace(/\t/g, '  ')}`, '')))
    }
    for (const w of this.warnings) out.push(this.c.yellow(`WARNING: ${w}`))
    return out
  }

  private draw(final = false): void {
    const lines = this.lines(final)
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : ''
    for (const l of lines) text += `\x1b[2K${l}\n`
    this.out.write(text)
    this.drawn = lines.length
  }

  finish(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.draw(true)
  }
}

export class QuietProgress implements ProgressPrinter {
  handle(): void {}
  warn(message: string): void {
    process.stderr.write(`WARNING: ${message}\n`)
  }
  finish(): void {}
}

/** One JSON object a line (`--progress rawjson`). */
export class JsonProgress implements ProgressPrinter {
  constructor(private readonly out: NodeJS.WritableStream) {}
  handle(e: BuildEvent): void {
    this.out.write(JSON.stringify({...e, time: new Date().toISOString()}) + '\n')
  }
  warn(message: string): void {
    this.out.write(JSON.stringify({type: 'warning', message}) + '\n')
  }
  finish(): void {}
}

/**
 * The printer for `mode` (`auto`: the live view on a terminal, plain lines otherwise). chalk
 * is loaded only for the live view (an ES module, imported where it is needed: the build's
 * fast path is a CommonJS bundle); colour as style.ts decides it (no NO_COLOR, not TERM=dumb).
 */
export type ModuleImporter = (specifier: string) => Promise<unknown>

export async function progressPrinter(mode: ProgressMode, out: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env, importer: ModuleImporter = (s) => import(s)): Promise<ProgressPrinter> {
  if (mode === 'quiet') return new QuietProgress()
  if (mode === 'rawjson') return new JsonProgress(out)
  const tty = mode === 'tty' || (mode === 'auto' && out.isTTY === true && env.TERM !== 'dumb' && (out.columns ?? 0) > 0)
  if (!tty) return new PlainProgress(out)
  const {Chalk} = (await importer('chalk')) as typeof import('chalk')
  const colour = (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb' && out.isTTY === true
  return new TtyProgress(out, new Chalk({level: colour ? 1 : 0}))
}

/** Docker's failure report: the step and its last output lines, the Dockerfile lines, the error. */
export function renderBuildError(error: BuildError): string {
  const d = error.details
  const parts: string[] = []
  if (d.step) {
    parts.push('------', ` > ${d.step}:`, ...(d.log ?? []), '------')
  }
  if (d.file && d.line !== undefined && d.source) {
    const start = Math.max(1, d.line - 4)
    const end = Math.min(d.source.length, (d.endLine ?? d.line) + 1)
    const width = String(end).length
    parts.push(`${d.file}:${d.line === d.endLine || d.endLine === undefined ? d.line : `${d.line}-${d.endLine}`}`, '--------------------')
    for (let n = start; n <= end; n++) {
      const inside = n >= d.line && n <= (d.endLine ?? d.line)
      parts.push(` ${String(n).padStart(width + 2)} | ${inside ? '>>>' : '   '} ${d.source[n - 1] ?? ''}`.trimEnd())
    }
    parts.push('--------------------')
  }
  const message = error.message.startsWith('failed to solve:') ? error.message : `failed to solve: ${error.message}`
  parts.push(`ERROR: ${message}`)
  return parts.join('\n')
}
