/**
 * Terminal niceties — colour, spinners, prompts — only where a person is watching:
 * a TTY, no NO_COLOR (https://no-color.org), no TERM=dumb; prompts never in CI (CI=true)
 * or without a terminal on stdin. Everything else gets plain, stable lines.
 */
import {Chalk, type ChalkInstance} from 'chalk'

export function colorEnabled(stream: {isTTY?: boolean} = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.TERM === 'dumb') return false
  return stream.isTTY === true
}

/** A chalk that colours only when `colorEnabled(stream)`. */
export function palette(stream: {isTTY?: boolean} = process.stdout, env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  return ink(colorEnabled(stream, env))
}

/** A chalk that colours (16 colours) exactly when told to: for callers that decide themselves (`--ansi always`). */
export function ink(color: boolean): ChalkInstance {
  return new Chalk({level: color ? 1 : 0})
}

/** Whether ncx may ask the user a question: a terminal on stdin and stdout, and not CI. */
export function interactive(env: NodeJS.ProcessEnv = process.env, stdin: {isTTY?: boolean} = process.stdin, stdout: {isTTY?: boolean} = process.stdout): boolean {
  if (env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0') return false
  return stdin.isTTY === true && stdout.isTTY === true
}

/**
 * Spinners (ora) only on a terminal that has a size (a pty without one, as `script` makes,
 * reports 0 columns and ora would redraw forever), and never with NO_COLOR/TERM=dumb or in CI.
 */
export function spinnersEnabled(stream: {isTTY?: boolean; columns?: number} = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  return colorEnabled(stream, env) && interactive(env, {isTTY: true}, stream) && (stream.columns ?? 0) > 0
}

/** A spinner on stderr while `work` runs — only when spinnersEnabled(); otherwise just `work`. */
export async function withSpinner<T>(text: string, work: () => Promise<T> | T, stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  if (!spinnersEnabled(stream, env)) return work()
  const {default: ora} = await import('ora')
  const spinner = ora({text, stream}).start()
  try {
    return await work()
  } finally {
    spinner.stop()
  }
}
