import {NcxError} from '../engine/errors.js'

/** One line naming what failed, then the fix: how every error reaches the user. */
export function renderError(error: unknown, debug = false): {text: string; exitCode: number} {
  if (error instanceof NcxError) {
    let text = `ncx: ${error.message}`
    if (error.hint) text += `\n  hint: ${error.hint}`
    if (debug && error.stack) text += `\n${error.stack}`
    return {text, exitCode: error.exitCode}
  }
  const e = error as {message?: string; oclif?: {exit?: number}; stack?: string; code?: string}
  const message = e?.message ?? String(error)
  let text = `ncx: ${message}`
  if (debug && e?.stack) text += `\n${e.stack}`
  return {text, exitCode: 125}
}
