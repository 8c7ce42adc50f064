/**
 * Completion values read straight from the store's files — no user namespace, no network
 * namespace, no locks (a completion that races a writer is at worst one name stale; files
 * are replaced atomically, so a read never sees half of one). Kept free of heavy imports:
 * it is bundled into dist/complete.cjs, which must answer in well under 150 ms.
 */
import {existsSync, readFileSync, readdirSync, statSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {CompletionSource, ContainerEntry} from './complete.js'
import {StorePaths, layout} from '../engine/store/paths.js'

function readJsonFile<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

/** Start time (clock ticks after boot) of a live, non-zombie process. */
function startTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined
    return Number(fields[19])
  } catch {
    return undefined
  }
}

interface StateFile {
  status: string
  monitorPid: number
  monitorStart: number
  paused?: boolean
}

/** Docker's short form: `docker.io/library/busybox:latest` → `busybox:latest`. */
export function familiar(name: string): string {
  return name.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '')
}

/** Compose's default file names, in its order of preference. */
export const COMPOSE_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml']

export class StoreCompletionSource implements CompletionSource {
  constructor(
    private readonly paths: StorePaths,
    private readonly cwd: string = process.cwd(),
    private readonly parseYaml?: (text: string) => unknown,
  ) {}

  containers(): ContainerEntry[] {
    const base = layout.containers(this.paths)
    let ids: string[]
    try {
      ids = readdirSync(base).filter((id) => /^[a-f0-9]{64}$/.test(id))
    } catch {
      return []
    }
    const out: ContainerEntry[] = []
    for (const id of ids) {
      const rec = readJsonFile<{id: string; name: string; state?: {status?: string}}>(join(base, id, 'container.json'))
      if (!rec) continue
      const st = readJsonFile<StateFile>(join(base, id, 'state.json'))
      let state: ContainerEntry['state'] = rec.state?.status === 'created' || !st ? 'created' : 'exited'
      if (st && st.status !== 'exited' && st.monitorPid > 0 && startTicks(st.monitorPid) === st.monitorStart) {
        const paused = st.paused === true || existsSync(join(base, id, 'paused'))
        state = paused ? 'paused' : 'running'
      } else if (st) state = 'exited'
      out.push({id, name: rec.name, state})
    }
    return out.sort((a, b) => a.name.localeCompare(b.name))
  }

  images(): Array<{names: string[]; id: string}> {
    const file = readJsonFile<{images?: Array<{id: string; names: string[]}>}>(layout.images(this.paths))
    return (file?.images ?? []).map((i) => ({id: i.id, names: i.names.filter((n) => !n.includes('@')).map(familiar)}))
  }

  networks(): string[] {
    const file = readJsonFile<{networks?: Record<string, {name: string}>}>(join(this.paths.data, 'networks.json'))
    const names = new Set(['bridge', ...Object.values(file?.networks ?? {}).map((n) => n.name)])
    return [...names].sort()
  }

  volumes(): string[] {
    try {
      const base = join(this.paths.data, 'volumes')
      return readdirSync(base)
        .filter((n) => !n.startsWith('.') && statSync(join(base, n)).isDirectory())
        .sort()
    } catch {
      return []
    }
  }

  composeServices(file?: string, dir?: string): string[] {
    const base = dir ? resolve(this.cwd, dir) : this.cwd
    const path = file ? resolve(this.cwd, file) : COMPOSE_FILES.map((f) => join(base, f)).find((f) => existsSync(f))
    if (!path || !this.parseYaml) return []
    try {
      const doc = this.parseYaml(readFileSync(path, 'utf8')) as {services?: Record<string, unknown>} | null
      return Object.keys(doc?.services ?? {})
    } catch {
      return []
    }
  }
}
