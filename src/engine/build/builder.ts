// Over 600 lines: Build (stage graph, cache, concurrency) and StageState (one stage's instructions) share private state; next split: the free helpers at the end.
/**
 * `ncx build`: a Dockerfile → its stage graph → steps on the ncx engine. Stages the target
 * needs are built (independent ones concurrently); each step that makes a layer (RUN, COPY,
 * ADD, WORKDIR) is looked up in the build cache by its key first; the image config and
 * history are BuildKit's. The builder never prints: progress goes out as events.
 */
import {createHash, randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync, rmSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {Readable} from 'node:stream'

import {loadNative} from '../../native/index.js'
import {Engine} from '../engine.js'
import {NcxError, UsageError} from '../errors.js'
import {storeOciImage} from '../image/archive.js'
import {hostArchitecture, parsePlatform} from '../image/platform.js'
import {pullImage} from '../image/pull.js'
import {familiarName, formatReference, parseReference} from '../image/reference.js'
import {ImageConfig, ImageRecord, LayerRecord} from '../image/types.js'
import {joinArgs} from '../rootless/session.js'
import {makeDirWithMode, withLockAsync, writeFileWithMode} from '../store/files.js'
import {OciMount} from '../spec/oci.js'
import type {SecurityOptions} from '../spec/security.js'
import {BuildCache, buildLayout, cacheKey} from './cache.js'
import {ContextFS, HashCache, LoadedContext, ResolvedSource, TreeEntry, hashCacheName, loadContext} from './context.js'
import {CopyOp, CopyRoot, archiveForAdd, contentDigest, destinationPath, download, isUrl, parseChmod, planItems, resolveOwner} from './copy.js'
import {CopyInstruction, Dockerfile, Instruction, RunInstruction, Stage, parseTrigger, readDockerfile} from './dockerfile/instructions.js'
import {DockerfileSyntaxError, chompHeredoc, parseHeredoc} from './dockerfile/parser.js'
import {EnvLookup, ShellLex, ShellSyntaxError, envLookup} from './dockerfile/shell.js'
import {BuildImageConfig, DEFAULT_PATH_ENV, HISTORY_COMMENT, addEnv, cloneImage, emptyImage, exposedPorts, getEnv, goList, goQuoteList, healthHistory, normalizeHistory, serializeImage} from './image.js'
import {commitLayer, discardLayerWork, lowerDirs, newLayerWork, overlayMountData, readOnlyOverlayData} from './layers.js'
import {RunFailedError, runStep} from './runstep.js'
import {RunMount, parseRunMount} from './runmount.js'
import {LayersFS, runtimeWithInput} from './stagefs.js'
import {reapBuildLeftovers, workName} from './workdirs.js'
import {CacheImporter, exportCache} from './cacheio.js'
import {OutputSpec, exportOutput} from './output.js'
import {NamedContext, loadNamedContexts} from './named.js'

export interface SecretSource {
  id: string
  /** A file holding the value (`src=`), or an environment variable (`env=`). */
  file?: string
  env?: string
}

export interface SshSource {
  id: string
  /** Agent sockets (SSH_AUTH_SOCK by default). */
  paths: string[]
}

export interface BuildOptions {
  /** The context directory, `-` (stdin), or undefined (no context). */
  context?: string
  dockerfile?: string
  dockerfileInline?: string
  stdin?: Readable
  cwd?: string
  tags: string[]
  buildArgs: Record<string, string>
  target?: string
  labels: Record<string, string>
  noCache: boolean
  noCacheFilter: string[]
  pull: boolean
  platform?: string
  network: 'default' | 'none' | 'host'
  /** `--allow network.host`: RUN --network=host may use the host's network. */
  allowNetworkHost?: boolean
  addHosts: string[]
  shmSize?: number
  ulimits?: SecurityOptions['ulimits']
  secrets: SecretSource[]
  ssh: SshSource[]
  outputs: OutputSpec[]
  /** `--build-context NAME=DIR|docker-image://REF` (compose additional_contexts). */
  namedContexts?: Record<string, string>
  cacheFrom: Array<{type: string; src: string}>
  cacheTo: Array<{type: string; dest: string}>
  onEvent?: (e: BuildEvent) => void
  onWarning?: (m: string) => void
}

export type BuildEvent =
  | {type: 'step'; id: number; name: string}
  | {type: 'log'; id: number; text: string; stream: 1 | 2}
  | {type: 'status'; id: number; text: string}
  | {type: 'cached'; id: number}
  | {type: 'done'; id: number}
  | {type: 'error'; id: number; message: string}

export interface BuildResult {
  imageId?: string
  image?: ImageRecord
  names: string[]
  /** The target's config digest (also for -o local/tar, where no image is stored). */
  configDigest: string
}

/** A build failure with what Docker shows: the step, the tail of its output, the Dockerfile lines. */
export class BuildError extends NcxError {
  constructor(
    message: string,
    readonly details: {step?: string; log?: string[]; file?: string; line?: number; endLine?: number; source?: string[]} = {},
  ) {
    super(message, {exitCode: 1})
    this.name = 'BuildError'
  }
}

interface StageResult {
  image: BuildImageConfig
  layers: LayerRecord[]
  key: string
  /** ARGs in scope (inherited by stages built FROM this one). */
  buildArgs: Array<{key: string; value?: string}>
  /** The stage's ONBUILD instructions (run by stages FROM it). */
  onbuild: string[]
}

const PROXY_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'ftp_proxy', 'no_proxy', 'all_proxy']

/** The build of one Dockerfile. */
class Build {
  private nextId: number
  private readonly cache: BuildCache
  private readonly lex: ShellLex
  private readonly globalArgs: Map<string, string>
  private readonly results = new Map<number, Promise<StageResult>>()
  private readonly emptyDir: string
  private readonly hashes?: HashCache
  private readonly ctxFs?: ContextFS
  private readonly multiStage: boolean
  private readonly importer?: CacheImporter
  private contextVertex?: number
  private readonly tmpDir: string
  private readonly named: Map<string, NamedContext>
  /** File digests of the named directories' trees, one cache per directory. */
  private readonly namedHashes = new Map<string, HashCache>()

  constructor(
    private readonly engine: Engine,
    private readonly o: BuildOptions,
    private readonly df: Dockerfile,
    private readonly ctx: LoadedContext,
    firstId: number,
  ) {
    this.nextId = firstId
    this.cache = new BuildCache(engine)
    this.lex = new ShellLex(df.escapeToken)
    this.emptyDir = join(buildLayout.root(engine.paths), 'empty')
    makeDirWithMode(this.emptyDir, 0o755)
    this.tmpDir = join(buildLayout.root(engine.paths), 'tmp', workName())
    mkdirSync(this.tmpDir, {recursive: true, mode: 0o700})
    if (ctx.dir && ctx.fs) {
      this.ctxFs = ctx.fs
      this.hashes = new HashCache(join(buildLayout.hashes(engine.paths), `${hashCacheName(ctx.dir)}.json`))
    }
    this.multiStage = df.stages.length > 1
    this.named = loadNamedContexts(o.namedContexts ?? {}, o.cwd ?? process.cwd())
    this.globalArgs = this.metaArgs()
    if (o.cacheFrom.length > 0) this.importer = new CacheImporter(engine, o.cacheFrom.map((c) => c.src))
  }

  private emit(e: BuildEvent): void {
    this.o.onEvent?.(e)
  }

  private vertex(name: string): number {
    const id = this.nextId++
    this.emit({type: 'step', id, name})
    return id
  }

  private warn(m: string): void {
    this.o.onWarning?.(m)
  }

  cleanup(): void {
    try {
      rmSync(this.tmpDir, {recursive: true, force: true})
    } catch {
      // files of other ids (written through a rw bind mount): removed inside the namespace
      this.engine.snapshots.removeTree([this.tmpDir])
    }
    this.hashes?.save()
    for (const h of this.namedHashes.values()) h.save()
  }

