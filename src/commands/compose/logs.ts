import {Flags} from '@oclif/core'

import {ComposeCommand, composeFlagsLongFile, useColor} from '../../cli/compose.js'
import {BaseCommand} from '../../cli/base.js'
import {streamLogs} from '../../cli/compose-attach.js'
import {UsageError} from '../../engine/errors.js'
import {parseTimeArg} from '../container/logs.js'

export default class Logs extends ComposeCommand<typeof Logs> {
  static summary = 'View output from containers'
  static strict = false
  static baseFlags = {...BaseCommand.baseFlags, ...composeFlagsLongFile}
  static flags = {
    follow: Flags.boolean({char: 'f', description: 'Follow log output'}),
    tail: Flags.string({char: 'n', description: 'Number of lines to show from the end of the logs for each container (default "all")'}),
    timestamps: Flags.boolean({char: 't', description: 'Show timestamps'}),
    since: Flags.string({description: 'Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)'}),
    until: Flags.string({description: 'Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)'}),
    'no-color': Flags.boolean({description: 'Produce monochrome output'}),
    'no-log-prefix': Flags.boolean({description: "Don't print prefix in logs"}),
    index: Flags.integer({description: 'index of the container if service has multiple replicas'}),
  }

  async run(): Promise<void> {
    const f = this.flags
    if (f.tail !== undefined && f.tail !== 'all' && !/^-?\d+$/.test(f.tail)) throw new UsageError(`invalid value for "tail": ${JSON.stringify(f.tail)}`)
    const {name, project} = this.projectOrName()
    for (const s of this.positionals) if (project && !(s in project.services)) throw new UsageError(`no such service: ${s}`)
    const engine = this.engine()
    const now = Date.now()
    const records = this.serviceContainers(engine, name, {oneoff: false})
    await streamLogs(engine, records, {
      follow: f.follow,
      tail: f.tail === undefined || f.tail === 'all' || Number(f.tail) < 0 ? undefined : Number(f.tail),
      since: f.since === undefined ? undefined : parseTimeArg(f.since, '--since', now),
      until: f.until === undefined ? undefined : parseTimeArg(f.until, '--until', now),
      timestamps: f.timestamps,
      color: !f['no-color'] && useColor(process.stdout),
      prefix: !f['no-log-prefix'],
    })
  }
}
