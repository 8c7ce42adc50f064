/**
 * Shell completion: what may come next on an `ncx …` command line. Pure logic over a
 * command table (built from oclif.manifest.json) and a `CompletionSource` for the dynamic
 * values (containers, images, networks, volumes, compose services), so it is unit-tested
 * without a store. `ncx __complete WORD…` (bin/run.cjs → dist/complete.cjs) answers with it
 * without loading oclif; the scripts of `ncx completion bash|zsh|fish` call that.
 *
 * Protocol: the words after `ncx`, the last one being the word under the cursor (maybe
 * empty). Answer: one candidate a line, `value` or `value<TAB>description`, already
 * filtered by the current word. No candidate → the shell falls back to file names.
 */

export interface FlagInfo {
  name: string
  char?: string
  aliases?: string[]
  description?: string
  /** Takes a value (`--name X`), as opposed to a switch. */
  takesValue: boolean
  options?: string[]
}

export interface CommandInfo {
  /** oclif id: `container:ls`. */
  id: string
  /** Every way to type it, as word lists: [['container','ls'], ['ps'], ...]. */
  paths: string[][]
  description?: string
  flags: FlagInfo[]
  /** After its first positional, argv belongs to the container (run, create, exec). */
  passThrough?: boolean
  hidden?: boolean
}

export interface TopicInfo {
  name: string
  description?: string
}

export interface ContainerEntry {
  id: string
  name: string
  state: 'running' | 'paused' | 'created' | 'exited'
}

/** Values that live in the store or the working directory. */
export interface CompletionSource {
  containers(): ContainerEntry[]
  /** Familiar names (`busybox:latest`) and full IDs (`sha256:…`). */
  images(): Array<{names: string[]; id: string}>
  networks(): string[]
  volumes(): string[]
  /** Services of the compose file (`file` when `-f` named one, else the default names in `dir` or cwd). */
  composeServices(file?: string, dir?: string): string[]
}

export interface Candidate {
  value: string
  description?: string
}

type ValueKind =
  | 'containers:running'
  | 'containers:stopped'
  | 'containers:paused'
  | 'containers:all'
  | 'images'
  | 'networks'
  | 'volumes'
  | 'services'
  | 'files'
  | 'none'

/** Positional arguments by command id: one kind per position, the last one repeating. */
const POSITIONALS: Record<string, ValueKind[]> = {
  'container:stop': ['containers:running'],
  'container:kill': ['containers:running'],
  'container:pause': ['containers:running'],
  'container:unpause': ['containers:paused'],
  'container:exec': ['containers:running'],
  'container:logs': ['containers:running'],
  'container:attach': ['containers:running'],
  'container:top': ['containers:running'],
  'container:stats': ['containers:running'],
  'container:start': ['containers:stopped'],
  'container:rm': ['containers:all'],
  'container:inspect': ['containers:all'],
  inspect: ['containers:all'],
  'container:restart': ['containers:all'],
  'container:wait': ['containers:all'],
  'container:rename': ['containers:all', 'none'],
  'container:port': ['containers:all', 'none'],
  'container:diff': ['containers:all'],
  'container:export': ['containers:all'],
  'container:commit': ['containers:all', 'none'],
  'container:update': ['containers:all'],
  'container:cp': ['files'],
  'run': ['images'],
  'container:create': ['images'],
  'image:rm': ['images'],
  'image:inspect': ['images'],
  'image:history': ['images'],
  'tag': ['images', 'none'],
  'push': ['images'],
  'save': ['images'],
  'network:rm': ['networks'],
  'network:inspect': ['networks'],
  'network:connect': ['networks', 'containers:all'],
  'network:disconnect': ['networks', 'containers:all'],
  'volume:rm': ['volumes'],
  'volume:inspect': ['volumes'],
}

/** Compose subcommands whose positionals are service names. */
const COMPOSE_SERVICE_VERBS = new Set(['up', 'down', 'start', 'stop', 'restart', 'logs', 'ps', 'rm', 'kill', 'pull', 'build', 'create', 'exec', 'run', 'pause', 'unpause', 'top', 'port', 'images', 'events'])

