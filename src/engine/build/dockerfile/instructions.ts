/**
 * Parsed nodes → typed instructions grouped into stages, with BuildKit's flag rules
 * (`--name=value` only, booleans `--link[=true|false]`, repeatable `--mount`/`--exclude`)
 * and its messages. Variable expansion happens later, when a stage is dispatched, because
 * it depends on the environment the stage has built up.
 */
import {DockerfileSyntaxError, Heredoc, Node, ParseResult, chompHeredoc, parseDockerfile, parseHeredoc} from './parser.js'

interface Base {
  /** Lower-case instruction name. */
  name: string
  /** The instruction as written (continuations joined), for history and progress. */
  code: string
  line: number
  endLine: number
  /** Set for instructions that came from a base image's ONBUILD. */
  onbuild?: boolean
}

export interface KeyValue {
  key: string
  value: string
  /** The legacy `ENV KEY value` form. */
  noDelim: boolean
}

export interface InlineFile {
  name: string
  data: string
  chomp: boolean
}

export interface SourceContent {
  path: string
  data: string
  expand: boolean
}

export interface CommandLine {
  cmdLine: string[]
  /** Shell form: the stage's SHELL is put in front. */
  prependShell: boolean
  files: InlineFile[]
}

export interface CopyInstruction extends Base {
  kind: 'copy' | 'add'
  sources: string[]
  contents: SourceContent[]
  dest: string
  from?: string
  chown?: string
  chmod?: string
  link: boolean
  parents: boolean
  exclude: string[]
  checksum?: string
  keepGitDir?: boolean
  unpack?: boolean
}

export interface RunInstruction extends Base, CommandLine {
  kind: 'run'
  mounts: string[]
  network: 'default' | 'none' | 'host'
}

export interface HealthConfig {
  Test: string[]
  Interval?: number
  Timeout?: number
  StartPeriod?: number
  StartInterval?: number
  Retries?: number
}

export type Instruction =
  | (Base & {kind: 'env'; pairs: KeyValue[]})
  | (Base & {kind: 'label'; pairs: KeyValue[]})
  | (Base & {kind: 'maintainer'; maintainer: string})
  | CopyInstruction
  | (Base & {kind: 'onbuild'; expression: string})
  | (Base & {kind: 'workdir'; path: string})
  | RunInstruction
  | (Base & CommandLine & {kind: 'cmd' | 'entrypoint'})
  | (Base & {kind: 'healthcheck'; health: HealthConfig})
  | (Base & {kind: 'expose'; ports: string[]})
  | (Base & {kind: 'user'; user: string})
  | (Base & {kind: 'volume'; volumes: string[]})
  | (Base & {kind: 'stopsignal'; signal: string})
  | (Base & {kind: 'arg'; args: Array<{key: string; value?: string}>})
  | (Base & {kind: 'shell'; shell: string[]})

export interface Stage {
  /** Lower-case `AS` name, or empty. */
  name: string
  /** The image, `scratch` or stage the stage starts from, unexpanded. */
  baseName: string
  platform?: string
  code: string
  line: number
  endLine: number
  commands: Instruction[]
}

export interface Dockerfile {
  stages: Stage[]
  /** ARGs before the first FROM. */
  metaArgs: Array<Base & {kind: 'arg'; args: Array<{key: string; value?: string}>}>
  escapeToken: string
  directives: ParseResult['directives']
  warnings: ParseResult['warnings']
}

export const INSTRUCTIONS = ['add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck', 'label', 'maintainer', 'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir']

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const d = Array.from({length: a.length + 1}, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
  }
  return d[a.length][b.length]
}

