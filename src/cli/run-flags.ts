import {Engine} from '../engine/engine.js'
import {loadNative} from '../native/index.js'
import {UsageError} from '../engine/errors.js'
import {runContainer} from '../engine/container/run.js'
import {parseEnvFile, resolveEnvEntry} from '../engine/spec/env.js'
import {ContainerOptions} from '../engine/spec/generate.js'
import {PullPolicy, ensureImage} from './pull-policy.js'
import {FlagSpec, splitArgv} from './argv.js'

/** Flags every command takes. */
export const GLOBAL_FLAGS: FlagSpec[] = [
  {name: 'root', aliases: ['data-root'], kind: 'string', description: 'Directory for images and containers (env NCX_ROOT)'},
  {name: 'debug', kind: 'boolean', description: 'Print stack traces and runtime details on errors'},
]

export const RUN_FLAGS: FlagSpec[] = [
  {name: 'rm', kind: 'boolean', description: 'Automatically remove the container when it exits'},
  {name: 'interactive', char: 'i', kind: 'boolean', description: 'Keep STDIN open'},
  {name: 'tty', char: 't', kind: 'boolean', description: 'Allocate a pseudo-TTY'},
  {name: 'detach', char: 'd', kind: 'boolean', description: 'Run container in background and print container ID'},
  {name: 'env', char: 'e', kind: 'multiple', description: 'Set environment variables (KEY=VALUE, or KEY to copy the host value)'},
  {name: 'env-file', kind: 'multiple', description: 'Read in a file of environment variables'},
  {name: 'workdir', char: 'w', kind: 'string', description: 'Working directory inside the container'},
  {name: 'user', char: 'u', kind: 'string', description: 'Username or UID (format: <name|uid>[:<group|gid>])'},
  {name: 'entrypoint', kind: 'string', description: 'Overwrite the default ENTRYPOINT of the image'},
  {name: 'hostname', char: 'h', kind: 'string', description: 'Container host name'},
  {name: 'name', kind: 'string', description: 'Assign a name to the container'},
  {name: 'network', aliases: ['net'], kind: 'string', description: 'Connect a container to a network (only "none" for now)'},
  {name: 'read-only', kind: 'boolean', description: "Mount the container's root filesystem as read only"},
  {name: 'pull', kind: 'string', options: ['missing', 'never', 'always'], description: 'Pull image before running'},
  ...GLOBAL_FLAGS,
]

export interface RunInvocation {
  options: ContainerOptions
  /** `--pull`: when to pull the image before running. */
  pull: PullPolicy
  detach: boolean
  root?: string
  debug: boolean
}

/** `run [OPTIONS] IMAGE [COMMAND] [ARG...]` → validated options. */
export function parseRunArgv(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): RunInvocation {
  const {flags, positionals} = splitArgv(argv, RUN_FLAGS)
  const [image, ...command] = positionals
  if (!image) throw new UsageError('"ncx run" requires at least 1 argument', 'usage: ncx run [OPTIONS] IMAGE [COMMAND] [ARG...]')
  const str = (k: string) => flags[k] as string | undefined
  const bool = (k: string) => flags[k] === true
  const list = (k: string) => (flags[k] as string[] | undefined) ?? []
  const workdir = str('workdir')
  if (workdir !== undefined && !workdir.startsWith('/')) throw new UsageError(`the working directory '${workdir}' is invalid, it needs to be an absolute path`)
  const network = str('network') ?? 'none'
  if (network !== 'none') {
    throw new UsageError(`network mode ${JSON.stringify(network)} is not available yet`, 'use --network none (bridge, host and slirp4netns networking come with the networking work)')
  }
  const interactive = bool('interactive')
  const tty = bool('tty')
  if (interactive && tty && !loadNative().isatty(0)) throw new UsageError('the input device is not a TTY', 'drop -t, or run from a terminal')
  const envFromFiles = list('env-file').flatMap((f) => parseEnvFile(f, env))
  const envFlags = list('env').map((e) => resolveEnvEntry(e, env)).filter((e): e is string => e !== undefined)
  const options: ContainerOptions = {
    image,
    command,
    entrypoint: str('entrypoint'),
    env: [...envFromFiles, ...envFlags],
    workdir,
    user: str('user'),
    hostname: str('hostname'),
    name: str('name'),
    rm: bool('rm'),
    interactive,
    tty,
    network,
    readOnly: bool('read-only'),
  }
  return {options, pull: (str('pull') ?? 'missing') as PullPolicy, detach: bool('detach'), root: str('root'), debug: bool('debug')}
}

/** Run a container in the foreground; resolves to the exit code ncx should exit with. */
export async function executeRun(argv: readonly string[], warn: (text: string) => void): Promise<number> {
  const inv = parseRunArgv(argv)
  if (inv.detach) throw new UsageError('detached containers (-d) are not available yet', 'run in the foreground for now')
  const engine = new Engine({dataRoot: inv.root, onWarning: warn})
  await ensureImage(engine, inv.options.image, inv.pull, (line) => process.stderr.write(line))
  const result = await runContainer(engine, inv.options)
  return result.exitCode
}
