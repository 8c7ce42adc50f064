/**
 * `run`/`create` flags for the container's metadata and shared namespaces: labels and
 * annotations, `--domainname`, `--shm-size`, `--pid`/`--ipc`/`--uts`, `--expose`,
 * `--platform` and `--cidfile`. The table and its parsing (src/engine/spec/namespaces.ts
 * applies them to the spec).
 */
import {existsSync, readFileSync} from 'node:fs'

import {UsageError, goPathError} from '../engine/errors.js'
import {parseBytes} from '../engine/cgroup/resources.js'
import {formatPlatform, parsePlatform} from '../engine/image/platform.js'
import {ContainerOptions} from '../engine/spec/generate.js'
import {checkIpcMode, checkPidMode, checkUtsMode} from '../engine/spec/namespaces.js'
import {check, checkDomainname, checkLabelKey} from '../engine/spec/values.js'
import {parseExpose} from '../engine/spec/expose.js'
import {FlagSpec, ParsedFlags} from './argv.js'

export const CONTAINER_FLAGS: FlagSpec[] = [
  {name: 'label', char: 'l', kind: 'multiple', description: 'Set meta data on a container (KEY=VALUE, or KEY for an empty value)'},
  {name: 'label-file', kind: 'multiple', description: 'Read in a line delimited file of labels'},
  {name: 'annotation', kind: 'multiple', description: 'Add an annotation to the container (passed through to the OCI runtime) (KEY=VALUE)'},
  {name: 'domainname', kind: 'string', description: 'Container NIS domain name'},
  {name: 'shm-size', kind: 'string', description: 'Size of /dev/shm (e.g. 128m; default 64m)'},
  {name: 'pid', kind: 'string', description: 'PID namespace to use: host or container:<name|id>'},
  {name: 'ipc', kind: 'string', description: 'IPC mode to use: private, shareable, host, none or container:<name|id>'},
  {name: 'uts', kind: 'string', description: 'UTS namespace to use: host'},
  {name: 'expose', kind: 'multiple', description: 'Expose a port or a range of ports (PORT[-PORT][/PROTO])'},
  {name: 'platform', kind: 'string', description: 'Set platform if server is multi-platform capable (OS/ARCH[/VARIANT])'},
  {name: 'cidfile', kind: 'string', description: 'Write the container ID to the file'},
]

/** `KEY=VALUE` (or `KEY`, an empty value) entries into a map; later entries win. */
export function keyValues(entries: readonly string[], flag: string, bare: 'empty' | 'error'): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of entries) {
    const eq = e.indexOf('=')
    if (eq === 0 || (eq < 0 && bare === 'error') || e.trim() === '') throw new UsageError(`invalid argument ${JSON.stringify(e)} for "${flag}" flag: expected KEY=VALUE`)
    if (eq < 0) out[e] = ''
    else out[e.slice(0, eq)] = e.slice(eq + 1)
  }
  return out
}

/** A `--label-file`: one `KEY=VALUE` per line, blank lines and `#` comments skipped (Docker's format). */
export function readLabelFile(path: string): string[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new UsageError(goPathError((error as NodeJS.ErrnoException).code === 'EISDIR' ? 'read' : 'open', path, error), 'give an existing file to --label-file')
  }
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
}

/** The options these flags set (only what was given). */
export function parseContainerFlags(flags: ParsedFlags): Partial<ContainerOptions> {
  const str = (k: string) => flags[k] as string | undefined
  const list = (k: string) => (flags[k] as string[] | undefined) ?? []
  const out: Partial<ContainerOptions> = {}
  const labelEntries = [...list('label-file').flatMap(readLabelFile), ...list('label')]
  for (const e of labelEntries) check('-l, --label', e, (v) => checkLabelKey(v.split('=')[0], v))
  const labels = keyValues(labelEntries, '--label', 'empty')
  if (Object.keys(labels).length > 0) out.labels = labels
  const annotations = keyValues(list('annotation'), '--annotation', 'error')
  if (Object.keys(annotations).length > 0) out.annotations = annotations
  const domainname = str('domainname')
  if (domainname !== undefined) out.domainname = check('--domainname', domainname, checkDomainname)
  const shm = str('shm-size')
  if (shm !== undefined) out.shmSize = parseBytes(shm, '--shm-size')
  const pid = str('pid')
  if (pid) out.pid = checkPidMode(pid)
  const ipc = str('ipc')
  if (ipc) out.ipc = checkIpcMode(ipc)
  const uts = str('uts')
  if (uts) {
    out.uts = checkUtsMode(uts)
    if (str('hostname') !== undefined) throw new UsageError('Conflicting options: hostname and the UTS mode', 'drop -h/--hostname, or --uts host')
  }
  const expose = [...new Set(list('expose').flatMap(parseExpose))]
  if (expose.length > 0) out.expose = expose
  const platform = str('platform')
  if (platform) out.platform = formatPlatform(parsePlatform(platform))
  const cidfile = str('cidfile')
  if (cidfile !== undefined) {
    if (existsSync(cidfile)) throw new UsageError(`Container ID file found, make sure the other container isn't running or delete ${cidfile}`)
    out.cidfile = cidfile
  }
  return out
}
