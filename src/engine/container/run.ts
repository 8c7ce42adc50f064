import type {ChildProcess} from 'node:child_process'
import {chmodSync, readFileSync, mkdirSync, existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {hostname as osHostname, userInfo} from 'node:os'

import {RuntimeReports, runtimeReporting, textLines} from '../runtime.js'
import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {ImageConfig} from '../image/types.js'
import {joinArgs} from '../rootless/session.js'
import {AttachStream, ContainerOptions, Healthcheck, effectiveHealthcheck, generateSpec, resolveCommand} from '../spec/generate.js'
import {checkContainerValues} from '../spec/values.js'
import {readImageFile, resolveUser} from '../spec/user.js'
import {configEnv} from '../spec/env.js'
import {applyHostOptions} from '../spec/host-options.js'
import {checkNamespacePeers, namespaceRuntimeArgs} from '../spec/namespaces.js'
import {containerEtcFiles, networkRuntimeArgs, portBypassAnnotation, recordPorts, refreshNetworkHosts, releaseContainer, withExposedPorts} from '../network/container.js'
import {announceStarted, forgetStoppedContainer} from '../network/attach.js'
import {actorOf, recordContainerEvent} from '../events.js'
import {STATE_FILE} from './state.js'
import {logRuntimeArgs} from './log-file.js'
import {cgroupManager} from '../config.js'
import {removeLeftoverCgroup} from '../cgroup/control.js'
import {ContainerRecord} from './store.js'
import {writeFileWithMode} from '../store/files.js'
import {callersUmaskValue} from '../store/private.js'
import {containerMounts, copyUpVolumes} from '../volume/container.js'
import {ociMounts} from '../volume/attach.js'
import {applyKeepId, checkKeepId, keepIdPasswd, keepIdUser} from '../rootless/keepid.js'
import {containerLowerDirs, rootfsArgs, topmostFirst} from './rootfs.js'
import {shortLayerPath} from '../snapshot/links.js'
import {containerRuntime, externalRuntimeArgs, resolveRuntime} from '../runtimes.js'

export interface RunResult {
  container: ContainerRecord
  exitCode: number
}

/** Events the runtime writes on its status fd, one JSON object a line. */
type RuntimeEvent =
  | {event: 'started'; pid: number; ports?: Array<{proto: string; hostIp: string; hostPort: number; containerPort: number}>}
  | {event: 'exit'; code: number}
  | {event: 'error'; code: number; message: string}
  | {event: 'warning'; message: string}
  | {event: 'detached'}
  | {event: 'closed'}

function hostsFile(hostname: string): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    `127.0.1.1\t${hostname}`,
    '',
  ].join('\n')
}

function hostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8')
  } catch {
    return ''
  }
}

/** Remove the containers a killed `create`/`run` left half-made (see CREATING in store.ts). */
export function reapAbandoned(engine: Engine): void {
  for (const id of engine.containers.listAbandoned()) {
    const doomed = engine.containers.locked(() => {
      if (!engine.containers.abandoned(id)) return undefined
      removeLeftoverCgroup(engine, {id})
      return engine.containers.detach(id)
    })
    if (!doomed) continue
    engine.snapshots.removeTree([doomed])
    releaseContainer(engine, id)
    engine.volumes.removeAnonymousOf(id)
  }
}

/**
 * Look up the image, lay out the bundle (config.json, rootfs, upper/work dirs, /etc files).
 * With `pending`, the container stays marked as being created until the caller settles it
 * (`run`: once its process started), so a killed `run` leaves nothing half-made.
 */