  /** Predefined platform ARGs, --build-arg overrides, then the ARGs before the first FROM. */
  private metaArgs(): Map<string, string> {
    const p = parsePlatform(this.o.platform)
    const target = this.o.target ?? this.df.stages[this.df.stages.length - 1]?.name ?? ''
    const plat = `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`
    const defaults: Array<[string, string]> = [
      ['BUILDPLATFORM', plat],
      ['BUILDOS', p.os],
      ['BUILDOSVERSION', ''],
      ['BUILDARCH', p.architecture],
      ['BUILDVARIANT', p.variant ?? ''],
      ['TARGETPLATFORM', plat],
      ['TARGETOS', p.os],
      ['TARGETOSVERSION', ''],
      ['TARGETARCH', p.architecture],
      ['TARGETVARIANT', p.variant ?? ''],
      ['TARGETSTAGE', target || 'default'],
    ]
    const args = new Map<string, string>()
    for (const [k, v] of defaults) args.set(k, this.o.buildArgs[k] ?? v)
    for (const cmd of this.df.metaArgs) {
      for (const a of cmd.args) {
        let value: string | undefined = this.o.buildArgs[a.key]
        if (value === undefined && a.value !== undefined) value = this.expand(a.value, (k) => args.get(k), cmd.line)
        if (value !== undefined) args.set(a.key, value)
      }
    }
    return args
  }

  private expand(word: string, env: EnvLookup, line: number, lex = this.lex): string {
    try {
      return lex.processWord(word, env)
    } catch (error) {
      if (error instanceof ShellSyntaxError) throw this.located(error.message, line)
      throw error
    }
  }

  /** An error at a Dockerfile line, with the lines Docker shows. */
  located(message: string, line: number, endLine = line, extra: Partial<BuildError['details']> = {}): BuildError {
    return new BuildError(message, {file: this.ctx.dockerfileName, line, endLine, source: this.ctx.dockerfile.split('\n'), ...extra})
  }

  /** Index of a stage by name (case-insensitive), among stages defined before `before`. */
  private stageIndex(name: string, before = this.df.stages.length): number {
    const lower = name.toLowerCase()
    for (let i = 0; i < before; i++) if (this.df.stages[i].name === lower) return i
    return -1
  }

  private displayName(i: number): string {
    if (!this.multiStage) return ''
    return this.df.stages[i].name || `stage-${i}`
  }

  async run(): Promise<BuildResult> {
    const stages = this.df.stages
    if (stages.length === 0) throw new BuildError('dockerfile contains no stages to build')
    let target = stages.length - 1
    if (this.o.target !== undefined) {
      target = this.stageIndex(this.o.target)
      if (target < 0) {
        const names = stages.map((s) => s.name).filter(Boolean)
        const hint = names.length > 0 ? ` (stages: ${names.join(', ')})` : ''
        throw new BuildError(`failed to solve: target stage ${JSON.stringify(this.o.target)} could not be found${hint}`)
      }
    }
    // Start every stage the target needs at once: independent ones build concurrently.
    for (const i of this.neededStages(target)) void this.stage(i).catch(() => undefined)
    const result = await this.stage(target)
    return this.finish(result)
  }

  /** Stages reachable from `target` through FROM and COPY --from / RUN --mount from=. */
  private neededStages(target: number): number[] {
    const seen = new Set<number>()
    const visit = (i: number) => {
      if (seen.has(i)) return
      seen.add(i)
      const s = this.df.stages[i]
      // (a named build context replaces the stage of its name)
      const stageOf = (name: string, before: number) => (this.named.has(name.toLowerCase()) ? -1 : this.stageIndex(name, before))
      const base = stageOf(this.expand(s.baseName, (k) => this.globalArgs.get(k), s.line), i)
      if (base >= 0) visit(base)
      for (const c of s.commands) {
        const ref = c.kind === 'copy' ? c.from : undefined
        if (ref !== undefined) {
          const j = /^\d+$/.test(ref) ? Number(ref) : stageOf(ref, i)
          if (j >= 0 && j < i) visit(j)
        }
        if (c.kind === 'run') {
          for (const m of c.mounts) {
            const from = /(?:^|,)from=([^,]+)/.exec(m)?.[1]
            if (from !== undefined) {
              const j = stageOf(from, i)
              if (j >= 0) visit(j)
            }
          }
        }
      }
    }
    visit(target)
    return [...seen].sort((a, b) => a - b)
  }

  private stage(i: number): Promise<StageResult> {
    let p = this.results.get(i)
    if (!p) {
      p = this.buildStage(i)
      this.results.set(i, p)
    }
    return p
  }

  private readonly imageCache = new Map<string, Promise<{record: ImageRecord; config: BuildImageConfig}>>()

  /** An image by reference: local, else (or with --pull) pulled; once per build for each name. */
  private resolveImage(name: string, line: number): Promise<{record: ImageRecord; config: BuildImageConfig}> {
    let p = this.imageCache.get(name)
    if (!p) {
      p = this.loadImage(name, line)
      this.imageCache.set(name, p)
    }
    return p.then(({record, config}) => ({record, config: cloneImage(config)}))
  }

  private async loadImage(name: string, line: number): Promise<{record: ImageRecord; config: BuildImageConfig}> {
    let ref
    try {
      ref = parseReference(name)
    } catch (error) {
      throw this.located(`failed to parse stage name ${JSON.stringify(name)}: ${(error as Error).message}`, line)
    }
    const full = formatReference(ref)
    const id = this.vertex(`[internal] load metadata for ${full}`)
    let record = this.o.pull ? undefined : this.engine.images.find(full)
    if (!record) {
      try {
        const pulled = await pullImage(this.engine, full, {...(this.o.platform ? {platform: this.o.platform} : {}), onEvent: (e) => {
          if (e.type === 'layer' && e.status !== 'Downloading') this.emit({type: 'status', id, text: `${e.id}: ${e.status}`})
        }})
        record = pulled.image
      } catch (error) {
        const local = this.engine.images.find(full)
        if (this.o.pull && local) {
          this.warn(`pull of ${familiarName(ref)} failed (${(error as Error).message}); using the local image`)
          record = local
        } else {
          this.emit({type: 'error', id, message: (error as Error).message})
          throw this.located(`failed to resolve source metadata for ${full}: ${(error as Error).message}`, line)
        }
      }
    }
    this.emit({type: 'done', id})
    const config = this.engine.content.readJson<BuildImageConfig>(record.id, 'image config')
    const want = parsePlatform(this.o.platform)
    if (config.architecture && config.architecture !== want.architecture) {
      throw this.located(`image ${familiarName(ref)} is for ${config.os ?? 'linux'}/${config.architecture}, not ${want.os}/${want.architecture}: ncx builds for this machine's platform only`, line)
    }
    return {record, config: {...config, config: config.config ?? {}, history: config.history ?? [], rootfs: config.rootfs ?? {type: 'layers', diff_ids: []}}}
  }

