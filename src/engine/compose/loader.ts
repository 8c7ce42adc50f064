/**
 * Loading a compose project as Docker Compose v2 does: file discovery, `.env`, project
 * name, interpolation, `include`, `extends`, merging of several files, profiles, env_file
 * resolution, cross-reference checks and defaults (the `default` network, resource names).
 */
import {existsSync, readFileSync} from 'node:fs'
import {basename, dirname, isAbsolute, join, resolve} from 'node:path'

import {parseDotenv} from './dotenv.js'
import {COMPOSE_PARSE_FAILURE, ComposeError, ModelPath} from './errors.js'
import {clean, mergeObjects} from './merge.js'
import {SERVICE_KEYS, SourceContext, bool, checkKeys, fail, isObj, mapOrList, normalizeService, str} from './schema.js'
import {ParsedFile, contextOf, interpolateTree, parseComposeYaml} from './source.js'
import {NetworkConfig, Project, ServiceConfig, VolumeConfig} from './types.js'
import {invalidUtf8At, lineAt} from '../spec/values.js'

export interface LoadOptions {
  /** `-f` (repeatable; `-` reads stdin). */
  files?: string[]
  /** `-p`. */
  projectName?: string
  projectDirectory?: string
  /** `--env-file` (replaces `.env`). */
  envFiles?: string[]
  /** `--profile` (otherwise COMPOSE_PROFILES). */
  profiles?: string[]
  /** Services named on the command line: enabled whatever their profiles (Compose's rule). */
  enable?: string[]
  cwd?: string
  env?: NodeJS.ProcessEnv
  readStdin?: () => string
  onWarning?: (message: string) => void
  /** `config --no-interpolate`: leave `$VAR` references (and `$$`) as written. */
  interpolate?: boolean
  /** `config --no-env-resolution`: keep env_file entries and bare `KEY` entries as written. */
  resolveEnvironment?: boolean
  /** `config --no-consistency`: skip the checks that references (services, networks, volumes, secrets, configs) are defined. */
  consistency?: boolean
}

/** Exit code of Compose for "no configuration file" (FileNotFoundFailure). */
export const COMPOSE_FILE_NOT_FOUND = 14

export const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml']
const OVERRIDE_FILES: Record<string, string[]> = {
  'compose.yaml': ['compose.override.yaml', 'compose.override.yml'],
  'compose.yml': ['compose.override.yml', 'compose.override.yaml'],
  'docker-compose.yml': ['docker-compose.override.yml', 'docker-compose.override.yaml'],
  'docker-compose.yaml': ['docker-compose.override.yaml', 'docker-compose.override.yml'],
}

const TOP_KEYS = ['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs', 'include', 'models']

/** Compose's rule for names derived from a directory: lower case, only [a-z0-9_-], no leading _ or -. */
export function normalizeProjectName(s: string): string {
  return (s.toLowerCase().match(/[a-z0-9_-]/g) ?? []).join('').replace(/^[_-]+/, '')
}

export function checkProjectName(name: string, source: string): string {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) {
    throw new ComposeError(`invalid project name ${JSON.stringify(name)} (from ${source}): must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`)
  }
  return name
}

/** Find the compose file in `dir` or its parents (Compose's discovery), with its override file. */
export function discoverFiles(dir: string, warn: (m: string) => void): string[] {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const found = DEFAULT_FILES.filter((f) => existsSync(join(d, f)))
    if (found.length > 0) {
      if (found.length > 1) warn(`Found multiple config files with supported names: ${found.map((f) => join(d, f)).join(', ')}\nUsing ${join(d, found[0])}`)
      const main = join(d, found[0])
      const override = OVERRIDE_FILES[found[0]].map((f) => join(d, f)).find((f) => existsSync(f))
      return override ? [main, override] : [main]
    }
    if (dirname(d) === d) break
  }
  throw new ComposeError('no configuration file provided: not found', {exitCode: COMPOSE_FILE_NOT_FOUND, hint: `create ${DEFAULT_FILES[0]} in this directory (or a parent), or name one with -f FILE`})
}

