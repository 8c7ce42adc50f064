/**
 * `ncx build` / `image build` / `buildx build`: one flag table for oclif's help and for the
 * fast path (bin/run.cjs sends builds there: a no-op rebuild should not pay for loading
 * oclif), Docker's interspersed flags (`ncx build . -t app`), and the build itself.
 */

import {BuildError, BuildOptions, SecretSource, SshSource, buildImage} from '../engine/build/builder.js'
import {parseBytes} from '../engine/build/runmount.js'
import {parseCacheSpec} from '../engine/build/cacheio.js'
import {OutputSpec, parseOutput} from '../engine/build/output.js'
import {parseBuildContextFlag} from '../engine/build/named.js'
import {Engine} from '../engine/engine.js'
import {UsageError} from '../engine/errors.js'
import {SLIRP_HOST} from '../engine/network/networks.js'
import {parseUlimit} from '../engine/spec/security.js'
import {writeFileWithMode} from '../engine/store/files.js'
import {callersUmaskValue} from '../engine/store/private.js'
import {FlagSpec, ParsedFlags, splitArgv} from './argv.js'
import {ModuleImporter, ProgressMode, progressPrinter, renderBuildError} from './build-progress.js'

export const BUILD_FLAGS: FlagSpec[] = [
  {name: 'tag', char: 't', kind: 'multiple', description: 'Name and optionally a tag (format: "name:tag")'},
  {name: 'file', char: 'f', kind: 'string', description: 'Name of the Dockerfile (default: "PATH/Dockerfile"); - reads it from stdin'},
  {name: 'build-arg', kind: 'multiple', description: 'Set build-time variables (KEY=VALUE, or KEY to take it from the environment)'},
  {name: 'target', kind: 'string', description: 'Set the target build stage to build'},
  {name: 'label', kind: 'multiple', description: 'Set metadata for an image (KEY=VALUE)'},
  {name: 'no-cache', kind: 'boolean', description: 'Do not use cache when building the image'},
  {name: 'no-cache-filter', kind: 'multiple', description: 'Do not cache specified stages'},
  {name: 'pull', kind: 'boolean', description: 'Always attempt to pull all referenced images'},
  {name: 'platform', kind: 'string', description: "Set target platform for build (this machine's only)"},
  {name: 'progress', kind: 'string', description: 'Set type of progress output (auto, plain, tty, quiet, rawjson)', options: ['auto', 'plain', 'tty', 'quiet', 'rawjson']},
  {name: 'quiet', char: 'q', kind: 'boolean', description: 'Suppress the build output and print image ID on success'},
  {name: 'iidfile', kind: 'string', description: 'Write the image ID to a file'},
  {name: 'secret', kind: 'multiple', description: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]" or "id=X,env=VAR")'},
  {name: 'ssh', kind: 'multiple', description: 'SSH agent socket or keys to expose to the build (format: "default|<id>[=<socket>]")'},
  {name: 'output', char: 'o', kind: 'multiple', description: 'Output destination (format: "type=local,dest=path"; types image, local, tar, oci, docker)'},
  {name: 'network', kind: 'string', description: 'Set the networking mode for the RUN instructions during build (default, none, host)'},
  {name: 'add-host', kind: 'multiple', description: 'Add a custom host-to-IP mapping (format: "host:ip")'},
  {name: 'shm-size', kind: 'string', description: 'Shared memory size for build containers'},
  {name: 'ulimit', kind: 'multiple', description: 'Ulimit options (NAME=SOFT[:HARD])'},
  {name: 'build-context', kind: 'multiple', description: 'Additional build contexts (format: "NAME=DIR" or "NAME=docker-image://IMAGE")'},
  {name: 'cache-from', kind: 'multiple', description: 'External cache sources (format: "type=local,src=path")'},
  {name: 'cache-to', kind: 'multiple', description: 'Cache export destinations (format: "type=local,dest=path")'},
  {name: 'allow', kind: 'multiple', description: 'Allow extra privileged entitlement (network.host)'},
  {name: 'load', kind: 'boolean', description: 'Shorthand for "--output=type=image" (the default)'},
  {name: 'push', kind: 'boolean', description: 'Not supported: build, then ncx push'},
  {name: 'rm', kind: 'boolean', description: 'Remove intermediate containers after a successful build (always)'},
  {name: 'force-rm', kind: 'boolean', description: 'Always remove intermediate containers (always)'},
  {name: 'builder', kind: 'string', description: 'Override the configured builder instance (ignored: ncx has one builder)'},
  {name: 'root', kind: 'string', aliases: ['data-root'], description: 'Directory for images and containers'},
  {name: 'debug', kind: 'boolean', description: 'Print stack traces on errors'},
]