export function createContainer(engine: Engine, options: ContainerOptions, pending = false): {container: ContainerRecord; lowerDirs: string[]} {
  checkContainerValues(options)
  // --runtime, else NCX_RUNTIME, else ncx.toml's runtime: found now (Docker refuses an unknown
  // runtime at create) and recorded, so the container keeps it.
  const {runtime: _given, ...rest} = options
  const runtime = resolveRuntime(options.runtime, engine.paths.settings?.config ?? {})
  options = runtime ? {...rest, runtime: runtime.name} : rest
  reapAbandoned(engine)
  // The image is found and the container recorded under the images lock: an `rmi` racing this
  // `run` either removes the image first (and this fails with the image not found) or sees
  // the container (being created, so in use) and keeps the image.
  const taken = engine.images.reading(() => {
    const image = engine.images.find(options.image)
    if (!image) {
      throw new NcxError(`Unable to find image '${options.image}' locally`, {
        hint: 'pull it with "ncx pull NAME" (or run with --pull missing), or load it with "ncx load -i FILE"',
      })
    }
    const config = engine.content.readJson<ImageConfig>(image.id, 'image config')
    for (const layer of image.layers) {
      if (!engine.snapshots.has(layer.diffId)) engine.snapshots.ensure(layer.diffId, engine.content.path(layer.digest))
    }
    const lowerDirs = topmostFirst(image.layers.map((l) => shortLayerPath(engine, l.diffId)))
    const imageCfg = config.config ?? {}
    if (options.userns === 'keep-id') checkKeepId(engine.session(), engine.storageDriver().name)
    checkNamespacePeers(engine, options)
    // `--annotation ncx.bypass4netns=true` (or nerdctl's key), from the CLI or compose.
    const bypass = portBypassAnnotation(options.annotations)
    const chosen = bypass !== undefined ? {...options, portBypass: bypass} : options
    const user = resolveUser(configuredUser(chosen, imageCfg), lowerDirs)
    const container = engine.containers.create({
      name: chosen.name,
      image: chosen.image,
      imageId: image.id,
      layers: image.layers.map((l) => l.diffId),
      created: new Date().toISOString(),
      options: chosen,
      args: [],
      state: {status: 'created', pid: 0, exitCode: 0},
    })
    return {container, options: chosen, imageCfg, user, lowerDirs}
  })
  const {container, imageCfg, user, lowerDirs} = taken
  options = taken.options
  try {
    const made = layOutBundle(engine, container, options, imageCfg, user, lowerDirs, !pending)
    // The user's file, with the user's umask (ncx itself runs under 077).
    if (options.cidfile) writeFileWithMode(options.cidfile, container.id, 0o666 & ~callersUmaskValue())
    if (!pending) engine.containers.settle(container.id)
    return made
  } catch (error) {
    // Creation is all or nothing (as in Docker): no half-made container is left behind.
    const doomed = engine.containers.locked(() => engine.containers.detach(container.id))
    if (doomed) engine.snapshots.removeTree([doomed])
    releaseContainer(engine, container.id)
    engine.volumes.removeAnonymousOf(container.id)
    throw error
  }
}

