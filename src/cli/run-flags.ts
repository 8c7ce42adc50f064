import {Engine} from '../engine/engine.js'
import {storePaths} from '../engine/store/paths.js'
import {loadNative} from '../native/index.js'
import {NcxError, UsageError} from '../engine/errors.js'
import {ExecOptions, execInContainer} from '../engine/container/exec.js'
import {checkRestartPolicy, runDetached} from '../engine/container/lifecycle.js'
import {logSizeBytes} from '../engine/container/log-file.js'
import {DEFAULT_DETACH_KEYS, parseDetachKeys, runAttached} from '../engine/container/attach.js'
import {createContainer, runContainer} from '../engine/container/run.js'
import {signalNumber} from '../engine/container/signals.js'
import {parseEnvFile, resolveEnvEntry} from '../engine/spec/env.js'
import {check, checkDnsOption, checkDnsSearch, checkHostname, checkIpAddress, checkNetworkAlias, goDurationNs, parseExtraHost} from '../engine/spec/values.js'
import {ContainerOptions, HealthOptions} from '../engine/spec/generate.js'
import {PullPolicy, ensureImage} from './pull-policy.js'
import {DEFAULT_NETWORK, SLIRP_HOST, ipToInt, parsePublishRange} from '../engine/network/networks.js'
import {checkMac, isBridged, isSlirpMode, slirpOptions} from '../engine/network/attach.js'
import {FlagSpec, ParsedFlags, splitArgv} from './argv.js'
import {VOLUME_FLAGS, parseVolumeFlags} from './volume-flags.js'
import {RESOURCE_FLAGS, parseCgroupFlags, parseResourceFlags} from './resource-flags.js'
import {SECURITY_FLAGS, parseSecurityFlags} from './security-flags.js'
import {CONTAINER_FLAGS, parseContainerFlags} from './container-flags.js'
import {COMPAT_FLAGS, parseCompatFlags} from './compat-flags.js'
import {CliError} from './errors.js'
import {checkArgCount} from './usage.js'

/** The one-line descriptions Docker's usage messages end with (also the commands' summaries). */
export const RUN_SUMMARY = 'Create and run a new container from an image'
export const CREATE_SUMMARY = 'Create a new container'
export const EXEC_SUMMARY = 'Execute a command in a running container'

/** Flags every command takes. */
export const GLOBAL_FLAGS: FlagSpec[] = [
  {name: 'root', aliases: ['data-root'], kind: 'string', description: 'Directory for images and containers (env NCX_ROOT)'},
  {name: 'debug', kind: 'boolean', description: 'Print stack traces and runtime details on errors'},
]

