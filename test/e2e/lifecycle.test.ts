import {expect} from 'chai'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {Sandbox} from './harness.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('e2e: detached containers and their lifecycle', function () {
  this.timeout(120_000)
  const box = new Sandbox()

  before(() => box.load('busybox.oci.tar'))
  after(() => box.destroy())

  const stateOf = (id: string) => JSON.parse(readFileSync(join(box.root, 'containers', id, 'state.json'), 'utf8')) as {pid: number; monitorPid: number; status: string}
  const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  const ppid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1])
  const alive = (pid: number) => {
    try {
      return !/^[ZX]$/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[0])
    } catch {
      return false
    }
  }
  const until = async (what: () => boolean, ms = 10_000) => {
    const end = Date.now() + ms
    while (!what()) {
      if (Date.now() > end) throw new Error('timed out waiting')
      await sleep(50)
    }
  }

  it('run -d prints the ID and the container outlives the CLI under its own monitor', () => {
    const id = box.ok(['run', '-d', '--name', 'bg', 'busybox', 'sleep', '1000']).trim()
    expect(id).to.match(/^[a-f0-9]{64}$/)
    const st = stateOf(id)
    expect(st.status).to.equal('running')
    expect(comm(st.monitorPid)).to.equal('ncx-monitor')
    expect(comm(st.pid)).to.equal('sleep')
    expect(ppid(st.pid)).to.equal(st.monitorPid)
    // The monitor is not a child of any Node process (the CLI has exited).
    expect(comm(ppid(st.monitorPid))).to.not.equal('node')
    const status = readFileSync(`/proc/${st.monitorPid}/status`, 'utf8')
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1])
    expect(rss, 'monitor RSS (kB)').to.be.below(4096)
    expect(/Threads:\s+(\d+)/.exec(status)?.[1]).to.equal('1')
    // The container's process starts with no signal ignored or blocked (as Docker's).
    const own = readFileSync(`/proc/${st.pid}/status`, 'utf8')
    expect(/SigIgn:\s+(\w+)/.exec(own)?.[1]).to.equal('0000000000000000')
    expect(/SigBlk:\s+(\w+)/.exec(own)?.[1]).to.equal('0000000000000000')
    const ps = box.ok(['ps'])
    expect(ps.split('\n')[0]).to.match(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/)
    expect(ps).to.match(new RegExp(`^${id.slice(0, 12)}\\s+busybox\\s+"sleep 1000"\\s+.* ago\\s+Up (Less than a second|\\d+ seconds?)\\s+bg$`, 'm'))
    // Any unique prefix or the name works.
    expect(box.ok(['inspect', '-f', '{{.Name}} {{.State.Running}} {{.State.Pid}}', id.slice(0, 5)])).to.equal(`/bg true ${st.pid}\n`)
  })

  it('keeps the exit code and the logs (json-file, stdout and stderr apart)', async () => {
    const id = box.ok(['run', '-d', '--name', 'ex', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']).trim()
    expect(box.ok(['wait', 'ex'])).to.equal('3\n')
    const logs = box.ncx(['logs', 'ex'])
    expect(logs.stdout).to.equal('out\n')
    expect(logs.stderr).to.equal('err\n')
    expect(box.ok(['logs', '-t', 'ex'])).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out\n$/)
    const file = readFileSync(join(box.root, 'containers', id, `${id}-json.log`), 'utf8').trim().split('\n')
    expect(file).to.have.length(2)
    for (const line of file) expect(line).to.match(/^\{"log":"(out|err)\\n","stream":"(stdout|stderr)","time":"[0-9T:.-]+Z"\}$/)
    expect(box.ok(['ps', '-a', '--filter', 'name=^ex$', '--format', '{{.Status}}'])).to.match(/^Exited \(3\) (Less than a second|\d+ seconds?) ago\n$/)
    const [inspect] = JSON.parse(box.ok(['inspect', 'ex'])) as Array<{Id: string; State: {Status: string; ExitCode: number; Running: boolean}; Bundle: string; Config: {Cmd: string[]}}>
    expect(inspect.Id).to.equal(id)
    expect(inspect.State).to.include({Status: 'exited', ExitCode: 3, Running: false})
    expect(inspect.Config.Cmd).to.deep.equal(['sh', '-c', 'echo out; echo err >&2; exit 3'])
    expect(existsSync(join(inspect.Bundle, 'config.json'))).to.equal(true)
    expect(box.ok(['logs', '--tail', '1', 'ex'])).to.equal('')
  })

  it('streams with logs -f until the container exits', async () => {
    // line2 is written only once the test says so: streaming is shown without any timing.
    box.ok(['run', '-d', '--name', 'fl', 'busybox', 'sh', '-c', 'echo line1; until [ -f /tmp/go ]; do sleep 0.05; done; echo line2; echo line3'])
    const child = box.spawn(['logs', '-f', 'fl'])
    let seen = ''
    child.stdout!.on('data', (d: Buffer) => (seen += d.toString()))
    const closed = new Promise((r) => child.on('close', r))
    await until(() => seen === 'line1\n')
    box.ok(['exec', 'fl', 'touch', '/tmp/go'])
    expect(await closed).to.equal(0)
    expect(seen).to.equal('line1\nline2\nline3\n')
  })

  it("exec joins the container's hostname, PID namespace and filesystem, with run's exit codes", () => {
    box.ok(['run', '-d', '--name', 'ex2', '-h', 'inside', 'busybox', 'sh', '-c', 'echo from-init > /marker; exec sleep 1000'])
    expect(box.ok(['exec', 'ex2', 'hostname'])).to.equal('inside\n')
    expect(box.ok(['exec', 'ex2', 'cat', '/marker'])).to.equal('from-init\n')
    const ps = box.ok(['exec', 'ex2', 'ps', '-o', 'pid,comm']).trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/))
    expect(ps[0]).to.deep.equal(['1', 'sleep'])
    expect(box.ok(['exec', '-u', '1000', '-w', '/tmp', '-e', 'X=y', 'ex2', 'sh', '-c', 'id -u; pwd; echo $X'])).to.equal('1000\n/tmp\ny\n')
    expect(box.ok(['exec', '-i', 'ex2', 'cat'], {input: 'piped\n'})).to.equal('piped\n')
    expect(box.ncx(['exec', 'ex2', 'sh', '-c', 'exit 5']).code).to.equal(5)
    // Docker: run's missing command is 127, exec's 126 (runc exec fails to start it).
    expect(box.ncx(['exec', 'ex2', 'nosuch']).code).to.equal(126)
    expect(box.ok(['exec', '-d', 'ex2', 'touch', '/from-exec-d'])).to.equal('')
    expect(box.ncx(['exec', 'ex2', 'sh', '-c', 'sleep 0.2; test -f /from-exec-d']).code).to.equal(0)
    expect(box.ok(['top', 'ex2'])).to.match(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n.*sleep 1000/)
  })

  it("exec joins the container's cgroup best effort: one warning where it may not, an error with NCX_CGROUP_ENFORCE=1", function () {
    // A cgroup this user may not move processes into: the root of the cgroup2 hierarchy
    // (pure v2 at /sys/fs/cgroup, hybrid at /sys/fs/cgroup/unified), owned by root.
    const root = ['', 'unified'].find((d) => existsSync(join('/sys/fs/cgroup', d, 'cgroup.procs')))
    if (root === undefined) this.skip()
    const id = box.ok(['run', '-d', '--name', 'cgx', 'busybox', 'sleep', '1000']).trim()
    const config = join(box.root, 'containers', id, 'config.json')
    const spec = JSON.parse(readFileSync(config, 'utf8')) as {linux: {cgroupsPath?: string}}
    spec.linux.cgroupsPath = `/${root}`
    writeFileSync(config, JSON.stringify(spec))
    const loose = box.ncx(['exec', 'cgx', 'echo', 'ran'])
    expect(loose.code, loose.stderr).to.equal(0)
    expect(loose.stdout).to.equal('ran\n')
    const warnings = loose.stderr.split('\n').filter((l) => l.startsWith('WARNING: '))
    expect(warnings).to.have.length(1)
    expect(warnings[0]).to.match(/cannot join the container's cgroup: .*cgroup\.procs: .*runs outside it.*NCX_CGROUP_ENFORCE=1/)
    const strict = box.ncx(['exec', 'cgx', 'echo', 'ran'], {env: {NCX_CGROUP_ENFORCE: '1'}})
    expect(strict.code).to.equal(126) // an exec that cannot start, as Docker's 'OCI runtime exec failed'
    expect(strict.stdout).to.equal('')
    expect(strict.stderr).to.match(/cannot join the container's cgroup: .*cgroup\.procs/)
    box.ok(['rm', '-f', 'cgx'])
  })

  it('stop sends SIGTERM, then SIGKILL after -t; start and restart bring it back', () => {
    // PID 1 without a handler ignores SIGTERM: only the SIGKILL after the timeout stops it.
    box.ok(['run', '-d', '--name', 'stubborn', 'busybox', 'sleep', '1000'])
    const t0 = Date.now()
    expect(box.ok(['stop', '-t', '1', 'stubborn'])).to.equal('stubborn\n')
    const took = Date.now() - t0
    expect(took).to.be.within(1000, 6000)
    expect(box.ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'stubborn'])).to.equal('exited 137\n')
    // A process that handles SIGTERM exits at once with its own code.
    box.ok(['run', '-d', '--name', 'polite', 'busybox', 'sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done'])
    const t1 = Date.now()
    box.ok(['stop', 'polite'])
    expect(Date.now() - t1).to.be.below(4000)
    expect(box.ok(['inspect', '-f', '{{.State.ExitCode}}', 'polite'])).to.equal('0\n')
    expect(box.ok(['start', 'polite'])).to.equal('polite\n')
    expect(box.ok(['ps', '--filter', 'name=polite', '--format', '{{.State}}'])).to.equal('running\n')
    const pid1 = stateOf(box.ok(['inspect', '-f', '{{.Id}}', 'polite']).trim()).pid
    expect(box.ok(['restart', 'polite'])).to.equal('polite\n')
    const pid2 = stateOf(box.ok(['inspect', '-f', '{{.Id}}', 'polite']).trim()).pid
    expect(pid2).to.not.equal(pid1)
    expect(box.ok(['kill', '-s', 'TERM', 'polite'])).to.equal('polite\n')
    expect(box.ok(['wait', 'polite'])).to.equal('0\n')
    // kill (SIGKILL) returns once the container has exited, as dockerd's: inspect right after says so.
    box.ok(['start', 'polite'])
    for (let i = 0; i < 3; i++) {
      if (i > 0) box.ok(['start', 'polite'])
      expect(box.ok(['kill', 'polite'])).to.equal('polite\n')
      expect(box.ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'polite'])).to.equal('exited 137\n')
    }
    // Stopping a stopped container is fine; killing one is Docker's error.
    expect(box.ncx(['stop', 'polite']).code).to.equal(0)
    const kill = box.ncx(['kill', 'polite'])
    expect(kill.code).to.equal(1)
    expect(kill.stderr).to.contain('is not running')
  })

  it('restarts a failing command exactly N times with --restart on-failure:N', async () => {
    box.ok(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo attempt; exit 3'])
    await until(() => box.ok(['inspect', '-f', '{{.State.Status}} {{.RestartCount}}', 'flaky']) === 'exited 2\n')
    await sleep(500)
    expect(box.ok(['inspect', '-f', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}', 'flaky'])).to.equal('exited 2 3\n')
    expect(box.ok(['logs', 'flaky'])).to.equal('attempt\nattempt\nattempt\n')
  })

  it('update --restart: a running container follows the new policy when it exits (moby UpdateMonitor); --rm refuses it', async () => {
    box.ok(['run', '-d', '--name', 'updated', 'busybox', 'sh', '-c', 'echo attempt; sleep 3; exit 3'])
    expect(box.ok(['update', '--restart', 'on-failure:1', 'updated'])).to.equal('updated\n')
    expect(box.ok(['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'updated'])).to.equal('on-failure 1\n')
    await until(() => box.ok(['inspect', '-f', '{{.State.Status}} {{.RestartCount}}', 'updated']) === 'exited 1\n', 30_000)
    expect(box.ok(['logs', 'updated'])).to.equal('attempt\nattempt\n')
    box.ok(['run', '-d', '--rm', '--name', 'updrm', 'busybox', 'sleep', '1000'])
    const r = box.ncx(['update', '--restart', 'always', 'updrm'])
    expect(r.code).to.equal(1)
    expect(r.stderr).to.include('Restart policy cannot be updated because AutoRemove is enabled for the container')
    box.ok(['rm', '-f', 'updrm', 'updated'])
  })

  it('turns healthy, then unhealthy after the retries', async () => {
    // The first probe runs one interval after start: 3 s leaves `ps` time to see "starting" on a
    // loaded machine (1 s did not, under a load of 6 on 2 cores); the file goes after the first probe.
    box.ok(['run', '-d', '--name', 'doc', '--health-cmd', 'test -f /tmp/ok', '--health-interval', '3s', '--health-retries', '2', 'busybox', 'sh', '-c', 'touch /tmp/ok; sleep 4.5; rm /tmp/ok; exec sleep 1000'])
    const status = () => box.ok(['ps', '--filter', 'name=doc', '--format', '{{.Status}}']).trim()
    expect(status()).to.match(/\(health: starting\)$/)
    await until(() => status().endsWith('(healthy)'))
    await until(() => status().endsWith('(unhealthy)'))
    const health = JSON.parse(box.ok(['inspect', '-f', '{{json .State.Health}}', 'doc'])) as {Status: string; FailingStreak: number; Log: Array<{ExitCode: number}>}
    expect(health.Status).to.equal('unhealthy')
    expect(health.FailingStreak).to.be.at.least(2)
    expect(health.Log.length).to.be.within(1, 5)
    expect(box.ok(['ps', '--filter', 'health=unhealthy', '--format', '{{.Names}}'])).to.equal('doc\n')
  })

  it('reports a container whose monitor was killed as exited, never a ghost Up', async () => {
    const id = box.ok(['run', '-d', '--name', 'orphan', 'busybox', 'sleep', '1000']).trim()
    const st = stateOf(id)
    process.kill(st.monitorPid, 'SIGKILL')
    await until(() => !alive(st.pid))
    expect(box.ok(['ps', '-a', '--filter', 'name=orphan', '--format', '{{.Status}}'])).to.match(/^Exited \(137\) /)
    expect(box.ok(['ps', '-q', '--filter', 'name=orphan'])).to.equal('')
    expect(box.ok(['inspect', '-f', '{{.State.Running}} {{.State.Error}}', 'orphan'])).to.equal("false the container's monitor died\n")
    // It can be started again.
    box.ok(['start', 'orphan'])
    expect(box.ok(['ps', '--filter', 'name=orphan', '--format', '{{.State}}'])).to.equal('running\n')
  })

  it('removes a detached --rm container after it exits', async () => {
    const id = box.ok(['run', '-d', '--rm', 'busybox', 'sh', '-c', 'sleep 0.3']).trim()
    await until(() => !existsSync(join(box.root, 'containers', id)))
    expect(box.ok(['ps', '-aq', '--no-trunc'])).to.not.contain(id)
    expect(readdirSync(join(box.root, 'containers')).filter((d) => d.includes(id))).to.deep.equal([])
  })

  it('create, ps filters and formats, rename, and the container verbs', () => {
    const id = box.ok(['container', 'create', '--name', 'made', 'busybox', 'sleep', '1000']).trim()
    expect(box.ok(['ps', '-a', '--filter', 'status=created', '--format', '{{.ID}} {{.Names}} {{.Status}}'])).to.equal(`${id.slice(0, 12)} made Created\n`)
    expect(box.ok(['ps', '-l', '-q', '--no-trunc'])).to.equal(`${id}\n`)
    expect(box.ok(['ps', '-n', '1', '--format', 'table {{.ID}}\t{{.Names}}'])).to.equal(`CONTAINER ID   NAMES\n${id.slice(0, 12)}   made\n`)
    box.ok(['container', 'rename', 'made', 'renamed'])
    expect(box.ok(['container', 'start', 'renamed'])).to.equal('renamed\n')
    expect(box.ok(['container', 'ls', '--filter', `id=${id.slice(0, 8)}`, '--format', '{{.Names}}'])).to.equal('renamed\n')
    const conflict = box.ncx(['rename', 'renamed', 'bg'])
    expect(conflict.code).to.equal(1)
    expect(conflict.stderr).to.contain('Conflict. The container name "/bg" is already in use')
    const running = box.ncx(['rm', 'renamed'])
    expect(running.code).to.equal(1)
    expect(running.stderr).to.contain('container is running')
    expect(box.ok(['container', 'rm', '-f', 'renamed'])).to.equal('renamed\n')
  })

  it('logs --since/--until, ps -s, stop -s, rm -v, --log-driver none, ambiguous prefixes, inspect State fields', async () => {
    box.ok(['run', '-d', '--name', 'lg', 'busybox', 'sh', '-c', 'echo a; sleep 1.2; echo b; sleep 1.2; echo c; exec sleep 1000'])
    await until(() => box.ok(['logs', 'lg']) === 'a\nb\nc\n')
    const [, tb] = box.ok(['logs', '-t', 'lg']).trim().split('\n').map((l) => l.split(' ')[0])
    expect(box.ok(['logs', '--since', tb, 'lg'])).to.equal('b\nc\n')
    expect(box.ok(['logs', '--until', tb, 'lg'])).to.equal('a\nb\n')
    expect(box.ok(['logs', '--since', '10m', '--tail', '2', 'lg'])).to.equal('b\nc\n')
    expect(box.ok(['logs', '--until', '10m', 'lg'])).to.equal('')
    const size = box.ok(['ps', '-s', '--filter', 'name=^lg$']).split('\n')
    expect(size[0]).to.match(/\sNAMES\s+SIZE$/)
    expect(size[1]).to.match(/\slg\s+\d+(\.\d+)?[kMG]?B \(virtual \d+(\.\d+)?[kMG]?B\)$/)
    const inspect = JSON.parse(box.ok(['inspect', 'lg'])) as Array<{State: Record<string, unknown>; Mounts: unknown[]}>
    expect(inspect[0].State).to.include({Status: 'running', Running: true, Paused: false, OOMKilled: false, Restarting: false, Dead: false})
    expect(inspect[0].Mounts).to.deep.equal([])
    // stop -s: another signal than the stop signal (the shell ignores TERM as PID 1).
    box.ok(['stop', '-s', 'KILL', '-t', '30', 'lg'])
    expect(box.ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'lg'])).to.equal('exited 137\n')
    expect(box.ok(['rm', '-v', 'lg'])).to.equal('lg\n')
    // --log-driver none: nothing to read, as Docker says.
    box.ok(['run', '-d', '--name', 'quiet', '--log-driver', 'none', 'busybox', 'echo', 'hi'])
    expect(box.ok(['wait', 'quiet'])).to.equal('0\n')
    const noLogs = box.ncx(['logs', 'quiet'])
    expect(noLogs.code).to.equal(1)
    expect(noLogs.stderr).to.contain('configured logging driver does not support reading')
    // An ID prefix two containers share is refused, with the fix.
    const ids = [box.ok(['inspect', '-f', '{{.Id}}', 'quiet']).trim()]
    const shared = () => ids.map((id) => id[0]).find((c, i, all) => all.indexOf(c) !== i)
    while (!shared()) ids.push(box.ok(['create', 'busybox', 'true']).trim())
    for (const verb of [['container', 'inspect'], ['stop'], ['rm', '-f']]) {
      const ambiguous = box.ncx([...verb, shared()!])
      expect(ambiguous.code, verb.join(' ')).to.equal(1)
      expect(ambiguous.stderr).to.contain(`multiple IDs found with provided prefix: ${shared()}`)
    }
    box.ok(['rm', '-f', ...ids])
  })

  it("fails like Docker on unknown containers and stopped ones", () => {
    const stop = box.ncx(['stop', 'nope'])
    expect(stop.code).to.equal(1)
    expect(stop.stderr).to.equal('ncx: No such container: nope\n')
    expect(box.ncx(['rm', 'nope']).code).to.equal(1)
    const exec = box.ncx(['exec', 'ex', 'true'])
    expect(exec.code).to.equal(1)
    expect(exec.stderr).to.match(/container [a-f0-9]{64} is not running/)
    expect(box.ncx(['logs', 'nope']).stderr).to.equal('ncx: No such container: nope\n')
  })

  it('leaves an empty, consistent store after 20 parallel run -d and rm -f', async () => {
    const runs = Array.from({length: 20}, () => new Promise<string>((resolve, reject) => {
      const child = box.spawn(['run', '-d', 'busybox', 'sleep', '1000'])
      let out = ''
      child.stdout!.on('data', (d) => (out += d))
      child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`exit ${code}`))))
    }))
    const ids = await Promise.all(runs)
    expect(new Set(ids).size).to.equal(20)
    const monitors = ids.map((id) => stateOf(id).monitorPid)
    const names = box.ok(['ps', '-a', '--format', '{{.Names}}']).trim().split('\n')
    expect(new Set(names).size).to.equal(names.length)
    const all = box.ok(['ps', '-aq']).trim().split('\n')
    box.ok(['rm', '-f', ...all])
    expect(box.ok(['ps', '-a'])).to.equal('CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n')
    expect(readdirSync(join(box.root, 'containers'))).to.deep.equal([])
    for (const m of monitors) expect(alive(m), `monitor ${m}`).to.equal(false)
    expect(box.ok(['container', 'prune', '-f'])).to.equal('Total reclaimed space: 0B\n')
  })
})
