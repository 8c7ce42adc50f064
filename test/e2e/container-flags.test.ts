/**
 * `run`/`create` flags for metadata and shared namespaces, as the unprivileged test user:
 * labels (inspect, `ps --filter label=`), annotations in config.json, --domainname,
 * --shm-size, --pid/--ipc/--uts host and container:X seen from inside, --expose with -P,
 * --cidfile, --platform, and each flag's error for a bad value.
 */
import {expect} from 'chai'
import {chmodSync, existsSync, readFileSync, readlinkSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'

import {Sandbox, userDir} from './harness.js'
import {Registry, fixture, pushImage, startRegistry} from '../registry/harness.js'

describe('e2e: run/create metadata and namespace flags', function () {
  this.timeout(120_000)
  const box = new Sandbox()
  before(() => box.load('busybox.oci.tar'))
  after(() => box.destroy())

  const run = (args: string[], cmd: string) => box.ok(['run', '--rm', '--network', 'none', ...args, 'busybox', 'sh', '-c', cmd])
  const inspect = (id: string, format: string) => box.ok(['inspect', '-f', format, id]).trim()

  it('labels from -l and --label-file show in inspect and select containers in ps --filter label=', () => {
    const dir = userDir('ncx-e2e-labels-')
    const file = join(dir, 'labels')
    writeFileSync(file, '# a comment\nteam=db\n\nfrom.file=yes\n')
    chmodSync(file, 0o644)
    const a = box.ok(['run', '-d', '--network', 'none', '--label-file', file, '-l', 'team=web', '-l', 'bare', 'busybox', 'sleep', '60']).trim()
    const b = box.ok(['run', '-d', '--network', 'none', '--label', 'team=db', 'busybox', 'sleep', '60']).trim()
    expect(JSON.parse(inspect(a, '{{json .Config.Labels}}'))).to.deep.equal({team: 'web', 'from.file': 'yes', bare: ''})
    const names = (filters: string[]) => box.ok(['ps', '-q', '--no-trunc', ...filters.flatMap((f) => ['--filter', `label=${f}`])]).trim().split('\n').filter(Boolean).sort()
    expect(names(['team=web'])).to.deep.equal([a])
    expect(names(['team'])).to.deep.equal([a, b].sort())
    expect(names(['team', 'bare'])).to.deep.equal([a])
    expect(names(['team=nobody'])).to.deep.equal([])
    box.ok(['rm', '-f', a, b])
  })

  it('--annotation reaches config.json and inspect; --domainname is the UTS domain name inside', () => {
    const id = box.ok(['create', '--network', 'none', '--annotation', 'org.example.k=v', '--domainname', 'example.org', 'busybox', 'cat', '/proc/sys/kernel/domainname']).trim()
    const spec = JSON.parse(readFileSync(join(inspect(id, '{{.Bundle}}'), 'config.json'), 'utf8')) as {annotations?: Record<string, string>; domainname?: string}
    expect(spec.annotations).to.deep.equal({'org.example.k': 'v'})
    expect(spec.domainname).to.equal('example.org')
    expect(inspect(id, '{{json .HostConfig.Annotations}} {{.Config.Domainname}}')).to.equal('{"org.example.k":"v"} example.org')
    expect(box.ok(['start', '-a', id]).trim()).to.equal('example.org')
    box.ok(['rm', id])
  })

  it('--shm-size sets the size of /dev/shm (default 64m) and HostConfig.ShmSize', () => {
    expect(run(['--shm-size', '96m'], 'df -k /dev/shm | tail -1')).to.match(/^\S+\s+98304\s/)
    expect(run([], 'df -k /dev/shm | tail -1')).to.match(/^\S+\s+65536\s/)
    const id = box.ok(['create', '--shm-size', '1g', 'busybox', 'true']).trim()
    expect(inspect(id, '{{.HostConfig.ShmSize}} {{.HostConfig.IpcMode}}')).to.equal('1073741824 private')
    box.ok(['rm', id])
  })

  it('--pid host sees the host\'s processes and pid namespace; --pid container:X joins X\'s', () => {
    const hostPidNs = box.ok(['run', '--rm', '--network', 'none', '--pid', 'host', 'busybox', 'readlink', '/proc/self/ns/pid']).trim()
    expect(hostPidNs).to.equal(readlinkSync('/proc/self/ns/pid'))
    expect(run(['--pid', 'host'], 'cat /proc/1/comm').trim()).to.not.equal('sh')
    const x = box.ok(['run', '-d', '--network', 'none', '--name', 'pidpeer', 'busybox', 'sleep', '60']).trim()
    const theirs = box.ok(['exec', x, 'readlink', '/proc/self/ns/pid']).trim()
    const out = run(['--pid', 'container:pidpeer'], 'readlink /proc/self/ns/pid; cat /proc/1/cmdline | tr "\\0" " "')
    expect(out.split('\n')[0]).to.equal(theirs)
    expect(out).to.contain('sleep 60')
    // X stopped: Docker's message, exit 125.
    box.ok(['stop', '-t', '0', x])
    const r = box.ncx(['run', '--rm', '--network', 'none', '--pid', 'container:pidpeer', 'busybox', 'true'])
    expect(r.code).to.equal(125)
    expect(r.stderr).to.contain('cannot join PID of a non running container: pidpeer')
    const missing = box.ncx(['create', '--ipc', 'container:nosuch', 'busybox', 'true'])
    expect([missing.code, missing.stderr.trim()]).to.deep.equal([125, 'ncx: No such container: nosuch'])
    box.ok(['rm', x])
  })

  it('--ipc container:X shares System V IPC with X; host and none; --uts host', () => {
    const x = box.ok(['run', '-d', '--network', 'none', '--ipc', 'shareable', 'busybox', 'sleep', '60']).trim()
    const theirs = box.ok(['exec', x, 'readlink', '/proc/self/ns/ipc']).trim()
    expect(run(['--ipc', `container:${x.slice(0, 12)}`], 'readlink /proc/self/ns/ipc').trim()).to.equal(theirs)
    expect(run([], 'readlink /proc/self/ns/ipc').trim()).to.not.equal(theirs)
    // /dev/shm is X's too (Docker's rule): a file X writes there is read by the joiner, and the
    // joiner's write is seen by X; a container of its own does not see it.
    box.ok(['exec', x, 'sh', '-c', 'echo from-x > /dev/shm/note'])
    expect(run(['--ipc', `container:${x.slice(0, 12)}`], 'cat /dev/shm/note && echo back > /dev/shm/reply')).to.equal('from-x\n')
    expect(box.ok(['exec', x, 'cat', '/dev/shm/reply'])).to.equal('back\n')
    expect(run([], 'test -e /dev/shm/note; echo note=$?')).to.contain('note=1')
    // Detached (under its monitor) and through exec, the same.
    const joiner = box.ok(['run', '-d', '--network', 'none', '--ipc', `container:${x.slice(0, 12)}`, 'busybox', 'sleep', '60']).trim()
    expect(box.ok(['exec', joiner, 'cat', '/dev/shm/reply'])).to.equal('back\n')
    box.ok(['rm', '-f', joiner])
    // A read-only joiner still writes to the shared /dev/shm, as to its own tmpfs.
    expect(run(['--read-only', '--ipc', `container:${x.slice(0, 12)}`], 'echo ro > /dev/shm/ro && cat /dev/shm/ro')).to.equal('ro\n')
    const hostIpc = readlinkSync('/proc/self/ns/ipc')
    expect(run(['--ipc', 'host'], 'readlink /proc/self/ns/ipc').trim()).to.equal(hostIpc)
    expect(run(['--ipc', 'none'], 'test -e /dev/shm; echo shm=$?')).to.contain('shm=1')
    box.ok(['rm', '-f', x])
    const hostUts = readlinkSync('/proc/self/ns/uts')
    expect(run(['--uts', 'host'], 'readlink /proc/self/ns/uts; hostname').trim().split('\n')).to.deep.equal([hostUts, hostname()])
  })

  it('--expose ports are exposed (inspect); --cidfile holds the ID and refuses to be overwritten', () => {
    const dir = userDir('ncx-e2e-cid-')
    const cidfile = join(dir, 'cid')
    const id = box.ok(['create', '--cidfile', cidfile, '--expose', '7000-7001/udp', '--expose', '80', 'busybox', 'true']).trim()
    expect(readFileSync(cidfile, 'utf8')).to.equal(id)
    expect(JSON.parse(inspect(id, '{{json .Config.ExposedPorts}}'))).to.deep.equal({'7000/udp': {}, '7001/udp': {}, '80/tcp': {}})
    expect(inspect(id, '{{.HostConfig.ContainerIDFile}}')).to.equal(cidfile)
    const again = box.ncx(['create', '--cidfile', cidfile, 'busybox', 'true'])
    expect(again.code).to.equal(125)
    expect(again.stderr).to.contain(`Container ID file found, make sure the other container isn't running or delete ${cidfile}`)
    box.ok(['rm', id])
    expect(existsSync(cidfile)).to.equal(true)
  })

  it('--platform: the host\'s runs, another is refused for a local image with Docker\'s message', () => {
    expect(box.ok(['run', '--rm', '--network', 'none', '--platform', 'linux/amd64', 'busybox', 'echo', 'ok']).trim()).to.equal('ok')
    const r = box.ncx(['run', '--rm', '--pull', 'never', '--platform', 'linux/arm64', 'busybox', 'true'])
    expect(r.code).to.equal(125)
    expect(r.stderr).to.contain('image with reference busybox was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64')
  })

  it('bad values are refused with exit 125 and a precise message', () => {
    const cases: Array<[string[], string]> = [
      [['--pid', 'private'], 'invalid PID mode: private'],
      [['--ipc', 'container:'], 'invalid IPC mode: container:'],
      [['--uts', 'private'], 'invalid UTS mode: private'],
      [['--uts', 'host', '-h', 'x'], 'Conflicting options: hostname and the UTS mode'],
      [['--shm-size', 'lots'], 'invalid argument "lots" for "--shm-size" flag'],
      [['--expose', '70000'], 'invalid range format for --expose: 70000'],
      [['--annotation', 'novalue'], 'invalid argument "novalue" for "--annotation" flag'],
      [['--label-file', '/nonexistent/labels'], 'open /nonexistent/labels: no such file or directory'],
      [['--platform', 'linux'], 'invalid platform "linux"'],
    ]
    for (const [flags, message] of cases) {
      const r = box.ncx(['run', '--rm', ...flags, 'busybox', 'true'])
      expect(r.code, flags.join(' ')).to.equal(125)
      expect(r.stderr, flags.join(' ')).to.contain(message)
    }
  })
})

describe('e2e: run -q, -a, and the Docker flags ncx warns about or refuses', function () {
  this.timeout(180_000)
  const box = new Sandbox()
  let registry: Registry
  before(async () => {
    box.load('busybox.oci.tar')
    registry = await startRegistry({auth: 'none'})
    await pushImage(registry, fixture('busybox'), 'library/busybox:q')
  })
  after(async () => {
    box.destroy()
    await registry?.stop()
  })

  it('-q drops the pull progress and result lines (Docker keeps "Unable to find image")', () => {
    const image = `${registry.host}/library/busybox:q`
    const quiet = box.ncx(['run', '--rm', '-q', '--network', 'none', image, 'echo', 'hi'])
    expect(quiet.code, quiet.stderr).to.equal(0)
    expect(quiet.stdout).to.equal('hi\n')
    expect(quiet.stderr).to.equal(`Unable to find image '${image}' locally\n`)
    box.ok(['rmi', image])
    // create goes through oclif (run takes the fast path)
    const created = box.ncx(['create', '--quiet', '--network', 'none', image, 'true'])
    expect(created.code, created.stderr).to.equal(0)
    expect(created.stderr).to.equal(`Unable to find image '${image}' locally\n`)
    box.ok(['rm', created.stdout.trim()])
    box.ok(['rmi', image])
    const loud = box.ncx(['run', '--rm', '--network', 'none', image, 'echo', 'hi'])
    expect(loud.code, loud.stderr).to.equal(0)
    expect(loud.stderr).to.match(/: (Pull complete|Already exists)\n/).and.contain('Digest: sha256:').and.contain('Status: ')
  })

  it('-a connects only the listed streams; stdin only with -a stdin (and -i)', () => {
    const cmd = ['sh', '-c', 'echo out; echo err >&2; cat']
    const both = box.ncx(['run', '--rm', '-i', '--network', 'none', 'busybox', ...cmd], {input: 'in\n'})
    expect([both.stdout, both.stderr]).to.deep.equal(['out\nin\n', 'err\n'])
    const outOnly = box.ncx(['run', '--rm', '-i', '-a', 'stdout', '--network', 'none', 'busybox', ...cmd], {input: 'in\n'})
    expect(outOnly.code, outOnly.stderr).to.equal(0)
    expect([outOnly.stdout, outOnly.stderr]).to.deep.equal(['out\n', ''])
    const errIn = box.ncx(['run', '--rm', '-i', '-a', 'STDERR', '-a', 'stdin', '--network', 'none', 'busybox', 'sh', '-c', 'echo out; cat >&2'], {input: 'typed\n'})
    expect([errIn.code, errIn.stdout, errIn.stderr]).to.deep.equal([0, '', 'typed\n'])
    // --sig-proxy=false runs attached to a monitor: the same streams
    const monitored = box.ncx(['run', '--rm', '--sig-proxy=false', '-a', 'stderr', '--network', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2'])
    expect([monitored.code, monitored.stdout, monitored.stderr]).to.deep.equal([0, '', 'err\n'])
    const id = box.ok(['create', '-a', 'stdout', 'busybox', 'true']).trim()
    expect(box.ok(['inspect', '-f', '{{.Config.AttachStdout}} {{.Config.AttachStderr}}', id]).trim()).to.equal('true false')
    box.ok(['rm', id])
    const conflict = box.ncx(['run', '-d', '-a', 'stdout', 'busybox', 'true'])
    expect([conflict.code, conflict.stderr]).to.satisfy(([c, e]: [number, string]) => c === 125 && e.includes('Conflicting options: -a and -d'))
    const bad = box.ncx(['run', '--rm', '-a', 'stdio', 'busybox', 'true'])
    expect(bad.code).to.equal(125)
    expect(bad.stderr).to.contain('invalid argument "stdio" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR')
  })

  it('--link NAME:ALIAS reaches NAME under ALIAS on the default bridge and on a user-defined network; missing, stopped and host-network links refused', () => {
    const httpd = ['busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']
    const db = box.ok(['run', '-d', '--name', 'linkdb', '--network', 'bridge', ...httpd]).trim()
    const ip = box.ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', db]).trim()
    const dbHost = box.ok(['exec', db, 'cat', '/etc/hostname']).trim()
    const out = box.ok(['run', '--rm', '--network', 'bridge', '--link', 'linkdb:database', 'busybox', 'sh', '-c', 'cat /etc/hosts; wget -qO- http://database/hostname'])
    expect(out).to.match(new RegExp(`^${ip.replaceAll('.', '\\.')}\\tdatabase linkdb ${db.slice(0, 12)}$`, 'm'))
    expect(out.trim().split('\n').pop()).to.equal(dbHost)
    const id = box.ok(['create', '--network', 'bridge', '--name', 'linker', '--link', 'linkdb:database', 'busybox', 'true']).trim()
    expect(box.ok(['inspect', '-f', '{{json .HostConfig.Links}}', id]).trim()).to.equal('["/linkdb:/linker/database"]')
    box.ok(['rm', id])
    box.ok(['network', 'create', 'linknet'])
    box.ok(['run', '-d', '--name', 'linkpeer', '--network', 'linknet', ...httpd])
    const peerHost = box.ok(['exec', 'linkpeer', 'cat', '/etc/hostname']).trim()
    expect(box.ok(['run', '--rm', '--network', 'linknet', '--link', 'linkpeer:backend', 'busybox', 'wget', '-qO-', 'http://backend/hostname']).trim()).to.equal(peerHost)
    box.ok(['create', '--name', 'linkstopped', '--network', 'bridge', 'busybox', 'true'])
    const cases: Array<[string[], string]> = [
      [['--network', 'bridge', '--link', 'nosuch'], 'could not get container for nosuch: No such container: nosuch'],
      [['--network', 'bridge', '--name', 'lk', '--link', 'linkstopped:s'], 'Cannot link to a non running container: /linkstopped AS /lk/s'],
      [['--network', 'bridge', '--link', 'linkpeer'], 'Cannot link to /linkpeer, as it does not belong to the bridge network'],
      [['--network', 'host', '--link', 'linkdb'], "host type networking can't be used with links"],
    ]
    for (const [flags, message] of cases) {
      const r = box.ncx(['run', '--rm', ...flags, 'busybox', 'true'])
      expect(r.code, flags.join(' ')).to.equal(125)
      expect(r.stderr, flags.join(' ')).to.contain(message)
    }
    expect(box.ok(['ps', '-a', '--format', '{{.Names}}']).split('\n').filter(Boolean).sort()).to.deep.equal(['linkdb', 'linkpeer', 'linkstopped'])
    box.ok(['rm', '-f', 'linkdb', 'linkpeer', 'linkstopped'])
    box.ok(['network', 'rm', 'linknet'])
  })

  it('--health-start-interval probes often during the start period (healthy long before --health-interval)', async () => {
    const id = box.ok(['run', '-d', '--network', 'none', '--health-cmd', 'true', '--health-interval', '1h', '--health-start-period', '1m', '--health-start-interval', '200ms', 'busybox', 'sleep', '60']).trim()
    expect(box.ok(['inspect', '-f', '{{.Config.Healthcheck.StartInterval}}', id]).trim()).to.equal('200000000')
    let status = ''
    for (let i = 0; i < 50 && status !== 'healthy'; i++) {
      await new Promise((r) => setTimeout(r, 200))
      status = box.ok(['inspect', '-f', '{{.State.Health.Status}}', id]).trim()
    }
    expect(status).to.equal('healthy')
    box.ok(['rm', '-f', id])
  })

  it('flags that cannot apply: one WARNING line and the container runs, or a refusal with the reason', () => {
    const warned = box.ncx(['run', '--rm', '--network', 'none', '--memory-swappiness', '10', '--device-cgroup-rule', 'c 1:3 rwm', '--disable-content-trust', '--runtime', 'ncx-runtime', 'busybox', 'echo', 'ran'])
    expect(warned.code, warned.stderr).to.equal(0)
    expect(warned.stdout).to.equal('ran\n')
    expect(warned.stderr.split('\n').filter((l) => l.startsWith('WARNING:'))).to.have.length(2)
    expect(warned.stderr).to.contain('Memory swappiness discarded').and.contain('--device-cgroup-rule ignored')
    for (const [flags, message] of [[['--gpus', 'all'], 'could not select device driver'], [['--runtime', 'no-such-runtime'], 'unknown or invalid runtime name: no-such-runtime'], [['--ip6', 'fd00::2'], 'IPv4 only']] as const) {
      const r = box.ncx(['run', '--rm', ...flags, 'busybox', 'true'])
      expect(r.code, flags.join(' ')).to.equal(125)
      expect(r.stderr, flags.join(' ')).to.contain(message)
    }
  })
})
