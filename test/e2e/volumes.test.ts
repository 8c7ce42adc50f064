import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync, readdirSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {Sandbox, images, user, userDir} from './harness.js'

/** The first subordinate uid of the test user (container uid N ≥ 1 is subuid + N - 1 on the host). */
function subuidStart(): number {
  const line = readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith(`${user.name}:`) || l.startsWith(`${user.uid}:`))
  if (!line) throw new Error(`${user.name} has no subordinate uids (see .ci/run)`)
  return Number(line.split(':')[1])
}

/** Volumes, bind mounts and tmpfs, run as the unprivileged user. */
describe('e2e: volumes, bind mounts and tmpfs', function () {
  this.timeout(120_000)
  const box = new Sandbox()
  let host = '' // a directory the test user owns, bind-mounted into containers
  const run = (...args: string[]) => box.ncx(['run', '--rm', '--network', 'none', ...args])
  const ok = (...args: string[]) => {
    const r = run(...args)
    if (r.code !== 0) throw new Error(`run ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return r.stdout
  }
  const volumes = () => box.ok(['volume', 'ls', '-q']).trim().split('\n').filter((l) => l !== '')

  before(() => {
    host = userDir('ncx-e2e-vol-')
    box.load('busybox.oci.tar')
    box.load('volume.oci.tar')
    box.load('hostile-mount.oci.tar')
  })
  after(() => {
    box.destroy()
    if (host) rmSync(host, {recursive: true, force: true})
  })

  it('a named volume keeps its data across containers, stored under the data root', () => {
    expect(box.ok(['volume', 'create', '--label', 'app=db', 'pgdata']).trim()).to.equal('pgdata')
    box.ok(['run', '--name', 'writer', '--network', 'none', '-v', 'pgdata:/var/lib/data', 'busybox', 'sh', '-c', 'echo persisted > /var/lib/data/f'])
    box.ok(['rm', 'writer'])
    expect(ok('-v', 'pgdata:/d', 'busybox', 'cat', '/d/f')).to.equal('persisted\n')
    const [doc] = JSON.parse(box.ok(['volume', 'inspect', 'pgdata'])) as Array<Record<string, unknown>>
    expect(doc).to.include({Name: 'pgdata', Driver: 'local', Scope: 'local', Mountpoint: join(box.root, 'volumes', 'pgdata', '_data')})
    expect(doc.Labels).to.deep.equal({app: 'db'})
    expect(readFileSync(join(box.root, 'volumes', 'pgdata', '_data', 'f'), 'utf8')).to.equal('persisted\n')
    expect(box.ok(['volume', 'ls', '--filter', 'label=app=db', '--format', '{{.Name}} {{.Driver}}'])).to.equal('pgdata local\n')
    expect(box.ok(['volume', 'ls'])).to.match(/^DRIVER\s+VOLUME NAME\nlocal\s+pgdata\n/)
    // created on first use
    ok('-v', 'firstuse:/x', 'busybox', 'true')
    expect(volumes()).to.include('firstuse')
  })

  it('copy-up fills a new volume from the image, owners and modes kept; nocopy leaves it empty', () => {
    const out = ok('-v', 'seeded:/data', 'volume', 'sh', '-c', 'stat -c "%u:%g %a %n" /data /data/seed.txt /data/sub/root.txt; cat /data/seed.txt')
    expect(out).to.equal('1234:1234 750 /data\n1234:1234 640 /data/seed.txt\n0:0 644 /data/sub/root.txt\nseeded\n')
    // on the host: container uid 1234 is a subordinate id, container root is the user
    const data = join(box.root, 'volumes', 'seeded', '_data')
    expect(statSync(data).uid).to.equal(subuidStart() + 1233)
    // a volume that has content is not copied into again
    ok('-v', 'seeded:/data', 'busybox', 'sh', '-c', 'rm /data/seed.txt')
    expect(ok('-v', 'seeded:/data', 'volume', 'ls', '/data')).to.equal('sub\n')
    expect(ok('-v', 'empty:/data:nocopy', 'volume', 'ls', '-A', '/data')).to.equal('')
    expect(ok('--mount', 'type=volume,src=empty2,dst=/data,volume-nocopy', 'volume', 'ls', '-A', '/data')).to.equal('')
  })

  it('files written as container root in a bind mount belong to the user on the host; -v creates a missing host directory', () => {
    ok('-v', `${host}:/src`, '-w', '/src', 'busybox', 'sh', '-c', 'echo x > byroot; mkdir -p made/deeper')
    expect(statSync(join(host, 'byroot')).uid).to.equal(user.uid)
    expect(statSync(join(host, 'made', 'deeper')).uid).to.equal(user.uid)
    ok('-v', `${host}/created/by/v:/x`, 'busybox', 'true')
    expect(statSync(join(host, 'created', 'by', 'v')).isDirectory()).to.equal(true)
    expect(statSync(join(host, 'created')).uid).to.equal(user.uid)
  })

  it('read-only binds and --read-only refuse writes with EROFS', () => {
    for (const flags of [['--mount', `type=bind,src=${host},dst=/src,readonly`], ['-v', `${host}:/src:ro`]]) {
      const r = run(...flags, 'busybox', 'touch', '/src/nope')
      expect(r.code, r.stderr).to.equal(1)
      expect(r.stderr).to.contain('Read-only file system')
    }
    expect(existsSync(join(host, 'nope'))).to.equal(false)
    const r = run('--read-only', 'busybox', 'touch', '/x')
    expect(r.code).to.equal(1)
    expect(r.stderr).to.contain('touch: /x: Read-only file system')
    // the usual companion: a writable tmpfs on a read-only root
    expect(ok('--read-only', '--tmpfs', '/tmp', 'busybox', 'sh', '-c', 'echo ok > /tmp/f && cat /tmp/f')).to.equal('ok\n')
    // a read-only named volume
    expect(run('-v', 'pgdata:/d:ro', 'busybox', 'touch', '/d/x').stderr).to.contain('Read-only file system')
  })

  it('--userns keep-id: the user\'s own uid inside, files in a bind mount are the user\'s, image files still root\'s', () => {
    const out = ok('--userns', 'keep-id', '-v', `${host}:/src`, 'busybox', 'sh', '-c', 'id -u; id -g; whoami; touch /src/mine; stat -c %u:%g /bin/busybox /etc/group; echo w > /tmp/w; stat -c %u /tmp/w')
    expect(out).to.equal(`${user.uid}\n${user.gid}\n${user.name}\n0:0\n0:0\n${user.uid}\n`)
    const st = statSync(join(host, 'mine'))
    expect([st.uid, st.gid]).to.deep.equal([user.uid, user.gid])
    // -u still wins; exec joins the container's own user namespace
    expect(ok('--userns', 'keep-id', '-u', '0', 'busybox', 'id', '-u')).to.equal('0\n')
    const id = box.ok(['run', '-d', '--network', 'none', '--userns', 'keep-id', 'busybox', 'sleep', '60']).trim()
    expect(box.ok(['exec', id, 'id', '-u'])).to.equal(`${user.uid}\n`)
    expect(box.ok(['exec', id, 'stat', '-c', '%u', '/bin/busybox'])).to.equal('0\n')
    expect(box.ok(['inspect', '-f', '{{.HostConfig.UsernsMode}} {{.Config.User}}', id])).to.equal(`keep-id ${user.uid}:${user.gid}\n`)
    box.ok(['rm', '-f', id])
    expect(ok('--userns', 'host', 'busybox', 'id', '-u')).to.equal('0\n')
  })

  it('tmpfs mounts: size enforced, mode and options applied', () => {
    const r = run('--tmpfs', '/run:size=1m', 'busybox', 'sh', '-c', 'df -k /run | tail -1; dd if=/dev/zero of=/run/x bs=1k count=2048')
    expect(r.code).to.equal(1)
    expect(r.stdout).to.match(/^tmpfs\s+1024\s/)
    expect(r.stderr).to.contain('No space left on device')
    expect(ok('--mount', 'type=tmpfs,dst=/t,tmpfs-size=65536,tmpfs-mode=1770', 'busybox', 'sh', '-c', 'stat -c %a /t; df -k /t | tail -1')).to.match(/^1770\ntmpfs\s+64\s/)
    // --tmpfs is noexec unless asked otherwise
    expect(run('--tmpfs', '/x', 'busybox', 'sh', '-c', 'cp /bin/busybox /x/busybox && /x/busybox true').code).to.equal(126)
    expect(ok('--tmpfs', '/x:exec', 'busybox', 'sh', '-c', 'cp /bin/busybox /x/busybox && /x/busybox echo ran')).to.equal('ran\n')
  })

  it('anonymous volumes (-v /dst and image VOLUME) go with rm -v and run --rm, and stay with plain rm', () => {
    const before = volumes()
    const id = box.ok(['create', '--network', 'none', '-v', '/anon', 'volume', 'true']).trim()
    const mounts = JSON.parse(box.ok(['inspect', '-f', '{{json .Mounts}}', id])) as Array<{Type: string; Name: string; Destination: string}>
    expect(mounts.map((m) => m.Destination)).to.deep.equal(['/anon', '/data'])
    const anon = mounts.map((m) => m.Name)
    for (const n of anon) expect(n).to.match(/^[0-9a-f]{64}$/)
    expect(volumes()).to.include.members(anon)
    box.ok(['rm', '-v', id])
    expect(volumes()).to.deep.equal(before)
    // run --rm (foreground and detached, where the monitor removes the container)
    ok('-v', '/anon', 'volume', 'true')
    const detached = box.ok(['run', '-d', '--rm', '--network', 'none', '-v', '/anon', 'busybox', 'true']).trim()
    box.ncx(['wait', detached]) // it may be gone already
    for (let i = 0; i < 50 && box.ok(['ps', '-aq', '--no-trunc']).includes(detached); i++) execFileSync('sleep', ['0.1'])
    expect(volumes()).to.deep.equal(before)
    // plain rm keeps them; volume prune (anonymous only, Docker 23+) removes them
    const kept = box.ok(['create', '--network', 'none', '-v', '/anon', 'busybox', 'true']).trim()
    const keptVolume = (JSON.parse(box.ok(['inspect', '-f', '{{json .Mounts}}', kept])) as Array<{Name: string}>)[0].Name
    box.ok(['rm', kept])
    expect(volumes()).to.deep.equal([...before, keptVolume].sort())
    box.ok(['volume', 'create', 'unused'])
    const pruned = box.ok(['volume', 'prune', '-f'])
    expect(pruned).to.match(/^Deleted Volumes:\n([0-9a-f]{64}\n)+\nTotal reclaimed space: /)
    expect(pruned).to.contain(keptVolume)
    expect(volumes()).to.include('unused')
    expect(box.ok(['volume', 'prune', '-f', '-a'])).to.contain('unused')
    expect(volumes()).to.not.include('unused')
  })

  it('removing a volume in use is refused, as in Docker', () => {
    box.ok(['create', '--name', 'user-of-pg', '--network', 'none', '-v', 'pgdata:/d', 'busybox', 'true'])
    const r = box.ncx(['volume', 'rm', 'pgdata'])
    expect(r.code).to.equal(1)
    const id = box.ok(['inspect', '-f', '{{.Id}}', 'user-of-pg']).trim()
    expect(r.stderr).to.contain(`remove pgdata: volume is in use - [${id}]`)
    box.ok(['rm', 'user-of-pg'])
    expect(box.ok(['volume', 'rm', 'pgdata'])).to.equal('pgdata\n')
    expect(box.ncx(['volume', 'inspect', 'pgdata']).stderr).to.contain('no such volume')
  })

  it('--volumes-from shares a container\'s volumes and binds, with ro', () => {
    box.ok(['create', '--name', 'holder', '--network', 'none', '-v', 'shared:/s', '-v', `${host}:/h`, 'busybox', 'true'])
    ok('-v', 'shared:/s', 'busybox', 'sh', '-c', 'echo from-shared > /s/f')
    expect(ok('--volumes-from', 'holder', 'busybox', 'cat', '/s/f')).to.equal('from-shared\n')
    const r = run('--volumes-from', 'holder:ro', 'busybox', 'touch', '/h/x')
    expect(r.stderr).to.contain('Read-only file system')
    expect(run('--volumes-from', 'nosuch', 'busybox', 'true')).to.include({code: 125})
    box.ok(['rm', 'holder'])
  })

  it('a symlink at a mount destination never leads a mount out of the rootfs', () => {
    const canary = join(images(), 'canary')
    const before = existsSync(canary) ? readdirSync(canary) : []
    // /toroot -> /, /updir -> ../../.., /hostdir -> the canary directory on the host
    const out = ok('-v', `${host}:/toroot/x`, '-v', `${host}:/updir/y`, '-v', 'hv:/hostdir/z', 'hostile-mount', 'sh', '-c',
      'echo in > /hostdir/z/f; cut -d" " -f5 /proc/self/mountinfo')
    const points = out.trim().split('\n')
    expect(points).to.include.members(['/x', '/y', `${canary}/z`])
    expect(points.filter((p) => p.includes('toroot') || p.includes('updir') || p === '/hostdir/z')).to.deep.equal([])
    // the write through /hostdir/z went into the volume, nothing appeared in the canary directory on the host
    expect(existsSync(canary) ? readdirSync(canary) : []).to.deep.equal(before)
    expect(readFileSync(join(box.root, 'volumes', 'hv', '_data', 'f'), 'utf8')).to.equal('in\n')
    // a symlink planted in a volume by one container does not redirect the next one's mount
    ok('-v', 'trap:/t', 'busybox', 'ln', '-s', '/', '/t/escape')
    const points2 = ok('-v', 'trap:/t', '-v', `${host}:/t/escape/ncx-landed`, 'busybox', 'cut', '-d', ' ', '-f5', '/proc/self/mountinfo').trim().split('\n')
    expect(points2).to.include('/ncx-landed')
    expect(existsSync('/ncx-landed')).to.equal(false)
    // a destination that leads back to the root itself is refused
    const r = run('-v', `${host}:/vol`, 'hostile-mount', 'true')
    expect(r.code).to.equal(125)
    expect(r.stderr).to.contain("mount destination leads to the container's root")
  })

  it('bad mount flags give precise errors (exit 125)', () => {
    const missing = join(host, 'does-not-exist')
    const cases: Array<[string[], string]> = [
      [['--mount', `type=bind,src=${missing},dst=/x`], `invalid mount config for type "bind": bind source path does not exist: ${missing}`],
      [['-v', `${host}:relative`], "invalid mount path: 'relative' mount path must be absolute"],
      [['-v', '/x', '-v', 'pgdata2:/x'], 'Duplicate mount point: /x'],
      [['--mount', 'type=tmpfs,dst=/t,tmpfs-size=huge'], 'invalid tmpfs-size'],
      [['--tmpfs', '/t:bogus'], 'invalid tmpfs option "bogus"'],
      [['--userns', 'nope'], 'invalid --userns "nope"'],
    ]
    for (const [flags, message] of cases) {
      const r = run(...flags, 'busybox', 'true')
      expect(r.code, flags.join(' ')).to.equal(125)
      expect(r.stderr, flags.join(' ')).to.contain(message)
    }
    expect(existsSync(missing)).to.equal(false)
    expect(volumes()).to.not.include('pgdata2')
  })

  it('inspect shows Mounts, HostConfig.Binds/Mounts/Tmpfs and the OCI config.json mounts', () => {
    const id = box.ok(['create', '--network', 'none', '-v', `${host}:/src:ro`, '--mount', 'type=volume,src=insp,dst=/v', '--tmpfs', '/run:size=64k', 'busybox', 'true']).trim()
    const doc = (JSON.parse(box.ok(['inspect', id])) as Array<{Mounts: unknown[]; HostConfig: Record<string, unknown>; Bundle: string}>)[0]
    expect(doc.Mounts).to.deep.include({Type: 'bind', Source: host, Destination: '/src', Mode: 'ro', RW: false, Propagation: 'rprivate'})
    expect(doc.Mounts).to.deep.include({Type: 'volume', Name: 'insp', Source: join(box.root, 'volumes', 'insp', '_data'), Destination: '/v', Driver: 'local', Mode: '', RW: true, Propagation: ''})
    expect(doc.HostConfig.Binds).to.deep.equal([`${host}:/src:ro`])
    expect(doc.HostConfig.Mounts).to.deep.equal([{Type: 'volume', Source: 'insp', Target: '/v'}])
    expect(doc.HostConfig.Tmpfs).to.deep.equal({'/run': 'nosuid,nodev,noexec,size=65536'})
    const spec = JSON.parse(readFileSync(join(doc.Bundle, 'config.json'), 'utf8')) as {mounts: Array<{destination: string; type: string; source: string; options: string[]}>}
    expect(spec.mounts).to.deep.include({destination: '/src', type: 'bind', source: host, options: ['rbind', 'rprivate', 'ro']})
    expect(spec.mounts).to.deep.include({destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'size=65536']})
    box.ok(['rm', id])
  })
})

