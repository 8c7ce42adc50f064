import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {humanSize, renderList} from '../../cli/output.js'
import {StatsSample, cpuPercent, sampleStats} from '../../engine/cgroup/control.js'
import {stateOf} from '../../engine/container/lifecycle.js'
import {ContainerRecord} from '../../engine/container/store.js'

/** One `stats` row, with Docker's field names for `--format`. */
interface StatsRow {
  Container: string
  ID: string
  Name: string
  CPUPerc: string
  MemUsage: string
  MemPerc: string
  NetIO: string
  BlockIO: string
  PIDs: string
}

const HEADERS: Record<string, string> = {Container: 'CONTAINER', ID: 'CONTAINER ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS'}

/** "1.5MiB", as go-units BytesSize prints it (binary units, 4 significant digits). */
export function bytesSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let v = bytes
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${Number(v.toPrecision(4))}${units[i]}`
}

const pct = (v: number | undefined) => (v === undefined ? '--' : `${v.toFixed(2)}%`)

function row(record: ContainerRecord, given: string, prev: StatsSample | undefined, cur: StatsSample, noTrunc: boolean): StatsRow {
  const mem = cur.memUsage !== undefined && cur.memLimit !== undefined
  return {
    Container: given,
    ID: noTrunc ? record.id : record.id.slice(0, 12),
    Name: record.name,
    CPUPerc: pct(cpuPercent(prev, cur)),
    MemUsage: mem ? `${bytesSize(cur.memUsage!)} / ${bytesSize(cur.memLimit!)}` : '-- / --',
    MemPerc: mem ? pct((cur.memUsage! / cur.memLimit!) * 100) : '--',
    NetIO: `${humanSize(cur.netRx)} / ${humanSize(cur.netTx)}`,
    BlockIO: cur.blkRead === undefined ? '-- / --' : `${humanSize(cur.blkRead)} / ${humanSize(cur.blkWrite ?? 0)}`,
    PIDs: cur.pids === undefined ? '--' : String(cur.pids),
  }
}

export default class Stats extends BaseCommand<typeof Stats> {
  static summary = 'Display a live stream of container(s) resource usage statistics'
  static aliases = ['stats']
  static examples = ['ncx stats', 'ncx stats --no-stream --all', "ncx stats --no-stream --format '{{.Name}} {{.CPUPerc}} {{.MemUsage}}' api"]
  static strict = false
  static flags = {
    all: Flags.boolean({char: 'a', description: 'Show all containers (default shows just running)'}),
    'no-stream': Flags.boolean({description: 'Disable streaming stats and only pull the first result'}),
    'no-trunc': Flags.boolean({description: "Don't truncate output"}),
    format: Flags.string({description: 'Format output using a custom template: table, table TEMPLATE, json or a Go template'}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    const named = this.positionals.map((n) => ({record: engine.containers.resolve(n), given: n}))
    const targets = () =>
      named.length > 0
        ? named
        : engine.containers
            .list()
            .filter((r) => this.flags.all || stateOf(engine, r).status === 'running')
            .map((r) => ({record: r, given: r.id.slice(0, 12)}))
    const prev = new Map<string, StatsSample>()
    const take = () => targets().map(({record, given}) => ({record, given, sample: sampleStats(engine, record)}))
    const render = (samples: ReturnType<typeof take>) =>
      renderList(
        samples.map(({record, given, sample}) => row(record, given, prev.get(record.id), sample, this.flags['no-trunc'])),
        (Object.keys(HEADERS) as Array<keyof StatsRow>).filter((k) => k !== 'Container').map((k) => ({header: HEADERS[k], value: (r: StatsRow) => r[k]})),
        this.flags.format,
        (r) => r,
        HEADERS,
      )
    // CPU % needs two readings: the first one is only the baseline.
    for (const s of take()) prev.set(s.record.id, s.sample)
    await new Promise((r) => setTimeout(r, 1000))
    const tty = process.stdout.isTTY
    for (;;) {
      const samples = take()
      const text = render(samples)
      if (this.flags['no-stream']) {
        process.stdout.write(text)
        return
      }
      process.stdout.write(tty ? `\u001B[2J\u001B[H${text}` : text)
      for (const s of samples) prev.set(s.record.id, s.sample)
      await new Promise((r) => setTimeout(r, 1000))
    }
  }
}
