/** `run`/`create` mount flags: -v, --mount, --tmpfs, --volumes-from, --userns. */
import {UsageError} from '../engine/errors.js'
import {MountSpec, parseMountFlag, parseTmpfsFlag, parseVolumeFlag, parseVolumesFrom} from '../engine/volume/spec.js'
import {FlagSpec, ParsedFlags} from './argv.js'

export const VOLUME_FLAGS: FlagSpec[] = [
  {name: 'volume', char: 'v', kind: 'multiple', description: 'Bind mount a volume: [SRC:]DST[:ro|rw|z|Z|nocopy|rprivate|…] (SRC a volume name or a host path)'},
  {name: 'mount', kind: 'multiple', description: 'Attach a filesystem mount: type=bind|volume|tmpfs,src=…,dst=…[,readonly][,bind-propagation=…][,volume-nocopy][,tmpfs-size=…]'},
  {name: 'tmpfs', kind: 'multiple', description: 'Mount a tmpfs directory: DST[:size=64m,mode=1777,…]'},
  {name: 'volumes-from', kind: 'multiple', description: 'Mount volumes from the specified container(s): CONTAINER[:ro|rw]'},
  {name: 'userns', kind: 'string', description: 'User namespace: keep-id (your uid/gid inside, as podman), host, or empty for the default'},
]

export interface VolumeFlagOptions {
  mounts?: MountSpec[]
  volumesFrom?: string[]
  userns?: string
}

/** The mount flags of one invocation, validated; host paths resolved against `cwd`. */
export function parseVolumeFlags(flags: ParsedFlags, cwd: string = process.cwd()): VolumeFlagOptions {
  const list = (k: string) => (flags[k] as string[] | undefined) ?? []
  const mounts = [...list('volume').map((v) => parseVolumeFlag(v, cwd)), ...list('mount').map((m) => parseMountFlag(m, cwd)), ...list('tmpfs').map(parseTmpfsFlag)]
  const volumesFrom = list('volumes-from')
  for (const v of volumesFrom) parseVolumesFrom(v)
  const out: VolumeFlagOptions = {}
  if (mounts.length > 0) out.mounts = mounts
  if (volumesFrom.length > 0) out.volumesFrom = volumesFrom
  const userns = flags.userns as string | undefined
  if (userns !== undefined && userns !== '') {
    if (userns !== 'keep-id' && userns !== 'host') throw new UsageError(`invalid --userns ${JSON.stringify(userns)}`, 'use keep-id, host, or leave it out')
    out.userns = userns
  }
  return out
}
