/** `top`'s default columns (`ps -ef`), shared by `ncx top` and the Engine API's `/containers/{id}/top`. */
import {readFileSync} from 'node:fs'

import {TopProcess} from '../engine/container/lifecycle.js'

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

export const PS_EF_TITLES = ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']

/** `ps -ef` rows of a container's processes. */
export function psEfRows(rows: readonly TopProcess[], now = new Date()): string[][] {
  const names = userNames()
  const time = (s: number) => `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`
  return rows.map((p) => [names.get(p.uid) ?? String(p.uid), String(p.pid), String(p.ppid), '0', stime(p.stime, now), tty(p.tty), time(p.time), p.cmd])
}