  private async buildStage(i: number): Promise<StageResult> {
    const stage = this.df.stages[i]
    const baseName = this.expand(stage.baseName, (k) => this.globalArgs.get(k), stage.line)
    if (baseName === '') throw this.located(`base name (${stage.baseName}) should not be blank`, stage.line)
    if (stage.platform !== undefined) {
      const p = this.expand(stage.platform, (k) => this.globalArgs.get(k), stage.line)
      const want = parsePlatform(p)
      if (want.architecture !== hostArchitecture() || want.os !== 'linux') throw this.located(`FROM --platform=${p}: ncx builds for this machine's platform (linux/${hostArchitecture()}) only; there is no emulation`, stage.line)
    }
    const named = this.named.get(baseName.toLowerCase())
    if (named?.kind === 'dir') throw this.located(`FROM ${baseName}: the build context ${named.name} is a directory; ncx takes a directory context with COPY --from=${named.name} or RUN --mount=from=${named.name}`, stage.line)
    const baseImage = named?.kind === 'image' ? named.ref : baseName
    const baseStage = named ? -1 : this.stageIndex(baseName, i)
    const st = new StageState(this, i, stage)
    let triggers: string[] = []
    if (baseStage >= 0) {
      const base = await this.stage(baseStage)
      st.image = cloneImage(base.image)
      st.layers = [...base.layers]
      st.key = base.key
      st.buildArgs = [...base.buildArgs]
      triggers = [...base.onbuild]
    } else if (baseImage.toLowerCase() === 'scratch') {
      st.image = emptyImage()
      st.key = cacheKey(['scratch'])
    } else {
      const {record, config} = await this.resolveImage(baseImage, stage.line)
      st.image = config
      delete st.image.created
      st.layers = record.layers.map((l) => ({...l}))
      st.key = cacheKey(['image', record.id])
      st.fromName = formatReference(parseReference(baseImage))
      triggers = config.config.OnBuild ?? []
    }
    st.image.config.OnBuild = null
    // PATH is always set (BuildKit adds it when the base has none).
    const env = st.image.config.Env ?? []
    if (getEnv(env, 'PATH') === undefined) st.image.config.Env = [...env, DEFAULT_PATH_ENV]
    st.env = [...(st.image.config.Env ?? [])]
    const commands: Instruction[] = []
    for (const t of triggers) {
      try {
        commands.push(parseTrigger(t, stage.line))
      } catch (error) {
        throw this.located(`ONBUILD trigger ${JSON.stringify(t)}: ${(error as Error).message}`, stage.line)
      }
    }
    commands.push(...stage.commands)
    st.total = (baseStage < 0 && baseImage.toLowerCase() !== 'scratch' ? 1 : 0) + commands.filter((c) => ['add', 'copy', 'run', 'workdir'].includes(c.kind)).length
    if (st.fromName) {
      const id = this.vertex(st.prefix(`FROM ${st.fromName}`))
      this.emit({type: 'done', id})
    }
    for (const c of commands) await st.dispatch(c)
    return {image: st.image, layers: st.layers, key: st.key, buildArgs: st.buildArgs, onbuild: stage.commands.filter((c): c is Extract<Instruction, {kind: 'onbuild'}> => c.kind === 'onbuild').map((c) => c.expression)}
  }

  // ---- shared by stages ---------------------------------------------------------------

  get engineRef(): Engine {
    return this.engine
  }
  get options(): BuildOptions {
    return this.o
  }
  get lexer(): ShellLex {
    return this.lex
  }
  get globals(): Map<string, string> {
    return this.globalArgs
  }
  get context(): LoadedContext {
    return this.ctx
  }
  get empty(): string {
    return this.emptyDir
  }
  get tmp(): string {
    return this.tmpDir
  }
  get stageCount(): number {
    return this.df.stages.length
  }
  newVertex(name: string): number {
    return this.vertex(name)
  }
  event(e: BuildEvent): void {
    this.emit(e)
  }
  warning(m: string): void {
    this.warn(m)
  }
  stageName(i: number): string {
    return this.displayName(i)
  }
  findStage(name: string, before: number): number {
    return this.stageIndex(name, before)
  }
  stageResult(i: number): Promise<StageResult> {
    return this.stage(i)
  }
  image(name: string, line: number): Promise<{record: ImageRecord; config: BuildImageConfig}> {
    return this.resolveImage(name, line)
  }

  /** The context, announced once (BuildKit's "load build context"). */
  contextFS(line: number): ContextFS {
    if (!this.ctxFs) throw this.located('this build has no context: COPY and ADD can read only from stages and images (--from) or URLs', line)
    if (this.contextVertex === undefined) {
      this.contextVertex = this.vertex('[internal] load build context')
      this.emit({type: 'done', id: this.contextVertex})
    }
    return this.ctxFs
  }

  hashCache(): HashCache {
    return this.hashes!
  }

  /** A named build context (`--build-context`), by the name a Dockerfile uses. */
  namedContext(name: string): NamedContext | undefined {
    return this.named.get(name.toLowerCase())
  }

  /** A named directory's file system (announced as BuildKit's "load build context NAME"), with its digest cache. */
  namedFS(c: Extract<NamedContext, {kind: 'dir'}>): {fs: ContextFS; hashes: HashCache} {
    let hashes = this.namedHashes.get(c.dir)
    if (!hashes) {
      hashes = new HashCache(join(buildLayout.hashes(this.engine.paths), `${hashCacheName(c.dir)}.json`))
      this.namedHashes.set(c.dir, hashes)
      this.emit({type: 'done', id: this.vertex(`[context ${c.name}] load from client`)})
    }
    return {fs: c.fs, hashes}
  }

  /** Look a step up, else run it under the step's lock (parallel builds share the result). */
  async cached(key: string, description: string, id: number, noCache: boolean, make: () => Promise<LayerRecord>): Promise<{layer: LayerRecord; created: string}> {
    const hit = noCache ? undefined : this.cache.lookup(key) ?? (await this.importer?.lookup(key, this.cache))
    if (hit) {
      this.emit({type: 'cached', id})
      return {layer: hit.layer, created: hit.created}
    }
    return withLockAsync(BuildCache.stepLock(this.engine.paths, key), async () => {
      const again = noCache ? undefined : this.cache.lookup(key)
      if (again) {
        this.emit({type: 'cached', id})
        return {layer: again.layer, created: again.created}
      }
      const layer = await make()
      const created = new Date().toISOString()
      this.cache.store(key, description, layer, created)
      this.emit({type: 'done', id})
      return {layer, created}
    })
  }

  private async finish(result: StageResult): Promise<BuildResult> {
    const img = cloneImage(result.image)
    if (Object.keys(this.o.labels).length > 0) img.config.Labels = {...(img.config.Labels ?? {}), ...this.o.labels}
    img.rootfs = {type: 'layers', diff_ids: result.layers.map((l) => l.diffId)}
    const {history, created} = normalizeHistory(img.history)
    img.history = history
    img.created = created ?? new Date().toISOString()
    const bytes = serializeImage(img)
    const configDigest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
    const outputs = this.o.outputs.length > 0 ? this.o.outputs : [{type: 'image' as const}]
    let stored: ImageRecord | undefined
    const names: string[] = []
    for (const out of outputs) {
      if (out.type === 'image' || out.type === 'docker' || out.type === 'oci') {
        if (!stored) {
          const id = this.vertex('exporting to image')
          this.emit({type: 'status', id, text: 'exporting layers done'})
          const tags = out.type === 'image' && out.name ? [...this.o.tags, ...out.name.split(',')] : this.o.tags
          const full = tags.map((t) => formatReference(parseReference(t)))
          // A rebuild that made the very same image (every step cached) and names it as before
          // leaves the store as it is.
          const same = this.engine.images.list().find((i) => i.id === configDigest)
          stored = same && this.engine.content.has(same.manifestDigest) && full.every((n) => same.names.includes(n)) ? same : storeOciImage(this.engine, img as unknown as ImageConfig, bytes, result.layers.map((l) => ({mediaType: l.mediaType, digest: l.digest, size: l.size})), tags)
          this.emit({type: 'status', id, text: `writing image ${stored.id} done`})
          for (const t of tags) {
            const full = formatReference(parseReference(t))
            names.push(full)
            this.emit({type: 'status', id, text: `naming to ${full} done`})
          }
          this.emit({type: 'done', id})
        }
      }
      if (out.type !== 'image') {
        const id = this.vertex(`exporting to ${out.type === 'local' ? 'client directory' : out.type === 'tar' ? 'client tarball' : `${out.type} image format`}`)
        await exportOutput(this.engine, out, {layers: result.layers, image: stored, emptyDir: this.emptyDir, tmpDir: this.tmpDir})
        this.emit({type: 'done', id})
      }
    }
    for (const to of this.o.cacheTo) {
      const id = this.vertex(`exporting cache to ${to.dest}`)
      exportCache(this.engine, to.dest, this.exportedKeys)
      this.emit({type: 'done', id})
    }
    return {...(stored ? {imageId: stored.id, image: stored} : {}), names, configDigest}
  }