/** Flags of `create` (and `run`, which adds --rm and -d). */
export const CREATE_FLAGS: FlagSpec[] = [
  ...VOLUME_FLAGS,
  ...SECURITY_FLAGS,
  ...RESOURCE_FLAGS,
  ...CONTAINER_FLAGS,
  ...COMPAT_FLAGS,
  {name: 'interactive', char: 'i', kind: 'boolean', description: 'Keep STDIN open'},
  {name: 'tty', char: 't', kind: 'boolean', description: 'Allocate a pseudo-TTY'},
  {name: 'env', char: 'e', kind: 'multiple', description: 'Set environment variables (KEY=VALUE, or KEY to copy the host value)'},
  {name: 'env-file', kind: 'multiple', description: 'Read in a file of environment variables'},
  {name: 'workdir', char: 'w', kind: 'string', description: 'Working directory inside the container'},
  {name: 'user', char: 'u', kind: 'string', description: 'Username or UID (format: <name|uid>[:<group|gid>])'},
  {name: 'entrypoint', kind: 'string', description: 'Overwrite the default ENTRYPOINT of the image'},
  {name: 'hostname', char: 'h', kind: 'string', description: 'Container host name'},
  {name: 'name', kind: 'string', description: 'Assign a name to the container'},
  {name: 'network', aliases: ['net'], kind: 'multiple', description: 'Connect a container to a network: bridge (default), NAME (repeatable), none, host, container:NAME or slirp4netns'},
  {name: 'mac-address', kind: 'string', description: 'Container MAC address (e.g., 92:d0:c6:0a:29:33)'},
  {name: 'publish', char: 'p', kind: 'multiple', description: "Publish a container's port to the host: [ip:][hostPort:]containerPort[/tcp]"},
  {name: 'publish-all', char: 'P', kind: 'boolean', description: 'Publish all exposed ports to random ports'},
  {name: 'network-alias', aliases: ['net-alias'], kind: 'multiple', description: 'Add a network-scoped alias for the container'},
  {name: 'ip', kind: 'string', description: 'IPv4 address (e.g., 10.89.0.10)'},
  {name: 'dns', kind: 'multiple', description: 'Set custom DNS servers'},
  {name: 'dns-search', kind: 'multiple', description: 'Set custom DNS search domains'},
  {name: 'dns-option', aliases: ['dns-opt'], kind: 'multiple', description: 'Set DNS options'},
  {name: 'add-host', kind: 'multiple', description: 'Add a custom host-to-IP mapping (host:ip; ip may be host-gateway)'},
  {name: 'read-only', kind: 'boolean', description: "Mount the container's root filesystem as read only"},
  {name: 'pull', kind: 'string', options: ['missing', 'never', 'always'], description: 'Pull image before running'},
  {name: 'restart', kind: 'string', description: 'Restart policy: no, on-failure[:max-retries], always, unless-stopped'},
  {name: 'stop-signal', kind: 'string', description: 'Signal to stop the container'},
  {name: 'stop-timeout', kind: 'string', description: 'Timeout (in seconds) to stop a container'},
  {name: 'log-driver', kind: 'string', description: 'Logging driver for the container: json-file or none'},
  {name: 'log-opt', kind: 'multiple', description: 'Log driver options: max-size=10m, max-file=3'},
  {name: 'health-cmd', kind: 'string', description: 'Command to run to check health'},
  {name: 'health-interval', kind: 'string', description: 'Time between running the check (ms|s|m|h) (default 30s)'},
  {name: 'health-timeout', kind: 'string', description: 'Maximum time to allow one check to run (ms|s|m|h) (default 30s)'},
  {name: 'health-start-period', kind: 'string', description: 'Start period for the container to initialize before counting retries (ms|s|m|h)'},
  {name: 'health-start-interval', kind: 'string', description: 'Time between running the check during the start period (ms|s|m|h) (default: the interval)'},
  {name: 'health-retries', kind: 'string', description: 'Consecutive failures needed to report unhealthy'},
  {name: 'no-healthcheck', kind: 'boolean', description: 'Disable any container-specified HEALTHCHECK'},
  ...GLOBAL_FLAGS,
]

export const RUN_FLAGS: FlagSpec[] = [
  {name: 'rm', kind: 'boolean', description: 'Automatically remove the container when it exits'},
  {name: 'detach', char: 'd', kind: 'boolean', description: 'Run container in background and print container ID'},
  {name: 'detach-keys', kind: 'string', description: 'Override the key sequence for detaching a container (default ctrl-p,ctrl-q)'},
  {name: 'sig-proxy', kind: 'boolean', description: 'Proxy received signals to the process (default true)'},
  ...CREATE_FLAGS,
]

