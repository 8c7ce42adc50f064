/** Starting `ncx system service` in e2e tests. */
import {ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {Sandbox} from './harness.js'

/** Start `ncx system service` for `box`; resolves once its socket answers. */
export async function startService(box: Sandbox, args: string[] = ['--timeout', '0']): Promise<{child: ChildProcess; socket: string; exited: Promise<number>}> {
  const socket = join(box.xdg, 'ncx', 'docker.sock')
  const child = box.spawn(['system', 'service', ...args], {stdio: ['ignore', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d))
  const exited = new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 137)))
  const end = Date.now() + 30_000
  while (!existsSync(socket)) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`the service did not start: ${stderr}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return {child, socket, exited}
}
