/**
 * Confirmation before deleting things. Asked (with @inquirer/prompts) only when a person is
 * there: a terminal on stdin and stdout and CI unset. Otherwise ncx never waits for input:
 * without -f it refuses with exit code 1 and says to add -f — a CI job neither hangs on a
 * prompt nor deletes anything by surprise. (Docker reads a y/N line even from a pipe;
 * ncx deliberately does not.)
 */
import {NcxError} from '../engine/errors.js'
import {interactive} from './style.js'

/** Cancelled at the prompt: Ctrl-C. */
export class PromptCancelled extends NcxError {
  constructor() {
    super('cancelled', {exitCode: 130})
  }
}

/** Resolve true to go ahead. `command` names it in the refusal (`system prune`). */
export async function confirmDeletion(command: string, message: string, force: boolean): Promise<boolean> {
  if (force) return true
  if (!interactive()) {
    throw new NcxError(`${command} deletes data and needs confirmation, but there is no terminal to ask on${process.env.CI ? ' (CI is set)' : ''}`, {exitCode: 1, hint: `add -f (--force) to ${command} in scripts and CI`})
  }
  const {confirm} = await import('@inquirer/prompts')
  try {
    return await confirm({message, default: false})
  } catch (error) {
    if ((error as Error).name === 'ExitPromptError') throw new PromptCancelled()
    throw error
  }
}