  /** Keys of the steps of this build (for --cache-to). */
  readonly exportedKeys: string[] = []
}

/** One stage being dispatched: its image config, layers, environment and step counter. */
class StageState {
  image: BuildImageConfig = emptyImage()
  layers: LayerRecord[] = []
  key = ''
  env: string[] = []
  buildArgs: Array<{key: string; value?: string}> = []
  total = 0
  index = 0
  fromName?: string
  private cmdSet = false
  private readonly noCache: boolean

  constructor(
    private readonly b: Build,
    private readonly i: number,
    stage: Stage,
  ) {
    const o = b.options
    this.noCache = o.noCache || o.noCacheFilter.some((f) => f.toLowerCase() === (stage.name || `stage-${i}`) || f === String(i))
  }

  /** `[stage 2/5] ` before a step's name, as BuildKit numbers them. */
  prefix(text: string, onbuild = false): string {
    if (this.total === 0) return text
    this.index++
    const width = String(this.total).length
    const name = this.b.stageName(this.i)
    return `[${name ? `${name} ` : ''}${String(this.index).padStart(width, ' ')}/${this.total}] ${onbuild ? 'ONBUILD ' : ''}${text}`
  }

  private lookup(): EnvLookup {
    return envLookup(this.env)
  }

  private expand(word: string, line: number): string {
    try {
      return this.b.lexer.processWord(word, this.lookup())
    } catch (error) {
      if (error instanceof ShellSyntaxError) throw this.b.located(error.message, line)
      throw error
    }
  }

  private history(createdBy: string, emptyLayer: boolean, created?: string): void {
    this.image.history.push({...(created ? {created} : {}), created_by: createdBy, comment: HISTORY_COMMENT, ...(emptyLayer ? {empty_layer: true} : {})})
  }

  private addLayer(layer: LayerRecord, createdBy: string, created: string): void {
    this.layers.push(layer)
    this.history(createdBy, false, created)
  }

  /** The step's display name: the instruction with variables expanded (unset ones kept). */
  private shown(c: Instruction, masked: string[] = []): string {
    let text = c.code
    try {
      text = this.b.lexer.with({rawQuotes: true, skipUnsetEnv: true}).processWord(c.code, (k) => (masked.includes(k) ? '****' : getEnv(this.env, k)))
    } catch {
      text = c.code
    }
    const sp = text.search(/\s/)
    return sp < 0 ? text.toUpperCase() : text.slice(0, sp).toUpperCase() + text.slice(sp)
  }

  async dispatch(c: Instruction): Promise<void> {
    const line = c.line
    try {
      await this.dispatchOne(c)
    } catch (error) {
      if (error instanceof BuildError || error instanceof DockerfileSyntaxError) throw error
      if (error instanceof RunFailedError) throw error
      if (error instanceof NcxError) throw this.b.located(error.message, line, c.endLine, {})
      throw this.b.located((error as Error).message, line, c.endLine)
    }
  }

  private async dispatchOne(c: Instruction): Promise<void> {
    const img = this.image.config
    switch (c.kind) {
      case 'env': {
        const parts: string[] = []
        for (const p of c.pairs) {
          const key = this.expand(p.key, c.line)
          const value = this.expand(p.value, c.line)
          this.env = addEnv(this.env, key, value)
          img.Env = addEnv(img.Env ?? [], key, value)
          parts.push(`${key}=${value}`)
        }
        this.history(`ENV ${parts.join(' ')}`, true)
        return
      }
      case 'label': {
        const parts: string[] = []
        img.Labels = {...(img.Labels ?? {})}
        for (const p of c.pairs) {
          const key = this.expand(p.key, c.line)
          const value = this.expand(p.value, c.line)
          img.Labels[key] = value
          parts.push(`${key}=${value}`)
        }
        this.history(`LABEL ${parts.join(' ')}`, true)
        return
      }
      case 'maintainer':
        this.image.author = c.maintainer
        this.history(`MAINTAINER ${c.maintainer}`, true)
        return
      case 'user': {
        const user = this.expand(c.user, c.line)
        img.User = user
        this.history(`USER ${user}`, true)
        return
      }
      case 'volume': {
        const vols = c.volumes.map((v) => this.expand(v, c.line))
        if (vols.some((v) => v === '')) throw new UsageError('VOLUME specified can not be an empty string')
        img.Volumes = {...(img.Volumes ?? {})}
        for (const v of vols) img.Volumes[v] = {}
        this.history(`VOLUME ${goList(vols)}`, true)
        return
      }
      case 'stopsignal': {
        const sig = this.expand(c.signal, c.line)
        if (!/^(SIG)?[A-Z0-9+-]+$/i.test(sig) || (/^\d+$/.test(sig) && Number(sig) === 0)) throw new UsageError(`Invalid signal: ${sig}`)
        img.StopSignal = sig
        this.history(`STOPSIGNAL ${sig}`, true)
        return
      }
      case 'expose': {
        const words: string[] = []
        for (const p of c.ports) words.push(...this.b.lexer.processWords(p, this.lookup()))
        const ports = exposedPorts(words)
        img.ExposedPorts = {...(img.ExposedPorts ?? {})}
        for (const p of ports) img.ExposedPorts[p] = {}
        this.history(`EXPOSE ${goList(ports)}`, true)
        return
      }
      case 'shell':
        img.Shell = c.shell
        this.history(`SHELL ${goList(c.shell)}`, true)
        return
      case 'cmd': {
        const args = c.prependShell ? this.withShell(c.cmdLine) : c.cmdLine
        img.Cmd = args
        img.ArgsEscaped = true
        this.cmdSet = true
        this.history(`CMD ${goQuoteList(args)}`, true)
        return
      }
      case 'entrypoint': {
        const args = c.prependShell ? this.withShell(c.cmdLine) : c.cmdLine
        img.Entrypoint = args
        if (!this.cmdSet) img.Cmd = null
        this.history(`ENTRYPOINT ${goQuoteList(args)}`, true)
        return
      }
      case 'healthcheck':
        img.Healthcheck = c.health
        this.history(healthHistory(c.health), true)
        return
      case 'onbuild':
        img.OnBuild = [...(img.OnBuild ?? []), c.expression]
        return
      case 'arg':
        return this.dispatchArg(c)
      case 'workdir':
        return this.dispatchWorkdir(c)
      case 'run':
        return this.dispatchRun(c)
      case 'copy':
      case 'add':
        return this.dispatchCopy(c)
    }
  }

  private withShell(args: string[]): string[] {
    const shell = this.image.config.Shell && this.image.config.Shell.length > 0 ? this.image.config.Shell : ['/bin/sh', '-c']
    return [...shell, args.join(' ')]
  }

  private dispatchArg(c: Extract<Instruction, {kind: 'arg'}>): void {
    const parts: string[] = []
    for (const a of c.args) {
      const given = this.b.options.buildArgs[a.key]
      let value: string | undefined
      if (given !== undefined) value = given
      else if (a.value !== undefined) value = this.expand(a.value, c.line)
      else value = this.b.globals.get(a.key)
      if (value !== undefined) this.env = addEnv(this.env, a.key, value)
      this.buildArgs = [...this.buildArgs.filter((x) => x.key !== a.key), {key: a.key, ...(value !== undefined ? {value} : {})}]
      parts.push(value !== undefined ? `${a.key}=${value}` : a.key)
    }
    this.history(`ARG ${parts.join(' ')}`, true)
  }

