/**
 * Limit enforcement on a real cgroup v2 kernel: test/vm/cgroup.sh inside cgroup2-vm (one boot,
 * a batch of checks: OOM kill + OOMKilled, pids limit, --cpus 0.5, stats, update, pause/unpause,
 * cgroup removal). Runs as root where the tool is available (CI); skipped (pending, not passed)
 * elsewhere. The tool boots qemu with software emulation: expect a few minutes.
 */
import {expect} from 'chai'
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join, relative, resolve} from 'node:path'

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
    // Prepared here, where it is fast: the test image, and ncx with its production modules in
    // one tar the VM unpacks into tmpfs (module loading over the VM's 9p share is very slow).
    execFileSync('node', [join(repo, 'scripts', 'mkimage.js'), 'busybox', '--out', join(repo, 'images')], {stdio: 'ignore'})
    // (npm ls exits 1 on cosmetic problems such as extraneous packages; its list is still right)
    const prod = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {cwd: repo, encoding: 'utf8'})
      .stdout.trim()
      .split('\n')
      .map((p) => relative(repo, p))
      .filter((p) => p.startsWith('node_modules'))
    execFileSync('tar', ['-cf', join(repo, 'images', 'ncx-vm-install.tar'), '-C', repo, 'bin', 'dist', 'native', 'package.json', 'oclif.manifest.json', ...new Set(prod)])
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
