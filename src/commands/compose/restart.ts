import {Flags} from '@oclif/core'

import {ComposeCommand, progressPrinter} from '../../cli/compose.js'
import {startContainer} from '../../engine/container/lifecycle.js'
import {serviceOf} from '../../engine/compose/containers.js'
import {stopInOrder} from '../../engine/compose/up.js'

export default class Restart extends ComposeCommand<typeof Restart> {
  static summary = 'Restart service containers'
  static strict = false
  static flags = {
    timeout: Flags.integer({char: 't', description: 'Specify a shutdown timeout in seconds'}),
    'no-deps': Flags.boolean({description: "Don't restart dependent services"}),
  }

  async run(): Promise<void> {
    const {name, project} = this.projectOrName()
    const engine = this.engine()
    const emit = progressPrinter()
    const records = this.serviceContainers(engine, name)
    await stopInOrder(engine, project, records, this.flags.timeout, emit, false)
    // Start again, dependencies first.
    const order = project ? Object.keys(project.services) : []
    const rank = (s: string) => depth(project?.services ?? {}, s, new Set())
    records.sort((a, b) => rank(serviceOf(a)) - rank(serviceOf(b)) || order.indexOf(serviceOf(a)) - order.indexOf(serviceOf(b)))
    for (const r of records) {
      emit({kind: 'Container', name: r.name, status: 'Starting', done: false})
      startContainer(engine, r)
      emit({kind: 'Container', name: r.name, status: 'Started', done: true})
    }
  }
}

function depth(services: Record<string, {depends_on?: Record<string, unknown>}>, s: string, seen: Set<string>): number {
  if (seen.has(s)) return 0
  seen.add(s)
  return Math.max(0, ...Object.keys(services[s]?.depends_on ?? {}).map((d) => 1 + depth(services, d, seen)))
}