/** A file's text, refused with file:line when it is not UTF-8 (rather than read with replacement characters). */
export function utf8Text(bytes: Buffer, file: string, what: string): string {
  const bad = invalidUtf8At(bytes)
  if (bad !== undefined) throw new ComposeError(`${what} is not valid UTF-8 (byte 0x${bytes[bad].toString(16).padStart(2, '0')} at offset ${bad})`, {file, line: lineAt(bytes, bad), hint: 'save the file as UTF-8'})
  return bytes.toString('utf8')
}

function readEnvFile(path: string, lookup: (n: string) => string | undefined): Map<string, string | undefined> {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (error) {
    throw new ComposeError(`couldn't read env file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  const text = utf8Text(bytes, path, 'env file')
  const nul = bytes.indexOf(0)
  if (nul >= 0) throw new ComposeError('env file holds a NUL byte, which no environment can carry', {file: path, line: lineAt(bytes, nul)})
  return parseDotenv(text, path, lookup)
}

interface Loaded {
  name?: string
  services: Record<string, Record<string, unknown>>
  networks: Record<string, unknown>
  volumes: Record<string, unknown>
  secrets: Record<string, unknown>
  configs: Record<string, unknown>
  extensions: Record<string, unknown>
  /** Which file defined each service last (for messages after merging). */
  origin: Record<string, string>
}

class ProjectLoader {
  private readonly warned = new Set<string>()
  private readonly parsedCache = new Map<string, ParsedFile>()
  private readonly normalizedCache = new Map<string, Record<string, Record<string, unknown>>>()

  constructor(
    private readonly vars: Record<string, string>,
    private readonly cwd: string,
    private readonly readStdin: () => string,
    private readonly warnFn: (m: string) => void,
    private readonly interpolate = true,
  ) {}

  warn(m: string): void {
    if (this.warned.has(m)) return
    this.warned.add(m)
    this.warnFn(m)
  }

  lookup = (name: string): string | undefined => this.vars[name]

  private contextOf(parsed: ParsedFile, baseDir: string): SourceContext {
    return {...contextOf(parsed, baseDir), uninterpolated: !this.interpolate}
  }

  /** Parse and interpolate one file (cached: extends may read a file several times). */
  parse(file: string, vars: Record<string, string> = this.vars): ParsedFile {
    const cached = this.parsedCache.get(file)
    if (cached) return cached
    let text: string
    if (file === '-') text = this.readStdin()
    else {
      try {
        text = utf8Text(readFileSync(file), file, 'compose file')
      } catch (error) {
        if (error instanceof ComposeError) throw error
        const code = (error as NodeJS.ErrnoException).code
        throw new NcxFileError(`open ${file}: ${code === 'ENOENT' ? 'no such file or directory' : (code ?? (error as Error).message)}`)
      }
    }
    const parsed = parseComposeYaml(text, file === '-' ? '(stdin)' : file)
    if (this.interpolate) interpolateTree(parsed, (n) => vars[n], (n) => this.warn(`The "${n}" variable is not set. Defaulting to a blank string.`))
    const ctx = this.contextOf(parsed, this.cwd)
    for (const k of Object.keys(parsed.data)) {
      if (k.startsWith('x-')) continue
      if (!TOP_KEYS.includes(k)) fail(ctx, [k], `additional property ${JSON.stringify(k)} is not allowed`, `top-level keys are ${TOP_KEYS.filter((t) => t !== 'models').join(', ')} and x-* extensions`)
    }
    if (parsed.data.version !== undefined) this.warn(`${parsed.file}: the attribute \`version\` is obsolete, it will be ignored, please remove it to avoid potential confusion`)
    for (const k of ['services', 'networks', 'volumes', 'secrets', 'configs']) {
      const v = parsed.data[k]
      if (v !== undefined && v !== null && !isObj(v)) fail(ctx, [k], 'must be a mapping')
    }
    this.parsedCache.set(file, parsed)
    return parsed
  }

  /** One file's model: services normalised (paths relative to `baseDir`), extends resolved, includes merged. */
  loadFile(file: string, baseDir: string, vars: Record<string, string> = this.vars): Loaded {
    const parsed = this.parse(file, vars)
    const ctx = this.contextOf(parsed, baseDir)
    const data = parsed.data
    const out: Loaded = {services: {}, networks: {}, volumes: {}, secrets: {}, configs: {}, extensions: {}, origin: {}}
    if (data.name !== undefined && data.name !== null) out.name = str(ctx, ['name'], data.name)
    for (const [k, v] of Object.entries(data)) if (k.startsWith('x-')) out.extensions[k] = v
    const services = (data.services ?? {}) as Record<string, unknown>
    const normalized: Record<string, Record<string, unknown>> = {}
    for (const [name, raw] of Object.entries(services)) normalized[name] = normalizeService(ctx, name, raw)
    const resolved = new Map<string, Record<string, unknown>>()
    for (const name of Object.keys(normalized)) out.services[name] = this.extend(ctx, parsed, normalized, name, resolved, [])
    for (const name of Object.keys(out.services)) out.origin[name] = parsed.file
    for (const kind of ['networks', 'volumes', 'secrets', 'configs'] as const) {
      const section = (data[kind] ?? {}) as Record<string, unknown>
      for (const [name, raw] of Object.entries(section)) out[kind][name] = this.normalizeResource(ctx, kind, name, raw)
    }
    if (data.include !== undefined && data.include !== null) this.include(ctx, data.include, baseDir, out)
    return out
  }

  private normalizeResource(ctx: SourceContext, kind: 'networks' | 'volumes' | 'secrets' | 'configs', name: string, raw: unknown): Record<string, unknown> {
    const path = [kind, name]
    if (raw === null || raw === undefined) return {}
    if (!isObj(raw)) return fail(ctx, path, 'must be a mapping or null')
    const allowed = {
      networks: ['name', 'driver', 'driver_opts', 'external', 'internal', 'attachable', 'enable_ipv6', 'enable_ipv4', 'ipam', 'labels'],
      volumes: ['name', 'driver', 'driver_opts', 'external', 'labels'],
      secrets: ['name', 'file', 'environment', 'external', 'labels', 'driver', 'driver_opts', 'template_driver', 'content'],
      configs: ['name', 'file', 'environment', 'external', 'labels', 'content', 'template_driver'],
    }[kind]
    checkKeys(ctx, path, raw, allowed)
    const out: Record<string, unknown> = {...raw}
    if (raw.name !== undefined) out.name = str(ctx, [...path, 'name'], raw.name)
    if (raw.external !== undefined) {
      if (isObj(raw.external)) {
        // The legacy `external: {name: X}` form.
        if (raw.external.name !== undefined) out.name = str(ctx, [...path, 'external', 'name'], raw.external.name)
        out.external = true
      } else out.external = bool(ctx, [...path, 'external'], raw.external)
    }
    if (raw.labels !== undefined) out.labels = Object.fromEntries(Object.entries(mapOrList(ctx, [...path, 'labels'], raw.labels)).map(([k, v]) => [k, v ?? '']))
    if (raw.driver_opts !== undefined) out.driver_opts = Object.fromEntries(Object.entries(mapOrList(ctx, [...path, 'driver_opts'], raw.driver_opts)).map(([k, v]) => [k, v ?? '']))
    for (const b of ['internal', 'attachable', 'enable_ipv6', 'enable_ipv4'] as const) if (raw[b] !== undefined) out[b] = bool(ctx, [...path, b], raw[b])
    if (raw.file !== undefined) out.file = resolve(ctx.baseDir, str(ctx, [...path, 'file'], raw.file))
    if ((kind === 'secrets' || kind === 'configs') && !['file', 'environment', 'content', 'external'].some((k) => raw[k] !== undefined)) {
      fail(ctx, path, 'needs one of file, environment, content or external')
    }
    if (out.external === true) {
      const extra = Object.keys(raw).filter((k) => !['name', 'external', 'labels'].includes(k) && !k.startsWith('x-'))
      if (extra.length > 0) fail(ctx, [...path, extra[0]], `conflicts with "external: true"`, 'an external resource is created outside the project: only name may be given')
    }
    return out
  }

  private extend(ctx: SourceContext, parsed: ParsedFile, services: Record<string, Record<string, unknown>>, name: string, resolved: Map<string, Record<string, unknown>>, stack: string[]): Record<string, unknown> {
    const done = resolved.get(name)
    if (done) return done
    const svc = services[name]
    const ext = svc.extends
    if (ext === undefined || ext === null) {
      resolved.set(name, svc)
      return svc
    }
    const path: ModelPath = ['services', name, 'extends']
    let base: string
    let file: string | undefined
    if (typeof ext === 'string') base = ext
    else if (isObj(ext)) {
      checkKeys(ctx, path, ext, ['service', 'file'])
      if (ext.service === undefined) fail(ctx, path, 'service is required')
      base = str(ctx, [...path, 'service'], ext.service)
      if (ext.file !== undefined) file = str(ctx, [...path, 'file'], ext.file)
    } else return fail(ctx, path, 'must be a service name or a mapping with service and file')
    const key = `${file ?? parsed.file}#${base}`
    if (stack.includes(key)) fail(ctx, path, `circular reference with extends: ${[...stack, key].map((k) => k.split('#')[1]).join(' -> ')}`)
    let baseSvc: Record<string, unknown>
    if (file !== undefined) {
      const other = isAbsolute(file) ? file : resolve(parsed.file === '(stdin)' ? this.cwd : dirname(parsed.file), file)
      const otherParsed = this.parse(other)
      const otherCtx = this.contextOf(otherParsed, dirname(other))
      const otherServices = (otherParsed.data.services ?? {}) as Record<string, unknown>
      if (!(base in otherServices)) fail(ctx, [...path, 'service'], `cannot extend service ${JSON.stringify(base)} in ${other}: service not found`)
      // Once per file, however many services extend one of its services.
      let normalized = this.normalizedCache.get(other)
      if (!normalized) {
        normalized = {}
        for (const [n, raw] of Object.entries(otherServices)) normalized[n] = normalizeService(otherCtx, n, raw)
        this.normalizedCache.set(other, normalized)
      }
      baseSvc = this.extend(otherCtx, otherParsed, normalized, base, new Map(), [...stack, `${parsed.file}#${name}`])
    } else {
      if (!(base in services)) fail(ctx, [...path, 'service'], `cannot extend service ${JSON.stringify(base)}: service not found`)
      baseSvc = this.extend(ctx, parsed, services, base, resolved, [...stack, `${parsed.file}#${name}`])
    }
    const {extends: _e, ...own} = svc
    const {extends: _b, ...inherited} = baseSvc
    const merged = mergeObjects(inherited, own)
    resolved.set(name, merged)
    return merged
  }

  private include(ctx: SourceContext, raw: unknown, baseDir: string, into: Loaded): void {
    if (!Array.isArray(raw)) fail(ctx, ['include'], 'must be a list')
    raw.forEach((entry, i) => {
      const path = ['include', i]
      let paths: string[]
      let projectDir: string | undefined
      let envFiles: string[] | undefined
      if (typeof entry === 'string') paths = [entry]
      else if (isObj(entry)) {
        checkKeys(ctx, path, entry, ['path', 'project_directory', 'env_file'])
        if (entry.path === undefined) fail(ctx, path, 'path is required')
        paths = Array.isArray(entry.path) ? entry.path.map((p, j) => str(ctx, [...path, 'path', j], p)) : [str(ctx, [...path, 'path'], entry.path)]
        if (entry.project_directory !== undefined) projectDir = resolve(baseDir, str(ctx, [...path, 'project_directory'], entry.project_directory))
        if (entry.env_file !== undefined) envFiles = (Array.isArray(entry.env_file) ? entry.env_file : [entry.env_file]).map((p, j) => resolve(baseDir, str(ctx, [...path, 'env_file', j], p)))
      } else return fail(ctx, path, 'must be a path or a mapping')
      const files = paths.map((p) => resolve(baseDir, p))
      const dir = projectDir ?? dirname(files[0])
      // An included project interpolates with its own .env (or env_file), under the process environment.
      const vars = {...this.vars}
      const envList = envFiles ?? (existsSync(join(dir, '.env')) ? [join(dir, '.env')] : [])
      for (const f of envList) for (const [k, v] of readEnvFile(f, (n) => vars[n])) if (v !== undefined && !(k in process.env)) vars[k] = v
      let sub: Loaded | undefined
      for (const f of files) {
        const one = this.loadFile(f, dir, vars)
        sub = sub ? mergeLoaded(sub, one) : one
      }
      if (!sub) return
      for (const kind of ['services', 'networks', 'volumes', 'secrets', 'configs'] as const) {
        for (const [name, v] of Object.entries(sub[kind])) {
          if (name in into[kind] && JSON.stringify(into[kind][name]) !== JSON.stringify(v)) {
            fail(ctx, path, `imported resource ${kind}.${name} conflicts with one already defined`, 'rename one of them: include does not merge')
          }
          into[kind][name] = v as Record<string, unknown>
          if (kind === 'services') into.origin[name] = sub.origin[name]
        }
      }
    })
  }
}

