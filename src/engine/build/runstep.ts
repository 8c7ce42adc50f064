/**
 * A RUN step: a container made by the same spec code as `ncx run` (generateSpec +
 * applyHostOptions) and run by the same runtime (`ncx-runtime run`), over an overlay whose
 * upper directory becomes the step's layer. It is not a recorded container (BuildKit's
 * steps are not in `docker ps` either): its bundle lives under the build's own directory.
 * Networking: `default` joins the per-user network namespace slirp4netns serves (outbound
 * access, as `run` gets), `none` gets a namespace of its own, `host` stays in the host's.
 */
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {runtimeBinary} from '../../native/index.js'
import {childReports, superviseRuntime} from '../container/run.js'
import {INIT_PATHS} from '../container/files.js'
import {Engine} from '../engine.js'
import {NcxError} from '../errors.js'
import {LayerRecord} from '../image/types.js'
import {writeFileWithMode} from '../store/files.js'
import {ensureNetns, networkBackendProblem} from '../network/netns.js'
import {SLIRP_DNS} from '../network/networks.js'
import {joinArgs} from '../rootless/session.js'
import {ContainerOptions, generateSpec} from '../spec/generate.js'
import {applyHostOptions} from '../spec/host-options.js'
import {OciMount} from '../spec/oci.js'
import {resolveUser} from '../spec/user.js'
import type {SecurityOptions} from '../spec/security.js'
import {buildLayout} from './cache.js'
import {LayerWork, commitLayer, discardLayerWork, lowerDirs, overlayMountData} from './layers.js'

export type NetworkMode = 'default' | 'none' | 'host'

export interface RunStepOptions {
  argv: string[]
  env: string[]
  cwd: string
  user: string
  network: NetworkMode
  layers: LayerRecord[]
  /** Extra mounts (cache, bind, tmpfs, secret, ssh, inline scripts), in OCI form. */
  mounts: OciMount[]
  /** Mount targets to prune from the layer when they are left-over stubs. */
  stubs: string[]
  extraHosts: string[]
  shmSize?: number
  ulimits?: SecurityOptions['ulimits']
  work: LayerWork
  emptyDir: string
  onOutput: (chunk: Buffer, stream: 1 | 2) => void
}

export class RunFailedError extends NcxError {
  constructor(
    readonly argv: string[],
    readonly code: number,
  ) {
    super(`process ${JSON.stringify(argv.join(' '))} did not complete successfully: exit code: ${code}`, {exitCode: 1})
  }
}

function hostsFile(extra: string[]): string {
  const lines = ['127.0.0.1\tlocalhost buildkitsandbox', '::1\tlocalhost ip6-localhost ip6-loopback']
  for (const h of extra) {
    const i = h.indexOf(':')
    if (i > 0) lines.push(`${h.slice(i + 1)}\t${h.slice(0, i)}`)
  }
  return lines.join('\n') + '\n'
}

function hostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8')
  } catch {
    return ''
  }
}

/** Run the step; returns its layer, or throws RunFailedError with the exit code. */
export async function runStep(engine: Engine, o: RunStepOptions, warn: (m: string) => void): Promise<LayerRecord> {
  const session = engine.session()
  const id = `build-${process.pid}-${randomBytes(6).toString('hex')}`
  const bundle = join(buildLayout.runs(engine.paths), id)
  mkdirSync(join(bundle, 'rootfs'), {recursive: true, mode: 0o700})
  try {
    let network = o.network
    if (network === 'default' && networkBackendProblem()) {
      warn(`RUN has no network: ${networkBackendProblem()}`)
      network = 'none'
    }
    const etcFiles = {hosts: join(bundle, 'hosts'), hostname: join(bundle, 'hostname'), resolvConf: join(bundle, 'resolv.conf')}
    // Bound into the step: readable by every user of the image, whatever ncx's umask.
    writeFileWithMode(etcFiles.hosts, hostsFile(o.extraHosts), 0o644)
    writeFileWithMode(etcFiles.hostname, 'buildkitsandbox\n', 0o644)
    writeFileWithMode(etcFiles.resolvConf, network === 'default' ? `nameserver ${SLIRP_DNS}\n` : hostResolvConf(), 0o644)
    const lowers = lowerDirs(engine, o.layers)
    const user = resolveUser(o.user, lowers)
    const options: ContainerOptions = {
      image: '',
      command: o.argv,
      env: o.env,
      workdir: o.cwd,
      user: o.user,
      rm: false,
      interactive: false,
      tty: false,
      network: network === 'host' ? 'host' : 'none',
      readOnly: false,
      ...(o.shmSize ? {shmSize: o.shmSize} : {}),
      ...(o.ulimits && o.ulimits.length > 0 ? {security: {ulimits: o.ulimits} as SecurityOptions} : {}),
    }
    const ttyGroupMapped = !session.rootless || session.gidMap.some((r) => r.container <= 5 && r.container + r.size > 5)
    const spec = generateSpec({
      options,
      image: {Env: [], Entrypoint: null, Cmd: null},
      user,
      hostname: 'buildkitsandbox',
      rootless: session.rootless,
      ttyGroupMapped,
      cgroupNamespace: existsSync('/proc/self/ns/cgroup'),
      etcFiles,
      mounts: o.mounts,
    })
    applyHostOptions(spec, id, options, lowers, warn)
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2) + '\n')
    const args = ['run', '--bundle', bundle, ...joinArgs(session), '--status-fd', '3', '--rootfs-mount', `overlay:${overlayMountData(engine, lowers, o.work, o.emptyDir)}`, '--no-stdin']
    if (network === 'default') args.push('--net-join', ensureNetns(engine).netns.path)
    const child = spawn(runtimeBinary(), args, {stdio: ['ignore', 'pipe', 'pipe', 'pipe']})
    child.stdout!.on('data', (d: Buffer) => o.onOutput(d, 1))
    child.stderr!.on('data', (d: Buffer) => o.onOutput(d, 2))
    const outcome = await superviseRuntime(childReports(child))
    for (const w of outcome.warnings) warn(w)
    if (outcome.failure && !outcome.started) throw new NcxError(outcome.failure.message, {exitCode: 1})
    const code = outcome.exitCode ?? 125
    if (code !== 0) throw new RunFailedError(o.argv, code)
  } catch (error) {
    discardLayerWork(engine, o.work)
    throw error
  } finally {
    rmSync(bundle, {recursive: true, force: true})
  }
  return commitLayer(engine, o.work, {stubs: [...INIT_PATHS, ...o.stubs], lowers: lowerDirs(engine, o.layers)})
}