export const RESTART_POLICIES = ['no', 'always', 'unless-stopped', 'on-failure', 'on-failure:3']
export const NETWORK_MODES = ['bridge', 'host', 'none', 'slirp4netns']
export const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/arm/v6', 'linux/386', 'linux/ppc64le', 'linux/s390x', 'linux/riscv64']
export const FORMAT_KEYWORDS = ['table', 'json', '{{json .}}']
export const LOG_DRIVERS = ['json-file', 'none']
export const PULL_POLICIES = ['missing', 'never', 'always']
/** `run -a` streams and `--runtime`'s one value (compat-flags.ts checks against these). */
export const ATTACH_STREAMS = ['STDIN', 'STDOUT', 'STDERR']
export const BUILTIN_RUNTIME = 'ncx-runtime'
const SIGNALS = ['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGSTOP', 'SIGCONT']

/** Values of flags with fixed choices, and flags whose values come from the store. */
function flagValues(flag: FlagInfo, commandId: string, source: CompletionSource): Candidate[] | 'files' {
  if (flag.options && flag.options.length > 0) return flag.options.map((value) => ({value}))
  switch (flag.name) {
    case 'restart':
      return RESTART_POLICIES.map((value) => ({value}))
    case 'network':
    case 'net':
      if (commandId.startsWith('network:')) return []
      return [
        ...NETWORK_MODES.map((value) => ({value, description: 'network mode'})),
        ...source.networks().filter((n) => !NETWORK_MODES.includes(n)).map((value) => ({value, description: 'network'})),
        ...source.containers().filter((c) => c.state === 'running').map((c) => ({value: `container:${c.name}`, description: 'share its network namespace'})),
      ]
    case 'format':
      return FORMAT_KEYWORDS.map((value) => ({value}))
    case 'platform':
      return PLATFORMS.map((value) => ({value}))
    case 'pull':
      return PULL_POLICIES.map((value) => ({value}))
    case 'log-driver':
      return LOG_DRIVERS.map((value) => ({value}))
    case 'stop-signal':
    case 'signal':
      return SIGNALS.map((value) => ({value}))
    case 'volume':
      return source.volumes().map((v) => ({value: `${v}:`, description: 'volume'}))
    case 'volumes-from':
      return source.containers().map((c) => ({value: c.name}))
    case 'pid':
    case 'ipc': {
      const modes = flag.name === 'pid' ? ['host'] : ['private', 'shareable', 'host', 'none']
      const what = flag.name === 'pid' ? 'share its PID namespace' : 'share its IPC namespace'
      return [...modes.map((value) => ({value})), ...source.containers().filter((c) => c.state === 'running').map((c) => ({value: `container:${c.name}`, description: what}))]
    }
    case 'uts':
      return [{value: 'host'}]
    case 'attach':
      return ATTACH_STREAMS.map((value) => ({value}))
    case 'link':
      return source.containers().filter((c) => c.state === 'running').map((c) => ({value: c.name, description: 'link to it (NAME[:ALIAS])'}))
    case 'runtime':
      return [{value: BUILTIN_RUNTIME}]
    case 'volume-driver':
      return [{value: 'local'}]
    case 'file':
    case 'env-file':
    case 'input':
    case 'output':
    case 'root':
    case 'cidfile':
    case 'label-file':
      return 'files'
    default:
      return []
  }
}

function containersOf(kind: ValueKind, source: CompletionSource, current: string): Candidate[] {
  const all = source.containers()
  const pick = all.filter((c) => {
    if (kind === 'containers:running') return c.state === 'running'
    if (kind === 'containers:paused') return c.state === 'paused'
    if (kind === 'containers:stopped') return c.state === 'created' || c.state === 'exited'
    return true
  })
  const out: Candidate[] = pick.map((c) => ({value: c.name, description: `${c.state} ${c.id.slice(0, 12)}`}))
  // IDs only once the user starts typing one, as Docker's completion does.
  if (/^[0-9a-f]+$/.test(current)) for (const c of pick) out.push({value: c.id.slice(0, 12), description: c.name})
  return out
}

function valuesOf(kind: ValueKind, source: CompletionSource, current: string, composeFile?: string, composeDir?: string): Candidate[] | 'files' {
  switch (kind) {
    case 'containers:running':
    case 'containers:stopped':
    case 'containers:paused':
    case 'containers:all':
      return containersOf(kind, source, current)
    case 'images': {
      const out: Candidate[] = []
      for (const img of source.images()) for (const n of img.names) out.push({value: n, description: img.id.replace(/^sha256:/, '').slice(0, 12)})
      if (/^[0-9a-f]+$/.test(current)) for (const img of source.images()) out.push({value: img.id.replace(/^sha256:/, '').slice(0, 12), description: img.names[0] ?? '<none>'})
      return out
    }
    case 'networks':
      return source.networks().map((value) => ({value}))
    case 'volumes':
      return source.volumes().map((value) => ({value}))
    case 'services':
      return source.composeServices(composeFile, composeDir).map((value) => ({value, description: 'service'}))
    case 'files':
      return 'files'
    default:
      return []
  }
}

