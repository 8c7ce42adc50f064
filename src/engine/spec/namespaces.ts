/**
 * The namespaces a container shares instead of getting its own (`--pid`, `--ipc`, `--uts`),
 * its NIS domain name, the size of its /dev/shm and its OCI annotations: applied to the spec
 * after `generateSpec`, and the runtime arguments that join another container's namespaces.
 *
 * Rootless, `host` means the namespaces ncx-runtime itself runs in: the held user namespace
 * (rootless/session.ts) makes no pid, IPC or UTS namespace of its own, so these are the
 * host's. A user namespace cannot mount proc, mqueue or a fresh /dev/shm for namespaces it
 * does not own, so (as rootless podman does) /proc, /dev/mqueue and /dev/shm become bind
 * mounts of the host's. `container:X` joins X's namespace through /proc/PID/ns/KIND, as
 * `--network container:X` does; X must be running when the container starts. With
 * `--ipc container:X` System V IPC, POSIX message queues and /dev/shm are X's, as with
 * Docker: X's /dev/shm is a mount in X's mount namespace, which cannot be bind-mounted from
 * outside it, so the runtime clones it there (`--shm-from /proc/PID/ns/mnt`, open_tree) and
 * attaches the clone in place of the container's own tmpfs.
 */
import {existsSync} from 'node:fs'

import {Engine} from '../engine.js'
import {NcxError, UsageError} from '../errors.js'
import {containerState} from '../container/state.js'
import type {ContainerRecord} from '../container/store.js'
import {ContainerOptions} from './generate.js'
import {OciMount, OciSpec} from './oci.js'

/** Docker's default /dev/shm size (HostConfig.ShmSize): 64 MiB. */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024

const PID_MODES = ['', 'host']
const IPC_MODES = ['', 'private', 'shareable', 'host', 'none']

function checkMode(flag: string, value: string, modes: string[], joinable: boolean): string {
  if (modes.includes(value)) return value
  if (joinable && value.startsWith('container:') && value.length > 'container:'.length) return value
  const allowed = [...modes.filter(Boolean), ...(joinable ? ['container:<name|id>'] : [])].join(', ')
  throw new UsageError(`invalid ${flag.slice(2).toUpperCase()} mode: ${value}`, `${flag} takes ${allowed}`)
}

/** `--pid host|container:<name|id>`. */
export function checkPidMode(value: string): string {
  return checkMode('--pid', value, PID_MODES, true)
}

/** `--ipc private|shareable|host|none|container:<name|id>`. */
export function checkIpcMode(value: string): string {
  return checkMode('--ipc', value, IPC_MODES, true)
}

/** `--uts host` (Docker has no other value). */
export function checkUtsMode(value: string): string {
  return checkMode('--uts', value, ['', 'host'], false)
}

function dropNamespace(spec: OciSpec, type: string): void {
  spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== type)
}

/** Replace the mount at `destination` (or drop it, with no replacement). */
function replaceMount(spec: OciSpec, destination: string, replacement?: OciMount): void {
  const i = spec.mounts.findIndex((m) => m.destination === destination)
  if (i < 0) return
  if (replacement) spec.mounts[i] = replacement
  else spec.mounts.splice(i, 1)
}

const hostBind = (path: string): OciMount => ({destination: path, type: 'bind', source: path, options: ['rbind', 'nosuid', 'noexec', 'nodev', 'rprivate']})

/** `--pid`, `--ipc`, `--uts`, `--domainname`, `--shm-size`, `--annotation` on a generated spec. */
export function applyNamespaceOptions(spec: OciSpec, options: ContainerOptions, hostHasMqueue = existsSync('/dev/mqueue')): void {
  if (options.annotations && Object.keys(options.annotations).length > 0) spec.annotations = {...spec.annotations, ...options.annotations}
  if (options.domainname) spec.domainname = options.domainname
  if (options.shmSize !== undefined && options.shmSize > 0) {
    const shm = spec.mounts.find((m) => m.destination === '/dev/shm' && m.type === 'tmpfs')
    if (shm) shm.options = [...(shm.options ?? []).filter((o) => !o.startsWith('size=')), `size=${options.shmSize}`]
  }
  if (options.pid === 'host') {
    dropNamespace(spec, 'pid')
    replaceMount(spec, '/proc', {destination: '/proc', type: 'bind', source: '/proc', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'rprivate']})
  }
  if (options.ipc === 'host') {
    dropNamespace(spec, 'ipc')
    replaceMount(spec, '/dev/shm', hostBind('/dev/shm'))
    replaceMount(spec, '/dev/mqueue', hostHasMqueue ? hostBind('/dev/mqueue') : undefined)
  }
  if (options.ipc === 'none' || options.ipc?.startsWith('container:')) replaceMount(spec, '/dev/shm')
  if (options.uts === 'host') dropNamespace(spec, 'uts')
}

/** The other container of a `container:X` mode, which must be running (Docker's messages). */
function peerPid(engine: Engine, nameOrId: string, what: 'PID' | 'IPC'): number {
  const rec = engine.containers.resolve(nameOrId)
  const st = containerState(engine.containers, rec)
  if (st.status !== 'running' || st.pid <= 0) throw new NcxError(`cannot join ${what} of a non running container: ${rec.name}`, {hint: `start ${rec.name} first`})
  return st.pid
}

/**
 * `--ns-join pid=/proc/N/ns/pid,ipc=…` for `--pid`/`--ipc container:X`, and `--shm-from
 * /proc/N/ns/mnt` for X's /dev/shm (resolved at each start).
 */
export function namespaceRuntimeArgs(engine: Engine, record: ContainerRecord): string[] {
  const joins: string[] = []
  const shm: string[] = []
  for (const [kind, mode, what] of [['pid', record.options.pid, 'PID'], ['ipc', record.options.ipc, 'IPC']] as const) {
    if (!mode?.startsWith('container:')) continue
    const pid = peerPid(engine, mode.slice('container:'.length), what)
    joins.push(`${kind}=/proc/${pid}/ns/${kind}`)
    if (kind === 'ipc') shm.push('--shm-from', `/proc/${pid}/ns/mnt`)
  }
  return joins.length > 0 ? ['--ns-join', joins.join(','), ...shm] : []
}

/** At creation, the containers `--pid`/`--ipc container:X` name must exist (Docker's "No such container"). */
export function checkNamespacePeers(engine: Engine, options: ContainerOptions): void {
  for (const mode of [options.pid, options.ipc]) if (mode?.startsWith('container:')) engine.containers.resolve(mode.slice('container:'.length))
}
