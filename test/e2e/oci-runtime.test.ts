/**
 * ncx-runtime's standard OCI command line (docs/runtime-protocol.md, "The standard OCI
 * command line"), driven as containerd or podman drive runc: a real bundle (a busybox
 * rootfs and a config as `runc spec --rootless` writes it), run as the unprivileged test
 * user. The lifecycle and its states, `run`, `exec`, hooks that record when they ran, and
 * the console socket with a small client that receives the pty master (SCM_RIGHTS).
 */
import {expect} from 'chai'
import {spawnSync, StdioOptions} from 'node:child_process'
import {closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {asRoot, installation, Result, user, userDir} from './harness.js'

const runtime = () => join(installation(), 'native', 'ncx-runtime')

/**
 * `ncx-runtime --root ROOT ARGS` as the test user. Its output goes through files, not pipes:
 * a container `create` or `run -d` leaves running keeps them open (as runc's would).
 */
function rt(root: string, args: string[], options: {timeout?: number} = {}): Result {
  const argv = [runtime(), '--root', root, ...args]
  const dir = mkdtempSync(join(tmpdir(), 'ncx-oci-out-'))
  const [out, err] = [openSync(join(dir, 'out'), 'w+'), openSync(join(dir, 'err'), 'w+')]
  const stdio: StdioOptions = ['ignore', out, err]
  const r = asRoot
    ? spawnSync('runuser', ['-u', user.name, '--', ...argv], {stdio, timeout: options.timeout ?? 30_000})
    : spawnSync(argv[0], argv.slice(1), {stdio, timeout: options.timeout ?? 30_000})
  closeSync(out)
  closeSync(err)
  const result = {code: r.status ?? 137, stdout: readFileSync(join(dir, 'out'), 'utf8'), stderr: readFileSync(join(dir, 'err'), 'utf8')}
  rmSync(dir, {recursive: true, force: true})
  return result
}

function asUser(argv: string[]): Result {
  const r = asRoot ? spawnSync('runuser', ['-u', user.name, '--', ...argv], {encoding: 'utf8', timeout: 30_000}) : spawnSync(argv[0], argv.slice(1), {encoding: 'utf8', timeout: 30_000})
  return {code: r.status ?? 137, stdout: r.stdout, stderr: r.stderr}
}

interface Hook {
  path: string
  args: string[]
}

/** A bundle in a directory the test user owns: busybox, config for a rootless container. */
function bundle(dir: string, args: string[], extra: {terminal?: boolean; hooks?: Record<string, Hook[]>} = {}): string {
  const rootfs = join(dir, 'rootfs')
  mkdirSync(join(rootfs, 'bin'), {recursive: true})
  for (const d of ['proc', 'dev', 'sys', 'tmp']) mkdirSync(join(rootfs, d), {recursive: true})
  copyFileSync('/usr/bin/busybox', join(rootfs, 'bin', 'busybox'))
  for (const c of ['sh', 'sleep', 'echo', 'cat', 'tty', 'id', 'hostname']) symlinkSync('busybox', join(rootfs, 'bin', c))
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']
  const config = {
    ociVersion: '1.0.2',
    process: {terminal: extra.terminal ?? false, user: {uid: 0, gid: 0}, args, env: ['PATH=/bin', 'TERM=xterm'], cwd: '/', capabilities: {bounding: caps, effective: caps, permitted: caps, ambient: caps}, noNewPrivileges: true},
    root: {path: 'rootfs', readonly: false},
    hostname: 'ocitest',
    mounts: [
      {destination: '/proc', type: 'proc', source: 'proc'},
      {destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
      {destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620']},
      {destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro']},
    ],
    hooks: extra.hooks,
    linux: {
      uidMappings: [{containerID: 0, hostID: user.uid, size: 1}],
      gidMappings: [{containerID: 0, hostID: user.gid, size: 1}],
      namespaces: [{type: 'pid'}, {type: 'ipc'}, {type: 'uts'}, {type: 'mount'}, {type: 'user'}],
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
    },
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  if (asRoot) spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, dir])
  return dir
}

const status = (root: string, id: string): string => (JSON.parse(rt(root, ['state', id]).stdout) as {status: string}).status

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('e2e: ncx-runtime as a standard OCI runtime', function () {
  this.timeout(60_000)

  it('create → created, start → running, kill → stopped, delete; state is the spec\'s document; list', async () => {
    const dir = userDir('ncx-oci-')
    const root = join(dir, 'state')
    const b = bundle(join(dir, 'b'), ['sleep', '1000'])
    const pidFile = join(dir, 'pid')
    const c = rt(root, ['create', '--bundle', b, '--pid-file', pidFile, 'c1'])
    expect(c.code, c.stderr).to.equal(0)
    const st = JSON.parse(rt(root, ['state', 'c1']).stdout) as Record<string, unknown>
    expect(st).to.include({ociVersion: '1.2.0', id: 'c1', status: 'created', bundle: b})
    expect(st.pid).to.equal(Number(readFileSync(pidFile, 'utf8')))
    // The process waits at its gate: not yet the command.
    expect(readFileSync(`/proc/${st.pid}/cmdline`, 'utf8')).to.not.contain('sleep')
    expect(rt(root, ['start', 'c1']).code).to.equal(0)
    await until('sleep to run', () => readFileSync(`/proc/${st.pid}/cmdline`, 'utf8').startsWith('sleep'))
    expect(status(root, 'c1')).to.equal('running')
    expect(rt(root, ['start', 'c1']).stderr).to.contain('not created')
    expect(rt(root, ['list', '--format', 'json']).stdout).to.contain('"id":"c1"')
    expect(rt(root, ['delete', 'c1']).stderr).to.contain('not stopped')
    // (SIGTERM would be ignored: the process is PID 1 of its namespace, without a handler.)
    expect(rt(root, ['kill', 'c1', 'KILL']).code).to.equal(0)
    await until('the container to stop', () => status(root, 'c1') === 'stopped')
    expect(rt(root, ['kill', 'c1', 'TERM']).stderr).to.contain('not running')
    expect(rt(root, ['delete', 'c1']).code).to.equal(0)
    expect(rt(root, ['state', 'c1']).stderr).to.contain('does not exist')
    expect(existsSync(join(root, 'c1'))).to.equal(false)
  })

  it('run: the process in the foreground, its output and exit code, the container gone after', () => {
    const dir = userDir('ncx-oci-')
    const root = join(dir, 'state')
    const b = bundle(join(dir, 'b'), ['sh', '-c', 'echo out $(hostname) $(id -u); exit 3'])
    const r = rt(root, ['run', '--bundle', b, 'r1'])
    expect(r.stdout).to.equal('out ocitest 0\n')
    expect(r.code).to.equal(3)
    expect(rt(root, ['list', '-q']).stdout).to.equal('')
  })

  it('run --no-pivot: the root is moved and chrooted into; the host\'s /proc and /sys are out of reach', () => {
    const dir = userDir('ncx-oci-')
    const root = join(dir, 'state')
    const b = bundle(join(dir, 'b'), ['sh', '-c', 'cat /proc/self/mountinfo'])
    const r = rt(root, ['run', '--no-pivot', '--bundle', b, 'np1'])
    expect(r.code, r.stderr).to.equal(0)
    const points = r.stdout.trim().split('\n').map((l) => l.split(' ')[4])
    expect(points[0]).to.equal('/')
    expect(points).to.include.members(['/proc', '/dev', '/dev/pts', '/sys'])
    // Nothing of the host's tree is reachable: every mount point is the container's own (rootless,
    // the devices are binds of the host's nodes on /dev/*).
    expect(points.filter((p) => !['/', '/proc', '/dev', '/dev/pts', '/sys'].includes(p) && !/^\/(sys|proc|dev)\//.test(p))).to.deep.equal([])
  })

  it('create fails on an rlimit the kernel does not know, before anything runs', () => {
    const dir = userDir('ncx-oci-')
    const root = join(dir, 'state')
    const b = bundle(join(dir, 'b'), ['true'])
    const config = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')) as {process: Record<string, unknown>}
    config.process.rlimits = [{type: 'RLIMIT_TEST', soft: 1024, hard: 1024}]
    writeFileSync(join(b, 'config.json'), JSON.stringify(config))
    const c = rt(root, ['create', '--bundle', b, 'rl1'])
    expect(c.code).to.not.equal(0)
    expect(c.stderr).to.contain('unsupported rlimit RLIMIT_TEST')
    expect(rt(root, ['list', '-q']).stdout).to.equal('')
  })

  it('exec: a process in the running container, with its exit code and --pid-file; ps lists both', () => {
    const dir = userDir('ncx-oci-')
    const root = join(dir, 'state')
    const b = bundle(join(dir, 'b'), ['sleep', '1000'])
    expect(rt(root, ['run', '-d', '--bundle', b, 'e1']).code).to.equal(0)
    try {
      const r = rt(root, ['exec', 'e1', 'sh', '-c', 'echo in $(hostname); exit 4'])
      expect(r.stdout).to.equal('in ocitest\n')
      expect(r.code).to.equal(4)
      const pidFile = join(dir, 'exec.pid')
      expect(rt(root, ['exec', '-d', '--pid-file', pidFile, 'e1', 'sleep', '30']).code).to.equal(0)
      const pids = JSON.parse(rt(root, ['ps', '--format', 'json', 'e1']).stdout) as number[]
      expect(pids).to.include(Number(readFileSync(pidFile, 'utf8')))
      expect(pids).to.have.length(2)
    } finally {
      expect(rt(root, ['delete', '--force', 'e1']).code).to.equal(0)
    }
  })

  it('hooks run at the spec\'s points, in order, with the state on stdin', async () => {
    const dir = userDir('ncx-oci-')
    const root = join(dir, 'state')
    const log = join(dir, 'hooks.log')
    const record = (kind: string): Hook[] => [{path: '/bin/sh', args: ['sh', '-c', `read -r s; echo "${kind} $s" >> ${log}`]}]
    const hooks: Record<string, Hook[]> = {}
    for (const kind of ['prestart', 'createRuntime', 'createContainer', 'poststart', 'poststop']) hooks[kind] = record(kind)
    // In the container: its own root file system, /bin/sh is busybox's.
    hooks.startContainer = [{path: '/bin/sh', args: ['sh', '-c', 'read -r s; echo "startContainer $s" > /tmp/start.log']}]
    const b = bundle(join(dir, 'b'), ['sleep', '1000'], {hooks})
    expect(rt(root, ['create', '--bundle', b, 'h1']).code).to.equal(0)
    const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [])
    expect(lines().map((l) => l.split(' ')[0])).to.deep.equal(['prestart', 'createRuntime', 'createContainer'])
    expect(JSON.parse(lines()[0].slice('prestart '.length))).to.include({id: 'h1', status: 'created'})
    expect(existsSync(join(b, 'rootfs', 'tmp', 'start.log'))).to.equal(false)
    expect(rt(root, ['start', 'h1']).code).to.equal(0)
    expect(lines().map((l) => l.split(' ')[0])).to.deep.equal(['prestart', 'createRuntime', 'createContainer', 'poststart'])
    await until('startContainer in the container', () => existsSync(join(b, 'rootfs', 'tmp', 'start.log')))
    expect(readFileSync(join(b, 'rootfs', 'tmp', 'start.log'), 'utf8')).to.match(/^startContainer \{.*"id":"h1"/)
    expect(rt(root, ['delete', '--force', 'h1']).code).to.equal(0)
    expect(lines().at(-1)).to.match(/^poststop \{.*"status":"stopped"/)
  })

  it('the console socket gets the pty master (SCM_RIGHTS); the process has a terminal', async () => {
    const dir = userDir('ncx-oci-')
    const root = join(dir, 'state')
    const socket = join(dir, 'console.sock')
    const out = join(dir, 'console.out')
    // A small client: accept one connection, receive the fd, read the terminal until EOF.
    const client = `import socket, os, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept(); _, fds, _, _ = socket.recv_fds(c, 4096, 1); data = b""
while True:
    try: b = os.read(fds[0], 4096)
    except OSError: break
    if not b: break
    data += b
open(sys.argv[2], "w").write(repr((os.isatty(fds[0]), data.decode())))`
    writeFileSync(join(dir, 'client.py'), client)
    const argv = ['python3', join(dir, 'client.py'), socket, out]
    const server = asRoot ? spawnSync('sh', ['-c', `runuser -u ${user.name} -- ${argv.join(' ')} >/dev/null 2>&1 &`]) : spawnSync('sh', ['-c', `${argv.join(' ')} >/dev/null 2>&1 &`])
    expect(server.status).to.equal(0)
    await until('the console socket', () => existsSync(socket))
    const b = bundle(join(dir, 'b'), ['sh', '-c', 'tty; echo on-a-tty'], {terminal: true})
    expect(rt(root, ['create', '--bundle', b, 't1']).stderr).to.contain('--console-socket')
    const c = rt(root, ['create', '--bundle', b, '--console-socket', socket, 't1'])
    expect(c.code, c.stderr).to.equal(0)
    expect(rt(root, ['start', 't1']).code).to.equal(0)
    await until('the client to read the terminal', () => existsSync(out) && readFileSync(out, 'utf8').length > 0)
    expect(readFileSync(out, 'utf8')).to.equal(`(True, '/dev/pts/0\\r\\non-a-tty\\r\\n')`)
    expect(rt(root, ['delete', '--force', 't1']).code).to.equal(0)
  })

  it('an unknown option is refused with its name, for the standard and the private commands', () => {
    const dir = userDir('ncx-oci-')
    const root = join(dir, 'state')
    const r = rt(root, ['create', '--bundel', dir, 'x'])
    expect(r.code).to.equal(1)
    expect(r.stderr).to.contain('unknown option --bundel')
    const p = asUser([runtime(), 'stop', '--pid', '1', '--sginal', '9', '--timeout-ms', '0'])
    expect(p.code).to.equal(125)
    expect(p.stderr).to.contain('unknown option --sginal')
    const f = JSON.parse(rt(root, ['features']).stdout) as {hooks: string[]; linux: {namespaces: string[]}}
    expect(f.hooks).to.include('startContainer')
    expect(f.linux.namespaces).to.include('user')
  })
})