class NcxFileError extends ComposeError {
  constructor(message: string) {
    super(message)
  }
}

function mergeLoaded(a: Loaded, b: Loaded): Loaded {
  const out: Loaded = {name: b.name ?? a.name, services: {...a.services}, networks: {...a.networks}, volumes: {...a.volumes}, secrets: {...a.secrets}, configs: {...a.configs}, extensions: mergeObjects(a.extensions, b.extensions), origin: {...a.origin, ...b.origin}}
  for (const [name, svc] of Object.entries(b.services)) out.services[name] = a.services[name] ? mergeObjects(a.services[name], svc) : (clean(svc) as Record<string, unknown>)
  for (const kind of ['networks', 'volumes', 'secrets', 'configs'] as const) {
    for (const [name, v] of Object.entries(b[kind])) out[kind][name] = isObj(a[kind][name]) && isObj(v) ? mergeObjects(a[kind][name] as Record<string, unknown>, v) : v
  }
  return out
}

/** Load, merge and normalise a project: the model `config` prints and `up` runs. */
export function loadProject(o: LoadOptions = {}): Project {
  const cwd = o.cwd ?? process.cwd()
  const env = o.env ?? process.env
  const warn = o.onWarning ?? (() => {})
  const processVars: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) processVars[k] = v
  const explicitFiles = o.files && o.files.length > 0 ? o.files : undefined
  const guessDir = resolve(cwd, o.projectDirectory ?? (explicitFiles && explicitFiles[0] !== '-' ? dirname(resolve(cwd, explicitFiles[0])) : '.'))
  const readDotenv = (dir: string): Record<string, string> => {
    const files = o.envFiles && o.envFiles.length > 0 ? o.envFiles.map((f) => resolve(cwd, f)) : existsSync(join(dir, '.env')) ? [join(dir, '.env')] : []
    const vars: Record<string, string> = {}
    for (const f of files) for (const [k, v] of readEnvFile(f, (n) => processVars[n] ?? vars[n])) if (v !== undefined) vars[k] = v
    return vars
  }
  let dotenv = readDotenv(guessDir)
  let vars = {...dotenv, ...processVars}
  let files: string[]
  if (explicitFiles) files = explicitFiles.map((f) => (f === '-' ? '-' : resolve(cwd, f)))
  else if (vars.COMPOSE_FILE) files = vars.COMPOSE_FILE.split(vars.COMPOSE_PATH_SEPARATOR ?? ':').filter((f) => f !== '').map((f) => resolve(guessDir, f))
  else files = discoverFiles(o.projectDirectory ? guessDir : cwd, warn)
  const workingDir = resolve(cwd, o.projectDirectory ?? (files[0] === '-' ? '.' : dirname(files[0])))
  if (workingDir !== guessDir) {
    dotenv = readDotenv(workingDir)
    vars = {...dotenv, ...processVars}
  }
  const loader = new ProjectLoader(vars, workingDir, o.readStdin ?? (() => utf8Text(readFileSync(0), '(stdin)', 'compose file')), warn, o.interpolate ?? true)
  let model: Loaded | undefined
  for (const f of files) {
    let one: Loaded
    try {
      one = loader.loadFile(f, workingDir)
    } catch (error) {
      if (error instanceof NcxFileError) throw new ComposeError(error.message, {hint: 'check the -f paths and COMPOSE_FILE'})
      throw error
    }
    model = model ? mergeLoaded(model, one) : one
  }
  const m = model!
  // The project name: -p, COMPOSE_PROJECT_NAME, `name:`, the project directory's name.
  let name: string
  if (o.projectName !== undefined) name = checkProjectName(o.projectName, '-p')
  else if (vars.COMPOSE_PROJECT_NAME) name = checkProjectName(vars.COMPOSE_PROJECT_NAME, 'COMPOSE_PROJECT_NAME')
  else if (m.name) name = checkProjectName(m.name, 'the name attribute')
  else {
    name = normalizeProjectName(basename(workingDir))
    if (name === '') throw new ComposeError(`project name ${JSON.stringify(basename(workingDir))} is empty after normalization`, {hint: 'give one with -p NAME or a top-level name:'})
  }
  const profiles = o.profiles && o.profiles.length > 0 ? o.profiles : (vars.COMPOSE_PROFILES ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '')
  const project: Project = {
    name,
    workingDir,
    configFiles: files,
    services: {},
    disabled: {},
    networks: {},
    volumes: {},
    secrets: m.secrets as Project['secrets'],
    configs: m.configs as Project['configs'],
    environment: vars,
    extensions: m.extensions,
    profiles,
    unsupported: [],
  }
  const active = (svc: Record<string, unknown>, name: string) => {
    if (o.enable?.includes(name)) return true
    const p = (svc.profiles as string[] | undefined) ?? []
    return p.length === 0 || profiles.includes('*') || p.some((x) => profiles.includes(x))
  }
  const where = (svc: string) => ({file: m.origin[svc]})
  for (const [svcName, raw] of Object.entries(m.services)) {
    const svc = clean(raw) as ServiceConfig
    if (active(raw, svcName)) {
      if (o.resolveEnvironment ?? true) resolveEnvironment(svc, vars, svcName, where(svcName).file)
      resolveLabelFiles(svc, svcName, where(svcName).file)
      project.services[svcName] = svc
    } else project.disabled[svcName] = svc
  }
  const consistency = o.consistency ?? true
  for (const [svcName, svc] of Object.entries(project.services)) {
    if (consistency) checkReferences(project, m, svcName, svc, warn, where(svcName))
    if (svc.network_mode === undefined && svc.networks === undefined) svc.networks = {default: null}
    for (const [k, v] of Object.entries(svc)) if (!k.startsWith('x-') && SERVICE_KEYS[k] && !SERVICE_KEYS[k].supported && v !== undefined) project.unsupported.push(`services.${svcName}.${k}`)
    project.unsupported.push(...partlySupported(svcName, svc))
  }
  if (consistency) checkCycles(project)
  const used = new Set(Object.values(project.services).flatMap((s) => Object.keys(s.networks ?? {})))
  if (used.has('default') || 'default' in m.networks) project.networks.default = {name: `${name}_default`, ...(m.networks.default as object)} as NetworkConfig
  for (const [k, raw] of Object.entries(m.networks)) {
    if (k === 'default') {
      project.networks.default = {...(raw as object), name: (raw as {name?: string}).name ?? `${name}_default`} as NetworkConfig
      continue
    }
    const n = raw as Partial<NetworkConfig>
    project.networks[k] = {...n, name: n.name ?? (n.external ? k : `${name}_${k}`)} as NetworkConfig
  }
  for (const [k, raw] of Object.entries(m.volumes)) {
    const v = raw as Partial<VolumeConfig>
    project.volumes[k] = {...v, name: v.name ?? (v.external ? k : `${name}_${k}`)} as VolumeConfig
  }
  for (const kind of ['secrets', 'configs'] as const) {
    for (const [k, raw] of Object.entries(project[kind])) project[kind][k] = {...raw, name: (raw.name as string | undefined) ?? (raw.external ? k : `${name}_${k}`)}
  }
  return project
}

