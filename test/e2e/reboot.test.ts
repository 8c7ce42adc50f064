import {expect} from 'chai'
import {readFileSync, readdirSync, readlinkSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {Sandbox} from './harness.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The user namespace a process is in (`user:[4026531837]`), undefined when it is gone. */
function userns(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/user`)
  } catch {
    return undefined
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // gone
  }
}

describe('e2e: restart after reboot (ncx system boot)', function () {
  this.timeout(180_000)
  const box = new Sandbox()

  before(() => box.load('busybox.oci.tar'))
  after(() => box.destroy())

  /**
   * What a reboot does to ncx's processes and runtime state: every process of this sandbox
   * dies at once (monitors, containers, the user-namespace holder, the network namespace and
   * slirp4netns), and XDG_RUNTIME_DIR (a tmpfs) comes back empty. Only this sandbox's
   * processes are killed: those in its user namespace and those its runtime records name.
   */
  function reboot(): void {
    const runtime = join(box.xdg, 'ncx')
    const records = readdirSync(runtime).filter((f) => f.endsWith('.json'))
    const named = new Set<number>()
    for (const f of records) {
      const walk = (v: unknown, key = ''): void => {
        if (typeof v === 'number' && /pid$/i.test(key)) named.add(v)
        else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k)
      }
      walk(JSON.parse(readFileSync(join(runtime, f), 'utf8')))
    }
    const holder = (JSON.parse(readFileSync(join(runtime, 'userns.json'), 'utf8')) as {pid: number}).pid
    const ns = userns(holder)
    expect(ns, 'the user-namespace holder runs').to.be.a('string')
    const monitors = readdirSync(join(box.root, 'containers'))
      .filter((id) => /^[a-f0-9]{64}$/.test(id))
      .map((id) => (JSON.parse(readFileSync(join(box.root, 'containers', id, 'state.json'), 'utf8')) as {monitorPid: number}).monitorPid)
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number)) {
      if (userns(pid) === ns) kill(pid)
    }
    for (const pid of [...named, ...monitors]) kill(pid)
    rmSync(runtime, {recursive: true, force: true})
  }

  const status = () =>
    Object.fromEntries(
      box
        .ok(['ps', '-a', '--format', '{{.Names}}\t{{.Status}}'])
        .trim()
        .split('\n')
        .map((l) => l.split('\t')),
    ) as Record<string, string>

  it('brings back always and unless-stopped containers, not user-stopped or no-policy ones; ps shows Exited before', async () => {
    const sleeper = ['busybox', 'sh', '-c', 'echo started; exec sleep 1000']
    box.ok(['run', '-d', '--name', 'always', '--restart', 'always', ...sleeper])
    box.ok(['run', '-d', '--name', 'always-stopped', '--restart', 'always', ...sleeper])
    box.ok(['run', '-d', '--name', 'unless', '--restart', 'unless-stopped', ...sleeper])
    box.ok(['run', '-d', '--name', 'unless-stopped', '--restart', 'unless-stopped', ...sleeper])
    box.ok(['run', '-d', '--name', 'never', ...sleeper])
    box.ok(['run', '-d', '--name', 'onfail', '--restart', 'on-failure:3', ...sleeper])
    box.ok(['stop', '-t', '0', 'always-stopped', 'unless-stopped'])
    const before = status()
    for (const n of ['always', 'unless', 'never', 'onfail']) expect(before[n], n).to.match(/^Up /)

    reboot()
    await sleep(200)
    // After the "reboot" nothing runs, and ps says so: never a ghost Up.
    const after = status()
    for (const n of ['always', 'always-stopped', 'unless', 'unless-stopped', 'never', 'onfail']) expect(after[n], n).to.match(/^Exited \(\d+\)/)
    expect(box.ok(['ps', '-q'])).to.equal('')

    // The boot job (what the systemd --user unit or @reboot crontab line runs).
    const started = box.ok(['system', 'boot']).trim().split('\n').sort()
    expect(started).to.deep.equal(['always', 'always-stopped', 'unless'])
    const now = status()
    for (const n of ['always', 'always-stopped', 'unless']) expect(now[n], n).to.match(/^Up /)
    for (const n of ['unless-stopped', 'never', 'onfail']) expect(now[n], n).to.match(/^Exited/)
    // The container really runs again, under a new monitor and user namespace.
    expect(box.ok(['exec', 'always', 'cat', '/proc/1/cmdline']).replace(/\0/g, ' ').trim()).to.equal('sleep 1000')
    expect(box.ok(['logs', 'unless'])).to.equal('started\nstarted\n')
    // A second boot finds everything running and starts nothing.
    expect(box.ok(['system', 'boot'])).to.equal('')
    // A user stop still counts: unless-stopped stays down on the next boot.
    box.ok(['stop', '-t', '0', 'unless'])
    reboot()
    expect(box.ok(['system', 'boot']).trim().split('\n').sort()).to.deep.equal(['always', 'always-stopped'])
  })

  it('prints a systemd --user unit that runs the boot command', () => {
    const unit = box.ok(['system', 'boot', '--systemd-unit'])
    expect(unit).to.match(/^\[Unit\]\n/)
    expect(unit).to.match(/\nExecStart=\/\S+\/bin\/run\.cjs system boot\n/)
    expect(unit).to.include('\nWantedBy=default.target\n')
  })
})