/** The bundle of a just-recorded container: config.json, rootfs mount point, /etc files. */
function layOutBundle(
  engine: Engine,
  container: ContainerRecord,
  options: ContainerOptions,
  imageCfg: NonNullable<ImageConfig['config']>,
  user: ReturnType<typeof resolveUser>,
  lowerDirs: string[],
  durable: boolean,
): {container: ContainerRecord; lowerDirs: string[]} {
  const session = engine.session()
  const dir = engine.containers.dir(container.id)
  const hostname = options.hostname ?? (options.uts === 'host' ? osHostname() : container.id.slice(0, 12))
  // upper/ is the container's `/` (overlayfs takes the root's mode from it), rootfs/ is it
  // for the copy driver: 0755 as in Docker, whatever the umask; the bundle above stays 0700.
  for (const [sub, mode] of [['rootfs', 0o755], ['upper', 0o755], ['work', 0o700]] as const) {
    mkdirSync(join(dir, sub), {mode})
    chmodSync(join(dir, sub), mode)
  }
  const etcFiles = {hosts: join(dir, 'hosts'), hostname: join(dir, 'hostname'), resolvConf: join(dir, 'resolv.conf')}
  // Networking: an address on the container's network, /etc/hosts and /etc/resolv.conf to match.
  const resolvConf = hostResolvConf()
  const etc = containerEtcFiles(engine, container, withExposedPorts(options, imageCfg.ExposedPorts), hostname, resolvConf)
  // Plain writes: the bundle is new and nothing reads it before the runtime starts; the
  // record (container.json) is the durable part. 0644: any user in the container reads them.
  writeFileWithMode(etcFiles.hosts, etc.hosts ?? hostsFile(hostname), 0o644)
  writeFileWithMode(etcFiles.hostname, `${hostname}\n`, 0o644)
  writeFileWithMode(etcFiles.resolvConf, etc.resolvConf ?? resolvConf, 0o644)
  const ttyGroupMapped = !session.rootless || session.gidMap.some((r) => r.container <= 5 && r.container + r.size > 5)
  const cgroupNamespace = existsSync('/proc/self/ns/cgroup')
  container.mounts = containerMounts(engine, container, Object.keys(imageCfg.Volumes ?? {}))
  const mounts = container.mounts.length > 0 ? container.mounts : undefined
  const spec = generateSpec({options, image: imageCfg, user, hostname, rootless: session.rootless, ttyGroupMapped, cgroupNamespace, etcFiles, ...(mounts ? {mounts: ociMounts(mounts)} : {})})
  // --cgroup-manager, else NCX_CGROUP_MANAGER, else ncx.toml's cgroup_manager, else cgroupfs.
  const settings = engine.paths.settings
  const manager = options.cgroup?.manager ?? cgroupManager({file: settings?.file ?? '', loaded: settings?.loaded ?? false, config: settings?.config ?? {}}).value
  applyHostOptions(spec, container.id, {...options, cgroup: {...options.cgroup, manager}}, lowerDirs, (m) => engine.warn(m))
  if (options.userns === 'keep-id') {
    applyKeepId(spec, session)
    const passwd = keepIdPasswd(readImageFile(lowerDirs, '/etc/passwd'), userInfo().username)
    if (passwd !== undefined) {
      writeFileWithMode(join(dir, 'passwd'), passwd, 0o644)
      spec.mounts.push({destination: '/etc/passwd', type: 'bind', source: join(dir, 'passwd'), options: ['rbind', 'rprivate', 'ro']})
    }
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2) + '\n', {mode: 0o600})
  container.args = spec.process.args
  const {entrypoint, cmd} = resolveCommand(imageCfg, options)
  const imageHealth = (imageCfg as {Healthcheck?: Healthcheck}).Healthcheck
  const healthcheck = effectiveHealthcheck(options, imageHealth ?? undefined)
  container.config = {
    entrypoint,
    cmd,
    env: configEnv(imageCfg.Env ?? [], options.env),
    workdir: spec.process.cwd,
    user: configuredUser(options, imageCfg),
    hostname,
    ...(options.stopSignal ?? imageCfg.StopSignal ? {stopSignal: options.stopSignal ?? imageCfg.StopSignal} : {}),
    ...(healthcheck ? {healthcheck} : {}),
    ...(imageCfg.Labels || options.labels ? {labels: {...imageCfg.Labels, ...options.labels}} : {}),
  }
  engine.containers.save(container, durable)
  if (mounts) copyUpVolumes(engine, container, lowerDirs)
  for (const n of etc.networks ?? []) refreshNetworkHosts(engine, n)
  return {container, lowerDirs}
}

/** `-u`, else (keep-id) the user's own uid:gid, else the image's USER. */
function configuredUser(options: ContainerOptions, imageCfg: NonNullable<ImageConfig['config']>): string {
  if (options.user !== undefined) return options.user
  if (options.userns === 'keep-id') {
    const {uid, gid} = keepIdUser()
    return `${uid}:${gid}`
  }
  return imageCfg.User ?? ''
}

/** What a supervising runtime process (`run`, `exec`) reported. */
export interface RuntimeOutcome {
  started: boolean
  /** Published ports as bound (random host ports resolved). */
  ports?: Array<{proto: string; hostIp: string; hostPort: number; containerPort: number}>
  exitCode?: number
  failure?: {code: number; message: string}
  warnings: string[]
  /** An exit event arrived (not just the process ending). */
  exited?: boolean
  /** `attach`: the user typed the detach keys. */
  detached?: boolean
  /** `attach`: the monitor closed the connection without an exit code. */
  closed?: boolean
}

/** The lines of a stream (node:readline costs more to load than a run takes to start). */
function jsonLines(input: NodeJS.ReadableStream): AsyncGenerator<string> {
  input.setEncoding('utf8') // multi-byte characters split across chunks stay whole
  return textLines(input as AsyncIterable<string>)
}

/** The reports of a runtime started by node:child_process with a pipe as its fd 3. */
export function childReports(child: ChildProcess): RuntimeReports {
  const closed = new Promise<number>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 125)))
  })
  return {lines: jsonLines(child.stdio[3] as NodeJS.ReadableStream), closed: () => closed, release: () => child.unref()}
}

/**
 * Wait for a runtime process that reports on fd 3 (one JSON event a line). Terminal
 * signals are the runtime's to forward; this process only waits.
 */