  private async dispatchWorkdir(c: Extract<Instruction, {kind: 'workdir'}>): Promise<void> {
    const path = this.expand(c.path, c.line)
    const current = this.image.config.WorkingDir || '/'
    const wd = path.startsWith('/') ? normalizePosix(path) : normalizePosix(`${current}/${path}`)
    this.image.config.WorkingDir = wd
    if (wd === '/') {
      this.history(`WORKDIR ${wd}`, true)
      return
    }
    const user = this.image.config.User ?? ''
    const id = this.b.newVertex(this.prefix(`WORKDIR ${wd}`, c.onbuild))
    const engine = this.b.engineRef
    const owner = user ? resolveOwner(user, lowerDirs(engine, this.layers)) : {uid: 0, gid: 0}
    const key = cacheKey(['workdir', this.key, wd, owner])
    const {layer, created} = await this.b.cached(key, `WORKDIR ${wd}`, id, this.noCache, () =>
      this.copyLayer([{op: 'mkdir', dest: wd, owner: {u: owner.uid, g: owner.gid, m: 0o755}}], [], {uid: 0, gid: 0, mode: 0o755}, false),
    )
    this.key = key
    this.b.exportedKeys.push(key)
    this.addLayer(layer, `WORKDIR ${wd}`, created)
  }

  /** Run copy operations in an overlay over this stage's layers (or none with --link) and commit the layer. */
  private async copyLayer(ops: Array<CopyOp | {op: 'mkdir'; dest: string; owner: {u: number; g: number; m: number}}>, sources: CopyRoot[], mkdir: {uid: number; gid: number; mode: number}, link: boolean): Promise<LayerRecord> {
    const engine = this.b.engineRef
    const work = newLayerWork(engine)
    const mnt = join(buildLayout.root(engine.paths), 'mnt', workName())
    try {
      mkdirSync(join(mnt, 'dest'), {recursive: true})
      const lowers = link ? [] : lowerDirs(engine, this.layers)
      const dest: CopyRoot = lowers.length === 0 ? {spec: `dir:${work.upper}`} : {spec: `overlay:${overlayMountData(engine, lowers, work, this.b.empty)}`, mountpoint: join(mnt, 'dest')}
      const roots = sources.map((s, i) => {
        if (s.mountpoint === '') {
          mkdirSync(join(mnt, `s${i}`), {recursive: true})
          return {...s, mountpoint: join(mnt, `s${i}`)}
        }
        return s
      })
      const plan = {dest, sources: roots, mkdir: {u: mkdir.uid, g: mkdir.gid, m: mkdir.mode}, ops}
      await runtimeWithInput(engine, ['build-copy', ...joinArgs(engine.session())], JSON.stringify(plan))
    } catch (error) {
      discardLayerWork(engine, work)
      throw error
    } finally {
      rmSync(mnt, {recursive: true, force: true})
    }
    return commitLayer(engine, work, {stubs: [], lowers: []})
  }