/**
 * Compose's consistency checks for one service: an image or a build, and every service,
 * network, volume, secret and config it refers to defined (`config --no-consistency` skips
 * them). An optional dependency (`required: false`) on a missing service is dropped with a warning.
 */
function checkReferences(project: Project, m: Loaded, svcName: string, svc: ServiceConfig, warn: (m: string) => void, where: {file?: string}): void {
  const svcQ = JSON.stringify(svcName)
  if (svc.image === undefined && svc.build === undefined) throw new ComposeError(`service ${svcQ} has neither an image nor a build context specified: invalid compose project`, where)
  for (const [dep, d] of Object.entries(svc.depends_on ?? {})) {
    if (dep in project.services) continue
    const why = dep in project.disabled ? `depends on service ${JSON.stringify(dep)} of an inactive profile` : `depends on undefined service ${JSON.stringify(dep)}`
    if (d.required) throw new ComposeError(`service ${svcQ} ${why}: invalid compose project`, {...where, hint: dep in project.disabled ? `enable it with --profile ${(project.disabled[dep].profiles ?? [])[0]}` : undefined})
    warn(`service ${svcQ} ${why}; it is optional (required: false) and ignored`)
    delete svc.depends_on![dep]
  }
  const nm = svc.network_mode
  if (nm !== undefined && svc.networks !== undefined) throw new ComposeError(`service ${svcQ} declares mutually exclusive network_mode and networks: invalid compose project`, where)
  if (nm?.startsWith('service:') && !(nm.slice(8) in project.services)) throw new ComposeError(`service ${svcQ} uses the network stack of service ${JSON.stringify(nm.slice(8))} which is undefined: invalid compose project`, where)
  for (const [dep, key] of implicitDependencies(svc)) {
    if (key !== 'network_mode' && !(dep in project.services)) throw new ComposeError(`service ${svcQ} refers to undefined service ${JSON.stringify(dep)} in ${key}: invalid compose project`, {...where, path: ['services', svcName, key]})
  }
  for (const net of Object.keys(svc.networks ?? {})) {
    if (net !== 'default' && !(net in m.networks)) throw new ComposeError(`service ${svcQ} refers to undefined network ${net}: invalid compose project`, where)
  }
  for (const v of svc.volumes ?? []) {
    if (v.type === 'volume' && v.source !== undefined && !(v.source in m.volumes)) throw new ComposeError(`service ${svcQ} refers to undefined volume ${v.source}: invalid compose project`, {...where, hint: `declare it under the top-level volumes: key`})
  }
  for (const kind of ['secrets', 'configs'] as const) {
    for (const ref of (svc[kind] as Array<{source: string}> | undefined) ?? []) {
      if (!(ref.source in m[kind])) throw new ComposeError(`service ${svcQ} refers to undefined ${kind.slice(0, -1)} ${ref.source}: invalid compose project`, where)
    }
  }
}

