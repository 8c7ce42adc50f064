/**
 * The Docker Engine API (`ncx system service`) driven by real clients: Debian's/Docker's
 * `docker` CLI and dockerode, with the service running as the unprivileged test user.
 */
import {expect} from 'chai'
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {request} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Sandbox} from './harness.js'
import {DOCKER, dockerClient, startService} from './api-harness.js'
import {fixture, pushImage, startRegistry} from '../registry/harness.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('e2e: Engine API (ncx system service)', function () {
  this.timeout(120_000)
  const box = new Sandbox()
  let service: Awaited<ReturnType<typeof startService>>
  const {docker, ok} = dockerClient(() => ({PATH: process.env.PATH, HOME: '/tmp', DOCKER_HOST: `unix://${service.socket}`}), 60_000)

  before(async function () {
    if (!DOCKER) throw new Error('no docker client: install Debian\'s docker.io (the client is all these tests use)')
    box.load('busybox.oci.tar')
    service = await startService(box)
  })
  after(async () => {
    if (service) {
      service.child.kill('SIGTERM')
      await service.exited
    }
    box.destroy()
  })

  it('serves a 0600 socket in the 0700 runtime directory, with version negotiation', () => {
    expect(statSync(service.socket).mode & 0o777).to.equal(0o600)
    expect(statSync(join(box.xdg, 'ncx')).mode & 0o777).to.equal(0o700)
    expect(ok(['version', '--format', '{{.Server.APIVersion}} {{.Server.MinAPIVersion}}']).trim()).to.equal('1.47 1.24')
    expect(ok(['info', '--format', '{{.Images}} {{.OSType}}']).trim()).to.equal('1 linux')
  })

  it('run -d -p, ps --format, logs, exec (stdin and exit codes), inspect templates, stop, rm', () => {
    const id = ok(['run', '-d', '--name', 'web', '-p', '127.0.0.1::80', '-e', 'A=b', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exec httpd -f -p 80']).trim()
    expect(id).to.match(/^[0-9a-f]{64}$/)
    expect(ok(['ps', '--format', '{{.Names}} {{.Image}} {{.State}}']).trim()).to.equal('web busybox running')
    expect(ok(['ps', '--format', '{{.Ports}}'])).to.match(/127\.0\.0\.1:\d+->80\/tcp/)
    // logs: Docker's multiplexed stream, demultiplexed by the client onto stdout and stderr
    let logs = docker(['logs', 'web'])
    for (let i = 0; i < 50 && !logs.stderr.includes('err'); i++) logs = docker(['logs', 'web'])
    expect(logs.stdout).to.equal('out\n')
    expect(logs.stderr).to.equal('err\n')
    const exec = docker(['exec', 'web', 'sh', '-c', 'echo $A; echo e >&2; exit 3'])
    expect([exec.code, exec.stdout, exec.stderr]).to.deep.equal([3, 'b\n', 'e\n'])
    expect(ok(['exec', '-i', 'web', 'cat'], 'piped\n')).to.equal('piped\n')
    expect(ok(['inspect', '-f', '{{.Name}} {{.State.Status}} {{.Config.Image}}', 'web']).trim()).to.equal('/web running busybox')
    ok(['stop', '-t', '1', 'web'])
    expect(ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']).trim()).to.equal('web exited')
    // Stopped: no ports listed, as Docker's ps shows it.
    expect(ok(['ps', '-a', '--format', '{{.Ports}}']).trim()).to.equal('')
    const busy = docker(['rm', 'nosuch'])
    expect(busy.code).to.equal(1)
    expect(busy.stderr).to.match(/No such container: nosuch/)
    ok(['rm', 'web'])
    expect(ok(['ps', '-aq']).trim()).to.equal('')
  })

  it('run --rm in the foreground: output through attach, the exit code through wait, the container gone', () => {
    const r = docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo hi; echo oops >&2; exit 7'])
    expect([r.code, r.stdout, r.stderr]).to.deep.equal([7, 'hi\n', 'oops\n'])
    expect(ok(['ps', '-aq']).trim()).to.equal('')
  })

  it("answers with Docker's error bodies and status codes", () => {
    const r = docker(['run', '--rm', 'nosuchimage:1', 'true'])
    expect(r.code).to.equal(125)
    expect(r.stderr).to.match(/nosuchimage/)
    const bad = docker(['run', '--rm', '--restart', 'always', 'busybox', 'true'])
    expect(bad.code).to.not.equal(0)
  })

  it('cp both ways (the archive endpoints), and a missing path is a 404', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ncx-e2e-api-cp-'))
    try {
      ok(['run', '-d', '--name', 'cpt', 'busybox', 'sleep', '300'])
      writeFileSync(join(dir, 'in.txt'), 'into the container\n')
      ok(['cp', join(dir, 'in.txt'), 'cpt:/tmp/'])
      expect(ok(['exec', 'cpt', 'cat', '/tmp/in.txt'])).to.equal('into the container\n')
      ok(['cp', 'cpt:/tmp/in.txt', join(dir, 'back.txt')])
      expect(readFileSync(join(dir, 'back.txt'), 'utf8')).to.equal('into the container\n')
      ok(['cp', 'cpt:/etc', join(dir, 'etc')])
      expect(readFileSync(join(dir, 'etc', 'hostname'), 'utf8')).to.match(/^[0-9a-f]{12}\n$/)
      const missing = docker(['cp', 'cpt:/nope', dir])
      expect(missing.code).to.equal(1)
      expect(missing.stderr).to.match(/Could not find the file \/nope in container cpt/)
      ok(['rm', '-f', 'cpt'])
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('images, tag, rmi, image inspect', () => {
    ok(['tag', 'busybox', 'example.com/bb:2'])
    expect(ok(['images', '--format', '{{.Repository}}:{{.Tag}}']).trim().split('\n').sort()).to.deep.equal(['busybox:latest', 'example.com/bb:2'])
    expect(ok(['image', 'inspect', '-f', '{{.Os}}', 'example.com/bb:2']).trim()).to.equal('linux')
    expect(ok(['rmi', 'example.com/bb:2'])).to.match(/Untagged: example.com\/bb:2/)
  })

  it('networks, volumes, system df and events (since/until, filters) with the docker CLI', () => {
    const start = Math.floor(Date.now() / 1000) - 1
    const netId = ok(['network', 'create', '--label', 'team=a', '--subnet', '10.89.77.0/24', 'apinet']).trim()
    expect(netId).to.match(/^[0-9a-f]{64}$/)
    expect(ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']).trim().split('\n').sort()).to.include.members(['apinet bridge', 'host host', 'none null'])
    expect(ok(['network', 'ls', '-q', '--filter', 'label=team=a']).trim()).to.equal(netId.slice(0, 12))
    expect(ok(['network', 'inspect', '-f', '{{.Name}} {{(index .IPAM.Config 0).Subnet}} {{.Labels.team}}', 'apinet']).trim()).to.equal('apinet 10.89.77.0/24 a')
    const dup = docker(['network', 'create', 'apinet'])
    expect(dup.code).to.equal(1)
    expect(dup.stderr).to.match(/network with name apinet already exists/)
    const missing = docker(['network', 'inspect', 'nosuchnet'])
    expect(missing.code).to.equal(1)
    expect(missing.stderr).to.match(/nosuchnet/)
    const host = docker(['network', 'rm', 'host'])
    expect(host.code).to.equal(1)
    expect(host.stderr).to.match(/^Error response from daemon: host is a pre-defined network and cannot be removed/)
    ok(['volume', 'create', '--label', 'k=v', 'apivol'])
    expect(ok(['volume', 'ls', '--format', '{{.Driver}} {{.Name}}']).trim()).to.equal('local apivol')
    expect(ok(['volume', 'inspect', '-f', '{{.Name}} {{.Labels.k}}', 'apivol']).trim()).to.equal('apivol v')
    ok(['run', '--rm', '--network', 'apinet', '-v', 'apivol:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f'])
    expect(ok(['run', '--rm', '-v', 'apivol:/data', 'busybox', 'cat', '/data/f'])).to.equal('kept\n')
    const df = ok(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']).trim().split('\n')
    expect(df).to.include.members(['Images 1', 'Local Volumes 1'])
    const goneVol = docker(['volume', 'rm', 'nosuchvol'])
    expect(goneVol.code).to.equal(1)
    ok(['volume', 'rm', 'apivol'])
    ok(['network', 'rm', 'apinet'])
    ok(['network', 'create', 'unused'])
    expect(ok(['network', 'prune', '-f'])).to.match(/Deleted Networks:\nunused/)
    const end = Math.floor(Date.now() / 1000) + 1
    const events = ok(['events', '--since', String(start), '--until', String(end), '--filter', 'type=network', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}']).trim().split('\n')
    expect(events.filter((e) => e.includes('apinet'))).to.deep.equal(['network create apinet', 'network destroy apinet'])
    const vols = ok(['events', '--since', String(start), '--until', String(end), '--filter', 'volume=apivol', '--format', '{{.Action}}']).trim().split('\n')
    expect(vols[0]).to.equal('create')
    expect(vols).to.include('destroy')
  })

  it('dockerode: a streamed event arrives while the client follows; network connect/disconnect (and their events)', async () => {
    const start = Math.floor(Date.now() / 1000) - 1
    const {default: Docker} = await import('dockerode')
    const client = new Docker({socketPath: service.socket})
    const events = (await client.getEvents({filters: {type: ['network']}})) as unknown as NodeJS.ReadableStream & {destroy: () => void}
    const seen: string[] = []
    const gotCreate = new Promise<void>((resolve) =>
      events.on('data', (d: Buffer) => {
        for (const line of d.toString().split('\n').filter(Boolean)) {
          const e = JSON.parse(line) as {Action: string; Actor: {Attributes: {name: string}}}
          seen.push(`${e.Action} ${e.Actor.Attributes.name}`)
        }
        if (seen.includes('create follownet')) resolve()
      }),
    )
    const net = await client.createNetwork({Name: 'follownet', Labels: {x: 'y'}})
    await gotCreate
    events.destroy()
    const c = await client.createContainer({Image: 'busybox', Cmd: ['sleep', '300']})
    await c.start()
    await net.connect({Container: c.id, EndpointConfig: {Aliases: ['svc']}})
    expect(Object.keys((await c.inspect()).NetworkSettings.Networks)).to.include('follownet')
    expect(Object.keys(((await net.inspect()) as {Containers: Record<string, unknown>}).Containers)).to.deep.equal([c.id])
    await net.disconnect({Container: c.id})
    expect(Object.keys((await c.inspect()).NetworkSettings.Networks)).to.not.include('follownet')
    // Docker's network events: Actor.ID the network, Attributes container, name, type.
    const format = '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.container}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}'
    const recorded = ok(['events', '--since', String(start), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=network', '--filter', 'network=follownet', '--format', format]).trim().split('\n')
    expect(recorded).to.deep.equal([`network create ${net.id} <no value> follownet bridge`, `network connect ${net.id} ${c.id} follownet bridge`, `network disconnect ${net.id} ${c.id} follownet bridge`])
    // The container filter selects container events only (Docker's rule), so none of these.
    expect(ok(['events', '--since', String(start), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=network', '--filter', `container=${c.id}`]).trim()).to.equal('')
    await c.remove({force: true})
    await net.remove()
    const gone = await client.getNetwork('follownet').inspect().catch((e: {statusCode: number}) => e.statusCode)
    expect(gone).to.equal(404)
  })

  it('top, rename, stats --no-stream, pause without cgroup delegation, container and image prune', async () => {
    ok(['run', '-d', '--name', 'ops', 'busybox', 'sleep', '300'])
    const top = ok(['top', 'ops']).trim().split('\n')
    expect(top[0]).to.match(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/)
    expect(top.slice(1).join('\n')).to.match(/sleep 300/)
    ok(['rename', 'ops', 'ops2'])
    expect(ok(['ps', '--format', '{{.Names}}']).trim()).to.equal('ops2')
    const taken = docker(['rename', 'ops2', 'ops2'])
    expect(taken.code).to.equal(1)
    const stats = ok(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}} {{.NetIO}}', 'ops2']).trim()
    expect(stats).to.match(/^ops2 \S+ \S+ \/ \S+$/)
    const {default: Docker} = await import('dockerode')
    const one = (await new Docker({socketPath: service.socket}).getContainer('ops2').stats({stream: false})) as unknown as {name: string; networks: {eth0: {rx_bytes: number}}; cpu_stats: {online_cpus: number}}
    expect(one.name).to.equal('/ops2')
    expect(one.networks.eth0.rx_bytes).to.be.a('number')
    expect(one.cpu_stats.online_cpus).to.be.greaterThan(0)
    // This host delegates no cgroup to the test user: the engine's own message, as `ncx pause` gives it.
    const pause = docker(['pause', 'ops2'])
    expect(pause.code).to.equal(1)
    expect(pause.stderr).to.include('cannot pause container ops2: it has no cgroup of its own')
    const unpause = docker(['unpause', 'ops2'])
    expect(unpause.code).to.equal(1)
    expect(unpause.stderr).to.match(/is not paused/)
    ok(['stop', '-t', '0', 'ops2'])
    const id = ok(['inspect', '-f', '{{.Id}}', 'ops2']).trim()
    expect(ok(['container', 'prune', '-f'])).to.include(`Deleted Containers:\n${id}`)
    expect(ok(['ps', '-aq']).trim()).to.equal('')
    ok(['tag', 'busybox', 'prunable:1'])
    ok(['rmi', 'busybox'])
    expect(ok(['image', 'prune', '-f'])).to.match(/^Total reclaimed space/m)
    expect(ok(['images', '-q']).trim()).to.not.equal('')
    expect(ok(['image', 'prune', '-a', '-f'])).to.match(/untagged: prunable:1/i)
    expect(ok(['images', '-q']).trim()).to.equal('')
    box.load('busybox.oci.tar')
  })

  it('pull from a registry: JSON progress stream, then the image is there', async () => {
    const registry = await startRegistry({auth: 'none'})
    try {
      await pushImage(registry, fixture('busybox'), 'team/pulled:1')
      const r = docker(['pull', `${registry.host}/team/pulled:1`])
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout, r.stdout).to.match(/Pulling from 127\.0\.0\.1:\d+\/team\/pulled\n(.|\n)*Status: (Downloaded newer image|Image is up to date) for 127\.0\.0\.1:\d+\/team\/pulled:1/)
      expect(ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).to.include(`${registry.host}/team/pulled:1`)
      const missing = docker(['pull', `${registry.host}/team/nosuch:1`])
      expect(missing.code).to.equal(1)
      ok(['rmi', `${registry.host}/team/pulled:1`])
    } finally {
      await registry.stop()
    }
  })

  it('diff, export and update: Docker\'s change kinds, the file system as a tar, limits and restart policy', () => {
    ok(['create', '--name', 'fs', 'busybox', 'sh', '-c', 'echo x > /new; rm /etc/passwd'])
    expect(ok(['start', '-a', 'fs'])).to.equal('')
    expect(ok(['diff', 'fs']).trim().split('\n')).to.deep.equal(['C /etc', 'D /etc/passwd', 'A /new'])
    const dir = mkdtempSync(join(tmpdir(), 'ncx-api-export-'))
    try {
      ok(['export', '-o', join(dir, 'fs.tar'), 'fs'])
      const listing = spawnSync('tar', ['-tf', join(dir, 'fs.tar')], {encoding: 'utf8'}).stdout.split('\n')
      expect(listing).to.include('new')
      expect(listing).to.include('bin/busybox')
      expect(listing).to.not.include('etc/passwd')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
    // A stopped container takes new limits for its next start; what ncx cannot apply is a warning.
    const update = docker(['update', '--memory', '64m', '--memory-swap', '128m', '--cpus', '0.5', '--kernel-memory', '10m', '--restart', 'on-failure:2', 'fs'])
    expect(update.code, update.stderr).to.equal(0)
    expect(update.stdout + update.stderr).to.match(/KernelMemory is not supported by ncx and was ignored/)
    expect(ok(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'fs']).trim()).to.equal('67108864 500000000 on-failure:2')
    const bad = docker(['update', '--memory', '1k', 'fs'])
    expect(bad.code).to.equal(1)
    expect(bad.stderr).to.match(/Minimum memory limit allowed is 6MB/)
    ok(['create', '--name', 'unchanged', 'busybox', 'true'])
    expect(ok(['diff', 'unchanged'])).to.equal('')
    ok(['rm', 'unchanged'])
    expect(docker(['diff', 'nosuch']).stderr).to.match(/No such container: nosuch/)
    expect(docker(['export', 'nosuch']).stderr).to.match(/No such container: nosuch/)
    ok(['rm', 'fs'])
  })

  it('commit (changes, message, author) and prune filters (label, label!, until) of containers and images', () => {
    ok(['run', '--name', 'tocommit', '--label', 'keep=no', 'busybox', 'sh', '-c', 'echo committed > /new'])
    const id = ok(['commit', '-c', 'CMD ["cat", "/new"]', '-c', 'LABEL prunable=yes', '-m', 'a message', '-a', 'me <me@example.com>', 'tocommit', 'committed:1']).trim()
    expect(id).to.match(/^sha256:[0-9a-f]{64}$/)
    expect(ok(['run', '--rm', 'committed:1'])).to.equal('committed\n')
    expect(ok(['image', 'inspect', '-f', '{{.Author}}|{{.Comment}}|{{.Config.Labels.prunable}}', 'committed:1']).trim()).to.equal('me <me@example.com>|a message|yes')
    const badChange = docker(['commit', '-c', 'FROM scratch', 'tocommit'])
    expect(badChange.code).to.equal(1)
    ok(['run', '--name', 'keeper', '--label', 'keep=yes', 'busybox', 'true'])
    // label!=keep=yes: only the other exited container goes; until in the past: none.
    expect(ok(['container', 'prune', '-f', '--filter', 'until=2000-01-01T00:00:00Z'])).to.not.match(/[0-9a-f]{64}/)
    const pruned = ok(['container', 'prune', '-f', '--filter', 'label!=keep=yes'])
    expect(pruned).to.match(/[0-9a-f]{64}/)
    expect(ok(['ps', '-a', '--format', '{{.Names}}']).trim()).to.equal('keeper')
    ok(['rm', 'keeper'])
    // Images: only the unused one with the label; busybox (no labels) stays.
    const images = ok(['image', 'prune', '-a', '-f', '--filter', 'label=prunable=yes'])
    expect(images).to.match(/untagged: committed:1/)
    const left = ok(['images', '--format', '{{.Repository}}:{{.Tag}}']).trim().split('\n')
    expect(left).to.include('busybox:latest')
    expect(left).to.not.include('committed:1')
    expect(docker(['image', 'prune', '-f', '--filter', 'nosuch=1']).stderr).to.match(/invalid filter 'nosuch'/)
  })

  it('dockerode: create, start, wait, logs (demultiplexed), exec', async () => {
    const {default: Docker} = await import('dockerode')
    const client = new Docker({socketPath: service.socket})
    const c = await client.createContainer({Image: 'busybox', Cmd: ['sh', '-c', 'echo one; echo two >&2; sleep 30'], Labels: {app: 'x'}})
    await c.start()
    const listed = await client.listContainers({filters: {label: ['app=x']}})
    expect(listed.map((l) => l.Id)).to.deep.equal([c.id])
    // Both lines logged before the kill (two 8-byte headers + 4 bytes each): on a busy machine
    // the shell may not have run yet when the exec below is done (CI once read empty logs).
    const deadline = Date.now() + 10_000
    while (((await c.logs({stdout: true, stderr: true})) as Buffer).length < 24 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const exec = await c.exec({Cmd: ['echo', 'from-exec'], AttachStdout: true, AttachStderr: true})
    const stream = await exec.start({hijack: true, stdin: false})
    const out: string[] = []
    const {PassThrough} = await import('node:stream')
    const so = new PassThrough()
    so.on('data', (d: Buffer) => out.push(d.toString()))
    client.modem.demuxStream(stream, so, new PassThrough())
    await new Promise((r) => stream.on('end', r))
    expect(out.join('')).to.equal('from-exec\n')
    expect((await exec.inspect()).ExitCode).to.equal(0)
    await c.kill()
    expect((await c.wait()).StatusCode).to.equal(137)
    const logs = (await c.logs({stdout: true, stderr: true})) as Buffer
    // 8-byte frame headers: stream 1 then stream 2
    expect(logs[0]).to.equal(1)
    expect(logs.subarray(8, 12).toString()).to.equal('one\n')
    expect(logs[12]).to.equal(2)
    await c.remove()
    const missing = await client.getContainer('nosuch').inspect().catch((e: {statusCode: number}) => e.statusCode)
    expect(missing).to.equal(404)
  })

  /** The terminals' `script` processes, killed after each test (a failed one leaves its session open). */
  const terminals: ReturnType<typeof spawn>[] = []
  afterEach(() => {
    for (const t of terminals.splice(0)) {
      if (t.exitCode !== null || t.signalCode !== null) continue
      // script's child (the docker CLI) first: it holds the service's hijacked connection.
      const cli = spawnSync('pgrep', ['-P', String(t.pid)], {encoding: 'utf8'}).stdout.trim()
      for (const pid of cli.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL')
      t.kill('SIGKILL')
    }
    // (a running container keeps a killed `run -it`'s POST …/wait, and so the service, waiting)
    docker(['rm', '-f', 'ttysize', 'consolesize', 'notty', 'stopped'])
  })
  /** The docker CLI on a real pty of `rows`×`cols` (util-linux `script`), fed keystrokes. */
  const terminal = (rows: number, cols: number, args: string[]) => {
    const line = ['stty', 'rows', String(rows), 'cols', String(cols), ';', 'exec', DOCKER!, ...args].join(' ')
    const child = spawn('script', ['-qfec', line, '/dev/null'], {stdio: ['pipe', 'pipe', 'pipe'], env: {PATH: process.env.PATH, HOME: '/tmp', SHELL: '/bin/sh', DOCKER_HOST: `unix://${service.socket}`}})
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')))
    child.stderr!.on('data', (d: Buffer) => (out += d.toString('latin1')))
    const closed = new Promise<number>((r) => child.on('close', (code) => r(code ?? 128)))
    terminals.push(child)
    let seen = 0
    return {
      child,
      type: (text: string) => child.stdin!.write(text),
      output: () => out,
      /** Wait for `re` in what came after the last match. */
      async expect(re: RegExp, ms = 15_000) {
        const end = Date.now() + ms
        for (;;) {
          const m = re.exec(out.slice(seen))
          if (m) {
            seen += m.index + m[0].length
            return m
          }
          if (Date.now() > end) throw new Error(`timed out waiting for ${re} in ${JSON.stringify(out.slice(seen))}`)
          await sleep(50)
        }
      },
      /** Resize the pty as a terminal window does (TIOCSWINSZ on it: SIGWINCH for the docker CLI). */
      resize(r: number, c: number) {
        const cli = spawnSync('pgrep', ['-P', String(child.pid)], {encoding: 'utf8'}).stdout.trim().split('\n')[0]
        const pts = readlinkSync(`/proc/${cli}/fd/0`)
        const set = spawnSync('stty', ['-F', pts, 'rows', String(r), 'cols', String(c)], {encoding: 'utf8'})
        if (set.status !== 0) throw new Error(`stty -F ${pts}: ${set.stderr}`)
      },
      async exit(ms = 20_000) {
        const timer = setTimeout(() => child.kill('SIGKILL'), ms)
        const code = await closed
        clearTimeout(timer)
        child.stdin!.destroy()
        return code
      },
    }
  }
  /** A raw Engine API request over the socket. */
  const api = (method: string, path: string, body?: unknown) =>
    new Promise<{status: number; body: string}>((resolve, reject) => {
      const req = request({socketPath: service.socket, method, path, headers: body === undefined ? {} : {'Content-Type': 'application/json'}}, (res) => {
        let text = ''
        res.on('data', (d: Buffer) => (text += d.toString()))
        res.on('end', () => resolve({status: res.statusCode ?? 0, body: text}))
      })
      req.on('error', reject)
      req.end(body === undefined ? undefined : JSON.stringify(body))
    })
  const stty = /\r\n(\d+ \d+)\r\n/

  it("TTY size: run -it, attach and exec -it see their terminal's size, and follow its resizes (SIGWINCH) and POST …/resize", async () => {
    const run = terminal(30, 100, ['run', '-it', '--name', 'ttysize', 'busybox', 'sh'])
    await run.expect(/\/ # /)
    run.type('stty size\r')
    expect((await run.expect(stty))[1]).to.equal('30 100')
    // The window changes: the CLI gets SIGWINCH and calls POST /containers/{id}/resize.
    run.resize(40, 120)
    await sleep(500)
    run.type('stty size\r')
    expect((await run.expect(stty))[1]).to.equal('40 120')
    // Another API client resizes it.
    expect((await api('POST', '/v1.41/containers/ttysize/resize?h=25&w=90')).status).to.equal(200)
    run.type('stty size\r')
    expect((await run.expect(stty))[1]).to.equal('25 90')
    // ctrl-p,ctrl-q: the CLI detaches (it matches the keys itself), the container runs on.
    run.type('\x10\x11')
    expect(await run.exit()).to.equal(0)

    // attach: the attaching terminal's size.
    const att = terminal(20, 70, ['attach', 'ttysize'])
    await sleep(1000)
    att.type('stty size\r')
    expect((await att.expect(stty))[1]).to.equal('20 70')
    att.type('\x10\x11')
    // docker 20.10's CLI ends an attach it detached with this message and 1 (against dockerd too).
    await att.expect(/read escape sequence/)
    expect(await att.exit()).to.equal(1)

    // exec -it: its own pty, held by the runtime's exec supervisor.
    const ex = terminal(33, 111, ['exec', '-it', 'ttysize', 'sh'])
    await ex.expect(/\/ # /)
    ex.type('stty size\r')
    expect((await ex.expect(stty))[1]).to.equal('33 111')
    ex.resize(45, 140)
    await sleep(500)
    ex.type('stty size\r')
    expect((await ex.expect(stty))[1]).to.equal('45 140')
    // The container's own terminal kept the size the last attach gave it.
    ex.type('stty size </proc/1/fd/0\r')
    expect((await ex.expect(stty))[1]).to.equal('20 70')
    ex.type('exit\r')
    expect(await ex.exit()).to.equal(0)
    ok(['rm', '-f', 'ttysize'])
  })

  it('TTY size: ConsoleSize of container create and exec create/start is the initial size; resize status codes as dockerd 20.10', async () => {
    // create's HostConfig.ConsoleSize: set before the process runs.
    const created = await api('POST', '/v1.41/containers/create?name=consolesize', {Image: 'busybox', Cmd: ['sh', '-c', 'stty size; exec sleep 60'], Tty: true, HostConfig: {ConsoleSize: [33, 77]}})
    expect(created.status).to.equal(201)
    expect((await api('POST', '/v1.41/containers/consolesize/start')).status).to.equal(204)
    let logs = ''
    for (let i = 0; i < 100 && !logs.includes('\n'); i++, await sleep(50)) logs = ok(['logs', 'consolesize'])
    expect(logs).to.equal('33 77\r\n')
    // exec: the start's ConsoleSize (API 1.42), and the create's.
    for (const [createBody, startBody, size] of [
      [{}, {ConsoleSize: [44, 132]}, '44 132'],
      [{ConsoleSize: [12, 34]}, {}, '12 34'],
    ] as const) {
      const e = await api('POST', '/v1.42/containers/consolesize/exec', {Cmd: ['stty', 'size'], Tty: true, AttachStdout: true, ...createBody})
      expect(e.status).to.equal(201)
      const id = (JSON.parse(e.body) as {Id: string}).Id
      const started = await api('POST', `/v1.42/exec/${id}/start`, {Tty: true, ...startBody})
      expect([started.status, started.body]).to.deep.equal([200, `${size}\r\n`])
      // An exec that has ended: dockerd's 404.
      expect((await api('POST', `/v1.42/exec/${id}/resize?h=10&w=10`)).status).to.equal(404)
    }
    const bad = await api('POST', '/v1.41/containers/create', {Image: 'busybox', Tty: true, HostConfig: {ConsoleSize: [1]}})
    expect(bad.status).to.equal(400)
    // A running exec with a terminal: 200, and its size changes.
    const e = await api('POST', '/v1.41/containers/consolesize/exec', {Cmd: ['sh', '-c', 'sleep 1; stty size'], Tty: true, AttachStdout: true})
    const id = (JSON.parse(e.body) as {Id: string}).Id
    const started = api('POST', `/v1.41/exec/${id}/start`, {Tty: true})
    let resized = {status: 0, body: ''}
    for (let i = 0; i < 40 && resized.status !== 200; i++, await sleep(25)) resized = await api('POST', `/v1.41/exec/${id}/resize?h=21&w=43`)
    expect(resized.status).to.equal(200)
    expect((await started).body).to.equal('21 43\r\n')
    const notStarted = (JSON.parse((await api('POST', '/v1.41/containers/consolesize/exec', {Cmd: ['true'], Tty: true})).body) as {Id: string}).Id
    expect((await api('POST', `/v1.41/exec/${notStarted}/resize?h=10&w=10`)).status).to.equal(409)
    expect((await api('POST', '/v1.41/exec/nosuch/resize?h=10&w=10')).status).to.equal(404)
    // Containers: dockerd's codes (no terminal: 200 and nothing to do; bad numbers: 400).
    ok(['run', '-d', '--name', 'notty', 'busybox', 'sleep', '60'])
    ok(['create', '--name', 'stopped', '-t', 'busybox', 'true'])
    const codes = []
    for (const path of ['consolesize/resize?h=10&w=20', 'notty/resize?h=10&w=20', 'stopped/resize?h=10&w=20', 'nosuch/resize?h=10&w=20', 'consolesize/resize?h=abc&w=20', 'consolesize/resize']) codes.push((await api('POST', `/v1.41/containers/${path}`)).status)
    expect(codes).to.deep.equal([200, 200, 409, 404, 400, 400])
    // The resize without an attached client reached the container's terminal before the POST
    // answered (the monitor acknowledges it): read at once, no polling.
    expect(docker(['exec', 'consolesize', 'sh', '-c', 'stty size </proc/1/fd/0']).stdout).to.equal('10 20\n')
    for (const [h, w] of [[11, 21], [12, 22], [13, 23]]) {
      expect((await api('POST', `/v1.41/containers/consolesize/resize?h=${h}&w=${w}`)).status).to.equal(200)
      expect(docker(['exec', 'consolesize', 'sh', '-c', 'stty size </proc/1/fd/0']).stdout).to.equal(`${h} ${w}\n`)
    }
    ok(['rm', '-f', 'consolesize', 'notty', 'stopped'])
  })
})

describe('e2e: Engine API idle exit and disconnecting clients', function () {
  this.timeout(120_000)
  const box = new Sandbox()
  before(function () {
    if (!DOCKER) throw new Error('no docker client: install Debian\'s docker.io (the client is all these tests use)')
    box.load('busybox.oci.tar')
  })
  after(() => box.destroy())

  it('exits after --timeout idle seconds, also after a log follower went away mid-stream, and removes its socket', async () => {
    const setup = await startService(box, ['--timeout', '0'])
    // A second service on the same socket is refused while the first one listens (replacing the
    // socket would leave the first running, unreachable).
    const second = box.ncx(['system', 'service', '--timeout', '1'], {timeout: 30_000})
    expect(second.code).to.not.equal(0)
    expect(second.stderr).to.match(/another service is listening on .*docker\.sock/)
    const env = {PATH: process.env.PATH, HOME: '/tmp', DOCKER_HOST: `unix://${setup.socket}`}
    expect(spawnSync(DOCKER!, ['run', '-d', '--name', 'talker', 'busybox', 'sh', '-c', 'while true; do echo tick; sleep 0.2; done'], {env}).status).to.equal(0)
    setup.child.kill('SIGTERM')
    expect(await setup.exited).to.equal(0)
    const s = await startService(box, ['--timeout', '2'])
    const follower = spawn(DOCKER!, ['logs', '-f', 'talker'], {env: {...env, DOCKER_HOST: `unix://${s.socket}`}, stdio: ['ignore', 'pipe', 'ignore']})
    await new Promise((r) => follower.stdout!.once('data', r))
    // While the stream is open the service stays.
    await new Promise((r) => setTimeout(r, 3000))
    expect(s.child.exitCode).to.equal(null)
    follower.kill('SIGKILL')
    const started = Date.now()
    expect(await s.exited).to.equal(0)
    expect(Date.now() - started).to.be.lessThan(15_000)
    expect(existsSync(s.socket)).to.equal(false)
    box.ok(['rm', '-f', 'talker'])
  })

  it('SIGTERM: a pending wait, a log follower and an attach end, the service exits at once, and the container keeps running', async () => {
    const s = await startService(box, ['--timeout', '0'])
    const env = {PATH: process.env.PATH, HOME: '/tmp', DOCKER_HOST: `unix://${s.socket}`}
    expect(spawnSync(DOCKER!, ['run', '-d', '-i', '--name', 'survivor', 'busybox', 'sh', '-c', 'while true; do echo tick; sleep 0.2; done'], {env}).status).to.equal(0)
    // What a killed `docker run -it` leaves behind: its wait (a request that answers only at the
    // container's exit), plus a follower and a hijacked attach.
    const wait = new Promise<string>((resolve) => {
      const r = request({socketPath: s.socket, method: 'POST', path: '/v1.47/containers/survivor/wait?condition=next-exit'}, (res) => {
        res.on('data', () => undefined)
        res.on('end', () => resolve('ended'))
        res.on('error', () => resolve('ended'))
        res.on('close', () => resolve('ended'))
      })
      r.on('error', () => resolve('ended'))
      r.end()
    })
    const follower = spawn(DOCKER!, ['logs', '-f', 'survivor'], {env, stdio: ['ignore', 'pipe', 'ignore']})
    const attach = spawn(DOCKER!, ['attach', 'survivor'], {env, stdio: ['pipe', 'pipe', 'ignore']})
    await new Promise((r) => follower.stdout!.once('data', r))
    await new Promise((r) => attach.stdout!.once('data', r))
    const started = Date.now()
    s.child.kill('SIGTERM')
    expect(await s.exited).to.equal(0)
    const took = Date.now() - started
    expect(await wait).to.equal('ended')
    await Promise.all([follower, attach].map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.on('exit', r)))))
    expect(took, `the service took ${took} ms to exit`).to.be.lessThan(3000)
    expect(existsSync(s.socket)).to.equal(false)
    expect(box.ok(['inspect', '-f', '{{.State.Status}}', 'survivor']).trim()).to.equal('running')
    box.ok(['rm', '-f', 'survivor'])
  })
})

/** What systemd does for a socket unit: bind the socket (0600), pass it as descriptor 3 with LISTEN_FDS/LISTEN_PID, exec the service. */
const ACTIVATE = `
import os, socket, sys
path = sys.argv[1]
os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
old = os.umask(0o177); s.bind(path); os.umask(old); s.listen(64)
os.dup2(s.fileno(), 3); os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS='1', LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES='ncx.socket')
os.execvp(sys.argv[2], sys.argv[2:])
`

describe('e2e: Engine API as a systemd user service (--install, socket activation)', function () {
  this.timeout(120_000)
  const box = new Sandbox()
  let config: string
  before(function () {
    if (!DOCKER) throw new Error("no docker client: install Debian's docker.io (the client is all these tests use)")
    box.load('busybox.oci.tar')
    config = join(box.xdg, 'config')
  })
  after(() => box.destroy())

  it('--install writes the units; their ExecStart, started as systemd starts it on a passed socket, serves the API; --uninstall removes them', async () => {
    const install = box.ncx(['system', 'service', '--install'], {env: {XDG_CONFIG_HOME: config}})
    expect(install.code, install.stderr).to.equal(0)
    const unitDir = join(config, 'systemd', 'user')
    expect(install.stdout).to.include(`wrote ${join(unitDir, 'ncx.socket')}`)
    expect(install.stdout).to.match(/^export DOCKER_HOST=unix:\/\/\$XDG_RUNTIME_DIR\/ncx\/docker\.sock$/m)
    // With a user manager systemctl enables the socket; without one (CI) ncx says what to run.
    expect(install.stdout + install.stderr).to.match(/enabled ncx\.socket|systemctl --user enable --now ncx\.socket/)
    const socketUnit = readFileSync(join(unitDir, 'ncx.socket'), 'utf8')
    expect(socketUnit).to.match(/^ListenStream=%t\/ncx\/docker\.sock$/m)
    expect(socketUnit).to.match(/^SocketMode=0600$/m)
    const exec = /^ExecStart=(.*)$/m.exec(readFileSync(join(unitDir, 'ncx.service'), 'utf8'))![1].split(' ')
    expect(exec.slice(-4)).to.deep.equal(['system', 'service', '--timeout', '5'])

    // systemd's part: the socket, descriptor 3, LISTEN_PID = the service's own pid.
    const socket = join(box.xdg, 'ncx', 'docker.sock')
    const line = box.commandLine(['unused'])
    const prefix = line.slice(0, line.indexOf(process.execPath))
    const child = spawn(prefix[0], [...prefix.slice(1), 'python3', '-c', ACTIVATE, socket, ...exec], {stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d))
    child.stderr!.on('data', (d: Buffer) => (out += d))
    const exited = new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 137)))
    const env = {PATH: process.env.PATH, HOME: '/tmp', DOCKER_HOST: `unix://${socket}`}
    let version = spawnSync(DOCKER!, ['version', '--format', '{{.Server.APIVersion}}'], {env, encoding: 'utf8'})
    for (let i = 0; i < 100 && version.status !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100))
      version = spawnSync(DOCKER!, ['version', '--format', '{{.Server.APIVersion}}'], {env, encoding: 'utf8'})
    }
    expect(version.stdout.trim(), out).to.equal('1.47')
    expect(statSync(socket).mode & 0o777).to.equal(0o600)
    const run = spawnSync(DOCKER!, ['run', '--rm', 'busybox', 'echo', 'activated'], {env, encoding: 'utf8'})
    expect([run.status, run.stdout], run.stderr).to.deep.equal([0, 'activated\n'])
    // Idle for the unit's 5 s: the service exits; the socket is systemd's and stays.
    expect(await exited).to.equal(0)
    expect(existsSync(socket)).to.equal(true)
    expect(out).to.match(new RegExp(`DOCKER_HOST=unix://${socket.replace(/[.]/g, '\\.')}`))

    const uninstall = box.ncx(['system', 'service', '--uninstall'], {env: {XDG_CONFIG_HOME: config}})
    expect(uninstall.code, uninstall.stderr).to.equal(0)
    expect(uninstall.stdout).to.include(`removed ${join(unitDir, 'ncx.service')}`)
    expect(existsSync(join(unitDir, 'ncx.socket'))).to.equal(false)
    expect(existsSync(join(unitDir, 'ncx.service'))).to.equal(false)
  })
})