export const EXEC_FLAGS: FlagSpec[] = [
  {name: 'interactive', char: 'i', kind: 'boolean', description: 'Keep STDIN open'},
  {name: 'tty', char: 't', kind: 'boolean', description: 'Allocate a pseudo-TTY'},
  {name: 'detach', char: 'd', kind: 'boolean', description: 'Detached mode: run command in the background'},
  {name: 'detach-keys', kind: 'string', description: 'Override the key sequence for detaching from the command (default ctrl-p,ctrl-q)'},
  {name: 'env', char: 'e', kind: 'multiple', description: 'Set environment variables'},
  {name: 'env-file', kind: 'multiple', description: 'Read in a file of environment variables'},
  {name: 'workdir', char: 'w', kind: 'string', description: 'Working directory inside the container'},
  {name: 'user', char: 'u', kind: 'string', description: 'Username or UID (format: <name|uid>[:<group|gid>])'},
  {name: 'privileged', kind: 'boolean', description: 'Give extended privileges to the command'},
  ...GLOBAL_FLAGS,
]

export interface RunInvocation {
  options: ContainerOptions
  /** `--pull`: when to pull the image before running. */
  pull: PullPolicy
  detach: boolean
  /** `--detach-keys` as bytes (run -it). */
  detachKeys: number[]
  /** `--sig-proxy` (default true). */
  sigProxy: boolean
  /** `-q`: no pull output. */
  quiet: boolean
  /** `WARNING:` lines for flags accepted but not applied. */
  warnings: string[]
  root?: string
  debug: boolean
}

/** Go's time.ParseDuration, in nanoseconds (`1m30s`, `500ms`, `0`), with Docker's error for a flag. */
export function parseDuration(text: string, flag: string): number {
  const ns = goDurationNs(text)
  if (ns === undefined) throw new UsageError(`invalid argument ${JSON.stringify(text)} for "${flag}" flag: time: invalid duration ${JSON.stringify(text)}`)
  return Math.round(ns)
}

function intFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  if (!/^-?\d+$/.test(value)) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "${flag}" flag: strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`)
  return Number(value)
}

/**
 * `--network` and friends. Docker's default is the bridge network, rootless and rootful
 * alike (NCX_DEFAULT_NETWORK or ncx.toml's default_network change it). Where the network
 * backend cannot work (no slirp4netns, no usable /dev/net/tun), creating such a container
 * fails with the reason and the fix (network/netns.ts requireNetworkBackend): never a
 * silently offline container.
 */
function parseNetworkFlags(flags: ParsedFlags, env: NodeJS.ProcessEnv) {
  const fromFile = env.NCX_DEFAULT_NETWORK ? undefined : storePaths({env}).settings?.config.defaultNetwork // ncx.toml's default_network
  if (fromFile) env = {...env, NCX_DEFAULT_NETWORK: fromFile}
  const list = (k: string) => (flags[k] as string[] | undefined) ?? []
  const given = list('network').map((n) => (n === 'default' ? DEFAULT_NETWORK : n))
  let network = given[0] ?? env.NCX_DEFAULT_NETWORK ?? DEFAULT_NETWORK
  if (network === 'default') network = DEFAULT_NETWORK
  if (network === 'container:') throw new UsageError('--network container: needs a container name or ID')
  if (isSlirpMode(network)) slirpOptions(network)
  const networks = given.slice(1)
  if (networks.length > 0 && (!isBridged(network) || !networks.every(isBridged))) {
    throw new UsageError('conflicting options: cannot attach both user-defined and non-user-defined network-modes', 'give several --network flags only for bridge networks')
  }
  const mac = flags['mac-address'] as string | undefined
  if (mac !== undefined) {
    checkMac(mac)
    if (!isBridged(network)) throw new UsageError('--mac-address needs a bridged network')
  }
  const bridged = isBridged(network)
  const publish = list('publish').flatMap(parsePublishRange)
  const publishAll = flags['publish-all'] === true
  const warnings: string[] = []
  if ((publish.length > 0 || publishAll) && network === 'host') {
    // Docker goes on without them (daemon/create.go's warning).
    warnings.push('Published ports are discarded when using host network mode')
    publish.length = 0
  } else if ((publish.length > 0 || publishAll) && !bridged && !isSlirpMode(network)) {
    throw new UsageError(`published ports need a bridged network or slirp4netns, not --network ${network}`)
  }
  const aliases = list('network-alias')
  if (aliases.length > 0 && (network === DEFAULT_NETWORK || !bridged)) throw new UsageError('network-scoped aliases are only supported for user-defined networks')
  const ip = flags.ip as string | undefined
  if (ip !== undefined) {
    ipToInt(ip)
    if (!bridged) throw new UsageError('--ip needs a bridged network')
  }
  const addHosts = list('add-host').map((h) => {
    const {name, address} = check('--add-host', h, parseExtraHost)
    const target = address === 'host-gateway' ? (bridged || isSlirpMode(network) ? SLIRP_HOST : '127.0.0.1') : address
    return `${target}\t${name}`
  })
  for (const a of aliases) check('--network-alias', a, checkNetworkAlias)
  const dns = list('dns').map((d) => check('--dns', d, checkIpAddress))
  const dnsSearch = list('dns-search').map((d) => check('--dns-search', d, checkDnsSearch))
  const dnsOptions = list('dns-option').map((d) => check('--dns-option', d, checkDnsOption))
  return {network, networks, mac, publish, publishAll: publishAll && network !== 'host', warnings, aliases, ip, dns, dnsSearch, dnsOptions, addHosts}
}

function envList(flags: ParsedFlags, env: NodeJS.ProcessEnv): string[] {
  const list = (k: string) => (flags[k] as string[] | undefined) ?? []
  const fromFiles = list('env-file').flatMap((f) => parseEnvFile(f, env))
  const fromFlags = list('env').map((e) => resolveEnvEntry(e, env)).filter((e): e is string => e !== undefined)
  return [...fromFiles, ...fromFlags]
}

/** `run`/`create [OPTIONS] IMAGE [COMMAND] [ARG...]` → validated options. */
export function parseRunArgv(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, command: 'run' | 'create' = 'run'): RunInvocation {
  const {flags, positionals} = splitArgv(argv, command === 'run' ? RUN_FLAGS : CREATE_FLAGS)
  const [image, ...cmd] = positionals
  if (!image) throw checkArgCount({id: command === 'run' ? 'run' : 'container:create', summary: command === 'run' ? RUN_SUMMARY : CREATE_SUMMARY}, command, 0)!
  const str = (k: string) => flags[k] as string | undefined
  const bool = (k: string) => flags[k] === true
  const list = (k: string) => (flags[k] as string[] | undefined) ?? []
  const workdir = str('workdir')
  if (workdir !== undefined && !workdir.startsWith('/')) throw new UsageError(`the working directory '${workdir}' is invalid, it needs to be an absolute path`)
  const net = parseNetworkFlags(flags, env)
  const hostname = str('hostname')
  const detach = bool('detach')
  const interactive = bool('interactive')
  const tty = bool('tty')
  if (interactive && tty && !detach && command === 'run' && !loadNative().isatty(0)) throw new CliError('the input device is not a TTY', 1, 'drop -t, or run from a terminal')
  const restart = str('restart')
  if (restart !== undefined) checkRestartPolicy(restart)
  if (bool('rm') && restart !== undefined && restart !== 'no') throw new UsageError('Conflicting options: --restart and --rm')
  const stopSignal = str('stop-signal')
  if (stopSignal !== undefined) signalNumber(stopSignal)
  const logDriver = str('log-driver')
  if (logDriver !== undefined && logDriver !== 'json-file' && logDriver !== 'none') throw new UsageError(`logging driver ${JSON.stringify(logDriver)} is not supported`, 'use json-file or none')
  const logOpts: Record<string, string> = {}
  for (const opt of list('log-opt')) {
    const eq = opt.indexOf('=')
    if (eq <= 0) throw new UsageError(`invalid log opt ${JSON.stringify(opt)}: expected KEY=VALUE`)
    const [k, v] = [opt.slice(0, eq), opt.slice(eq + 1)]
    if (k === 'max-size' && logSizeBytes(v) === undefined) throw new UsageError(`invalid max-size ${JSON.stringify(v)}: use a size such as 10k, 1.5m or 1g`)
    if (k === 'max-file' && !/^[1-9]\d*$/.test(v)) throw new UsageError(`invalid max-file ${JSON.stringify(v)}: a positive integer`)
    if (k !== 'max-size' && k !== 'max-file') throw new UsageError(`unknown log opt '${k}' for json-file log driver`)
    logOpts[k] = v
  }
  const health: HealthOptions = {}
  if (str('health-cmd') !== undefined) health.cmd = str('health-cmd')
  for (const [flag, key] of [['health-interval', 'interval'], ['health-timeout', 'timeout'], ['health-start-period', 'startPeriod'], ['health-start-interval', 'startInterval']] as const) {
    const v = str(flag)
    if (v !== undefined) health[key] = parseDuration(v, `--${flag}`)
  }
  const compat = parseCompatFlags(flags, detach, isBridged(net.network))
  const retries = intFlag(str('health-retries'), '--health-retries')
  if (retries !== undefined) health.retries = retries
  const noHealthcheck = bool('no-healthcheck')
  if (noHealthcheck && Object.keys(health).length > 0) throw new UsageError('--no-healthcheck conflicts with --health-* options')
  const options: ContainerOptions = {
    image,
    command: cmd,
    entrypoint: str('entrypoint'),
    env: envList(flags, env),
    workdir,
    user: str('user'),
    hostname: hostname === undefined ? undefined : check('-h, --hostname', hostname, checkHostname),
    name: str('name'),
    rm: bool('rm'),
    interactive,
    tty,
    network: net.network,
    readOnly: bool('read-only'),
    ...parseVolumeFlags(flags),
    ...parseContainerFlags(flags),
  }
  if (net.publish.length > 0) options.publish = net.publish
  if (net.publishAll) options.publishAll = true
  if (net.aliases.length > 0) options.networkAliases = net.aliases
  if (net.ip !== undefined) options.ip = net.ip
  if (net.networks.length > 0) options.networks = net.networks
  if (net.mac !== undefined) options.macAddress = checkMac(net.mac)
  if (net.dns.length > 0) options.dns = net.dns
  if (net.dnsSearch.length > 0) options.dnsSearch = net.dnsSearch
  if (net.dnsOptions.length > 0) options.dnsOptions = net.dnsOptions
  if (net.addHosts.length > 0) options.addHosts = net.addHosts
  const security = parseSecurityFlags(flags, net.network)
  if (security) options.security = security
  const resources = parseResourceFlags(flags)
  if (resources) options.resources = resources
  const cgroup = parseCgroupFlags(flags)
  if (cgroup) options.cgroup = cgroup
  // Only what was given, so records stay small and Docker's defaults apply elsewhere.
  if (detach) options.detach = true
  if (compat.attach) options.attach = compat.attach
  if (compat.links) options.links = compat.links
  if (compat.runtime !== undefined) options.runtime = compat.runtime
  if (restart !== undefined) options.restart = restart
  if (stopSignal !== undefined) options.stopSignal = stopSignal
  const stopTimeout = intFlag(str('stop-timeout'), '--stop-timeout')
  if (stopTimeout !== undefined) options.stopTimeout = stopTimeout
  if (logDriver !== undefined) options.logDriver = logDriver
  if (Object.keys(logOpts).length > 0) options.logOpts = logOpts
  if (Object.keys(health).length > 0) options.health = health
  if (noHealthcheck) options.noHealthcheck = true
  // An empty --detach-keys is the default sequence (docker/cli sets it only when not empty).
  const detachKeys = parseDetachKeys(str('detach-keys') || DEFAULT_DETACH_KEYS)
  const sigProxy = flags['sig-proxy'] !== false
  return {options, pull: (str('pull') ?? 'missing') as PullPolicy, detach, detachKeys, sigProxy, quiet: compat.quiet, warnings: [...net.warnings, ...compat.warnings], root: str('root'), debug: bool('debug')}
}

/**
 * Docker's `run`/`create` exit 125 for any failure of the engine itself, including "not
 * found" errors that other commands report with 1 (a missing network, a missing peer).
 */
async function asEngineFailure<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    if (error instanceof NcxError && !(error instanceof CliError) && error.exitCode === 1) throw new NcxError(error.message, {exitCode: 125, hint: error.hint, cause: error})
    throw error
  }
}

/** `run`: in the foreground (the container's exit code), or detached (prints the ID). */
export async function executeRun(argv: readonly string[], warn: (text: string) => void, out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  return asEngineFailure(() => runInvocation(argv, warn, out))
}

async function runInvocation(argv: readonly string[], warn: (text: string) => void, out: (text: string) => void): Promise<number> {
  const inv = parseRunArgv(argv)
  for (const w of inv.warnings) warn(w)
  const engine = new Engine({dataRoot: inv.root, onWarning: warn})
  await ensureImage(engine, inv.options.image, inv.pull, (line) => process.stderr.write(line), inv.options.platform, inv.quiet)
  if (inv.detach) {
    const container = runDetached(engine, inv.options)
    out(`${container.id}\n`)
    return 0
  }
  if ((inv.options.interactive && inv.options.tty) || !inv.sigProxy) {
    // Attached to a monitor from the start, so the detach keys leave the container running.
    const outcome = await runAttached(engine, inv.options, {detachKeys: inv.detachKeys, sigProxy: inv.sigProxy})
    return outcome.exitCode ?? 0
  }
  const result = await runContainer(engine, inv.options)
  return result.exitCode
}

/** `create`: lay out the container and print its ID. */
export async function executeCreate(argv: readonly string[], warn: (text: string) => void, out: (text: string) => void): Promise<number> {
  return asEngineFailure(async () => {
    const inv = parseRunArgv(argv, process.env, 'create')
    for (const w of inv.warnings) warn(w)
    const engine = new Engine({dataRoot: inv.root, onWarning: warn})
    await ensureImage(engine, inv.options.image, inv.pull, (line) => process.stderr.write(line), inv.options.platform, inv.quiet)
    const {container} = createContainer(engine, inv.options)
    out(`${container.id}\n`)
    return 0
  })
}

export interface ExecInvocation {
  container: string
  options: ExecOptions
  root?: string
  debug: boolean
}

/** `exec [OPTIONS] CONTAINER COMMAND [ARG...]`. */
export function parseExecArgv(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ExecInvocation {
  const {flags, positionals} = splitArgv(argv, EXEC_FLAGS)
  const [container, ...command] = positionals
  if (!container || command.length === 0) throw checkArgCount({id: 'container:exec', summary: EXEC_SUMMARY}, 'exec', positionals.length)!
  const str = (k: string) => flags[k] as string | undefined
  const bool = (k: string) => flags[k] === true
  const workdir = str('workdir')
  if (workdir !== undefined && !workdir.startsWith('/')) throw new UsageError(`the working directory '${workdir}' is invalid, it needs to be an absolute path`)
  const interactive = bool('interactive')
  const tty = bool('tty')
  const detach = bool('detach')
  if (interactive && tty && !detach && !loadNative().isatty(0)) throw new CliError('the input device is not a TTY', 1, 'drop -t, or run from a terminal')
  return {
    container,
    options: {command, interactive, tty, detach, env: envList(flags, env), workdir, user: str('user'), privileged: bool('privileged'), detachKeys: parseDetachKeys(str('detach-keys') || DEFAULT_DETACH_KEYS)},
    root: str('root'),
    debug: bool('debug'),
  }
}

export async function executeExec(argv: readonly string[], warn: (text: string) => void): Promise<number> {
  const inv = parseExecArgv(argv)
  const engine = new Engine({dataRoot: inv.root, onWarning: warn})
  return execInContainer(engine, engine.containers.resolve(inv.container), inv.options)
}
