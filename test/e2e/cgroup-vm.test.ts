/**
 * Limit enforcement on a real cgroup v2 kernel: test/vm/cgroup.sh inside cgroup2-vm (one boot,
 * a batch of checks: OOM kill + OOMKilled, pids limit, --cpus 0.5, stats, update, pause/unpause,
 * cgroup removal). Runs as root where the tool is available (CI); skipped (pending, not passed)
 * elsewhere. The tool boots qemu with software emulation: expect a few minutes.
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {asRoot, repo} from './harness.js'

function vmTool(): string | undefined {
  const candidates = [process.env.NCX_CGROUP2_VM, resolve(repo, '..', 'shared', 'tools', 'cgroup2-vm'), resolve(repo, '..', '..', 'shared', 'tools', 'cgroup2-vm'), '/work/shared/tools/cgroup2-vm']
  return candidates.find((c): c is string => c !== undefined && existsSync(c))
}

describe('e2e (VM): cgroup v2 limits are enforced where delegated', function () {
  this.timeout(30 * 60_000)

  it('runs the VM batch: memory OOM, pids, cpu, stats, update, pause, teardown', async function () {
    const tool = vmTool()
    if (!asRoot || !tool) this.skip()
    const child = spawn(tool!, ['--timeout', '1500', '--', 'sh', join('test', 'vm', 'cgroup.sh')], {cwd: repo, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d))
    child.stderr.on('data', (d: Buffer) => (out += d))
    const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)))
    const results = out.split('\n').filter((l) => /^(not )?ok - /.test(l))
    const failed = results.filter((l) => l.startsWith('not ok'))
    expect(failed, out).to.deep.equal([])
    expect(results.length, out).to.be.at.least(14)
    expect(code, out).to.equal(0)
  })
})