/** " (did you mean X?)" when a known word is close to `word`. */
export function suggestion(word: string, known: readonly string[], caseSensitive = false): string {
  const norm = (s: string) => (caseSensitive ? s : s.toLowerCase())
  let best: string | undefined
  let bestDist = Infinity
  for (const k of known) {
    const dist = distance(norm(word), norm(k))
    if (dist < bestDist) {
      bestDist = dist
      best = k
    }
  }
  const limit = Math.min(2, Math.max(1, Math.floor(word.length / 3)))
  return best !== undefined && bestDist > 0 && bestDist <= limit ? ` (did you mean ${best}?)` : ''
}

type FlagType = 'bool' | 'string' | 'strings'

/** BuildKit's instruction flags. */
class Flags {
  private readonly defs = new Map<string, FlagType>()
  readonly values = new Map<string, string>()
  readonly lists = new Map<string, string[]>()
  readonly used = new Set<string>()

  constructor(private readonly args: string[]) {}

  add(name: string, type: FlagType): this {
    this.defs.set(name, type)
    return this
  }

  parse(): this {
    for (const a of this.args) {
      if (a === '--') return this
      if (!a.startsWith('--')) throw new Error(`arg should start with -- : ${a}`)
      const eq = a.indexOf('=')
      const flagName = eq < 0 ? a : a.slice(0, eq)
      const value = eq < 0 ? '' : a.slice(eq + 1)
      const name = flagName.slice(2)
      const type = this.defs.get(name)
      if (!type) throw new Error(`unknown flag: ${flagName}${suggestion(name, [...this.defs.keys()], true).replace('mean ', 'mean --')}`)
      if (this.used.has(name) && type !== 'strings') throw new Error(`duplicate flag specified: ${flagName}`)
      this.used.add(name)
      if (type === 'bool') {
        if (eq >= 0 && value === '') throw new Error(`missing a value on flag: ${flagName}`)
        const v = value.toLowerCase()
        if (v === 'true' || v === '') this.values.set(name, 'true')
        else if (v === 'false') this.values.set(name, 'false')
        else throw new Error(`expecting boolean value for flag ${flagName}, not: ${value}`)
      } else {
        if (eq < 0) throw new Error(`missing a value on flag: ${flagName}`)
        if (type === 'string') this.values.set(name, value)
        else this.lists.set(name, [...(this.lists.get(name) ?? []), value])
      }
    }
    return this
  }

  string(name: string): string | undefined {
    const v = this.values.get(name)
    return v === undefined || v === '' ? undefined : v
  }

  bool(name: string): boolean | undefined {
    const v = this.values.get(name)
    return v === undefined ? undefined : v === 'true'
  }
}

const exactlyOne = (cmd: string) => new Error(`${cmd} requires exactly one argument`)
const atLeastOne = (cmd: string) => new Error(`${cmd} requires at least one argument`)
const noDestination = (cmd: string) => new Error(`${cmd} requires at least two arguments, but only one was provided. Destination could not be determined`)

function keyValues(args: string[], cmd: string): KeyValue[] {
  if (args.length === 0) throw atLeastOne(cmd)
  if (args.length % 3 !== 0) throw new Error(`Bad input to ${cmd}, too many arguments`)
  const out: KeyValue[] = []
  for (let i = 0; i < args.length; i += 3) {
    if (args[i].length === 0) throw new Error(`${cmd} names can not be blank`)
    out.push({key: args[i], value: args[i + 1], noDelim: args[i + 2] === ''})
  }
  return out
}

/** CMD/ENTRYPOINT/RUN/SHELL arguments: the exec form as is, the shell form as one string. */
function commandLine(node: Node, emptyAsNil: boolean): CommandLine {
  let args = node.args.length === 0 ? [] : node.json ? [...node.args] : [node.args.join(' ')]
  if (emptyAsNil && args.length === 0) args = []
  return {cmdLine: args, prependShell: !node.json, files: node.heredocs.map((h) => ({name: h.name, data: h.content, chomp: h.chomp}))}
}

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(s: string): number {
  if (s === '0') return 0
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy
  const units: Record<string, number> = {ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9}
  let rest = s
  let sign = 1
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1
    rest = rest.slice(1)
  }
  if (rest === '') throw new Error(`time: invalid duration ${JSON.stringify(s)}`)
  let total = 0
  let consumed = 0
  re.lastIndex = 0
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    total += Number(m[1]) * units[m[2]]
    consumed = re.lastIndex
  }
  if (consumed !== rest.length) {
    if (/^\d+(\.\d*)?$/.test(rest)) throw new Error(`time: missing unit in duration ${JSON.stringify(s)}`)
    throw new Error(`time: invalid duration ${JSON.stringify(s)}`)
  }
  return Math.round(sign * total)
}

