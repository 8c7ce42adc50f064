import {Flags} from '@oclif/core'

import {ComposeCommand} from '../../cli/compose.js'
import {commandText, statusText} from '../../cli/containers.js'
import {humanDuration, renderList} from '../../cli/output.js'
import {UsageError} from '../../engine/errors.js'
import {stateOf} from '../../engine/container/lifecycle.js'
import {portsColumn} from '../../engine/network/container.js'
import {LABEL, labelsOf, serviceOf} from '../../engine/compose/containers.js'

interface Row {
  ID: string
  Name: string
  Names: string
  Image: string
  Command: string
  Project: string
  Service: string
  CreatedAt: string
  RunningFor: string
  State: string
  Status: string
  Health: string
  ExitCode: number
  Ports: string
  Labels: string
}

const STATUSES = ['paused', 'restarting', 'removing', 'running', 'dead', 'created', 'exited']

export default class Ps extends ComposeCommand<typeof Ps> {
  static summary = 'List containers'
  static strict = false
  static flags = {
    all: Flags.boolean({char: 'a', description: 'Show all stopped containers (including those created by the run command)'}),
    quiet: Flags.boolean({char: 'q', description: 'Only display IDs'}),
    services: Flags.boolean({description: 'Display services'}),
    status: Flags.string({description: 'Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]', multiple: true}),
    format: Flags.string({description: "Format the output: table (default), json, or a Go template"}),
    'no-trunc': Flags.boolean({description: "Don't truncate output"}),
    filter: Flags.string({description: 'Filter services by a property (status=…)'}),
  }

  async run(): Promise<void> {
    const f = this.flags
    const statuses = [...(f.status ?? []), ...(f.filter?.startsWith('status=') ? [f.filter.slice(7)] : [])]
    for (const s of statuses) if (!STATUSES.includes(s)) throw new UsageError(`invalid status ${JSON.stringify(s)}`, `use one of ${STATUSES.join(', ')}`)
    const {name} = this.projectOrName()
    const engine = this.engine()
    const now = Date.now()
    let list = this.serviceContainers(engine, name, {oneoff: f.all})
      .map((record) => ({record, state: stateOf(engine, record)}))
    if (statuses.length > 0) list = list.filter((c) => statuses.includes(c.state.status))
    else if (!f.all) list = list.filter((c) => c.state.status === 'running' || c.state.status === 'restarting')
    if (f.services) {
      this.log([...new Set(list.map((c) => serviceOf(c.record)))].join('\n'))
      return
    }
    if (f.quiet) {
      if (list.length > 0) this.log(list.map((c) => (f['no-trunc'] ? c.record.id : c.record.id.slice(0, 12))).join('\n'))
      return
    }
    const rows: Row[] = list.map(({record, state}) => ({
      ID: f['no-trunc'] ? record.id : record.id.slice(0, 12),
      Name: record.name,
      Names: record.name,
      Image: record.image,
      Command: commandText(record.args, Boolean(f['no-trunc'])),
      Project: labelsOf(record)[LABEL.project] ?? '',
      Service: serviceOf(record),
      CreatedAt: new Date(record.created).toString(),
      RunningFor: `${humanDuration(now - Date.parse(record.created))} ago`,
      State: state.status,
      Status: statusText(state, now),
      Health: state.health?.Status ?? '',
      ExitCode: state.exitCode,
      Ports: portsColumn(engine, record.id, state.status === 'running'),
      Labels: Object.entries(labelsOf(record)).map(([k, v]) => `${k}=${v}`).join(','),
    }))
    const columns = [
      {header: 'NAME', value: (r: Row) => r.Name},
      {header: 'IMAGE', value: (r: Row) => r.Image},
      {header: 'COMMAND', value: (r: Row) => r.Command},
      {header: 'SERVICE', value: (r: Row) => r.Service},
      {header: 'CREATED', value: (r: Row) => r.RunningFor},
      {header: 'STATUS', value: (r: Row) => r.Status},
      {header: 'PORTS', value: (r: Row) => r.Ports},
    ]
    process.stdout.write(renderList(rows, columns, f.format, (r) => r, {Name: 'NAME', Names: 'NAMES', Service: 'SERVICE', ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', RunningFor: 'CREATED', Status: 'STATUS', Ports: 'PORTS', State: 'STATE'}))
  }
}
