/**
 * Entering containers, and what reaches them (the security issue "Isolation that holds under
 * every fault", items 1, 3 and 16), as the unprivileged test user:
 *   - only stdio reaches a container's process: descriptors the caller inherited (100, 1000,
 *     the soft limit − 1) pass through no path (run, run -d, exec, exec -d, compose up,
 *     compose exec), `-w /proc/self/fd/N` leads nowhere, and a foreground run's status
 *     socket is not the container's fd 3;
 *   - after the user-namespace holder is killed and a new one started, every command that
 *     enters a container enters exactly that container (its /, its PID 1), and stop / rm -f
 *     really end its processes;
 *   - the runtime's process that enters a container cannot be reached from inside it
 *     (/proc/PID/exe, mem, cwd, fd) before it execs the command, and what runs in there when
 *     the command is /proc/self/exe is a sealed copy, never the runtime's file on the host
 *     (or, rootless, that file itself when it is root's and read-only to everyone else).
 */
import {expect} from 'chai'
import {execFileSync, spawnSync} from 'node:child_process'
import {chmodSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {Result, Sandbox, asRoot, installation, repo, userDir} from './harness.js'
import {fetchText, freePort, sleep} from './net-helpers.js'

/** A process that is gone (or a zombie nobody reaped yet). */
function gone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true
  }
}

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** The soft RLIMIT_NOFILE the test user's ncx starts with. */
function softLimit(): number {
  return Number(execFileSync('bash', ['-c', 'ulimit -n'], {encoding: 'utf8'}).trim())
}