/** Parts of supported keys that ncx does not honour yet (listed, never dropped silently). */
function partlySupported(name: string, svc: ServiceConfig): string[] {
  const out: string[] = []
  const at = (p: string) => out.push(`services.${name}.${p}`)
  for (const k of Object.keys(svc.deploy ?? {})) {
    if (k === 'replicas' || k === 'restart_policy' || k === 'resources' || k.startsWith('x-')) continue
    if (k === 'mode' && svc.deploy?.mode === 'replicated') continue
    at(`deploy.${k}`)
  }
  const res = (svc.deploy?.resources ?? {}) as {reservations?: Record<string, unknown>}
  for (const k of Object.keys(res.reservations ?? {})) if (k !== 'memory') at(`deploy.resources.reservations.${k}`)
  const rp = svc.deploy?.restart_policy
  if (rp?.delay !== undefined) at('deploy.restart_policy.delay')
  if (rp?.window !== undefined) at('deploy.restart_policy.window')
  for (const k of Object.keys(svc.logging?.options ?? {})) if (k !== 'max-size' && k !== 'max-file') at(`logging.options.${k}`)
  for (const [net, cfg] of Object.entries(svc.networks ?? {})) {
    for (const k of Object.keys(cfg ?? {})) if (k !== 'aliases' && k !== 'ipv4_address' && !k.startsWith('x-')) at(`networks.${net}.${k}`)
  }
  ;(svc.ports ?? []).forEach((p, i) => {
    if (p.mode === 'host') at(`ports[${i}].mode`)
  })
  return out
}

