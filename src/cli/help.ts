/**
 * `ncx --help` laid out like Docker's: Common Commands, Management Commands (topics),
 * Commands (every other top-level verb), Global Options. Built from the loaded commands,
 * so commands other modules add appear by themselves. Command help gets examples from
 * EXAMPLES when the command class has none (src/cli/examples.ts).
 */
import {Command, Help, Interfaces} from '@oclif/core'

import {EXAMPLES} from './examples.js'

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

export default class NcxHelp extends Help {
  protected override async showRootHelp(): Promise<void> {
    const declared = (this.config.pjson.oclif?.topics ?? {}) as Record<string, {description?: string}>
    const topics = Object.entries(declared).map(([name, t]) => ({name, description: t.description}))
    const sections = rootSections(this.config.commands as CommandLike[], topics)
    this.log(renderRoot(this.config.bin, sections, this.config.pjson.description ?? 'A container CLI'))
  }

  override async showCommandHelp(command: Command.Loadable): Promise<void> {
    const examples = command.examples && command.examples.length > 0 ? command.examples : EXAMPLES[command.id]
    await super.showCommandHelp({...command, examples} as Command.Loadable)
  }

  protected override async showTopicHelp(topic: Interfaces.Topic): Promise<void> {
    const declared = (this.config.pjson.oclif?.topics ?? {}) as Record<string, {description?: string}>
    await super.showTopicHelp({...topic, description: declared[topic.name]?.description ?? TOPIC_DESCRIPTIONS[topic.name] ?? topic.description})
  }
}
