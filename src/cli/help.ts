/**
 * `ncx --help` laid out like Docker's: Common Commands, Management Commands (topics),
 * Commands (every other top-level verb), Global Options. Built from the loaded commands,
 * so commands other modules add appear by themselves. Command help gets examples from
 * EXAMPLES when the command class has none (src/cli/examples.ts).
 */
import {Command, Help, Interfaces} from '@oclif/core'

import {EXAMPLES} from './examples.js'
import {usageOf} from './usage.js'

/** Docker's "Common Commands", in Docker's order (those ncx has). */
export const COMMON = ['run', 'exec', 'ps', 'build', 'pull', 'push', 'images', 'login', 'logout', 'search', 'version', 'info']

/** Descriptions of topics that have no entry in package.json's oclif.topics. */
export const TOPIC_DESCRIPTIONS: Record<string, string> = {
  builder: 'Manage builds',
  compose: 'Define and run multi-container applications',
  container: 'Manage containers',
  image: 'Manage images',
  network: 'Manage networks',
  system: 'Manage ncx',
  volume: 'Manage volumes',
}

export interface RootEntry {
  name: string
  description: string
}

export interface RootSections {
  common: RootEntry[]
  management: RootEntry[]
  commands: RootEntry[]
}

interface CommandLike {
  id: string
  aliases?: string[]
  hidden?: boolean
  summary?: string
  description?: string
}

/** Group the top-level names: `ncx run` (common), `ncx container` (management), `ncx rm` (commands). */
export function rootSections(commands: CommandLike[], topics: Array<{name: string; description?: string}>): RootSections {
  const describe = (c: CommandLike) => (c.summary ?? c.description ?? '').split('\n')[0]
  const top = new Map<string, string>()
  const management = new Map<string, string>()
  for (const c of commands) {
    if (c.hidden) continue
    for (const name of [c.id, ...(c.aliases ?? [])]) {
      const parts = name.split(':')
      if (parts.length === 1) {
        if (!top.has(name)) top.set(name, describe(c))
      } else if (!management.has(parts[0])) management.set(parts[0], '')
    }
  }
  // A management command is a topic with subcommands; described by package.json's topics, else here.
  for (const name of management.keys()) management.set(name, topics.find((t) => t.name === name)?.description ?? TOPIC_DESCRIPTIONS[name] ?? '')
  // A topic that is also a command (`compose` with subcommands) is listed once, as management.
  for (const name of management.keys()) top.delete(name)
  const entry = ([name, description]: [string, string]) => ({name, description})
  const byName = (a: RootEntry, b: RootEntry) => a.name.localeCompare(b.name)
  return {
    common: COMMON.filter((n) => top.has(n)).map((n) => ({name: n, description: top.get(n)!})),
    management: [...management].map(entry).sort(byName),
    commands: [...top].filter(([n]) => !COMMON.includes(n)).map(entry).sort(byName),
  }
}

export function renderRoot(bin: string, sections: RootSections, description: string): string {
  const width = Math.max(...[...sections.common, ...sections.management, ...sections.commands].map((e) => e.name.length)) + 2
  const block = (title: string, entries: RootEntry[]) => (entries.length === 0 ? [] : [`${title}:`, ...entries.map((e) => `  ${e.name.padEnd(width)}${e.description}`), ''])
  return [
    `Usage:  ${bin} [OPTIONS] COMMAND`,
    '',
    description,
    '',
    ...block('Common Commands', sections.common),
    ...block('Management Commands', sections.management),
    ...block('Commands', sections.commands),
    'Global Options:',
    '      --root string     Directory for images and containers (env NCX_ROOT; data_root in ncx.toml)',
    '      --debug           Print stack traces on errors',
    '  -v, --version         Print version information and quit',
    '',
    `Run '${bin} COMMAND --help' for more information on a command.`,
    '',
    'Configuration: ~/.config/ncx/ncx.toml (as root: /etc/ncx/ncx.toml); run `ncx info` to see the effective settings.',
    `Shell completion: source <(${bin} completion bash)   (also zsh, fish)`,
  ].join('\n')
}

/** What command help shows of a flag (oclif's cached flag, as the manifest keeps it). */
export interface HelpFlag {
  name: string
  char?: string
  description?: string
  type: 'boolean' | 'option'
  multiple?: boolean
  hidden?: boolean
  helpGroup?: string
  default?: unknown
}

export interface CommandHelp {
  /** `ncx run`, `ncx container ls`: the command as typed. */
  path: string
  /** What follows the path on the usage line (usage.ts). */
  use: string
  summary?: string
  description?: string
  /** Every name of the command (`ncx container ls`, `ncx ps`, …); listed when there is more than one. */
  names: string[]
  flags: HelpFlag[]
  examples: string[]
}

/** One `Options:` block: Docker's `  -a, --all             Show all…` and `      --format string   …`. */
function optionLines(flags: HelpFlag[]): string[] {
  const left = (f: HelpFlag) => `${f.char ? `  -${f.char}, ` : '      '}--${f.name}${f.type === 'option' ? (f.multiple ? ' list' : ' string') : ''}`
  const width = Math.max(...flags.map((f) => left(f).length)) + 3
  return flags.map((f) => {
    const dflt = f.default !== undefined && f.default !== false && f.default !== '' && !/default/i.test(f.description ?? '') ? ` (default ${String(f.default)})` : ''
    const text = `${f.description ?? ''}${dflt}`.split('\n').join('\n' + ' '.repeat(width))
    return `${left(f).padEnd(width)}${text}`
  })
}

