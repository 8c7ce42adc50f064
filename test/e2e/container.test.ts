import {expect} from 'chai'
import {existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'

import {Sandbox, asRoot, user} from './harness.js'

describe('e2e: a rootless container', function () {
  this.timeout(120_000)
  const box = new Sandbox()

  before(() => box.load('busybox.oci.tar'))
  after(() => box.destroy())

  it('runs a command and prints its output', () => {
    const r = box.ncx(['run', '--rm', 'busybox', 'echo', 'hello'])
    expect(r.stderr).to.equal('')
    expect(r.stdout).to.equal('hello\n')
    expect(r.code).to.equal(0)
  })

  it('passes everything after IMAGE to the container (ls -l keeps -l)', () => {
    const out = box.ok(['run', '--rm', 'busybox', 'ls', '-l', '/etc/passwd'])
    expect(out).to.match(/^-rw-r--r--\s+1 root\s+root\s+\d+ .* \/etc\/passwd\n$/)
  })

  it('returns the container exit code, 126 and 127 as Docker does', () => {
    expect(box.ncx(['run', '--rm', 'busybox', 'true']).code).to.equal(0)
    expect(box.ncx(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3']).code).to.equal(3)
    const notFound = box.ncx(['run', '--rm', 'busybox', 'no-such-command'])
    expect(notFound.code).to.equal(127)
    expect(notFound.stderr).to.contain('exec: "no-such-command": executable file not found in $PATH')
    const cannot = box.ncx(['run', '--rm', 'busybox', '/etc/passwd'])
    expect(cannot.code).to.equal(126)
    expect(cannot.stderr).to.contain('permission denied')
  })

  it('maps root inside to the user outside, and the rest to the subordinate range', () => {
    const out = box.ok(['run', '--rm', 'busybox', 'sh', '-c', 'id -u; cat /proc/self/uid_map'])
    const [uid, ...map] = out.trim().split('\n')
    expect(uid).to.equal('0')
    const rows = map.map((l) => l.trim().split(/\s+/).map(Number))
    expect(rows[0]).to.deep.equal([0, user.uid, 1])
    const range = readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith(`${user.name}:`))?.split(':')
    if (range) expect(rows[1]).to.deep.equal([1, Number(range[1]), Number(range[2])])
  })

  it('writes files owned by the user (root inside) and by subordinate ids (others) on the host', () => {
    const name = `owner-${Date.now()}`
    box.ok(['run', '--name', name, 'busybox', 'sh', '-c', 'touch /by-root && mkdir -p /tmp/x && chown 1000:1000 /tmp/x && touch /tmp/x/f && chown 1000:1000 /tmp/x/f'])
    const dirs = readdirSync(join(box.root, 'containers')).filter((d) => /^[a-f0-9]{64}$/.test(d))
    const id = dirs.find((d) => JSON.parse(readFileSync(join(box.root, 'containers', d, 'container.json'), 'utf8')).name === name)
    expect(id, 'container record').to.be.a('string')
    const upper = join(box.root, 'containers', id!, 'upper')
    expect(statSync(join(upper, 'by-root')).uid).to.equal(user.uid)
    const range = readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith(`${user.name}:`))?.split(':')
    if (range && asRoot) {
      // uid 1000 inside is subordinate id START + 999 outside.
      const st = statSync(join(upper, 'tmp', 'x', 'f'))
      expect(st.uid).to.equal(Number(range[1]) + 999)
    }
  })

  it('isolates PIDs: the command is PID 1 and sees nothing of the host', () => {
    const out = box.ok(['run', '--rm', 'busybox', 'ps', '-o', 'pid,comm'])
    const rows = out.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/))
    expect(rows).to.deep.equal([['1', 'ps']])
  })

  it('gives the container its own cgroup namespace where the kernel has them', () => {
    const inside = box.ok(['run', '--rm', 'busybox', 'readlink', '/proc/self/ns/cgroup']).trim()
    expect(inside).to.match(/^cgroup:\[\d+\]$/)
    expect(inside).to.not.equal(readlinkSync('/proc/self/ns/cgroup'))
  })

  it('isolates the hostname and sets --hostname', () => {
    const own = box.ok(['run', '--rm', 'busybox', 'hostname']).trim()
    expect(own).to.match(/^[a-f0-9]{12}$/)
    expect(own).to.not.equal(hostname())
    expect(box.ok(['run', '--rm', '-h', 'web1', 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname; echo $HOSTNAME'])).to.equal('web1\nweb1\nweb1\n')
  })

  it("has exactly Docker's 14 default capabilities, none inheritable or ambient", () => {
    const status = box.ok(['run', '--rm', 'busybox', 'cat', '/proc/self/status'])
    const cap = (k: string) => new RegExp(`^${k}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1]
    expect(cap('CapEff')).to.equal('00000000a80425fb')
    expect(cap('CapPrm')).to.equal('00000000a80425fb')
    expect(cap('CapBnd')).to.equal('00000000a80425fb')
    expect(cap('CapInh')).to.equal('0000000000000000')
    expect(cap('CapAmb')).to.equal('0000000000000000')
  })

  it('masks sensitive /proc and /sys paths and keeps /proc/sys read-only', () => {
    const out = box.ok([
      'run', '--rm', 'busybox', 'sh', '-c',
      'wc -c < /proc/keys; ls -A /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo writable || echo readonly; touch /sys/x 2>/dev/null && echo syswritable || echo sysreadonly',
    ])
    expect(out.split('\n').slice(0, 4)).to.deep.equal(['0', '0', 'readonly', 'sysreadonly'])
  })

  it('has a private /dev with the standard devices, devpts and shm', () => {
    const out = box.ok(['run', '--rm', 'busybox', 'sh', '-c', 'ls /dev | tr "\\n" " "; echo; head -c 4 /dev/zero | wc -c; echo ok > /dev/null && echo null-ok; mount | grep -c -E " /dev/(pts|shm|mqueue) "'])
    const [list, zero, nul, mounts] = out.trim().split('\n')
    for (const dev of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'pts', 'shm', 'fd', 'stdin', 'stdout', 'stderr']) expect(list.split(' ')).to.include(dev)
    expect(zero.trim()).to.equal('4')
    expect(nul).to.equal('null-ok')
    expect(mounts).to.equal('3')
  })

  it('applies -e, --env-file, -w, -u and --entrypoint as Docker does', () => {
    const envFile = join(box.root, 'env.list')
    writeFileSync(envFile, '# comment\nFROM_FILE=1\nOVERRIDDEN=file\n', {mode: 0o644})
    const out = box.ok(['run', '--rm', '--env-file', envFile, '-e', 'OVERRIDDEN=flag', '-e', 'NCX_FROM_HOST', '-w', '/tmp', '-u', 'ncx', 'busybox', 'sh', '-c', 'echo $FROM_FILE $OVERRIDDEN $NCX_FROM_HOST; pwd; id; echo $HOME'], {env: {NCX_FROM_HOST: 'host-value'}})
    expect(out).to.equal('1 flag host-value\n/tmp\nuid=1000(ncx) gid=1000(ncx) groups=1000(ncx)\n/home/ncx\n')
    expect(box.ok(['run', '--rm', '-u', '1234:5678', 'busybox', 'id'])).to.equal('uid=1234 gid=5678 groups=5678\n')
    expect(box.ok(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'from', 'entrypoint'])).to.equal('from entrypoint\n')
  })

  it('gives a pty with -t', () => {
    const out = box.ok(['run', '--rm', '-t', 'busybox', 'sh', '-c', 'tty; echo $TERM'])
    expect(out.replace(/\r/g, '')).to.equal('/dev/pts/0\nxterm\n')
  })

  it('passes stdin with -i and not without it', () => {
    expect(box.ok(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat | wc -l'], {input: 'a\nb\nc\n'}).trim()).to.equal('3')
    expect(box.ok(['run', '--rm', 'busybox', 'sh', '-c', 'cat | wc -l'], {input: 'a\nb\n'}).trim()).to.equal('0')
  })

  it('leaves nothing behind with --rm, and keeps the container without it', () => {
    const before = readdirSync(join(box.root, 'containers')).length
    box.ok(['run', '--rm', 'busybox', 'touch', '/x'])
    expect(readdirSync(join(box.root, 'containers')).length).to.equal(before)
    box.ok(['run', 'busybox', 'true'])
    expect(readdirSync(join(box.root, 'containers')).length).to.equal(before + 1)
  })

  it('creates all or nothing: a container whose setup fails leaves no record behind', () => {
    const dir = join(box.root, 'containers')
    const count = () => (existsSync(dir) ? readdirSync(dir).filter((d) => /^[a-f0-9]{64}$/.test(d)).length : 0)
    const before = count()
    for (const extra of [['--rm'], []]) {
      const r = box.ncx(['run', ...extra, '--name', 'doomed', '--network', 'no-such-network', 'busybox', 'true'])
      expect(r.code).to.equal(125)
      expect(r.stderr).to.match(/^ncx: .*no-such-network/)
      expect(count()).to.equal(before)
    }
    // The name is free again.
    expect(box.ncx(['run', '--rm', '--name', 'doomed', '--network', 'none', 'busybox', 'true']).code).to.equal(0)
  })

  it('refuses a second container with the same name', () => {
    box.ok(['run', '--name', 'dup', 'busybox', 'true'])
    const r = box.ncx(['run', '--name', 'dup', 'busybox', 'true'])
    expect(r.code).to.equal(125)
    expect(r.stderr).to.contain('Conflict. The container name "/dup" is already in use')
  })

  it('runs containers in parallel from separate processes', async () => {
    const runs = Array.from({length: 4}, (_, i) => new Promise<string>((resolve, reject) => {
      const child = box.spawn(['run', '--rm', 'busybox', 'echo', `parallel-${i}`])
      let out = ''
      child.stdout!.on('data', (d) => (out += d))
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))))
    }))
    expect((await Promise.all(runs)).sort()).to.deep.equal(['parallel-0\n', 'parallel-1\n', 'parallel-2\n', 'parallel-3\n'])
  })

  it('reports engine errors with exit 125 and one clear line', () => {
    const missing = box.ncx(['run', '--rm', '--pull', 'never', 'nosuchimage', 'true'])
    expect(missing.code).to.equal(125)
    expect(missing.stderr).to.match(/^ncx: Unable to find image 'nosuchimage' locally\n {2}hint: /)
    // With the default --pull missing, the pull is tried (Docker Hub is unreachable here).
    const pulled = box.ncx(['run', '--rm', 'nosuchimage', 'true'], {env: {NCX_INSECURE_REGISTRIES: ''}})
    expect(pulled.code).to.equal(125)
    expect(pulled.stderr).to.match(/^Unable to find image 'nosuchimage:latest' locally\n(.*\n)*ncx: /)
    const bad = box.ncx(['run', '--rm', 'Bad_Name', 'true'])
    expect(bad.code).to.equal(125)
    expect(bad.stderr).to.contain('invalid reference format')
    const flag = box.ncx(['run', '--bogus', 'busybox'])
    expect(flag.code).to.equal(125)
    expect(flag.stderr).to.contain('unknown flag: --bogus')
  })
})
