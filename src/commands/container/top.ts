import {Args} from '@oclif/core'
import {readFileSync} from 'node:fs'

import {BaseCommand} from '../../cli/base.js'
import {renderTable} from '../../cli/output.js'
import {TopProcess, topContainer, topWithPsOptions} from '../../engine/container/lifecycle.js'

function userNames(): Map<number, string> {
  const map = new Map<number, string>()
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':')
      if (f.length > 3 && !map.has(Number(f[2]))) map.set(Number(f[2]), f[0])
    }
  } catch {
    // numeric ids then
  }
  return map
}

const pad = (n: number) => String(n).padStart(2, '0')

/** `ps -ef` columns: UID PID PPID C STIME TTY TIME CMD. */
function stime(epochSeconds: number, now: Date): string {
  const d = new Date(epochSeconds * 1000)
  if (d.toDateString() === now.toDateString()) return `${pad(d.getHours())}:${pad(d.getMinutes())}`
  return `${d.toLocaleString('en-US', {month: 'short'})}${pad(d.getDate())}`
}

function tty(nr: number): string {
  if (nr === 0) return '?'
  const major = (nr >> 8) & 0xfff
  const minor = (nr & 0xff) | ((nr >> 12) & 0xfff00)
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`
  return `tty${minor}`
}

export default class Top extends BaseCommand<typeof Top> {
  static summary = 'Display the running processes of a container'
  static aliases = ['top']
  static usage = 'top CONTAINER [ps OPTIONS]'
  static strict = false
  // What follows the container belongs to ps (`top web -o pid,comm`).
  static flagsEndAfter = 1
  static args = {container: Args.string({description: 'Container name or ID', required: true})}

  async run(): Promise<void> {
    const engine = this.engine()
    const [name, ...psArgs] = this.positionals
    const record = engine.containers.resolve(name)
    if (psArgs.length > 0) {
      const {titles, lines} = topWithPsOptions(engine, record, psArgs)
      process.stdout.write(renderTable(lines, titles.map((t, i) => ({header: t, value: (l: string[]) => l[i] ?? ''}))))
      return
    }
    const rows = topContainer(engine, record)
    const names = userNames()
    const now = new Date()
    const time = (s: number) => `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`
    process.stdout.write(
      renderTable(rows, [
        {header: 'UID', value: (p: TopProcess) => names.get(p.uid) ?? String(p.uid)},
        {header: 'PID', value: (p: TopProcess) => String(p.pid)},
        {header: 'PPID', value: (p: TopProcess) => String(p.ppid)},
        {header: 'C', value: () => '0'},
        {header: 'STIME', value: (p: TopProcess) => stime(p.stime, now)},
        {header: 'TTY', value: (p: TopProcess) => tty(p.tty)},
        {header: 'TIME', value: (p: TopProcess) => time(p.time)},
        {header: 'CMD', value: (p: TopProcess) => p.cmd},
      ]),
    )
  }
}