export async function superviseRuntime(reports: RuntimeReports, onStarted?: (outcome: RuntimeOutcome) => void): Promise<RuntimeOutcome> {
  const ignore = () => {}
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']
  for (const s of signals) process.on(s, ignore)
  const outcome: RuntimeOutcome = {started: false, warnings: []}
  try {
    for await (const line of reports.lines) {
      let ev: RuntimeEvent
      try {
        ev = JSON.parse(line) as RuntimeEvent
      } catch {
        continue
      }
      if (ev.event === 'started') {
        outcome.started = true
        outcome.ports = ev.ports
        onStarted?.(outcome)
      } else if (ev.event === 'exit') {
        outcome.exitCode = ev.code
        outcome.exited = true
      } else if (ev.event === 'detached') outcome.detached = true
      else if (ev.event === 'closed') outcome.closed = true
      else if (ev.event === 'error') outcome.failure = {code: ev.code, message: ev.message}
      else if (ev.event === 'warning') outcome.warnings.push(ev.message)
    }
    if (outcome.detached) {
      // `exec --detach-keys`: the runtime stays behind with the process; we are done.
      reports.release()
      return outcome
    }
    const code = await reports.closed()
    outcome.exitCode ??= outcome.failure?.code ?? code
  } finally {
    for (const s of signals) process.off(s, ignore)
  }
  return outcome
}

/** `ncx run` in the foreground: create, start, wait; remove afterwards with `--rm`. */
export async function runContainer(engine: Engine, options: ContainerOptions): Promise<RunResult> {
  const {container, lowerDirs} = createContainer(engine, options, true)
  try {
    return await runCreated(engine, container, lowerDirs)
  } finally {
    engine.containers.settle(container.id)
  }
}

/** Run an existing container in the foreground (the runtime plays the monitor's part). */
export async function runCreated(engine: Engine, container: ContainerRecord, lowerDirs = containerLowerDirs(engine, container)): Promise<RunResult> {
  const options = container.options
  const session = engine.session()
  const dir = engine.containers.dir(container.id)
  const args = ['run', '--bundle', dir, ...joinArgs(session), '--status-fd', '3', '--state', join(dir, STATE_FILE)]
  args.push(...rootfsArgs(engine, container, lowerDirs))
  args.push(...networkRuntimeArgs(engine, container.id))
  args.push(...namespaceRuntimeArgs(engine, container))
  args.push(...externalRuntimeArgs(engine.paths.run, containerRuntime(options)))
  if (options.tty && !options.interactive) args.push('--no-stdin')
  if (options.rm) args.push('--cleanup', dir)
  // Logged like a detached run (Docker logs every run, attached or not).
  else args.push(...logRuntimeArgs(engine, container))
  // `-a`: only the listed streams are connected, the others are /dev/null (Docker's attach);
  // stdin needs -i as well.
  const attached = (s: AttachStream) => (options.attach ? options.attach.includes(s) : true) && (s !== 'stdin' || options.interactive)
  const inherit = (['stdin', 'stdout', 'stderr'] as const).map((s) => attached(s))
  const {started, exitCode, failure, warnings} = await superviseRuntime(runtimeReporting(args, inherit), (o) => {
    recordContainerEvent(engine.paths, 'start', actorOf(container))
    announceStarted(engine, container.id)
    // (not for --rm: the runtime may be deleting the bundle already)
    if (!options.rm) {
      engine.containers.settle(container.id)
      recordPorts(engine, container.id, o.ports)
    }
  })
  for (const w of warnings) engine.warn(w)
  if (started) recordContainerEvent(engine.paths, 'die', actorOf(container), {exitCode: String(exitCode ?? 125)})
  if (options.rm) {
    if (existsSync(dir)) engine.snapshots.removeTree([dir])
    recordContainerEvent(engine.paths, 'destroy', actorOf(container))
    releaseContainer(engine, container.id)
    engine.volumes.removeAnonymousOf(container.id)
  } else {
    engine.containers.update(container.id, (r) => {
      r.state = {
        status: started ? 'exited' : 'created',
        pid: 0,
        exitCode: exitCode ?? 125,
        finishedAt: new Date().toISOString(),
        ...(failure ? {error: failure.message} : {}),
      }
    })
    // Stopped: its peers on user-defined networks stop resolving it (Docker disconnects it).
    if (started) forgetStoppedContainer(engine, container.id)
  }
  if (failure) throw new NcxError(failure.message, {exitCode: failure.code})
  return {container, exitCode: exitCode ?? 125}
}
