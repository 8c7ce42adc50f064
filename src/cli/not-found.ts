/**
 * oclif's `command_not_found` hook: what Docker says for a command line that names no
 * command (docker/cli cmd/docker/docker.go), exit 1:
 *
 *   ncx: 'rnu' is not a ncx command.
 *   See 'ncx --help'
 *
 * plus cobra's "Did you mean this?" suggestions. oclif folds extra words of a command that
 * takes no arguments into the id (`ps x` arrives as `ps:x`): those are Docker's argument
 * count error of that command instead.
 */
import {Hook} from '@oclif/core'

import {checkArgCount} from './usage.js'

/** Levenshtein distance (cobra suggests names within 2 edits, or names the typed word starts). */
function distance(a: string, b: string): number {
  const row = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = row[j]
      row[j] = next
    }
  }
  return row[b.length]
}

export function suggestions(typed: string, names: string[]): string[] {
  const found = names.filter((n) => distance(typed.toLowerCase(), n.toLowerCase()) <= 2 || n.startsWith(typed))
  return [...new Set(found)].sort()
}

export function notACommand(typed: string, parent: string[], names: string[]): string {
  const where = ['ncx', ...parent].join(' ')
  const near = suggestions(typed, names)
  const hint = near.length > 0 ? `\n\nDid you mean this?\n${near.map((n) => `\t${n}\n`).join('')}` : ''
  return `ncx: '${typed}' is not a${parent.length > 0 ? ` ${where}` : ' ncx'} command.\nSee '${where} --help'${hint}`
}

const hook: Hook<'command_not_found'> = async function (options) {
  const {config} = options
  const words = options.id.split(':')
  const argv = options.argv ?? []
  // The longest prefix that is a command: the rest are its arguments.
  for (let n = words.length - 1; n > 0; n--) {
    const id = words.slice(0, n).join(':')
    const command = config.findCommand(id)
    if (!command) continue
    const count = words.length - n + argv.filter((a) => !a.startsWith('-')).length
    const wrong = checkArgCount({id: command.id, summary: command.summary, strict: command.strict, args: command.args}, id, count)
    process.stderr.write(`${wrong?.message ?? `"ncx ${id.replace(/:/g, ' ')}" accepts no arguments.`}\n`)
    return this.exit(1)
  }
  // Names one level down from the deepest topic the line names.
  let depth = 0
  while (depth < words.length - 1 && config.findTopic(words.slice(0, depth + 1).join(':'))) depth++
  const parent = words.slice(0, depth)
  const names = new Set<string>()
  for (const c of config.commands) {
    if (c.hidden) continue
    for (const name of [c.id, ...(c.aliases ?? [])]) {
      const parts = name.split(':')
      if (parts.length > depth && parts.slice(0, depth).join(':') === parent.join(':')) names.add(parts[depth])
    }
  }
  process.stderr.write(notACommand(words[depth], parent, [...names]) + '\n')
  return this.exit(1)
}

export default hook
