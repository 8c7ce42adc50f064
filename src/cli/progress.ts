import {PullEvent} from '../engine/image/pull.js'
import {humanSize} from './output.js'

/**
 * Docker-style pull/push progress. On a terminal: one line per layer, redrawn in place
 * with a bar; otherwise (CI logs, pipes): one stable line per state change, no bars.
 */
export class LayerProgress {
  private readonly order: string[] = []
  private readonly lines = new Map<string, string>()
  private readonly lastPlain = new Map<string, string>()
  private drawn = 0

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty: boolean,
  ) {}

  handle(event: PullEvent): void {
    if (event.type === 'status') {
      this.flushLine(event.message)
      return
    }
    const {id, status} = event
    if (!this.lines.has(id)) this.order.push(id)
    let text = `${id}: ${status}`
    if (status === 'Downloading' && event.current !== undefined && event.total) {
      const width = 40
      const done = Math.min(width, Math.floor((event.current / event.total) * width))
      const bar = this.tty ? `[${'='.repeat(Math.max(0, done - 1))}${done > 0 ? '>' : ''}${' '.repeat(width - done)}] ` : ''
      text = `${id}: ${status}  ${bar}${humanSize(event.current)}/${humanSize(event.total)}`
    }
    this.lines.set(id, text)
    if (this.tty) this.redraw()
    else if (status !== 'Downloading' && this.lastPlain.get(id) !== status) {
      this.lastPlain.set(id, status)
      this.out.write(`${id}: ${status}\n`)
    }
  }

  private redraw(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A`)
    for (const id of this.order) this.out.write(`\x1b[2K${this.lines.get(id)}\n`)
    this.drawn = this.order.length
  }

  /** A line that stays above (TTY) or after (plain) the layer lines. */
  private flushLine(message: string): void {
    this.drawn = 0
    this.out.write(`${message}\n`)
  }
}
