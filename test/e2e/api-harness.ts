/** Starting `ncx system service` in e2e tests. */
import {ChildProcess, spawnSync} from 'node:child_process'
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

/** The docker client the Engine API tests drive ncx with (Debian's docker.io). */
export const DOCKER = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => existsSync(p))

/**
 * `docker ARGS` with the environment `env()` gives (read at each call: the service's socket is
 * known only once `before` started it), and `ok`, which throws on a non-zero exit.
 */
export function dockerClient(env: () => Record<string, string | undefined>, timeout: number) {
  const docker = (args: string[], input?: string) => {
    const r = spawnSync(DOCKER!, args, {encoding: 'utf8', input, timeout, env: env()})
    return {code: r.status ?? 137, stdout: r.stdout, stderr: r.stderr}
  }
  const ok = (args: string[], input?: string) => {
    const r = docker(args, input)
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return r.stdout
  }
  return {docker, ok}
}
