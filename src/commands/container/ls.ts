import {Flags} from '@oclif/core'
import {join} from 'node:path'

import {BaseCommand} from '../../cli/base.js'
import {commandText, statusText} from '../../cli/containers.js'
import {goTimeString, humanDuration, humanSize, lazyField, renderList, withLabelMethod} from '../../cli/output.js'
import {UsageError} from '../../engine/errors.js'
import {invalidFlagValue} from '../../cli/errors.js'
import {stateOf} from '../../engine/container/lifecycle.js'
import {ContainerState} from '../../engine/container/state.js'
import {ContainerRecord} from '../../engine/container/store.js'
import {portsColumn} from '../../engine/network/container.js'
import {treeSize} from '../../engine/df.js'
import {isPaused} from '../../engine/cgroup/control.js'

/** One `ps` row, with Docker's field names for `--format`. */
interface PsRow {
  ID: string
  Image: string
  Command: string
  CreatedAt: string
  RunningFor: string
  Ports: string
  State: string
  Status: string
  Size: string
  Names: string
  Labels: string
  Mounts: string
  Networks: string
  LocalVolumes: string
  /** The image's platform (docker 28; null where the engine does not say). */
  Platform: null
}

/** moby's container states, the values of the status filter. */
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']

const HEADERS: Record<string, string> = {ID: 'CONTAINER ID', RunningFor: 'CREATED', CreatedAt: 'CREATED AT', Names: 'NAMES', Image: 'IMAGE', Command: 'COMMAND'}

/** Docker's `--filter` keys for ps that ncx supports. */
function matches(record: ContainerRecord, state: ContainerState, paused: () => boolean, filters: Map<string, string[]>): boolean {
  for (const [key, values] of filters) {
    // Docker: every label filter must match (KEY, or KEY=VALUE); other keys' values are alternatives.
    if (key === 'label') {
      const labels = record.config?.labels ?? record.options.labels ?? {}
      if (values.every((v) => (v.includes('=') ? labels[v.slice(0, v.indexOf('='))] === v.slice(v.indexOf('=') + 1) : v in labels))) continue
      return false
    }
    const ok = values.some((v) => {
      switch (key) {
        case 'status':
          // A frozen container is `paused` (and only that), as Docker's State.Status says.
          return state.status === 'running' && paused() ? v === 'paused' : state.status === v
        case 'name':
          return new RegExp(v).test(record.name)
        case 'id':
          return record.id.startsWith(v)
        case 'ancestor':
          return record.image === v || record.imageId.replace(/^sha256:/, '').startsWith(v.replace(/^sha256:/, ''))
        case 'exited':
          return state.status === 'exited' && String(state.exitCode) === v
        case 'health':
          return (state.health?.Status ?? 'none') === v
        default:
          return false
      }
    })
    if (!ok) return false
  }
  return true
}

export default class Ls extends BaseCommand<typeof Ls> {
  static summary = 'List containers'
  static aliases = ['ps', 'container:list', 'container:ps']
  static flags = {
    all: Flags.boolean({char: 'a', description: 'Show all containers (default shows just running)'}),
    quiet: Flags.boolean({char: 'q', description: 'Only display container IDs'}),
    last: Flags.integer({char: 'n', description: 'Show n last created containers (includes all states)', default: -1}),
    latest: Flags.boolean({char: 'l', description: 'Show the latest created container (includes all states)'}),
    size: Flags.boolean({char: 's', description: 'Display total file sizes'}),
    filter: Flags.string({char: 'f', description: 'Filter output based on conditions provided (status=, name=, id=, ancestor=, exited=, health=, label=)', multiple: true}),
    format: Flags.string({description: "Format output: 'table', 'json', or a Go template such as '{{.Names}} {{.Status}}'"}),
    'no-trunc': Flags.boolean({description: "Don't truncate output"}),
  }

