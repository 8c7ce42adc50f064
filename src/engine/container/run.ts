import {spawn} from 'node:child_process'
import {readFileSync, mkdirSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {createInterface} from 'node:readline'

import {runtimeBinary} from '../../native/index.js'
import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {ImageConfig} from '../image/types.js'
import {joinArgs} from '../rootless/session.js'
import {runtimeSync} from '../runtime.js'
import {ContainerOptions, generateSpec} from '../spec/generate.js'
import {resolveUser} from '../spec/user.js'
import {writeFileAtomic, writeJson} from '../store/files.js'
import {ContainerRecord} from './store.js'

export interface RunResult {
  container: ContainerRecord
  exitCode: number
}

/** Events the runtime writes on its status fd, one JSON object a line. */
type RuntimeEvent =
  | {event: 'started'; pid: number}
  | {event: 'exit'; code: number}
  | {event: 'error'; code: number; message: string}
  | {event: 'warning'; message: string}

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

/** Look up the image, lay out the bundle (config.json, rootfs, upper/work dirs, /etc files). */
export function createContainer(engine: Engine, options: ContainerOptions): {container: ContainerRecord; lowerDirs: string[]} {
  const image = engine.images.find(options.image)
  if (!image) {
    throw new NcxError(`Unable to find image '${options.image}' locally`, {
      hint: 'load it first with "ncx load -i FILE" or "ncx import FILE NAME" (registry pulls are not available yet)',
    })
  }
  const config = engine.content.readJson<ImageConfig>(image.id, 'image config')
  for (const layer of image.layers) {
    if (!engine.snapshots.has(layer.diffId)) engine.snapshots.ensure(layer.diffId, engine.content.path(layer.digest))
  }
  const session = engine.session()
  const lowerDirs = image.layers.map((l) => engine.snapshots.dir(l.diffId)).reverse()
  const imageCfg = config.config ?? {}
  const user = resolveUser(options.user ?? imageCfg.User ?? '', lowerDirs)
  const container = engine.containers.create({
    name: options.name,
    image: options.image,
    imageId: image.id,
    layers: image.layers.map((l) => l.diffId),
    created: new Date().toISOString(),
    options,
    args: [],
    state: {status: 'created', pid: 0, exitCode: 0},
  })
  const dir = engine.containers.dir(container.id)
  const hostname = options.hostname ?? container.id.slice(0, 12)
  for (const sub of ['rootfs', 'upper', 'work']) mkdirSync(join(dir, sub))
  const etcFiles = {hosts: join(dir, 'hosts'), hostname: join(dir, 'hostname'), resolvConf: join(dir, 'resolv.conf')}
  writeFileAtomic(etcFiles.hosts, hostsFile(hostname))
  writeFileAtomic(etcFiles.hostname, `${hostname}\n`)
  writeFileAtomic(etcFiles.resolvConf, hostResolvConf())
  const ttyGroupMapped = !session.rootless || session.gidMap.some((r) => r.container <= 5 && r.container + r.size > 5)
  const spec = generateSpec({options, image: imageCfg, user, hostname, rootless: session.rootless, ttyGroupMapped, etcFiles})
  writeJson(join(dir, 'config.json'), spec)
  container.args = spec.process.args
  return {container, lowerDirs}
}

/** The overlay mount data for a container's rootfs. */
export function overlayData(lowerDirs: string[], dir: string, rootless: boolean): string {
  const data = `lowerdir=${lowerDirs.join(':')},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`
  return rootless ? `${data},userxattr` : data
}

/** `ncx run` in the foreground: create, start, wait; remove afterwards with `--rm`. */
export async function runContainer(engine: Engine, options: ContainerOptions): Promise<RunResult> {
  const {container, lowerDirs} = createContainer(engine, options)
  const session = engine.session()
  const dir = engine.containers.dir(container.id)
  const args = ['run', '--bundle', dir, ...joinArgs(session), '--status-fd', '3']
  if (engine.storageDriver().name === 'overlay') {
    args.push('--rootfs-mount', `overlay:${overlayData(lowerDirs, dir, session.rootless)}`)
  } else {
    const xattr = session.rootless ? 'user.' : 'trusted.'
    runtimeSync(['materialize', ...joinArgs(session), '--dest', join(dir, 'rootfs'), '--xattr-prefix', xattr, ...[...lowerDirs].reverse()])
  }
  if (options.tty && !options.interactive) args.push('--no-stdin')
  if (options.rm) args.push('--cleanup', dir)
  const child = spawn(runtimeBinary(), args, {stdio: [options.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit', 'pipe']})
  // The runtime forwards terminal signals to the container; this process only waits.
  const ignore = () => {}
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']
  for (const s of signals) process.on(s, ignore)
  let started = false
  let exitCode: number | undefined
  let failure: {code: number; message: string} | undefined
  const warnings: string[] = []
  try {
    const lines = createInterface({input: child.stdio[3] as NodeJS.ReadableStream})
    const closed = new Promise<number>((resolve, reject) => {
      child.on('error', reject)
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 125)))
    })
    for await (const line of lines) {
      let ev: RuntimeEvent
      try {
        ev = JSON.parse(line) as RuntimeEvent
      } catch {
        continue
      }
      if (ev.event === 'started') started = true
      else if (ev.event === 'exit') exitCode = ev.code
      else if (ev.event === 'error') failure = {code: ev.code, message: ev.message}
      else if (ev.event === 'warning') warnings.push(ev.message)
    }
    const code = await closed
    exitCode ??= failure?.code ?? code
  } finally {
    for (const s of signals) process.off(s, ignore)
  }
  for (const w of warnings) engine.warn(w)
  if (options.rm) {
    if (existsSync(dir)) engine.snapshots.removeTree([dir])
  } else {
    container.state = {
      status: started ? 'exited' : 'created',
      pid: 0,
      exitCode: exitCode ?? 125,
      finishedAt: new Date().toISOString(),
      ...(failure ? {error: failure.message} : {}),
    }
    engine.containers.save(container)
  }
  if (failure) throw new NcxError(failure.message, {exitCode: failure.code})
  return {container, exitCode: exitCode ?? 125}
}
