/** `--expose` and compose's `expose:`: ports a container exposes without publishing them. */
import {UsageError} from '../errors.js'

/** `--expose 80`, `8000-8010/udp` → `80/tcp`, `8000/udp` … (Docker's port set keys). */
export function parseExpose(value: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(value)
  const [lo, hi] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [0, 0]
  if (!m || lo < 1 || hi > 65535 || hi < lo) throw new UsageError(`invalid range format for --expose: ${value}`, 'use PORT, PORT/PROTO or START-END[/PROTO] with ports 1-65535 and proto tcp, udp or sctp')
  const proto = m[3] ?? 'tcp'
  return Array.from({length: hi - lo + 1}, (_, i) => `${lo + i}/${proto}`)
}
