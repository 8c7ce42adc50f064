import {homedir} from 'node:os'
import {join} from 'node:path'

import {FileConfig, SettingSource, loadConfig} from '../config.js'

/** Where ncx keeps its data, runtime state and configuration. */
export interface StorePaths {
  readonly rootless: boolean
  /** Images, snapshots, containers (`--root` / `--data-root`). */
  readonly data: string
  /** Runtime state that does not survive a reboot: the user-namespace holder. */
  readonly run: string
  readonly config: string
  /** The configuration file consulted (ncx.toml) and where data and run roots came from. */
  readonly settings?: {file: string; loaded: boolean; data: SettingSource; run: SettingSource; config: FileConfig}
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
  const home = env.HOME ?? homedir()
  const config = env.NCX_CONFIG_ROOT ?? (rootless ? join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'ncx') : '/etc/ncx')
  // flag > environment > ncx.toml > default (src/engine/config.ts).
  const file = loadConfig(config, env)
  const pick = (flag: string | undefined, variable: string, fromFile: string | undefined, fallback: string): [string, SettingSource] =>
    flag !== undefined ? [flag, 'flag'] : env[variable] ? [env[variable]!, 'env'] : fromFile !== undefined ? [fromFile, 'config file'] : [fallback, 'default']
  const [data, dataSource] = pick(options.dataRoot, 'NCX_ROOT', file.config.dataRoot, rootless ? join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'ncx') : '/var/lib/ncx')
  const [run, runSource] = pick(undefined, 'NCX_RUN_ROOT', file.config.runRoot, rootless ? (env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'ncx') : `/tmp/ncx-${uid}`) : '/run/ncx')
  return {rootless, data, run, config, settings: {file: file.file, loaded: file.loaded, data: dataSource, run: runSource, config: file.config}}
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
  containerNames: (p: StorePaths) => join(p.data, 'container-names.json'),
  tmp: (p: StorePaths) => join(p.data, 'tmp'),
  lock: (p: StorePaths, name: string) => join(p.data, 'locks', `${name}.lock`),
}
