/**
 * Docker's usage lines and argument counts per command (docker/cli: each command's `Use`
 * and `Args`), for the messages of cli/required.go:
 *
 *   "ncx rm" requires at least 1 argument.
 *   See 'ncx rm --help'.
 *
 *   Usage:  ncx rm [OPTIONS] CONTAINER [CONTAINER...]
 *
 *   Remove one or more containers
 *
 * Commands Docker does not have get their count from their oclif arguments.
 */
import {ArgCountError} from './errors.js'

export interface ArgRule {
  min: number
  /** Infinity: no upper bound. */
  max: number
}

interface Usage extends ArgRule {
  /** What follows the command path on the usage line. */
  use: string
}

const u = (use: string, min: number, max = min): Usage => ({use, min, max})
const ANY = Number.POSITIVE_INFINITY

/** By oclif command id (aliases are looked up through their command). */
export const USAGE: Record<string, Usage> = {
  run: u('[OPTIONS] IMAGE [COMMAND] [ARG...]', 1, ANY),
  'container:create': u('[OPTIONS] IMAGE [COMMAND] [ARG...]', 1, ANY),
  'container:exec': u('[OPTIONS] CONTAINER COMMAND [ARG...]', 2, ANY),
  'container:attach': u('[OPTIONS] CONTAINER', 1),
  'container:commit': u('[OPTIONS] CONTAINER [REPOSITORY[:TAG]]', 1, 2),
  'container:cp': u('[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tncx cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH', 2),
  'container:diff': u('CONTAINER', 1),
  'container:export': u('[OPTIONS] CONTAINER', 1),
  'container:inspect': u('[OPTIONS] CONTAINER [CONTAINER...]', 1, ANY),
  inspect: u('[OPTIONS] NAME|ID [NAME|ID...]', 1, ANY),
  'container:kill': u('[OPTIONS] CONTAINER [CONTAINER...]', 1, ANY),
  'container:logs': u('[OPTIONS] CONTAINER', 1),
  'container:ls': u('[OPTIONS]', 0),
  'container:pause': u('CONTAINER [CONTAINER...]', 1, ANY),
  'container:port': u('CONTAINER [PRIVATE_PORT[/PROTO]]', 1, 2),
  'container:prune': u('[OPTIONS]', 0),
  'container:rename': u('CONTAINER NEW_NAME', 2),
  'container:restart': u('[OPTIONS] CONTAINER [CONTAINER...]', 1, ANY),
  'container:rm': u('[OPTIONS] CONTAINER [CONTAINER...]', 1, ANY),
  'container:start': u('[OPTIONS] CONTAINER [CONTAINER...]', 1, ANY),
  'container:stats': u('[OPTIONS] [CONTAINER...]', 0, ANY),
  'container:stop': u('[OPTIONS] CONTAINER [CONTAINER...]', 1, ANY),
  'container:top': u('CONTAINER [ps OPTIONS]', 1, ANY),
  'container:unpause': u('CONTAINER [CONTAINER...]', 1, ANY),
  'container:update': u('[OPTIONS] CONTAINER [CONTAINER...]', 1, ANY),
  'container:wait': u('CONTAINER [CONTAINER...]', 1, ANY),
  'image:history': u('[OPTIONS] IMAGE', 1),
  'image:inspect': u('[OPTIONS] IMAGE [IMAGE...]', 1, ANY),
  'image:ls': u('[OPTIONS] [REPOSITORY[:TAG]]', 0, 1),
  'image:prune': u('[OPTIONS]', 0),
  'image:rm': u('[OPTIONS] IMAGE [IMAGE...]', 1, ANY),
  // (Docker: RequiresMinArgs(1); a third argument is ignored)
  import: u('[OPTIONS] file|URL|- [REPOSITORY[:TAG]]', 1, ANY),
  info: u('[OPTIONS]', 0),
  load: u('[OPTIONS]', 0),
  login: u('[OPTIONS] [SERVER]', 0, 1),
  logout: u('[SERVER]', 0, 1),
  pull: u('[OPTIONS] NAME[:TAG|@DIGEST]', 1),
  push: u('[OPTIONS] NAME[:TAG]', 1),
  save: u('[OPTIONS] IMAGE [IMAGE...]', 1, ANY),
  tag: u('SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', 2),
  version: u('[OPTIONS]', 0),
  'network:connect': u('[OPTIONS] NETWORK CONTAINER', 2),
  'network:create': u('[OPTIONS] NETWORK', 1),
  'network:disconnect': u('[OPTIONS] NETWORK CONTAINER', 2),
  'network:inspect': u('[OPTIONS] NETWORK [NETWORK...]', 1, ANY),
  'network:ls': u('[OPTIONS]', 0),
  'network:prune': u('[OPTIONS]', 0),
  'network:rm': u('NETWORK [NETWORK...]', 1, ANY),
  'system:df': u('[OPTIONS]', 0),
  'system:events': u('[OPTIONS]', 0),
  'system:prune': u('[OPTIONS]', 0),
  'volume:create': u('[OPTIONS] [VOLUME]', 0, 1),
  'volume:inspect': u('[OPTIONS] VOLUME [VOLUME...]', 1, ANY),
  'volume:ls': u('[OPTIONS]', 0),
  'volume:prune': u('[OPTIONS]', 0),
  'volume:rm': u('[OPTIONS] VOLUME [VOLUME...]', 1, ANY),
}

interface CommandShape {
  id: string
  summary?: string
  strict?: boolean
  args?: Record<string, {required?: boolean; name?: string}>
}

/** The usage rule of a command (typed as `invoked`, an alias or its id). */
export function usageOf(command: CommandShape, invoked = command.id): Usage {
  const known = USAGE[invoked] ?? USAGE[command.id]
  if (known) return known
  const args = Object.entries(command.args ?? {})
  const min = args.filter(([, a]) => a.required).length
  const max = command.strict === false ? ANY : args.length
  const names = args.map(([k, a]) => (a.required ? k.toUpperCase() : `[${k.toUpperCase()}]`))
  return {use: ['[OPTIONS]', ...names, ...(max === ANY ? ['...'] : [])].join(' '), min, max}
}

const plural = (n: number) => (n === 1 ? 'argument' : 'arguments')

/** Docker's cli/required.go message when `count` arguments do not fit; undefined when they do. */
export function checkArgCount(command: CommandShape, invoked: string, count: number): ArgCountError | undefined {
  const rule = usageOf(command, invoked)
  if (count >= rule.min && count <= rule.max) return undefined
  const path = ['ncx', ...invoked.split(':')].join(' ')
  let what: string
  if (rule.max === 0) {
    what = `"${path}" accepts no arguments.`
  } else if (rule.min === rule.max) {
    what = `"${path}" requires exactly ${rule.min} ${plural(rule.min)}.`
  } else if (rule.max === ANY) {
    what = `"${path}" requires at least ${rule.min} ${plural(rule.min)}.`
  } else if (rule.min === 0) {
    what = `"${path}" requires at most ${rule.max} ${plural(rule.max)}.`
  } else {
    what = `"${path}" requires at least ${rule.min} and at most ${rule.max} ${plural(rule.max)}.`
  }
  const summary = command.summary ? `\n\n${command.summary}` : ''
  return new ArgCountError(`${what}\nSee '${path} --help'.\n\nUsage:  ${path} ${rule.use}${summary}`)
}
