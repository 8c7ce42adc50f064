import {homedir} from 'node:os'
import {join} from 'node:path'

/** Where ncx keeps its data, runtime state and configuration. */
export interface StorePaths {
  readonly rootless: boolean
  /** Images, snapshots, containers (`--root` / `--data-root`). */
  readonly data: string
  /** Runtime state that does not survive a reboot: the user-namespace holder. */
  readonly run: string
  readonly config: string
}

export interface PathOptions {
  dataRoot?: string
  env?: NodeJS.ProcessEnv
  uid?: number
}

export function storePaths(options: PathOptions = {}): StorePaths {
  const env = options.env ?? process.env
  const uid = options.uid ?? process.getuid?.() ?? 0
  const rootless = uid !== 0
  const dataRoot = options.dataRoot ?? env.NCX_ROOT
  if (!rootless) {
    return {rootless, data: dataRoot ?? '/var/lib/ncx', run: env.NCX_RUN_ROOT ?? '/run/ncx', config: env.NCX_CONFIG_ROOT ?? '/etc/ncx'}
  }
  const home = env.HOME ?? homedir()
  const data = dataRoot ?? join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'ncx')
  const run = env.NCX_RUN_ROOT ?? (env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'ncx') : `/tmp/ncx-${uid}`)
  const config = env.NCX_CONFIG_ROOT ?? join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'ncx')
  return {rootless, data, run, config}
}

/** The fixed layout under the data root (see docs/store-layout.md). */
export const layout = {
  blobs: (p: StorePaths) => join(p.data, 'blobs', 'sha256'),
  blob: (p: StorePaths, digest: string) => join(p.data, 'blobs', 'sha256', digest.replace(/^sha256:/, '')),
  images: (p: StorePaths) => join(p.data, 'images.json'),
  snapshots: (p: StorePaths) => join(p.data, 'snapshots'),
  snapshot: (p: StorePaths, diffId: string) => join(p.data, 'snapshots', diffId.replace(/^sha256:/, '')),
  containers: (p: StorePaths) => join(p.data, 'containers'),
  container: (p: StorePaths, id: string) => join(p.data, 'containers', id),
  tmp: (p: StorePaths) => join(p.data, 'tmp'),
  lock: (p: StorePaths, name: string) => join(p.data, 'locks', `${name}.lock`),
}
