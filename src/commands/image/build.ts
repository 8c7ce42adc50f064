import {writeFileSync} from 'node:fs'

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {ProgressMode, progressPrinter, renderBuildError} from '../../cli/build-progress.js'
import {BuildError, BuildOptions, SecretSource, SshSource, buildImage, parseBytes} from '../../engine/build/builder.js'
import {parseCacheSpec} from '../../engine/build/cacheio.js'
import {OutputSpec, parseOutput} from '../../engine/build/output.js'
import {UsageError} from '../../engine/errors.js'
import {SLIRP_HOST} from '../../engine/network/networks.js'
import {parseUlimit} from '../../engine/spec/security.js'

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

export default class Build extends BaseCommand<typeof Build> {
  static summary = 'Build an image from a Dockerfile'
  static description =
    "Builds rootless on the ncx engine with ncx's own Dockerfile frontend (BuildKit's syntax and semantics): stages the target needs build in parallel, every step is cached by its inputs. PATH is a directory, or - for a tar archive (or a Dockerfile) on stdin. See docs/build.md."
  static aliases = ['build', 'buildx:build', 'builder:build']
  static args = {context: Args.string({description: 'PATH | -', required: true})}
  static examples = [
    'ncx build -t app:dev .',
    'ncx build -t app -f docker/Dockerfile.prod --target runtime --build-arg NODE_ENV=production .',
    "echo 'FROM busybox' | ncx build -t tiny -",
    'ncx build -o type=local,dest=out .',
    'ncx build --secret id=npmrc,src=$HOME/.npmrc -t app .',
  ]
  static flags = {
    tag: Flags.string({char: 't', description: 'Name and optionally a tag (format: "name:tag")', multiple: true, multipleNonGreedy: true}),
    file: Flags.string({char: 'f', description: 'Name of the Dockerfile (default: "PATH/Dockerfile"); - reads it from stdin'}),
    'build-arg': Flags.string({description: 'Set build-time variables (KEY=VALUE, or KEY to take it from the environment)', multiple: true, multipleNonGreedy: true}),
    target: Flags.string({description: 'Set the target build stage to build'}),
    label: Flags.string({description: 'Set metadata for an image (KEY=VALUE)', multiple: true, multipleNonGreedy: true}),
    'no-cache': Flags.boolean({description: 'Do not use cache when building the image'}),
    'no-cache-filter': Flags.string({description: 'Do not cache specified stages', multiple: true, multipleNonGreedy: true}),
    pull: Flags.boolean({description: 'Always attempt to pull all referenced images'}),
    platform: Flags.string({description: "Set target platform for build (this machine's only)"}),
    progress: Flags.string({description: 'Set type of progress output (auto, plain, tty, quiet, rawjson)', options: ['auto', 'plain', 'tty', 'quiet', 'rawjson'], default: 'auto'}),
    quiet: Flags.boolean({char: 'q', description: 'Suppress the build output and print image ID on success'}),
    iidfile: Flags.string({description: 'Write the image ID to a file'}),
    secret: Flags.string({description: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]" or "id=X,env=VAR")', multiple: true, multipleNonGreedy: true}),
    ssh: Flags.string({description: 'SSH agent socket or keys to expose to the build (format: "default|<id>[=<socket>]")', multiple: true, multipleNonGreedy: true}),
    output: Flags.string({char: 'o', description: 'Output destination (format: "type=local,dest=path"; types image, local, tar, oci, docker)', multiple: true, multipleNonGreedy: true}),
    network: Flags.string({description: 'Set the networking mode for the RUN instructions during build (default, none, host)'}),
    'add-host': Flags.string({description: 'Add a custom host-to-IP mapping (format: "host:ip")', multiple: true, multipleNonGreedy: true}),
    'shm-size': Flags.string({description: 'Shared memory size for build containers'}),
    ulimit: Flags.string({description: 'Ulimit options (NAME=SOFT[:HARD])', multiple: true, multipleNonGreedy: true}),
    'cache-from': Flags.string({description: 'External cache sources (format: "type=local,src=path")', multiple: true, multipleNonGreedy: true}),
    'cache-to': Flags.string({description: 'Cache export destinations (format: "type=local,dest=path")', multiple: true, multipleNonGreedy: true}),
    allow: Flags.string({description: 'Allow extra privileged entitlement (network.host)', multiple: true, multipleNonGreedy: true}),
    load: Flags.boolean({description: 'Shorthand for "--output=type=image" (the default)'}),
    push: Flags.boolean({description: 'Not supported: build, then ncx push'}),
    rm: Flags.boolean({description: 'Remove intermediate containers after a successful build (always)', allowNo: true, default: true}),
    'force-rm': Flags.boolean({description: 'Always remove intermediate containers (always)'}),
    builder: Flags.string({description: 'Override the configured builder instance (ignored: ncx has one builder)'}),
  }

  async run(): Promise<void> {
    const f = this.flags
    if (f.push) throw new UsageError('--push is not supported by ncx build', 'build with -t NAME, then ncx push NAME')
    const context = this.args.context
    if (/^(https?|git):\/\/|^git@/.test(context)) throw new UsageError(`remote build contexts are not supported by ncx: ${context}`, 'clone or download it, then build the directory')
    const network = f.network === undefined || f.network === 'default' || f.network === 'bridge' ? 'default' : f.network
    if (network !== 'default' && network !== 'none' && network !== 'host') throw new UsageError(`network mode ${JSON.stringify(f.network)} not supported by ncx build`, 'use default, none or host')
    if (network === 'host' || (f.allow ?? []).includes('network.host')) {
      // --allow network.host lets RUN --network=host in; the default stays.
    }
    for (const a of f.allow ?? []) if (a !== 'network.host') throw new UsageError(`entitlement ${JSON.stringify(a)} is not supported by ncx`, 'ncx knows network.host')
    const labels: Record<string, string> = {}
    for (const l of f.label ?? []) {
      const i = l.indexOf('=')
      labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1)
    }
    const outputs: OutputSpec[] = (f.output ?? []).map(parseOutput)
    const addHosts = (f['add-host'] ?? []).map((h) => {
      const m = /^([^:=]+)[:=](.+)$/.exec(h)
      if (!m) throw new UsageError(`invalid argument ${JSON.stringify(h)} for "--add-host" flag: invalid IP address`, 'use --add-host NAME:IP')
      return `${m[1]}:${m[2] === 'host-gateway' ? SLIRP_HOST : m[2]}`
    })
    const shmSize = f['shm-size'] ? parseBytes(f['shm-size']) : undefined
    if (f['shm-size'] && shmSize === undefined) throw new UsageError(`invalid --shm-size ${JSON.stringify(f['shm-size'])}`, 'use a size such as 64m or 1g')
    const quiet = f.quiet || f.progress === 'quiet'
    const stdoutUsed = outputs.some((o) => 'dest' in o && o.dest === '-')
    const printer = progressPrinter(quiet ? 'quiet' : (f.progress as ProgressMode), process.stderr)
    const options: BuildOptions = {
      context,
      ...(f.file !== undefined ? {dockerfile: f.file} : {}),
      tags: f.tag ?? [],
      buildArgs: parseBuildArgs(f['build-arg'] ?? []),
      ...(f.target !== undefined ? {target: f.target} : {}),
      labels,
      noCache: f['no-cache'],
      noCacheFilter: (f['no-cache-filter'] ?? []).flatMap((x) => x.split(',')),
      pull: f.pull,
      ...(f.platform !== undefined ? {platform: f.platform} : {}),
      network: network === 'default' && (f.allow ?? []).includes('network.host') ? 'default' : network,
      ...((f.allow ?? []).includes('network.host') ? {allowNetworkHost: true} : {}),
      addHosts,
      ...(shmSize !== undefined ? {shmSize} : {}),
      ...(f.ulimit ? {ulimits: f.ulimit.map(parseUlimit)} : {}),
      secrets: (f.secret ?? []).map((s) => parseSecret(s)),
      ssh: (f.ssh ?? []).map((s) => parseSsh(s)),
      outputs,
      cacheFrom: (f['cache-from'] ?? []).map((c) => parseCacheSpec(c, 'src')),
      cacheTo: (f['cache-to'] ?? []).map((c) => parseCacheSpec(c, 'dest')),
      onEvent: (e) => printer.handle(e),
      onWarning: (m) => printer.warn(m),
    }
    let result
    try {
      result = await buildImage(this.engine(), options)
    } catch (error) {
      printer.finish()
      if (error instanceof BuildError) {
        process.stderr.write(renderBuildError(error) + '\n')
        return this.exit(1)
      }
      throw error
    }
    printer.finish()
    const id = result.imageId ?? result.configDigest
    if (f.iidfile) writeFileSync(f.iidfile, id)
    if (quiet && !stdoutUsed) process.stdout.write(`${id}\n`)
  }
}