function findFlag(cmd: CommandInfo | undefined, globals: FlagInfo[], word: string): FlagInfo | undefined {
  const flags = [...(cmd?.flags ?? []), ...globals]
  if (word.startsWith('--')) {
    const name = word.slice(2).split('=')[0]
    return flags.find((f) => f.name === name || f.aliases?.includes(name))
  }
  if (/^-[a-zA-Z]$/.test(word)) return flags.find((f) => f.char === word[1])
  // A cluster (`-it`): the last letter decides whether a value follows.
  if (/^-[a-zA-Z]{2,}$/.test(word)) return flags.find((f) => f.char === word[word.length - 1])
  return undefined
}

function filterPrefix(cands: Candidate[], current: string): Candidate[] {
  const seen = new Set<string>()
  return cands.filter((c) => {
    if (!c.value.startsWith(current) || seen.has(c.value)) return false
    seen.add(c.value)
    return true
  })
}

export interface CompletionTable {
  commands: CommandInfo[]
  topics: TopicInfo[]
  /** Flags every command takes (`--root`, `--debug`). */
  globals: FlagInfo[]
}

/** Candidates for the last word of `words` (the words after `ncx`). `'files'`: let the shell complete paths. */
export function complete(words: string[], table: CompletionTable, source: CompletionSource): Candidate[] | 'files' {
  const current = words.length > 0 ? words[words.length - 1] : ''
  const before = words.slice(0, -1)
  const visible = table.commands.filter((c) => !c.hidden)

  // 1. The command path: leading non-flag words that extend some command's path.
  let i = 0
  const path: string[] = []
  while (i < before.length && before[i].startsWith('-')) {
    const f = findFlag(undefined, table.globals, before[i])
    if (f?.takesValue && !before[i].includes('=') && i + 1 === before.length) {
      const values = flagValues(f, '', source)
      return values === 'files' ? values : filterPrefix(values, current)
    }
    i += f?.takesValue && !before[i].includes('=') ? 2 : 1
  }
  let cmd: CommandInfo | undefined
  while (i < before.length) {
    const next = [...path, before[i]]
    const extends_ = visible.some((c) => c.paths.some((p) => p.length >= next.length && next.every((w, k) => p[k] === w)))
    if (!extends_) break
    path.push(before[i])
    i++
    cmd = visible.find((c) => c.paths.some((p) => p.length === path.length && p.every((w, k) => path[k] === w)))
    const deeper = visible.some((c) => c.paths.some((p) => p.length > path.length && path.every((w, k) => p[k] === w)))
    if (cmd && !deeper) break
  }

  // Still choosing a command (or subcommand of a topic)?
  if (!cmd) {
    if (i < before.length) return [] // an unknown command: nothing sensible to offer
    if (current.startsWith('-')) return filterPrefix(flagCandidates(table.globals, current), current)
    return filterPrefix(nextWords(path, visible, table.topics), current)
  }
  // A topic that is also a command (`compose` with subcommands) — offer subcommands too.
  const sub = i === before.length ? nextWords(path, visible, table.topics) : []

  // 2. Flags and positionals of the command.
  const positionals: string[] = []
  let composeFile: string | undefined
  let composeDir: string | undefined
  let expecting: FlagInfo | undefined
  for (; i < before.length; i++) {
    const w = before[i]
    if (expecting) {
      if (expecting.name === 'file') composeFile ??= w
      if (expecting.name === 'project-directory') composeDir = w
      expecting = undefined
      continue
    }
    if (w === '--') {
      positionals.push(...before.slice(i + 1))
      break
    }
    if (w.startsWith('-') && w !== '-') {
      const f = findFlag(cmd, table.globals, w)
      if (f?.takesValue && !w.includes('=')) expecting = f
      else if (f?.name === 'file' && w.includes('=')) composeFile ??= w.split('=').slice(1).join('=')
      else if (f?.name === 'project-directory' && w.includes('=')) composeDir = w.split('=').slice(1).join('=')
      continue
    }
    positionals.push(w)
    if (cmd.passThrough) return [] // the container's own command line
  }

  if (expecting) {
    const values = flagValues(expecting, cmd.id, source)
    return values === 'files' ? values : filterPrefix(values, current)
  }
  if (current.startsWith('--') && current.includes('=')) {
    const [name] = current.slice(2).split('=')
    const f = findFlag(cmd, table.globals, `--${name}`)
    if (!f?.takesValue) return []
    const values = flagValues(f, cmd.id, source)
    if (values === 'files') return values
    return filterPrefix(values.map((c) => ({...c, value: `--${name}=${c.value}`})), current)
  }
  if (current.startsWith('-')) return filterPrefix(flagCandidates([...cmd.flags, ...table.globals], current), current)

  let kinds = POSITIONALS[cmd.id]
  if (cmd.id.startsWith('compose:') && COMPOSE_SERVICE_VERBS.has(cmd.id.split(':')[1])) kinds = ['services']
  if (!kinds) return filterPrefix(sub, current).length > 0 ? filterPrefix(sub, current) : 'files'
  const kind = kinds[Math.min(positionals.length, kinds.length - 1)]
  // `exec`/`run` once past their first positional belong to the container (handled above).
  const values = valuesOf(kind, source, current, composeFile, composeDir)
  if (values === 'files') return values
  return filterPrefix([...sub, ...values], current)
}