describe('e2e: only stdio reaches a container', function () {
  this.timeout(180_000)
  const box = new Sandbox()
  let host: string
  let high: number[]

  before(() => {
    box.load('busybox.oci.tar')
    host = userDir('ncx-e2e-fds-')
    high = [100, 1000, softLimit() - 1]
    box.ok(['run', '-d', '--name', 'fds', '--network', 'none', 'busybox', 'sleep', '1000'])
  })
  after(() => box.destroy())

  /**
   * `ncx ARGS` started with `high` open on a host directory the user owns, as a shell's
   * `exec 100<DIR` leaves them: inherited, not close-on-exec.
   */
  const withFds = (args: string[], input?: string): Result => {
    const opens = high.map((fd) => `exec ${fd}<"$d"`).join('; ')
    const r = spawnSync('bash', ['-c', `d=$1; shift; ${opens}; exec "$@"`, 'bash', host, ...box.commandLine(args)], {encoding: 'utf8', input, timeout: 120_000})
    return {code: r.status ?? 137, stdout: r.stdout, stderr: r.stderr}
  }
  const okWithFds = (args: string[]): string => {
    const r = withFds(args)
    if (r.code !== 0) throw new Error(`ncx ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`)
    return r.stdout
  }
  // ls's own descriptors: what it inherited, and 3, the directory it reads (the lowest free
  // one: 4 or more when anything else came along). Then a write through the first inherited one.
  const listFds = 'ls /proc/self/fd | tr "\\n" " "; echo'
  const escape = () => `echo pwned > /proc/self/fd/${high[0]}/pwned 2>/dev/null`
  const noEscape = () => expect(readdirSync(host), 'nothing written on the host').to.deep.equal([])

  it('the caller really has them open (the test is not vacuous)', () => {
    const out = execFileSync('bash', ['-c', `d=$1; ${high.map((fd) => `exec ${fd}<"$d"`).join('; ')}; ls /proc/$$/fd`, 'bash', host], {encoding: 'utf8'})
    for (const fd of high) expect(out.split('\n'), String(fd)).to.include(String(fd))
  })

  it('run --rm and run -d: the process has 0, 1 and 2 only', async () => {
    expect(okWithFds(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', `${listFds}; ${escape()}; true`])).to.equal('0 1 2 3 \n')
    noEscape()
    okWithFds(['run', '-d', '--name', 'fdsd', '--network', 'none', 'busybox', 'sh', '-c', `${listFds}; ${escape()}; exec sleep 1000`])
    // (run -d returns once the command is started, not once it has written anything)
    await until('the detached container to list its descriptors', () => box.ok(['logs', 'fdsd']) !== '')
    expect(box.ok(['logs', 'fdsd'])).to.equal('0 1 2 3 \n')
    // (and past its escape attempt: PID 1 has exec'd sleep)
    await until('the detached container to reach its sleep', () => box.ok(['exec', 'fdsd', 'cat', '/proc/1/comm']) === 'sleep\n')
    noEscape()
  })

  it('exec and exec -d: the process has 0, 1 and 2 only', async () => {
    expect(okWithFds(['exec', 'fds', 'sh', '-c', `${listFds}; ${escape()}; true`])).to.equal('0 1 2 3 \n')
    okWithFds(['exec', '-d', 'fds', 'sh', '-c', `(${listFds}) > /tmp/fds.tmp; ${escape()}; mv /tmp/fds.tmp /tmp/fds`])
    await until('exec -d to write its list', () => box.ncx(['exec', 'fds', 'test', '-f', '/tmp/fds']).code === 0)
    expect(box.ok(['exec', 'fds', 'cat', '/tmp/fds'])).to.equal('0 1 2 3 \n')
    // -i: stdin is a pipe from the caller, still fd 0.
    const r = withFds(['exec', '-i', 'fds', 'sh', '-c', `${listFds}; cat`], 'from stdin\n')
    expect(r.stdout).to.equal('0 1 2 3 \nfrom stdin\n')
    noEscape()
  })

  it('compose up and compose exec: the process has 0, 1 and 2 only', () => {
    const dir = userDir('ncx-e2e-fds-compose-')
    // ($$ is compose's escape for $)
    const command = `${listFds}; ${escape()}; exec sleep 1000`.replace(/\$/g, '$$$$')
    writeFileSync(join(dir, 'compose.yaml'), `services:\n  svc:\n    image: busybox\n    network_mode: none\n    command: ["sh", "-c", ${JSON.stringify(command)}]\n`, {mode: 0o644})
    const compose = (args: string[]) => okWithFds(['compose', '--project-directory', dir, '-p', 'fdp', ...args])
    compose(['up', '-d'])
    expect(box.ok(['compose', '--project-directory', dir, '-p', 'fdp', 'logs', '--no-log-prefix', 'svc'])).to.equal('0 1 2 3 \n')
    expect(compose(['exec', '-T', 'svc', 'sh', '-c', `${listFds}; ${escape()}; true`])).to.equal('0 1 2 3 \n')
    noEscape()
    box.ok(['compose', '--project-directory', dir, '-p', 'fdp', 'down', '-t', '0'])
  })

  it('-w /proc/self/fd/N leads nowhere: run and exec fail, nothing is written on the host', () => {
    const wd = `/proc/self/fd/${high[0]}`
    const run = withFds(['run', '--rm', '--network', 'none', '-w', wd, 'busybox', 'sh', '-c', 'echo pwned > pwned; pwd'])
    expect(run.code, run.stdout).to.equal(125)
    expect(run.stderr).to.match(/chdir to cwd|outside the container/)
    const exec = withFds(['exec', '-w', wd, 'fds', 'sh', '-c', 'echo pwned > pwned; pwd'])
    // An exec that cannot start: 126, as Docker's 'OCI runtime exec failed'.
    expect(exec.code, exec.stdout).to.equal(126)
    expect(exec.stderr).to.match(/chdir to cwd|outside the container/)
    noEscape()
  })

  it("a foreground run's status socket is not the container's fd 3: a forged error line changes nothing", () => {
    const forged = JSON.stringify({event: 'error', code: 7, message: 'forged by the container'})
    const r = box.ncx(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', `echo '${forged}' >&3; echo after`])
    expect(r.stderr).to.not.include('forged')
    expect(r.code).to.equal(0)
    expect(r.stdout).to.equal('after\n')
  })
})

describe('e2e: entering a container after the user-namespace holder is restarted', function () {
  this.timeout(300_000)
  const box = new Sandbox()
  const record = () => JSON.parse(readFileSync(join(box.xdg, 'ncx', 'userns.json'), 'utf8')) as {pid: number}
  const inspect = (name: string, format: string) => box.ok(['inspect', '-f', format, name]).trim()
  const pidOf = (name: string) => Number(inspect(name, '{{.State.Pid}}'))
  let port: number
  let restartedAt: number

  /** What the README tells users to do: kill the holder; then ordinary commands start a new one. */
  async function restartHolder(): Promise<void> {
    const old = record().pid
    process.kill(old, 'SIGKILL')
    await until('the holder to be gone', () => gone(old))
    box.ok(['volume', 'ls'])
    box.ok(['network', 'ls'])
    box.ok(['run', '--rm', '--network', 'none', 'busybox', 'true'])
    expect(record().pid, 'a new holder').to.not.equal(old)
  }

  before(async () => {
    box.load('busybox.oci.tar')
    port = await freePort()
    box.ok(['run', '-d', '--name', 'plain', 'busybox', 'sh', '-c', 'echo inside > /marker; trap "echo got-usr1" USR1; while true; do sleep 0.2; done'])
    box.ok(['run', '-d', '--name', 'u1000', '-u', '1000', 'busybox', 'sleep', '1000'])
    box.ok(['run', '-d', '--name', 'healthy', '--health-cmd', 'test -f /marker', '--health-interval', '1s', '--network', 'none', 'busybox', 'sh', '-c', 'echo inside > /marker; exec sleep 1000'])
    box.ok(['run', '-d', '--name', 'web', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'mkdir -p /www && echo hello-web > /www/index.html && exec httpd -f -p 80 -h /www'])
    box.ok(['run', '-d', '--name', 'ticker', '--network', 'none', 'busybox', 'sh', '-c', 'while true; do echo tick; sleep 0.3; done'])
    expect(await fetchText(port)).to.equal('hello-web\n')
    await restartHolder()
    restartedAt = Date.now()
  })
  after(() => box.destroy())

  it('the new holder holds the user namespace the containers run in', () => {
    expect(readlinkSync(`/proc/${record().pid}/ns/user`)).to.equal(readlinkSync(`/proc/${pidOf('plain')}/ns/user`))
  })

  it('exec runs in the container: its files, its PID 1 (a -u 1000 container too)', () => {
    const [marker, comm, ...root] = box.ok(['exec', 'plain', 'sh', '-c', 'cat /marker; cat /proc/1/comm; ls /']).trim().split('\n')
    expect(marker).to.equal('inside')
    expect(comm).to.equal('sh')
    expect(root).to.include('marker')
    expect(box.ok(['exec', 'u1000', 'sh', '-c', 'id -u; cat /proc/1/comm'])).to.equal('1000\nsleep\n')
    expect(box.ok(['exec', '-u', '0', 'u1000', 'id', '-u'])).to.equal('0\n')
  })

  it("top lists the container's processes only", () => {
    const rows = box.ok(['top', 'plain']).trim().split('\n').slice(1)
    expect(rows.length).to.be.within(1, 3)
    expect(rows.join('\n')).to.include('got-usr1')
  })

  it('kill signals the container', async () => {
    box.ok(['kill', '-s', 'USR1', 'plain'])
    await until('the trap to run', () => box.ok(['logs', 'plain']).includes('got-usr1'))
  })

  it('cp copies out of and into the container', () => {
    const dir = userDir('ncx-e2e-cp-')
    box.ok(['cp', 'plain:/marker', dir])
    expect(readFileSync(join(dir, 'marker'), 'utf8')).to.equal('inside\n')
    writeFileSync(join(dir, 'in'), 'from the host\n', {mode: 0o644})
    box.ok(['cp', join(dir, 'in'), 'plain:/in'])
    expect(box.ok(['exec', 'plain', 'cat', '/in'])).to.equal('from the host\n')
  })

  it('health checks run in the container', async () => {
    const probes = () => (JSON.parse(inspect('healthy', '{{json .State.Health}}')) as {Status: string; Log: Array<{Start: string; ExitCode: number}>}).Log.filter((l) => Date.parse(l.Start) > restartedAt)
    await until('a probe after the restart', () => probes().length >= 2)
    expect(probes().map((l) => l.ExitCode)).to.not.include(1)
    expect(inspect('healthy', '{{.State.Health.Status}}')).to.equal('healthy')
  })

  it("attach streams the container's output", async () => {
    const child = box.spawn(['attach', '--no-stdin', '--sig-proxy=false', 'ticker'], {detached: true, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d))
    try {
      await until('output from attach', () => out.includes('tick'))
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        // gone
      }
    }
  })

  it('networking and published ports keep working; a new container reaches an old one over the bridge', async () => {
    expect(await fetchText(port)).to.equal('hello-web\n')
    const ip = inspect('web', '{{.NetworkSettings.IPAddress}}')
    expect(ip).to.match(/^\d+\.\d+\.\d+\.\d+$/)
    expect(box.ok(['run', '--rm', 'busybox', 'wget', '-qO-', `http://${ip}/`])).to.equal('hello-web\n')
  })

  it('stop and rm -f end the processes for real, a -u 1000 container too', async () => {
    const u = pidOf('u1000')
    box.ok(['rm', '-f', 'u1000'])
    await until('the -u 1000 process to be gone', () => gone(u), 5000)
    const p = pidOf('plain')
    box.ok(['stop', '-t', '1', 'plain'])
    expect(gone(p)).to.equal(true)
    expect(inspect('plain', '{{.State.Status}}')).to.equal('exited')
  })
})

describe('e2e: entering a container whose user namespace is no longer the holder\'s', function () {
  // The holder is killed and its record lost (a wiped XDG_RUNTIME_DIR): the next holder makes
  // a new user namespace, and the running containers stay in the old one. Every command
  // that enters them goes through their own namespaces, never through the new holder's.
  this.timeout(180_000)
  const box = new Sandbox()
  const recordPath = () => join(box.xdg, 'ncx', 'userns.json')
  const inspect = (name: string, format: string) => box.ok(['inspect', '-f', format, name]).trim()
  const pidOf = (name: string) => Number(inspect(name, '{{.State.Pid}}'))

  before(async () => {
    box.load('busybox.oci.tar')
    box.ok(['run', '-d', '--name', 'plain', '--network', 'none', 'busybox', 'sh', '-c', 'echo inside > /marker; trap "echo got-usr1" USR1; while true; do sleep 0.2; done'])
    box.ok(['run', '-d', '--name', 'u1000', '--network', 'none', '-u', '1000', 'busybox', 'sleep', '1000'])
    const old = (JSON.parse(readFileSync(recordPath(), 'utf8')) as {pid: number}).pid
    process.kill(old, 'SIGKILL')
    await until('the holder to be gone', () => gone(old))
    execFileSync('rm', ['-f', recordPath()])
    box.ok(['volume', 'ls'])
    box.ok(['run', '--rm', '--network', 'none', 'busybox', 'true'])
    const holder = (JSON.parse(readFileSync(recordPath(), 'utf8')) as {pid: number}).pid
    expect(readlinkSync(`/proc/${holder}/ns/user`), 'a new user namespace').to.not.equal(readlinkSync(`/proc/${pidOf('plain')}/ns/user`))
  })
  after(() => box.destroy())

  it('exec, top, kill and cp reach the container itself', async () => {
    expect(box.ok(['exec', 'plain', 'sh', '-c', 'cat /marker; cat /proc/1/comm'])).to.equal('inside\nsh\n')
    expect(box.ok(['exec', 'u1000', 'sh', '-c', 'id -u; cat /proc/1/comm'])).to.equal('1000\nsleep\n')
    expect(box.ok(['top', 'plain']).trim().split('\n').slice(1).join('\n')).to.include('got-usr1')
    box.ok(['kill', '-s', 'USR1', 'plain'])
    await until('the trap to run', () => box.ok(['logs', 'plain']).includes('got-usr1'))
    const dir = userDir('ncx-e2e-cp-')
    box.ok(['cp', 'plain:/marker', dir])
    expect(readFileSync(join(dir, 'marker'), 'utf8')).to.equal('inside\n')
  })

  it('rm -f and stop end the processes for real, a -u 1000 container too', async () => {
    const u = pidOf('u1000')
    box.ok(['rm', '-f', 'u1000'])
    await until('the -u 1000 process to be gone', () => gone(u), 5000)
    const p = pidOf('plain')
    box.ok(['stop', '-t', '1', 'plain'])
    expect(gone(p)).to.equal(true)
  })
})

describe('e2e: kill signals the container\'s own process and nothing else', function () {
  // ncx signals a container's process itself, through a pidfd, without entering its user
  // namespace: as the owner of that namespace it may signal a -u 1000 process (not the user's
  // uid) too. A recorded pid that is not a container's (the pid was reused by a host process)
  // is refused, and that process is left alone.
  this.timeout(120_000)
  const box = new Sandbox()
  const inspect = (name: string, format: string) => box.ok(['inspect', '-f', format, name]).trim()
  const stateFile = (name: string) => join(box.root, 'containers', inspect(name, '{{.Id}}'), 'state.json')

  before(() => {
    box.load('busybox.oci.tar')
    box.ok(['run', '-d', '--name', 'u1000', '--network', 'none', '-u', '1000', 'busybox', 'sleep', '1000'])
    box.ok(['run', '-d', '--name', 'victim', '--network', 'none', 'busybox', 'sleep', '1000'])
  })
  after(() => box.destroy())

  it('kill ends a -u 1000 container: exit 137', () => {
    const pid = Number(inspect('u1000', '{{.State.Pid}}'))
    expect(box.ok(['kill', 'u1000'])).to.equal('u1000\n')
    expect(gone(pid)).to.equal(true)
    expect(inspect('u1000', '{{.State.Status}} {{.State.ExitCode}}')).to.equal('exited 137')
    const again = box.ncx(['kill', 'u1000'])
    expect(again.code).to.equal(1)
    expect(again.stderr).to.contain('is not running')
  })

  it('a recorded pid reused by a host process is refused, and that process lives on', () => {
    // The user's own host process, in the host's mount namespace, stands for the reused pid.
    const {uid, gid} = box.owner
    const background = ['sh', '-c', 'sleep 1000 >/dev/null 2>&1 & echo $!']
    const host = asRoot ? spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...background], {encoding: 'utf8'}) : spawnSync(background[0], background.slice(1), {encoding: 'utf8'})
    const hostPid = Number(host.stdout.trim())
    expect(hostPid, host.stderr).to.be.greaterThan(0)
    const file = stateFile('victim')
    const saved = readFileSync(file, 'utf8')
    try {
      writeFileSync(file, JSON.stringify({...(JSON.parse(saved) as object), pid: hostPid}))
      const r = box.ncx(['kill', 'victim'])
      expect(r.code, r.stderr).to.equal(1) // (docker kill: 1 for whatever the daemon refuses)
      expect(r.stderr).to.contain(`its recorded process ${hostPid} is not in a container`)
      expect(gone(hostPid)).to.equal(false)
    } finally {
      writeFileSync(file, saved)
      try {
        process.kill(hostPid, 'SIGKILL')
      } catch {
        // gone
      }
    }
    expect(box.ok(['kill', 'victim'])).to.equal('victim\n')
  })
})