/** Flags anywhere among the arguments, as Docker's `build` takes them. */
export function parseBuildArgv(argv: readonly string[]): {flags: ParsedFlags; context: string} {
  const flags: ParsedFlags = {}
  const positionals: string[] = []
  let rest = [...argv]
  while (rest.length > 0) {
    const r = splitArgv(rest, BUILD_FLAGS, 1)
    for (const [k, v] of Object.entries(r.flags)) flags[k] = Array.isArray(v) ? [...((flags[k] as string[] | undefined) ?? []), ...v] : v
    if (r.positionals.length === 0) break
    positionals.push(r.positionals[0])
    rest = r.positionals.slice(1)
  }
  if (positionals.length === 0) throw new UsageError('"ncx build" requires exactly 1 argument', 'ncx build [OPTIONS] PATH | -')
  if (positionals.length > 1) throw new UsageError(`"ncx build" requires exactly 1 argument, got ${positionals.length}: ${positionals.join(' ')}`, 'ncx build [OPTIONS] PATH | -')
  return {flags, context: positionals[0]}
}

/** `--build-arg K=V`, or `K` alone: the value from this environment (left out when unset), as Docker does. */
export function parseBuildArgs(list: readonly string[], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {}
  for (const a of list) {
    const i = a.indexOf('=')
    if (i === 0) throw new UsageError(`invalid build-arg ${JSON.stringify(a)}: the name is empty`)
    if (i < 0) {
      if (env[a] !== undefined) out[a] = env[a]!
    } else out[a.slice(0, i)] = a.slice(i + 1)
  }
  return out
}

/** `--secret id=X,src=FILE` / `id=X,env=VAR` / `id=X` (the variable X, else a file of that name). */
export function parseSecret(text: string, env: NodeJS.ProcessEnv = process.env): SecretSource {
  const f: Record<string, string> = {}
  for (const part of text.split(',')) {
    const i = part.indexOf('=')
    if (i < 0) throw new UsageError(`invalid secret ${JSON.stringify(text)}: ${JSON.stringify(part)} is not KEY=VALUE`, 'use --secret id=NAME,src=FILE or id=NAME,env=VAR')
    f[part.slice(0, i).toLowerCase()] = part.slice(i + 1)
  }
  const src = f.src ?? f.source
  const id = f.id ?? (src ? src.split('/').pop()! : f.env)
  if (!id) throw new UsageError(`invalid secret ${JSON.stringify(text)}: no id`, 'use --secret id=NAME,src=FILE')
  if (f.type === 'env' || (f.env !== undefined && src === undefined)) return {id, env: f.env ?? src ?? id}
  if (src !== undefined) return {id, file: src}
  if (env[id] !== undefined) return {id, env: id}
  return {id, file: id}
}

/** `--ssh default`, `--ssh default=PATH[,PATH]`, `--ssh id=PATH`. */
export function parseSsh(text: string, env: NodeJS.ProcessEnv = process.env): SshSource {
  const i = text.indexOf('=')
  const id = i < 0 ? text : text.slice(0, i)
  const paths = i < 0 ? (env.SSH_AUTH_SOCK ? [env.SSH_AUTH_SOCK] : []) : text.slice(i + 1).split(',')
  if (paths.length === 0) throw new UsageError(`--ssh ${id}: SSH_AUTH_SOCK is not set`, 'start an agent (eval $(ssh-agent)) or give a socket: --ssh default=/path/to/agent.sock')
  return {id, paths}
}