/** env_file entries (lowest precedence) and bare `KEY` entries resolved, as Compose does at load time. */
function resolveEnvironment(svc: ServiceConfig, vars: Record<string, string>, name: string, file: string | undefined): void {
  const files = svc.env_file as Array<{path: string; required: boolean}> | undefined
  if (!files && !svc.environment) return
  const env: Record<string, string | null> = {}
  for (const f of files ?? []) {
    if (!existsSync(f.path)) {
      if (f.required) throw new ComposeError(`env file ${f.path} not found: stat ${f.path}: no such file or directory`, {file, path: ['services', name, 'env_file'], hint: 'create it, or mark it optional with required: false'})
      continue
    }
    for (const [k, v] of readEnvFile(f.path, (n) => vars[n])) env[k] = v ?? null
  }
  for (const [k, v] of Object.entries(svc.environment ?? {})) env[k] = v === null ? (vars[k] ?? null) : v
  delete svc.env_file
  svc.environment = env
}

/** label_file entries under the service's labels (which win), as Compose does at load time. */
function resolveLabelFiles(svc: ServiceConfig, name: string, file: string | undefined): void {
  const files = svc.label_file as string[] | undefined
  if (!files) return
  const labels: Record<string, string> = {}
  for (const f of files) {
    if (!existsSync(f)) throw new ComposeError(`label file ${f} not found: stat ${f}: no such file or directory`, {file, path: ['services', name, 'label_file'], hint: 'create it, or remove it from label_file'})
    for (const [k, v] of readEnvFile(f, () => undefined)) labels[k] = v ?? ''
  }
  delete svc.label_file
  svc.labels = {...labels, ...svc.labels}
}