  async run(): Promise<void> {
    const {all, quiet, latest, size, format} = this.flags
    const noTrunc = this.flags['no-trunc']
    const filters = new Map<string, string[]>()
    for (const f of this.flags.filter ?? []) {
      const eq = f.indexOf('=')
      // (Docker's flag type rejects it: a flag error, exit 125)
      if (eq <= 0) throw invalidFlagValue(f, {name: 'filter', char: 'f'}, 'bad format of filter (expected name=value)')
      const key = f.slice(0, eq)
      if (!['status', 'name', 'id', 'ancestor', 'exited', 'health', 'label'].includes(key)) throw new UsageError(`Invalid filter '${key}'`)
      if (key === 'status' && !STATUSES.includes(f.slice(eq + 1))) throw new UsageError(`Invalid filter 'status=${f.slice(eq + 1)}'`)
      filters.set(key, [...(filters.get(key) ?? []), f.slice(eq + 1)])
    }
    const engine = this.engine()
    const now = Date.now()
    let list = engine.containers
      .list()
      .map((record) => ({record, state: stateOf(engine, record)}))
      .sort((a, b) => b.record.created.localeCompare(a.record.created))
    const last = latest ? 1 : this.flags.last
    if (last >= 0) list = list.slice(0, last)
    else if (!all && !filters.has('status')) list = list.filter((c) => c.state.status === 'running' || c.state.status === 'restarting')
    list = list.filter((c) => matches(c.record, c.state, () => isPaused(engine, c.record), filters))
    if (quiet) {
      if (list.length > 0) this.log(list.map((c) => (noTrunc ? c.record.id : c.record.id.slice(0, 12))).join('\n'))
      return
    }
    const rows: PsRow[] = list.map(({record, state}) => {
      const frozen = state.status === 'running' && isPaused(engine, record)
      const upper = size ? treeSize(join(engine.containers.dir(record.id), 'upper')) : 0
      const row: PsRow = {
        ID: noTrunc ? record.id : record.id.slice(0, 12),
        Image: record.image,
        Command: commandText(record.args, noTrunc),
        CreatedAt: '', // (lazyField below)
        RunningFor: `${humanDuration(now - Date.parse(record.created))} ago`,
        Ports: portsColumn(engine, record.id, state.status === 'running'),
        State: frozen ? 'paused' : state.status,
        Status: frozen ? `${statusText(state, now)} (Paused)` : statusText(state, now),
        // Docker's "2B (virtual 4.26MB)": the writable layer, and with the image's layers.
        Size: size ? `${humanSize(upper)} (virtual ${humanSize(upper + record.layers.reduce((n, d) => n + (engine.snapshots.size(d) ?? 0), 0))})` : '',
        Names: record.name,
        Labels: Object.entries(record.config?.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
        // Docker: volume names, or bind sources, each cut to 15 characters unless --no-trunc.
        Mounts: (record.mounts ?? []).filter((m) => m.Type !== 'tmpfs').map((m) => {
          const name = m.Name ?? m.Source
          return noTrunc || [...name].length <= 15 ? name : [...name].slice(0, 14).join('') + '…'
        }).join(','),
        Networks: [record.options.network, ...(record.options.networks ?? [])].join(','),
        LocalVolumes: String((record.mounts ?? []).filter((m) => m.Type === 'volume').length),
        Platform: null,
      }
      lazyField(row, 'CreatedAt', () => goTimeString(new Date(record.created)))
      return withLabelMethod(row, record.config?.labels ?? {})
    })
    const columns = [
      {header: 'CONTAINER ID', value: (r: PsRow) => r.ID},
      {header: 'IMAGE', value: (r: PsRow) => r.Image},
      {header: 'COMMAND', value: (r: PsRow) => r.Command},
      {header: 'CREATED', value: (r: PsRow) => r.RunningFor},
      {header: 'STATUS', value: (r: PsRow) => r.Status},
      {header: 'PORTS', value: (r: PsRow) => r.Ports},
      {header: 'NAMES', value: (r: PsRow) => r.Names},
      ...(size ? [{header: 'SIZE', value: (r: PsRow) => r.Size}] : []),
    ]
    process.stdout.write(renderList(rows, columns, format, (r) => r, HEADERS))
  }
}