const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : [])
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/** Flags → the builder's options (progress callbacks added by the caller). */
export function buildOptionsFromFlags(f: ParsedFlags, context: string): BuildOptions {
  if (f.push) throw new UsageError('--push is not supported by ncx build', 'build with -t NAME, then ncx push NAME')
  if (/^(https?|git):\/\/|^git@/.test(context)) throw new UsageError(`remote build contexts are not supported by ncx: ${context}`, 'clone or download it, then build the directory')
  const net = str(f.network)
  const network = net === undefined || net === 'default' || net === 'bridge' ? 'default' : net
  if (network !== 'default' && network !== 'none' && network !== 'host') throw new UsageError(`network mode ${JSON.stringify(net)} not supported by ncx build`, 'use default, none or host')
  for (const a of list(f.allow)) if (a !== 'network.host') throw new UsageError(`entitlement ${JSON.stringify(a)} is not supported by ncx`, 'ncx knows network.host')
  const labels: Record<string, string> = {}
  for (const l of list(f.label)) {
    const i = l.indexOf('=')
    labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1)
  }
  const addHosts = list(f['add-host']).map((h) => {
    const m = /^([^:=]+)[:=](.+)$/.exec(h)
    if (!m) throw new UsageError(`invalid argument ${JSON.stringify(h)} for "--add-host" flag: invalid IP address`, 'use --add-host NAME:IP')
    return `${m[1]}:${m[2] === 'host-gateway' ? SLIRP_HOST : m[2]}`
  })
  const shmText = str(f['shm-size'])
  const shmSize = shmText ? parseBytes(shmText) : undefined
  if (shmText && shmSize === undefined) throw new UsageError(`invalid --shm-size ${JSON.stringify(shmText)}`, 'use a size such as 64m or 1g')
  const outputs: OutputSpec[] = list(f.output).map(parseOutput)
  return {
    context,
    ...(str(f.file) !== undefined ? {dockerfile: str(f.file)} : {}),
    tags: list(f.tag),
    buildArgs: parseBuildArgs(list(f['build-arg'])),
    ...(str(f.target) !== undefined ? {target: str(f.target)} : {}),
    labels,
    noCache: f['no-cache'] === true,
    noCacheFilter: list(f['no-cache-filter']).flatMap((x) => x.split(',')),
    pull: f.pull === true,
    ...(str(f.platform) !== undefined ? {platform: str(f.platform)} : {}),
    network,
    ...(list(f.allow).includes('network.host') ? {allowNetworkHost: true} : {}),
    addHosts,
    ...(shmSize !== undefined ? {shmSize} : {}),
    ...(list(f.ulimit).length > 0 ? {ulimits: list(f.ulimit).map(parseUlimit)} : {}),
    secrets: list(f.secret).map((s) => parseSecret(s)),
    ssh: list(f.ssh).map((s) => parseSsh(s)),
    outputs,
    ...(list(f['build-context']).length > 0 ? {namedContexts: Object.fromEntries(list(f['build-context']).map(parseBuildContextFlag))} : {}),
    cacheFrom: list(f['cache-from']).map((c) => parseCacheSpec(c, 'src')),
    cacheTo: list(f['cache-to']).map((c) => parseCacheSpec(c, 'dest')),
  }
}

/** Run `ncx build ARGV`; returns the exit code (Docker's: 1 for a failed build). */
export async function executeBuild(argv: readonly string[], warn: (m: string) => void, importer?: ModuleImporter): Promise<number> {
  const {flags, context} = parseBuildArgv(argv)
  const options = buildOptionsFromFlags(flags, context)
  const quiet = flags.quiet === true || flags.progress === 'quiet'
  const stdoutUsed = options.outputs.some((o) => 'dest' in o && o.dest === '-')
  const printer = await progressPrinter(quiet ? 'quiet' : ((str(flags.progress) ?? 'auto') as ProgressMode), process.stderr, process.env, importer)
  const engine = new Engine({dataRoot: str(flags.root) ?? process.env.NCX_ROOT, onWarning: (m) => printer.warn(m)})
  void warn
  let result
  try {
    result = await buildImage(engine, {...options, onEvent: (e) => printer.handle(e), onWarning: (m) => printer.warn(m)})
  } catch (error) {
    printer.finish()
    if (error instanceof BuildError) {
      process.stderr.write(renderBuildError(error) + '\n')
      return 1
    }
    throw error
  }
  printer.finish()
  const id = result.imageId ?? result.configDigest
  const iid = str(flags.iidfile)
  if (iid) writeFileWithMode(iid, id, 0o666 & ~callersUmaskValue()) // the user's file, with the caller's umask
  if (quiet && !stdoutUsed) process.stdout.write(`${id}\n`)
  return 0
}