/**
 * The services a service needs created first besides depends_on (compose-go's implicit
 * dependencies): network_mode, pid and ipc `service:X`, volumes_from `X` or `service:X`,
 * and links `X[:ALIAS]`. Each as [service, the key that names it].
 */
export function implicitDependencies(svc: ServiceConfig): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const key of ['network_mode', 'pid', 'ipc'] as const) {
    const v = svc[key] as string | undefined
    if (v?.startsWith('service:')) out.push([v.slice('service:'.length), key])
  }
  for (const v of (svc.volumes_from as string[] | undefined) ?? []) {
    if (!v.startsWith('container:')) out.push([v.replace(/^service:/, '').split(':')[0], 'volumes_from'])
  }
  for (const l of (svc.links as string[] | undefined) ?? []) out.push([l.split(':')[0], 'links'])
  return out
}

/**
 * Compose refuses dependency cycles before anything starts. A depth-first walk with its own
 * stack: a chain of thousands of services neither overflows the call stack nor copies the trail.
 */
function checkCycles(project: Project): void {
  const state = new Map<string, 'visiting' | 'done'>()
  const depsOf = (name: string) => {
    const svc = project.services[name]
    return [...Object.keys(svc.depends_on ?? {}), ...implicitDependencies(svc).map(([d]) => d)].filter((d) => d in project.services)
  }
  for (const root of Object.keys(project.services)) {
    if (state.has(root)) continue
    const trail: Array<{name: string; deps: string[]; next: number}> = [{name: root, deps: depsOf(root), next: 0}]
    state.set(root, 'visiting')
    while (trail.length > 0) {
      const top = trail.at(-1)!
      if (top.next === top.deps.length) {
        state.set(top.name, 'done')
        trail.pop()
        continue
      }
      const d = top.deps[top.next++]
      if (state.get(d) === 'done') continue
      if (state.get(d) === 'visiting') {
        const names = trail.map((t) => t.name)
        throw new ComposeError(`dependency cycle detected: ${[...names.slice(names.indexOf(d)), d].join(' -> ')}`, {hint: 'remove one of the depends_on entries'})
      }
      state.set(d, 'visiting')
      trail.push({name: d, deps: depsOf(d), next: 0})
    }
  }
}

export {COMPOSE_PARSE_FAILURE}