/**
 * `ncx COMMAND --help` and `ncx help COMMAND` in cobra's layout (docker/cli cli/cobra.go's
 * usage template): Usage, the summary, Aliases, Options (run's many flags in groups), Examples.
 */
export function renderCommandHelp(h: CommandHelp): string {
  const out = [`Usage:  ${h.path} ${h.use}`, '']
  if (h.summary) out.push(h.summary, '')
  if (h.description) out.push(h.description, '')
  if (h.names.length > 1) out.push('Aliases:', `  ${h.names.join(', ')}`, '')
  const visible = h.flags.filter((f) => !f.hidden && f.helpGroup !== 'GLOBAL').sort((a, b) => a.name.localeCompare(b.name))
  const groups = [...new Set(visible.map((f) => f.helpGroup ?? ''))].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)))
  for (const g of groups) {
    const title = g === '' ? 'Options' : `${g.charAt(0)}${g.slice(1).toLowerCase()} Options`
    out.push(`${title}:`, ...optionLines(visible.filter((f) => (f.helpGroup ?? '') === g)), '')
  }
  if (h.examples.length > 0) out.push('Examples:', ...h.examples.map((e) => `  ${e}`), '')
  return out.join('\n').replace(/\n+$/, '')
}

/**
 * The name a command was typed as, from argv (`ncx ps --help`, `ncx help container ls`):
 * the longest run of leading words that is one of its names; else its id.
 */
export function invokedName(argv: string[], names: string[], id: string): string {
  const words = argv.filter((a) => !a.startsWith('-'))
  if (words[0] === 'help') words.shift()
  for (let n = words.length; n > 0; n--) {
    const candidate = words.slice(0, n).join(':')
    if (names.includes(candidate)) return candidate
  }
  return id
}

/** oclif lists each alias as a command of its own, whose aliases hold its own id. */
function isAliasEntry(c: CommandLike): boolean {
  return (c.aliases ?? []).includes(c.id)
}

/** A topic's commands (`ncx network --help`): each command's name within the topic, once. */
export function topicCommands(topic: string, commands: CommandLike[]): RootEntry[] {
  const out = new Map<string, string>()
  for (const c of commands) {
    if (c.hidden || isAliasEntry(c)) continue
    const inTopic = [c.id, ...(c.aliases ?? [])].filter((n) => n.startsWith(`${topic}:`) && n.split(':').length === 2)
    const name = inTopic.includes(c.id) ? c.id : inTopic[0]
    if (name && !out.has(name.split(':')[1])) out.set(name.split(':')[1], (c.summary ?? c.description ?? '').split('\n')[0])
  }
  return [...out].map(([name, description]) => ({name, description})).sort((a, b) => a.name.localeCompare(b.name))
}

export default class NcxHelp extends Help {
  protected override async showRootHelp(): Promise<void> {
    const declared = (this.config.pjson.oclif?.topics ?? {}) as Record<string, {description?: string}>
    const topics = Object.entries(declared).map(([name, t]) => ({name, description: t.description}))
    const sections = rootSections(this.config.commands as CommandLike[], topics)
    this.log(renderRoot(this.config.bin, sections, this.config.pjson.description ?? 'A container CLI'))
  }

  override async showCommandHelp(typed: Command.Loadable): Promise<void> {
    // oclif hands an alias over as a command of that id: describe the command it stands for.
    const command = this.config.commands.find((c) => !isAliasEntry(c) && (c.id === typed.id || (c.aliases ?? []).includes(typed.id))) ?? typed
    const own = (command.examples ?? []).map((e) => (typeof e === 'string' ? e : e.command))
    const examples = (own.length > 0 ? own : (EXAMPLES[command.id] ?? [])).map((e) => e.replaceAll('<%= config.bin %>', this.config.bin))
    const names = [...new Set([command.id, ...(command.aliases ?? [])])]
    const invoked = invokedName(process.argv.slice(2), names, command.id)
    const path = (n: string) => [this.config.bin, ...n.split(':')].join(' ')
    const flags = Object.values(command.flags ?? {}) as HelpFlag[]
    const {use} = usageOf({id: command.id, summary: command.summary, strict: command.strict, args: command.args}, invoked)
    this.log(renderCommandHelp({path: path(invoked), use, summary: command.summary, description: command.description, names: names.map(path).sort(), flags, examples}))
  }

  protected override async showTopicHelp(topic: Interfaces.Topic): Promise<void> {
    const declared = (this.config.pjson.oclif?.topics ?? {}) as Record<string, {description?: string}>
    const description = declared[topic.name]?.description ?? TOPIC_DESCRIPTIONS[topic.name] ?? topic.description ?? ''
    const path = [this.config.bin, ...topic.name.split(':')].join(' ')
    const entries = topicCommands(topic.name, this.config.commands as CommandLike[])
    const width = Math.max(0, ...entries.map((e) => e.name.length)) + 3
    this.log(
      [`Usage:  ${path} COMMAND`, '', description, '', 'Commands:', ...entries.map((e) => `  ${e.name.padEnd(width)}${e.description}`), '', `Run '${path} COMMAND --help' for more information on a command.`].join('\n'),
    )
  }
}