describe("e2e: the runtime's process entering a container is out of the container's reach", function () {
  this.timeout(180_000)
  const box = new Sandbox()
  // 8000 directories that do not exist before the real one: the runtime's PATH search (after
  // the process's credentials and capabilities are the container's, before its execve) lasts
  // long enough for the watcher to see it every time.
  const longPath = `PATH=${Array.from({length: 8000}, (_, i) => `/nx${i}`).join(':')}:/bin`

  before(() => {
    box.load('busybox.oci.tar')
    const dir = userDir('ncx-e2e-watch-')
    const watch = join(dir, 'runtime-watch')
    execFileSync('cc', ['-static', '-O2', '-o', watch, join(repo, 'test', 'fixtures', 'runtime-watch.c')])
    chmodSync(watch, 0o755)
    box.ok(['run', '-d', '--name', 'target', '--network', 'none', 'busybox', 'sleep', '1000'])
    box.ok(['cp', watch, 'target:/watch'])
  })
  after(() => box.destroy())

  /** Start the watcher in `target` for `seconds`, do `work`, and return what it reports. */
  async function watched(out: string, seconds: number, work: () => void): Promise<{seen: number; reached: string[]}> {
    box.ok(['exec', '-d', 'target', '/watch', String(seconds), out])
    await sleep(300)
    work()
    await until('the watcher to finish', () => box.ncx(['exec', 'target', 'grep', '-q', '^seen', out]).code === 0, (seconds + 10) * 1000)
    const lines = box.ok(['exec', 'target', 'cat', out]).trim().split('\n')
    const seen = Number(lines.pop()!.split(' ')[1])
    return {seen, reached: lines.filter((l) => l.endsWith(' ok'))}
  }

  it('exec: /proc/PID/exe, mem, cwd and fd of the entering process are refused', async () => {
    const r = await watched('/tmp/exec.out', 8, () => {
      for (let i = 0; i < 5; i++) box.ok(['exec', '-e', longPath, 'target', 'true'])
    })
    expect(r.seen, 'the watcher saw the runtime (else this test proves nothing)').to.be.at.least(1)
    expect(r.reached).to.deep.equal([])
  })

  // The runtime's file, as the kernel would run it for a command `/proc/self/exe` (runc's
  // CVE-2019-5736): the host's C library bind-mounted in, so that it can start there.
  const libs = ['-v', '/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:ro', '-v', '/lib64:/lib64:ro']
  const hostRuntime = () => {
    const st = statSync(join(installation(), 'native', 'ncx-runtime'))
    return `${st.dev}:${st.ino}`
  }
  /** `readlink` and `dev:ino` of /proc/PID/exe for the process in `name` whose command line starts with `start`. */
  const exeOf = (name: string, start: string) =>
    box.ok(['exec', name, 'sh', '-c', `for p in /proc/[0-9]*; do case "$(tr '\\0' ' ' < $p/cmdline)" in "${start}"*) readlink $p/exe; stat -L -c %d:%i $p/exe; exit;; esac; done`]).trim().split('\n')

  // The sealed copy is made where a container could write the runtime's file (an install the
  // user owns); with NCX_SEALED_COPY=1 always, as here: the harness's installation is root's.
  const sealed = {env: {NCX_SEALED_COPY: '1'}}

  it('exec of /proc/self/exe runs a sealed copy of the runtime, never its file on the host', async () => {
    box.ok(['run', '-d', '--name', 'libc', '--network', 'none', ...libs, 'busybox', 'sleep', '1000'])
    // (blocks on its stdin, held open here, until the test ends it)
    const held = box.spawn(['exec', '-i', 'libc', '/proc/self/exe', 'unpack', '--dest', '/tmp', '--file', '-'], {stdio: ['pipe', 'ignore', 'ignore']}, sealed.env)
    try {
      let found: string[] = []
      await until('the runtime to run in the container', () => (found = exeOf('libc', '/proc/self/exe unpack')).length === 2)
      expect(found[0]).to.match(/^\/memfd:ncx-runtime/)
      expect(found[1]).to.not.equal(hostRuntime())
    } finally {
      held.stdin!.end()
    }
  })

  it("a container whose command is /proc/self/exe: PID 1 runs a sealed copy, never the runtime's file", async () => {
    box.ok(['run', '-di', '--name', 'selfexe', '--network', 'none', ...libs, 'busybox', '/proc/self/exe', 'unpack', '--dest', '/tmp', '--file', '-'], sealed)
    const [link, id] = box.ok(['exec', 'selfexe', 'sh', '-c', 'readlink /proc/1/exe; stat -L -c %d:%i /proc/1/exe']).trim().split('\n')
    expect(link).to.match(/^\/memfd:ncx-runtime/)
    expect(id).to.not.equal(hostRuntime())
  })

  // Rootless, a runtime file that is root's and writable by neither group nor others is out
  // of every container's reach already: it runs in place (no copy, no second execve).
  it("a root-owned, read-only runtime runs in place, and the container cannot open it for writing", () => {
    const st = statSync(join(installation(), 'native', 'ncx-runtime'))
    expect(st.uid === 0 && (st.mode & 0o022) === 0, "the harness's runtime is root's and not group/other-writable (else this test proves nothing)").to.equal(true)
    box.ok(['run', '-di', '--name', 'inplace', '--network', 'none', ...libs, 'busybox', '/proc/self/exe', 'unpack', '--dest', '/tmp', '--file', '-'])
    const [id] = box.ok(['exec', 'inplace', 'sh', '-c', 'stat -L -c %d:%i /proc/1/exe']).trim().split('\n')
    expect(id).to.equal(hostRuntime())
    // Refused to the container's root for want of permission (a file it could write would get
    // "Text file busy" while it runs, and be writable once it no longer does).
    const r = box.ncx(['exec', 'inplace', 'sh', '-c', ': >> /proc/1/exe'])
    expect(r.code, r.stderr).to.not.equal(0)
    expect(r.stderr).to.match(/Permission denied/)
  })

  it('a container with a 128 KB environment variable still starts from the sealed copy (its state does not travel as an argument)', () => {
    const big = 'x'.repeat(128_000)
    expect(box.ok(['run', '--rm', '--network', 'none', '-e', `BIG=${big}`, 'busybox', 'sh', '-c', 'echo ${#BIG}'], sealed)).to.equal('128000\n')
  })

  it("run --pid container:X: X's processes cannot reach the new container's process before its exec", async () => {
    const r = await watched('/tmp/run.out', 8, () => {
      for (let i = 0; i < 3; i++) box.ok(['run', '--rm', '--network', 'none', '--pid', 'container:target', '-e', longPath, 'busybox', 'true'])
    })
    expect(r.seen, 'the watcher saw the runtime (else this test proves nothing)').to.be.at.least(1)
    expect(r.reached).to.deep.equal([])
  })
})