  private async dispatchRun(c: RunInstruction): Promise<void> {
    const engine = this.b.engineRef
    const o = this.b.options
    let argv = c.cmdLine
    let suffix = ''
    const mounts: OciMount[] = []
    const stubs: string[] = []
    const keyMounts: unknown[] = []
    const extraEnv: string[] = []
    const masked: string[] = []
    const cleanups: Array<() => void> = []
    /** Work a step needs only when it runs (not when it is cached). */
    const prepares: Array<() => Promise<void>> = []
    const locks: Array<() => void> = []
    if (c.files.length > 0) {
      if (argv.length !== 1 || !c.prependShell) throw new UsageError(`parsing produced an invalid run command: ${goList(argv)}`)
      const doc = parseHeredoc(argv[0])
      if (doc) {
        const f = c.files[0]
        const data = f.chomp ? chompHeredoc(f.data) : f.data
        if (data.startsWith('#!')) {
          const scripts = join(this.b.tmp, `pipes-${randomBytes(4).toString('hex')}`)
          // (modes given whatever ncx's umask: a RUN as another user of the image executes it)
          makeDirWithMode(scripts, 0o755)
          writeFileWithMode(join(scripts, f.name), data, 0o755)
          mounts.push({destination: '/dev/pipes', type: 'bind', source: scripts, options: ['rbind', 'ro']})
          argv = [`/dev/pipes/${f.name}`]
        } else argv = [data]
        const lines = f.data.split('\n').filter((l) => l.trim() !== '')
        suffix = ` (${lines.length > 0 ? lines[0].trim() : ''}${lines.length > 1 ? '...' : ''})`
        keyMounts.push(['heredoc', data])
      } else {
        let text = argv[0]
        for (const f of c.files) text += `\n${f.data}${f.name}`
        argv = [text]
      }
    }
    if (c.prependShell) argv = this.withShell(argv)
    if (c.network === 'host' && o.network !== 'host' && !o.allowNetworkHost) throw new NcxError('failed to solve: granting entitlement network.host is not allowed by build daemon configuration', {exitCode: 1, hint: 'build with --allow network.host to let RUN --network=host use the host network'})
    const network = c.network === 'default' ? o.network : c.network
    let sshIndex = 0
    try {
      for (const raw of c.mounts) {
        const m = parseRunMount(raw, (w) => this.expand(w, c.line))
        const target = m.target.startsWith('/') ? normalizePosix(m.target) : normalizePosix(`${this.image.config.WorkingDir || '/'}/${m.target}`)
        switch (m.type) {
          case 'cache': {
            if (m.from !== undefined) throw new UsageError('RUN --mount=type=cache,from=… is not supported by ncx')
            const id = m.id ?? target
            const {dir, unlock} = await this.cacheMount(id, m.sharing ?? 'shared', m.uid ?? 0, m.gid ?? 0, m.mode ?? 0o755)
            locks.push(unlock)
            mounts.push({destination: target, type: 'bind', source: dir, options: ['rbind', ...(m.readonly ? ['ro'] : [])]})
            keyMounts.push(['cache', target, id, m.sharing ?? 'shared', m.readonly ?? false])
            break
          }
          case 'tmpfs':
            mounts.push({destination: target, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', ...(m.size ? [`size=${m.size}`] : [])]})
            keyMounts.push(['tmpfs', target, m.size ?? 0])
            break
          case 'bind': {
            const src = await this.bindSource(m, c.line)
            const rw = m.readonly === false
            if (src.copy && src.prepare) {
              // A copy made for this step when it runs; it takes the writes itself (thrown away after the step).
              const {copy, prepare} = src
              const mount: OciMount = {destination: target, type: 'bind', source: copy, options: ['rbind', ...(rw ? [] : ['ro'])]}
              mounts.push(mount)
              prepares.push(async () => {
                mount.source = await prepare()
              })
              cleanups.push(() => engine.snapshots.removeTree([copy]))
            } else if (rw) {
              // Writes go to a throw-away upper directory, as in BuildKit.
              const up = join(this.b.tmp, `bind-${randomBytes(4).toString('hex')}`)
              makeDirWithMode(join(up, 'u'), 0o755)
              makeDirWithMode(join(up, 'w'), 0o700)
              const lower = src.overlay ? src.overlay : src.path
              mounts.push({destination: target, type: 'overlay', source: 'overlay', options: [`lowerdir=${lower}`, `upperdir=${join(up, 'u')}`, `workdir=${join(up, 'w')}`, ...(engine.session().rootless ? ['userxattr'] : [])]})
              cleanups.push(() => engine.snapshots.removeTree([up]))
            } else if (src.overlay) mounts.push({destination: target, type: 'overlay', source: 'overlay', options: [`lowerdir=${src.overlay}`, ...(engine.session().rootless ? ['userxattr'] : []), 'ro']})
            else mounts.push({destination: target, type: 'bind', source: src.path, options: ['rbind', 'ro']})
            keyMounts.push(['bind', target, src.key, rw])
            break
          }
          case 'secret': {
            const id = m.id ?? (m.target ? m.target.split('/').pop()! : '')
            const secret = o.secrets.find((s) => s.id === id)
            const value = secret ? readSecret(secret) : undefined
            if (value === undefined) {
              if (m.required) throw new NcxError(`secret ${id}: not found`, {exitCode: 1, hint: `give it with --secret id=${id},src=FILE`})
              break
            }
            if (m.env !== undefined) {
              extraEnv.push(`${m.env}=${value.toString('utf8')}`)
              masked.push(m.env)
              keyMounts.push(['secret-env', id, m.env])
              if (!m.target) break
            }
            const dest = m.target ? target : `/run/secrets/${id}`
            const file = secretFile(engine, value, m.mode ?? 0o400)
            cleanups.push(() => rmSync(file, {force: true}))
            if ((m.uid ?? 0) !== 0 || (m.gid ?? 0) !== 0) {
              // Owned by another id of the namespace: chowned inside it.
              const base = dirname(file)
              await runtimeWithInput(engine, ['build-copy', ...joinArgs(engine.session())], JSON.stringify({dest: {spec: `dir:${base}`}, sources: [], mkdir: {u: 0, g: 0, m: 0o755}, ops: [{op: 'chown', dest: `/${basename(file)}`, owner: {u: m.uid ?? 0, g: m.gid ?? 0, m: m.mode ?? 0o400}}]}))
            }
            mounts.push({destination: dest, type: 'bind', source: file, options: ['rbind', 'ro']})
            stubs.push(dest)
            keyMounts.push(['secret', dest, id, m.mode ?? 0o400, m.uid ?? 0, m.gid ?? 0])
            break
          }
          case 'ssh': {
            const id = m.id ?? 'default'
            const source = o.ssh.find((s) => s.id === id)
            if (!source || source.paths.length === 0) {
              if (m.required) throw new NcxError(`no SSH key ${JSON.stringify(id)} forwarded from the client`, {exitCode: 1, hint: 'build with --ssh default (SSH_AUTH_SOCK)'})
              break
            }
            const dest = m.target ? target : `/run/buildkit/ssh_agent.${sshIndex++}`
            mounts.push({destination: dest, type: 'bind', source: source.paths[0], options: ['rbind']})
            stubs.push(dest)
            if (!extraEnv.some((e) => e.startsWith('SSH_AUTH_SOCK='))) extraEnv.push(`SSH_AUTH_SOCK=${dest}`)
            keyMounts.push(['ssh', dest, id])
            break
          }
        }
        stubs.push(target)
      }
      // Declared ARGs and proxy settings are in the environment; proxies stay out of the key and history.
      const proxies = PROXY_ARGS.filter((k) => o.buildArgs[k] !== undefined && !this.buildArgs.some((a) => a.key === k)).map((k) => `${k}=${o.buildArgs[k]}`)
      const env = [...this.env, ...extraEnv.filter((e) => !this.env.some((x) => x.split('=')[0] === e.split('=')[0]))]
      const runEnv = [...env, ...proxies]
      const user = this.image.config.User ?? ''
      const cwd = this.image.config.WorkingDir || '/'
      const name = this.prefix(this.shown(c, masked) + suffix, c.onbuild)
      const id = this.b.newVertex(name)
      const keyEnv = env.filter((e) => !masked.includes(e.split('=')[0]))
      const key = cacheKey(['run', this.key, argv, keyEnv, cwd, user, network, keyMounts, o.addHosts, o.shmSize ?? 0, o.ulimits ?? []])
      const started = Date.now()
      const tail: string[] = []
      let partial = ''
      const {layer, created} = await this.b.cached(key, `RUN ${argv.join(' ')}`, id, this.noCache, async () => {
        for (const p of prepares) await p()
        const work = newLayerWork(engine)
        try {
          return await runStep(
            engine,
            {
              argv,
              env: runEnv,
              cwd,
              user,
              network,
              layers: this.layers,
              mounts,
              stubs,
              extraHosts: o.addHosts,
              ...(o.shmSize ? {shmSize: o.shmSize} : {}),
              ...(o.ulimits ? {ulimits: o.ulimits} : {}),
              work,
              emptyDir: this.b.empty,
              onOutput: (chunk, stream) => {
                const text = partial + chunk.toString('utf8')
                const lines = text.split('\n')
                partial = lines.pop() ?? ''
                const t = ((Date.now() - started) / 1000).toFixed(3)
                for (const l of lines) {
                  tail.push(`${t} ${l}`)
                  if (tail.length > 10) tail.shift()
                  this.b.event({type: 'log', id, text: l, stream})
                }
              },
            },
            (m) => this.b.warning(m),
          )
        } catch (error) {
          if (partial) {
            tail.push(`${((Date.now() - started) / 1000).toFixed(3)} ${partial}`)
            this.b.event({type: 'log', id, text: partial, stream: 1})
          }
          if (error instanceof RunFailedError) {
            this.b.event({type: 'error', id, message: error.message})
            throw this.b.located(error.message, c.line, c.endLine, {step: name, log: tail.slice(-10)})
          }
          throw error
        }
      })
      this.key = key
      this.b.exportedKeys.push(key)
      this.addLayer(layer, `RUN ${runCommandString(argv, this.buildArgs, envLookup(this.env))} # buildkit`, created)
    } finally {
      for (const u of locks) u()
      for (const f of cleanups) {
        try {
          f()
        } catch {
          // best effort
        }
      }
    }
  }

  /** A cache mount's directory, held as `sharing` asks while the step runs. */
  private async cacheMount(id: string, sharing: string, uid: number, gid: number, mode: number): Promise<{dir: string; unlock: () => void}> {
    const engine = this.b.engineRef
    const native = loadNative()
    for (let n = 0; ; n++) {
      const name = n === 0 ? id : `${id}#${n}`
      const {dir, created} = new BuildCache(engine).mountDir(name)
      if (created && (uid !== 0 || gid !== 0 || mode !== 0o755)) {
        await runtimeWithInput(engine, ['build-copy', ...joinArgs(engine.session())], JSON.stringify({dest: {spec: `dir:${dir}`}, sources: [], mkdir: {u: 0, g: 0, m: 0o755}, ops: [{op: 'chown', dest: '/', owner: {u: uid, g: gid, m: mode}}]}))
      }
      const lockPath = `${dir}.lock`
      if (sharing === 'shared') return {dir, unlock: () => {}}
      if (sharing === 'locked') {
        let fd = native.tryLockFile(lockPath, true)
        for (let wait = 10; fd === null; wait = Math.min(wait * 2, 200)) {
          await new Promise((r) => setTimeout(r, wait))
          fd = native.tryLockFile(lockPath, true)
        }
        const held = fd
        return {dir, unlock: () => native.unlockFile(held)}
      }
      // private: a directory no other step is using
      const fd = native.tryLockFile(lockPath, true)
      if (fd !== null) return {dir, unlock: () => native.unlockFile(fd)}
    }
  }

  /** A bind mount's source: the context (default) or a stage/image, with its cache identity. */
  private async bindSource(m: RunMount, line: number): Promise<{path: string; overlay?: string; key: unknown; copy?: string; prepare?: () => Promise<string>}> {
    const source = m.source ?? '/'
    const named = m.from !== undefined ? this.b.namedContext(m.from) : undefined
    if (m.from === undefined || named?.kind === 'dir') {
      const {fs, hashes} = named?.kind === 'dir' ? this.b.namedFS(named) : {fs: this.b.contextFS(line), hashes: this.b.hashCache()}
      const rel = fs.resolveLinks(source.replace(/^\/+/, ''))
      const tree = fs.tree(rel)
      if (tree.length === 0) throw new NcxError(`failed to compute cache key: "/${rel}": not found`, {exitCode: 1})
      const digest = contentDigest([{arg: source, trees: [{name: rel, path: `/${rel}`, entries: tree}]}], fs.root, hashes)
      return {path: rel === '' ? fs.root : join(fs.root, rel), key: [named ? `context ${named.name}` : 'context', rel, digest]}
    }
    const src = await this.sourceLayers(m.from, line)
    const engine = this.b.engineRef
    const lowers = lowerDirs(engine, src.layers)
    const sub = normalizePosix(source)
    if (sub === '/') return {path: '', overlay: (lowers.length >= 2 ? lowers : [...lowers, this.b.empty, this.b.empty].slice(0, 2)).join(':'), key: ['layers', src.key, source]}
    // A path below the stage's root: what it names (symlinks resolved inside the stage, as
    // COPY --from reads it) is copied, owners and modes kept, into a directory of this build,
    // which is then bound; only when the step runs (a cached step reads nothing). Overlay
    // cannot bind a subdirectory of a merged view it has not mounted.
    const copy = join(this.b.tmp, `bindsrc-${randomBytes(4).toString('hex')}`)
    const prepare = async (): Promise<string> => {
      const root: CopyRoot = lowers.length === 0 ? {spec: `dir:${this.b.empty}`} : lowers.length === 1 ? {spec: `dir:${engine.snapshots.dir(src.layers[0].diffId)}`} : {spec: `overlay:${readOnlyOverlayData(engine, lowers, this.b.empty)}`, mountpoint: ''}
      const [resolved] = await new LayersFS(engine, root).resolveSources([sub])
      if (resolved.missing || resolved.trees.length === 0) throw this.b.located(`failed to compute cache key: "${sub}": not found in ${m.from}`, line)
      makeDirWithMode(copy, 0o755)
      const mnt = join(buildLayout.root(engine.paths), 'mnt', workName())
      try {
        if (root.mountpoint === '') mkdirSync(mnt, {recursive: true})
        const ops = planItems([resolved], 0, {dest: '/', exclude: [], resetOwners: false})
        await runtimeWithInput(engine, ['build-copy', ...joinArgs(engine.session())], JSON.stringify({dest: {spec: `dir:${copy}`}, sources: [root.mountpoint === '' ? {...root, mountpoint: mnt} : root], mkdir: {u: 0, g: 0, m: 0o755}, ops}))
      } finally {
        rmSync(mnt, {recursive: true, force: true})
      }
      const top = resolved.trees[0]
      return top.entries[0].kind === 'd' ? copy : join(copy, basename(top.name))
    }
    return {path: copy, key: ['layers', src.key, sub], copy, prepare}
  }

  /** The layers of a stage (by name or index) or an image, for --from. */
  private async sourceLayers(from: string, line: number): Promise<{layers: LayerRecord[]; key: string}> {
    const named = this.b.namedContext(from)
    if (named?.kind === 'image') {
      const {record} = await this.b.image(named.ref, line)
      return {layers: record.layers, key: cacheKey(['image', record.id])}
    }
    if (named) throw new UsageError(`the build context ${named.name} is a directory, not a stage or an image`)
    let idx = -1
    if (/^\d+$/.test(from)) {
      idx = Number(from)
      if (idx >= this.b.stageCount) throw new UsageError(`invalid stage index ${idx}`)
    } else idx = this.b.findStage(from, this.b.stageCount)
    if (idx >= 0) {
      if (idx >= this.i) throw new UsageError(`cannot copy from stage ${JSON.stringify(from)}, it needs to be defined before current stage ${JSON.stringify(this.b.stageName(this.i) || `stage-${this.i}`)}`)
      const r = await this.b.stageResult(idx)
      return {layers: r.layers, key: r.key}
    }
    const {record} = await this.b.image(from, line)
    return {layers: record.layers, key: cacheKey(['image', record.id])}
  }

  private async dispatchCopy(c: CopyInstruction): Promise<void> {
    const engine = this.b.engineRef
    const isAdd = c.kind === 'add'
    const cmd = isAdd ? 'ADD' : 'COPY'
    if (c.from !== undefined) {
      const res = this.b.lexer.processWord(c.from, () => undefined)
      if (res !== c.from) throw new UsageError('variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround')
    }
    if (c.parents) throw new UsageError(`${cmd} --parents is not supported by ncx`)
    const chownSpec = c.chown !== undefined ? this.expand(c.chown, c.line) : undefined
    const chmodSpec = c.chmod !== undefined ? this.expand(c.chmod, c.line) : undefined
    const checksum = c.checksum !== undefined ? this.expand(c.checksum, c.line) : undefined
    const sources = c.sources.map((s) => this.expand(s, c.line))
    const destArg = this.expand(c.dest, c.line)
    const dest = destinationPath(destArg, this.image.config.WorkingDir || '/')
    const chmod = chmodSpec ? parseChmod(chmodSpec) : undefined
    const chown = chownSpec ? resolveOwner(chownSpec, lowerDirs(engine, this.layers)) : undefined
    if (checksum !== undefined) {
      if (!isAdd) throw new UsageError("checksum can't be specified for COPY")
      if (sources.length !== 1) throw new UsageError("checksum can't be specified for multiple sources")
      if (!isUrl(sources[0])) throw new UsageError('checksum requires HTTP(S) or Git sources')
    }
    const history = `${cmd}${chownSpec ? ` --chown=${chownSpec}` : ''}${chmodSpec ? ` --chmod=${chmodSpec}` : ''} ${[...sources, ...c.contents.map((x) => `<<${x.path}`)].join(' ')} ${c.dest} # buildkit`
    let display = c.code
    try {
      display = this.b.lexer.processWord(c.code, this.lookup())
    } catch {
      display = c.code
    }
    const sp = display.search(/\s/)
    display = sp < 0 ? display.toUpperCase() : display.slice(0, sp).toUpperCase() + display.slice(sp)
    const name = this.prefix(display, c.onbuild)
    const mkdirOwner = {uid: chown?.uid ?? 0, gid: chown?.gid ?? 0, mode: chmod && 'octal' in chmod ? chmod.octal : 0o755}
    const roots: CopyRoot[] = []
    const ops: CopyOp[] = []
    const keyParts: unknown[] = []
    const settings = {dest, ...(chown ? {chown} : {}), ...(chmod ? {chmod} : {}), exclude: c.exclude.map((e) => this.expand(e, c.line)), resetOwners: true}
    // Sources from a stage or an image: keyed by that stage's key, listed by the runtime only
    // when the step runs (a cached step reads nothing).
    let plan: (() => Promise<void>) | undefined
    const named = c.from !== undefined ? this.b.namedContext(c.from) : undefined
    const namedDir = named?.kind === 'dir' ? named : undefined
    if (c.from !== undefined && !namedDir) {
      const src = await this.sourceLayers(c.from, c.line)
      keyParts.push(['from', src.key, sources])
      plan = async () => {
        const lowers = lowerDirs(engine, src.layers)
        const root: CopyRoot = lowers.length === 0 ? {spec: `dir:${this.b.empty}`} : lowers.length === 1 ? {spec: `dir:${engine.snapshots.dir(src.layers[0].diffId)}`} : {spec: `overlay:${readOnlyOverlayData(engine, lowers, this.b.empty)}`, mountpoint: ''}
        const resolved = await new LayersFS(engine, root).resolveSources(sources)
        checkMissing(resolved, false, c.line, this.b)
        roots.push(root)
        ops.unshift(...planItems(resolved, 0, {...settings, resetOwners: false}))
      }
    } else {
      const local = sources.filter((s) => !isUrl(s))
      if (local.length > 0 || c.contents.length === 0) {
        if (local.length > 0) {
          // The main context, or a named directory (--from=NAME): files owned by 0:0 either way.
          const {fs, hashes} = namedDir ? this.b.namedFS(namedDir) : {fs: this.b.contextFS(c.line), hashes: this.b.hashCache()}
          const resolved = await fs.resolveSources(local)
          checkMissing(resolved, true, c.line, this.b, namedDir)
          roots.push({spec: `host:${fs.root}`})
          const ctxIndex = 0
          for (const r of resolved) {
            // ADD unpacks local archives (a file named directly or by a wildcard).
            const plain: ResolvedSource = {...r, trees: []}
            for (const t of r.trees) {
              const archive = isAdd && c.unpack !== false && t.entries[0].kind === 'f' ? archiveForAdd(join(fs.root, t.path), this.b.tmp) : undefined
              if (archive) ops.push({op: 'untar', dest, file: archive, chown: chown ? [chown.uid, chown.gid] : null})
              else plain.trees.push(t)
            }
            ops.push(...planItems([plain], ctxIndex, settings))
          }
          keyParts.push([namedDir ? `context ${namedDir.name}` : 'context', contentDigest(resolved, fs.root, hashes)])
        }
      }
      for (const url of sources.filter(isUrl)) {
        if (!isAdd) throw new UsageError("source can't be a URL for COPY")
        if (/\.git(#|$)/.test(url)) throw new UsageError('ADD of git repositories is not supported by ncx')
        const dir = join(this.b.tmp, 'downloads')
        const d = await download(url, dir, checksum)
        const rootIndex = roots.length
        roots.push({spec: `host:${dir}`})
        const entry: TreeEntry = {path: '', kind: 'f', mode: 0o600, uid: 0, gid: 0, size: 0, mtime: [d.mtime ?? Math.floor(Date.now() / 1000), 0]}
        const tree = {name: d.name, path: `/${d.path.slice(dir.length + 1)}`, entries: [entry]}
        ops.push(...planItems([{arg: url, trees: [tree]}], rootIndex, settings))
        keyParts.push(['url', url, d.digest])
      }
    }
    // Heredocs: files with the given content (mode 0644 unless --chmod).
    for (const x of c.contents) {
      const data = x.expand ? this.b.lexer.with({skipProcessQuotes: true}).processWord(x.data, this.lookup()) : x.data
      const mode = chmod ? ('octal' in chmod ? chmod.octal : 0o644) : 0o644
      const now = Math.floor(Date.now() / 1000)
      ops.push({op: 'copy', dest, item: {source: 0, base: x.path, top: {p: '', k: 'data', data, m: mode, u: chown?.uid ?? 0, g: chown?.gid ?? 0, mt: [now, 0]}, children: []}})
      keyParts.push(['heredoc', x.path, createHash('sha256').update(data).digest('hex')])
    }
    const id = this.b.newVertex(name)
    const link = c.link && !chmodSpec
    const key = cacheKey(['copy', link ? 'link' : this.key, isAdd, dest, chown ?? null, chmodSpec ?? null, settings.exclude, c.unpack ?? null, keyParts])
    const {layer, created} = await this.b.cached(key, `${cmd} ${sources.join(' ')} ${c.dest}`, id, this.noCache, async () => {
      await plan?.()
      return this.copyLayer(ops, roots, mkdirOwner, link)
    })
    this.key = link ? cacheKey(['linked', this.key, key]) : key
    this.b.exportedKeys.push(key)
    this.addLayer(layer, history, created)
  }
}

/** `RUN |2 A=1 B=2 /bin/sh -c …`: the stage's ARGs in front, as BuildKit writes history. */
function runCommandString(argv: string[], buildArgs: Array<{key: string; value?: string}>, env: EnvLookup): string {
  const seen = new Map<string, number>()
  const list: string[] = []
  for (const a of buildArgs) {
    const v = env(a.key) ?? a.value ?? ''
    const i = seen.get(a.key)
    if (i !== undefined) list[i] = `${a.key}=${v}`
    else {
      seen.set(a.key, list.length)
      list.push(`${a.key}=${v}`)
    }
  }
  return [...(list.length > 0 ? [`|${list.length}`, ...list] : []), ...argv].join(' ')
}

function normalizePosix(p: string): string {
  const parts: string[] = []
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue
    if (c === '..') parts.pop()
    else parts.push(c)
  }
  return `/${parts.join('/')}`
}

/** A missing literal source: Docker's "not found", saying when .dockerignore excluded it. */
function checkMissing(resolved: ResolvedSource[], context: boolean, line: number, b: Build, named?: Extract<NamedContext, {kind: 'dir'}>): void {
  for (const r of resolved) {
    if (!r.missing) continue
    const ignoreFile = named ? named.ignoreFile : b.context.ignoreFile
    const why = r.missing.excluded ? ` (it is excluded by ${ignoreFile ? ignoreFile.split('/').pop() : '.dockerignore'})` : ''
    const where = !context ? ' in the source stage' : named ? ` in the build context ${named.name}` : ''
    throw b.located(`failed to compute cache key: failed to calculate checksum of ref: ${JSON.stringify(r.missing.path)}: not found${where}${why}`, line)
  }
}

function readSecret(s: SecretSource): Buffer | undefined {
  if (s.env !== undefined) {
    const v = process.env[s.env]
    return v === undefined ? undefined : Buffer.from(v)
  }
  if (s.file !== undefined) {
    try {
      return readFileSync(s.file)
    } catch {
      return undefined
    }
  }
  return undefined
}

/** A secret's value in a file of the runtime directory (tmpfs where XDG_RUNTIME_DIR is), never in the data root. */
function secretFile(engine: Engine, value: Buffer, mode: number): string {
  const dir = join(engine.paths.run, 'build-secrets')
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const file = join(dir, workName())
  writeFileWithMode(file, value, mode & 0o777)
  return file
}

/** Build an image from a Dockerfile (see BuildOptions). */
export async function buildImage(engine: Engine, options: BuildOptions): Promise<BuildResult> {
  if (options.platform) {
    const p = parsePlatform(options.platform)
    if (p.os !== 'linux' || p.architecture !== hostArchitecture()) {
      throw new UsageError(`cannot build for ${options.platform}: ncx builds for this machine's platform (linux/${hostArchitecture()}) only; there is no emulation`)
    }
  }
  if (engine.storageDriver().name !== 'overlay') throw new NcxError('ncx build needs the overlay storage driver', {hint: engine.storageDriver().reason})
  const tmpRoot = join(buildLayout.root(engine.paths), 'tmp')
  mkdirSync(tmpRoot, {recursive: true, mode: 0o700})
  reapBuildLeftovers(engine, (m) => options.onWarning?.(m))
  const emit = options.onEvent ?? (() => {})
  const defId = 1
  const ctx = await loadContext({context: options.context, dockerfile: options.dockerfile, dockerfileInline: options.dockerfileInline, stdin: options.stdin, cwd: options.cwd, tmpDir: tmpRoot})
  try {
    emit({type: 'step', id: defId, name: `[internal] load build definition from ${ctx.dockerfileName}`})
    emit({type: 'status', id: defId, text: `transferring dockerfile: ${Buffer.byteLength(ctx.dockerfile)}B done`})
    if (ctx.dockerfile.length === 0) throw new BuildError('failed to solve: the Dockerfile cannot be empty')
    let df: Dockerfile
    try {
      df = readDockerfile(ctx.dockerfile)
    } catch (error) {
      if (error instanceof DockerfileSyntaxError) {
        emit({type: 'error', id: defId, message: error.message})
        throw new BuildError(`failed to solve: ${error.message}`, {file: ctx.dockerfileName, line: error.line, endLine: error.endLine, source: ctx.dockerfile.split('\n')})
      }
      throw error
    }
    emit({type: 'done', id: defId})
    const syntax = df.directives.find((d) => d.name === 'syntax')
    if (syntax) options.onWarning?.(`# syntax=${syntax.value}: ncx reads Dockerfiles with its own frontend (BuildKit's stable syntax); the named frontend is not fetched`)
    for (const w of df.warnings) options.onWarning?.(`${w.message} (line ${w.line}): empty continuation lines will become errors in a future release`)
    const b = new Build(engine, options, df, ctx, defId + 1)
    try {
      return await engine.adding(() => b.run())
    } finally {
      b.cleanup()
    }
  } finally {
    if (ctx.temporary) rmSync(ctx.temporary, {recursive: true, force: true})
  }
}