function interval(flags: Flags, name: string): number | undefined {
  const v = flags.values.get(name)
  if (v === undefined || v === '') return undefined
  const d = parseGoDuration(v)
  if (d === 0) return undefined
  if (d < 1e6) throw new Error(`Interval "${name}" cannot be less than 1ms`)
  return d
}

function sourcesAndDest(node: Node, cmd: string, args: string[]): {sources: string[]; contents: SourceContent[]; dest: string} {
  const dest = args[args.length - 1]
  if (parseHeredoc(dest)) throw new Error(`${cmd} cannot accept a heredoc as a destination`)
  const docs = new Map<string, Heredoc>(node.heredocs.map((h) => [h.name, h]))
  const sources: string[] = []
  const contents: SourceContent[] = []
  for (const src of args.slice(0, -1)) {
    const doc = parseHeredoc(src)
    if (doc) {
      let data = docs.get(doc.name)?.content ?? ''
      if (doc.chomp) data = chompHeredoc(data)
      contents.push({path: doc.name, data, expand: doc.expand})
    } else sources.push(src)
  }
  return {sources, contents, dest}
}

/** One node → one instruction (FROM → a stage). */
export function parseInstruction(node: Node): Instruction | Stage {
  const name = node.command.toLowerCase()
  const base: Base = {name, code: node.original.trim(), line: node.startLine, endLine: node.endLine}
  const args = node.args
  const flags = new Flags(node.flags)
  switch (name) {
    case 'env':
      flags.parse()
      return {...base, kind: 'env', pairs: keyValues(args, 'ENV')}
    case 'label':
      flags.parse()
      return {...base, kind: 'label', pairs: keyValues(args, 'LABEL')}
    case 'maintainer':
      if (args.length !== 1) throw exactlyOne('MAINTAINER')
      flags.parse()
      return {...base, kind: 'maintainer', maintainer: args[0]}
    case 'add':
    case 'copy': {
      const cmd = name.toUpperCase()
      if (args.length < 2) throw noDestination(cmd)
      flags.add('chown', 'string').add('chmod', 'string').add('link', 'bool').add('exclude', 'strings')
      if (name === 'add') flags.add('keep-git-dir', 'bool').add('checksum', 'string').add('unpack', 'bool')
      else flags.add('from', 'string').add('parents', 'bool')
      flags.parse()
      const sd = sourcesAndDest(node, cmd, args)
      return {
        ...base,
        kind: name,
        ...sd,
        ...(flags.string('from') !== undefined ? {from: flags.string('from')} : {}),
        ...(flags.string('chown') !== undefined ? {chown: flags.string('chown')} : {}),
        ...(flags.string('chmod') !== undefined ? {chmod: flags.string('chmod')} : {}),
        ...(flags.string('checksum') !== undefined ? {checksum: flags.string('checksum')} : {}),
        ...(flags.bool('keep-git-dir') !== undefined ? {keepGitDir: flags.bool('keep-git-dir')} : {}),
        ...(flags.bool('unpack') !== undefined ? {unpack: flags.bool('unpack')} : {}),
        link: flags.bool('link') ?? false,
        parents: flags.bool('parents') ?? false,
        exclude: flags.lists.get('exclude') ?? [],
      }
    }
    case 'from': {
      let stageName = ''
      if (args.length === 3 && args[1].toLowerCase() === 'as') {
        stageName = args[2].toLowerCase()
        if (!/^[a-z][a-z0-9-_.]*$/.test(stageName)) throw new Error(`invalid name for build stage: ${JSON.stringify(args[2])}, name can't start with a number or contain symbols`)
      } else if (args.length !== 1) throw new Error('FROM requires either one or three arguments')
      flags.add('platform', 'string').parse()
      return {name: stageName, baseName: args[0], ...(flags.string('platform') ? {platform: flags.string('platform')} : {}), code: base.code, line: base.line, endLine: base.endLine, commands: []}
    }
    case 'onbuild': {
      if (args.length === 0) throw atLeastOne('ONBUILD')
      flags.parse()
      const trigger = args[0].trim().toUpperCase()
      if (trigger === 'ONBUILD') throw new Error('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed')
      if (trigger === 'MAINTAINER' || trigger === 'FROM') throw new Error(`${trigger} isn't allowed as an ONBUILD trigger`)
      let expression = node.original.replace(/^\s*ONBUILD\s*/i, '')
      for (const h of node.heredocs) expression += `\n${h.content}${h.name}`
      return {...base, kind: 'onbuild', expression}
    }
    case 'workdir':
      if (args.length !== 1) throw exactlyOne('WORKDIR')
      flags.parse()
      return {...base, kind: 'workdir', path: args[0]}
    case 'run': {
      flags.add('mount', 'strings').add('network', 'string')
      flags.parse()
      const network = flags.values.get('network') ?? 'default'
      if (network !== 'default' && network !== 'none' && network !== 'host') throw new Error(`invalid network mode ${JSON.stringify(network)}`)
      for (const m of flags.lists.get('mount') ?? []) checkMountFrom(m)
      return {...base, kind: 'run', ...commandLine(node, false), mounts: flags.lists.get('mount') ?? [], network}
    }
    case 'cmd':
      flags.parse()
      return {...base, kind: 'cmd', ...commandLine(node, false)}
    case 'entrypoint':
      flags.parse()
      return {...base, kind: 'entrypoint', ...commandLine(node, true)}
    case 'healthcheck': {
      if (args.length === 0) throw atLeastOne('HEALTHCHECK')
      const type = args[0].toUpperCase()
      const rest = args.slice(1)
      if (type === 'NONE') {
        if (rest.length !== 0) throw new Error('HEALTHCHECK NONE takes no arguments')
        return {...base, kind: 'healthcheck', health: {Test: ['NONE']}}
      }
      flags.add('interval', 'string').add('timeout', 'string').add('start-period', 'string').add('start-interval', 'string').add('retries', 'string').parse()
      if (type !== 'CMD') throw new Error(`Unknown type "${type}" in HEALTHCHECK (try CMD)`)
      const cmd = rest.length === 0 ? [] : node.json ? rest : [rest.join(' ')]
      if (cmd.length === 0) throw new Error('Missing command after HEALTHCHECK CMD')
      const health: HealthConfig = {Test: [node.json ? 'CMD' : 'CMD-SHELL', ...cmd]}
      const set = (k: 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval', f: string) => {
        const v = interval(flags, f)
        if (v !== undefined) health[k] = v
      }
      set('Interval', 'interval')
      set('Timeout', 'timeout')
      set('StartPeriod', 'start-period')
      set('StartInterval', 'start-interval')
      const retries = flags.values.get('retries')
      if (retries !== undefined && retries !== '') {
        if (!/^[+-]?\d+$/.test(retries)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(retries)}: invalid syntax`)
        const n = Number(retries)
        if (n < 0) throw new Error(`--retries cannot be negative (${n})`)
        if (n !== 0) health.Retries = n
      }
      return {...base, kind: 'healthcheck', health}
    }
    case 'expose':
      if (args.length === 0) throw atLeastOne('EXPOSE')
      flags.parse()
      return {...base, kind: 'expose', ports: [...args].sort()}
    case 'user':
      if (args.length !== 1) throw exactlyOne('USER')
      flags.parse()
      return {...base, kind: 'user', user: args[0]}
    case 'volume': {
      if (args.length === 0) throw atLeastOne('VOLUME')
      flags.parse()
      const volumes = args.map((v) => v.trim())
      if (volumes.some((v) => v === '')) throw new Error('VOLUME specified can not be an empty string')
      return {...base, kind: 'volume', volumes}
    }
    case 'stopsignal':
      if (args.length !== 1) throw exactlyOne('STOPSIGNAL')
      return {...base, kind: 'stopsignal', signal: args[0]}
    case 'arg': {
      if (args.length < 1) throw atLeastOne('ARG')
      const list = args.map((a) => {
        const i = a.indexOf('=')
        if (i < 0) return {key: a}
        if (i === 0) throw new Error('ARG names can not be blank')
        return {key: a.slice(0, i), value: a.slice(i + 1)}
      })
      return {...base, kind: 'arg', args: list}
    }
    case 'shell': {
      flags.parse()
      const shell = node.args.length === 0 ? [] : node.json ? [...node.args] : [node.args.join(' ')]
      if (shell.length === 0) throw atLeastOne('SHELL')
      if (!node.json) throw new Error(`SHELL requires the arguments to be in JSON form`)
      return {...base, kind: 'shell', shell}
    }
    default:
      throw new Error(`unknown instruction: ${node.command}${suggestion(node.command, INSTRUCTIONS.map((i) => i.toUpperCase()))}`)
  }
}

/** `--mount from=` cannot use variables (BuildKit checks this before expansion). */
function checkMountFrom(value: string): void {
  for (const field of value.split(',')) {
    const [k, v] = field.split('=', 2)
    if (k.toLowerCase() === 'from' && v !== undefined) {
      const i = v.indexOf('$')
      if (i !== -1 && i !== v.length - 1) throw new Error("'from' doesn't support variable expansion, define alias stage instead")
    }
  }
}

export function isStage(x: Instruction | Stage): x is Stage {
  return 'baseName' in x
}

/** Parse a Dockerfile into stages; errors carry the line (Docker's "dockerfile parse error on line N"). */
export function readDockerfile(text: string): Dockerfile {
  const parsed = parseDockerfile(text)
  const stages: Stage[] = []
  const metaArgs: Dockerfile['metaArgs'] = []
  for (const node of parsed.nodes) {
    let inst: Instruction | Stage
    try {
      inst = parseInstruction(node)
    } catch (error) {
      throw new DockerfileSyntaxError(`dockerfile parse error on line ${node.startLine}: ${(error as Error).message}`, node.startLine, node.endLine)
    }
    if (isStage(inst)) {
      stages.push(inst)
      continue
    }
    if (stages.length === 0) {
      if (inst.kind === 'arg') {
        metaArgs.push(inst)
        continue
      }
      throw new DockerfileSyntaxError('no build stage in current context', node.startLine, node.endLine)
    }
    stages[stages.length - 1].commands.push(inst)
  }
  return {stages, metaArgs, escapeToken: parsed.escapeToken, directives: parsed.directives, warnings: parsed.warnings}
}

/** Parse one ONBUILD trigger (an instruction without FROM) as BuildKit does. */
export function parseTrigger(expression: string, line: number): Instruction {
  const parsed = parseDockerfile(expression)
  if (parsed.nodes.length !== 1) throw new DockerfileSyntaxError('onbuild trigger should be a single expression', line)
  const node = {...parsed.nodes[0], startLine: line, endLine: line}
  const inst = parseInstruction(node)
  if (isStage(inst)) throw new DockerfileSyntaxError("FROM isn't allowed as an ONBUILD trigger", line)
  return {...inst, onbuild: true}
}