function flagCandidates(flags: FlagInfo[], current: string): Candidate[] {
  const out: Candidate[] = []
  for (const f of flags) {
    out.push({value: `--${f.name}`, description: f.description})
    // An alias only when the user is typing it rather than the name (`--data-`, not `--r`).
    if (current.startsWith('--') && !`--${f.name}`.startsWith(current)) for (const a of f.aliases ?? []) out.push({value: `--${a}`, description: f.description})
  }
  // Short forms only when the user typed a single dash.
  if (current === '-') for (const f of flags) if (f.char) out.push({value: `-${f.char}`, description: f.description})
  return out
}

/** Words that extend `path` towards some command: topics and command names. */
function nextWords(path: string[], commands: CommandInfo[], topics: TopicInfo[]): Candidate[] {
  const out = new Map<string, string | undefined>()
  for (const c of commands) {
    for (const p of c.paths) {
      if (p.length <= path.length || !path.every((w, k) => p[k] === w)) continue
      const word = p[path.length]
      if (out.has(word)) continue
      const topic = p.length > path.length + 1 ? topics.find((t) => t.name === [...path, word].join(':')) : undefined
      out.set(word, topic ? topic.description : p.length === path.length + 1 ? c.description : undefined)
    }
  }
  return [...out.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([value, description]) => ({value, ...(description ? {description} : {})}))
}

/** One `value` or `value\tdescription` a line; descriptions are one line, without tabs. */
export function formatCandidates(cands: Candidate[]): string {
  return cands.map((c) => (c.description ? `${c.value}\t${c.description.split('\n')[0].replace(/\t/g, ' ')}` : c.value) + '\n').join('')
}

interface ManifestFlag {
  name: string
  char?: string
  aliases?: string[]
  description?: string
  summary?: string
  type: 'boolean' | 'option'
  options?: string[]
  hidden?: boolean
}

interface ManifestCommand {
  id: string
  aliases?: string[]
  summary?: string
  description?: string
  hidden?: boolean
  flags: Record<string, ManifestFlag>
  parsesOwnArgv?: boolean
}

/** The completion table from oclif.manifest.json (written by `oclif manifest` at build time). */
export function tableFromManifest(manifest: {commands: Record<string, ManifestCommand>}, topics: Record<string, {description?: string}> = {}): CompletionTable {
  const globals: FlagInfo[] = [
    {name: 'root', aliases: ['data-root'], takesValue: true, description: 'Directory for images and containers'},
    {name: 'debug', takesValue: false, description: 'Print stack traces on errors'},
  ]
  const commands: CommandInfo[] = Object.values(manifest.commands).map((c) => ({
    id: c.id,
    paths: [c.id, ...(c.aliases ?? [])].map((a) => a.split(':')),
    description: c.summary ?? c.description?.split('\n')[0],
    hidden: c.hidden,
    passThrough: c.parsesOwnArgv === true,
    flags: Object.values(c.flags)
      .filter((f) => !f.hidden && f.name !== 'root' && f.name !== 'debug')
      .map((f) => ({
        name: f.name,
        ...(f.char ? {char: f.char} : {}),
        ...(f.aliases ? {aliases: f.aliases} : {}),
        description: f.summary ?? f.description,
        takesValue: f.type === 'option',
        ...(f.options ? {options: f.options} : {}),
      })),
  }))
  const topicList: TopicInfo[] = Object.entries(topics).map(([name, t]) => ({name, description: t.description}))
  return {commands, topics: topicList, globals}
}
