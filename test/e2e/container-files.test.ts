import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {chownSync, closeSync, existsSync, openSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {Sandbox, asRoot, user, userDir} from './harness.js'

/** diff, export, commit and cp: a container's files, read and written as the unprivileged user. */
describe('e2e: container files (diff, export, commit, cp)', function () {
  this.timeout(120_000)
  const box = new Sandbox()
  let host = '' // created in before(): a suite filtered out by --grep leaves nothing behind
  const run = (...args: string[]) => box.ok(['run', '--network', 'none', ...args])
  const own = (p: string) => {
    if (asRoot) chownSync(p, user.uid, user.gid)
  }
  const tarNames = (file: string) => execFileSync('tar', ['tf', file], {encoding: 'utf8'}).trim().split('\n')

  before(() => {
    host = userDir('ncx-e2e-files-')
    box.load('busybox.oci.tar')
    // A container with additions, a deletion, a changed directory and hostile symlinks.
    run(
      '--name', 'changed', 'busybox', 'sh', '-c',
      'echo hi > /etc/added; rm /etc/group; mkdir -p /tmp/d; echo x > /tmp/d/f; chmod 700 /root; ln -s / /evil; ' +
        `ln -s ${host}/outside /escape; mkdir /data; echo 1 > /data/one; ln -s ${host}/outside /data/link`,
    )
  })
  after(() => {
    box.destroy()
    if (host) rmSync(host, {recursive: true, force: true})
  })

  it("diff lists Docker's A/C/D lines, without the init layer's mount points", () => {
    expect(box.ok(['diff', 'changed'])).to.equal(
      ['A /data', 'A /data/link', 'A /data/one', 'A /escape', 'C /etc', 'A /etc/added', 'D /etc/group', 'A /evil', 'C /root', 'C /tmp', 'A /tmp/d', 'A /tmp/d/f', ''].join('\n'),
    )
    expect(box.ok(['container', 'diff', 'changed'])).to.equal(box.ok(['diff', 'changed']))
    const fresh = run('-d', 'busybox', 'sleep', '1000').trim()
    expect(box.ok(['diff', fresh])).to.equal('')
    const unknown = box.ncx(['diff', 'nope'])
    expect(unknown.code).to.equal(1)
    expect(unknown.stderr).to.contain('No such container: nope')
  })

  it('export streams the merged file system as a tar, to stdout or -o FILE', async () => {
    const file = join(host, 'changed.tar')
    box.ok(['export', '-o', file, 'changed'])
    const names = tarNames(file)
    expect(names).to.include.members(['etc/added', 'tmp/d/f', 'bin/busybox', 'etc/passwd', 'evil'])
    expect(names).to.not.include('etc/group')
    const piped = join(host, 'piped.tar')
    const fd = openSync(piped, 'w')
    const child = box.spawn(['container', 'export', 'changed'], {stdio: ['ignore', fd, 'pipe']})
    closeSync(fd)
    expect(await new Promise((resolve) => child.on('close', resolve))).to.equal(0)
    expect(tarNames(piped)).to.deep.equal(names)
    const content = execFileSync('tar', ['xOf', file, 'etc/added'], {encoding: 'utf8'})
    expect(content).to.equal('hi\n')
  })

  it('commit makes the writable layer a new image that runs, with --change, -m and -a', () => {
    const id = box.ok(['commit', '-m', 'my message', '-a', 'Me <me@example.com>', '-c', 'ENV FOO=bar', '-c', 'CMD ["cat", "/etc/added"]', 'changed', 'mine:1']).trim()
    expect(id).to.match(/^sha256:[a-f0-9]{64}$/)
    expect(box.ok(['run', '--rm', '--network', 'none', 'mine:1'])).to.equal('hi\n')
    expect(box.ok(['run', '--rm', '--network', 'none', 'mine:1', 'sh', '-c', 'cat /tmp/d/f; echo $FOO; test -e /etc/group || echo gone; stat -c %a /root'])).to.equal('x\nbar\ngone\n700\n')
    expect(box.ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', 'mine'])).to.equal(`mine:1 ${id.slice(7, 19)}\n`)
    const history = box.ok(['image', 'history', '--format', '{{.Comment}}', 'mine:1']).trim().split('\n')
    expect(history[0]).to.equal('my message')
    const [inspect] = JSON.parse(box.ok(['image', 'inspect', 'mine:1'])) as Array<{Author?: string; RootFS: {Layers: string[]}; Config: {Env: string[]}}>
    expect(inspect.RootFS.Layers).to.have.length(2)
    expect(inspect.Config.Env).to.include('FOO=bar')
    // Committing again (an image of an image) and without a name works too.
    const again = run('--name', 'second', 'mine:1', 'sh', '-c', 'echo two > /etc/added').trim()
    expect(again).to.equal('')
    const untagged = box.ok(['container', 'commit', 'second']).trim()
    // The container's own command became the image's (as Docker's commit does).
    expect(box.ok(['image', 'inspect', '-f', '{{json .Config.Cmd}}', untagged])).to.equal('["sh","-c","echo two > /etc/added"]\n')
    expect(box.ok(['run', '--rm', '--network', 'none', untagged.slice(7, 19), 'cat', '/etc/added'])).to.equal('two\n')
  })

  it('cp copies out of a stopped container with trailing / and /. rules', () => {
    const out = join(host, 'out')
    mkdirSync(out)
    own(out)
    box.ok(['cp', 'changed:/etc/added', `${out}/`])
    expect(readFileSync(join(out, 'added'), 'utf8')).to.equal('hi\n')
    box.ok(['cp', 'changed:/tmp/d', join(out, 'new')]) // missing dest: created with d's contents
    expect(readdirSync(join(out, 'new'))).to.deep.equal(['f'])
    box.ok(['cp', 'changed:/tmp/d', join(out, 'new')]) // existing dir: d goes inside
    expect(readdirSync(join(out, 'new')).sort()).to.deep.equal(['d', 'f'])
    box.ok(['container', 'cp', 'changed:/data/.', join(out, 'new')]) // /. : the contents
    expect(readdirSync(join(out, 'new')).sort()).to.deep.equal(['d', 'f', 'link', 'one'])
    expect(lstatSync(join(out, 'new', 'link')).isSymbolicLink()).to.equal(true)
    // Paths resolve inside the container: /evil -> / is the container's root, not the host's.
    box.ok(['cp', 'changed:/evil/etc/passwd', join(out, 'passwd')])
    expect(readFileSync(join(out, 'passwd'), 'utf8')).to.contain('ncx:x:1000:1000')
    const missing = box.ncx(['cp', 'changed:/nope', out])
    expect(missing.code).to.equal(1)
    expect(missing.stderr).to.contain('Could not find the file /nope in container changed')
    const notDir = box.ncx(['cp', 'changed:/etc/added/', out])
    expect(notDir.code).to.equal(1)
    expect(notDir.stderr).to.contain('not a directory')
  })

  it('cp never writes through a symlink out of the container or the destination', () => {
    const outside = join(host, 'outside')
    mkdirSync(outside)
    own(outside)
    const src = join(host, 'src')
    mkdirSync(src)
    writeFileSync(join(src, 'hello'), 'hello\n')
    own(src)
    own(join(src, 'hello'))
    // Into the container through its /escape -> HOST/outside symlink: resolved in the container.
    box.ncx(['cp', join(src, 'hello'), 'changed:/escape/'])
    box.ncx(['cp', join(src, 'hello'), 'changed:/escape'])
    box.ncx(['cp', join(src, 'hello'), 'changed:/data/link/x'])
    expect(readdirSync(outside)).to.deep.equal([])
    // A destination symlink where the copy puts a directory is replaced, not followed.
    const dest = join(host, 'dest')
    mkdirSync(dest)
    own(dest)
    execFileSync('ln', ['-s', outside, join(dest, 'data')])
    if (asRoot) execFileSync('chown', ['-h', `${user.uid}:${user.gid}`, join(dest, 'data')])
    box.ok(['cp', 'changed:/data', `${dest}/`])
    expect(lstatSync(join(dest, 'data')).isDirectory()).to.equal(true)
    expect(readlinkSync(join(dest, 'data', 'link'))).to.equal(outside)
    expect(readdirSync(outside)).to.deep.equal([])
  })

  it('cp into a stopped container lands in its writable layer; into a running one, at once', () => {
    const src = join(host, 'src2')
    mkdirSync(join(src, 'sub'), {recursive: true})
    writeFileSync(join(src, 'a'), 'A\n')
    writeFileSync(join(src, 'sub', 'b'), 'B\n')
    if (asRoot) execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, src])
    box.ok(['create', '--network', 'none', '--name', 'stopped', 'busybox', 'sh', '-c', 'cat /srv/a /srv/sub/b /etc/new'])
    box.ok(['cp', `${src}/.`, 'stopped:/srv'])
    box.ok(['cp', join(src, 'a'), 'stopped:/etc/new'])
    expect(box.ok(['diff', 'stopped'])).to.equal(['C /etc', 'A /etc/new', 'A /srv', 'A /srv/a', 'A /srv/sub', 'A /srv/sub/b', ''].join('\n'))
    expect(box.ok(['start', '-a', 'stopped'])).to.equal('A\nB\nA\n')

    const id = run('-d', '--name', 'live', 'busybox', 'sleep', '1000').trim()
    box.ok(['cp', join(src, 'sub'), 'live:/tmp/'])
    expect(box.ok(['exec', 'live', 'cat', '/tmp/sub/b'])).to.equal('B\n')
    // Reading a running container sees its mounts: /etc/hostname is the container's.
    const out = join(host, 'hn')
    box.ok(['cp', 'live:/etc/hostname', out])
    expect(readFileSync(out, 'utf8')).to.equal(`${id.slice(0, 12)}\n`)
    expect(existsSync(join(box.root, 'containers', id, 'upper', 'tmp', 'sub', 'b'))).to.equal(true)
  })

  it('cp - streams a tar archive out of and into a container, confined to it', async () => {
    const spawnWith = async (args: string[], stdin: number | 'ignore', stdout: number | 'ignore') => {
      const child = box.spawn(args, {stdio: [stdin, stdout, 'pipe']})
      let stderr = ''
      child.stderr!.on('data', (d: Buffer) => (stderr += d))
      const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 137)))
      return {code, stderr}
    }
    const out = join(host, 'data.tar')
    let fd = openSync(out, 'w')
    expect((await spawnWith(['cp', 'changed:/data', '-'], 'ignore', fd)).code).to.equal(0)
    closeSync(fd)
    expect(tarNames(out)).to.deep.equal(['data/', 'data/link', 'data/one'])
    // Into a container: a hostile archive (a symlink, then a file through it; a ../ name) stays inside.
    const outside = join(host, 'outside2')
    mkdirSync(outside)
    own(outside)
    const evil = join(host, 'evil.tar')
    execFileSync('python3', ['-c', `
import tarfile, io
t = tarfile.open(${JSON.stringify(evil)}, 'w')
def add(name, typ=tarfile.REGTYPE, link='', data=b''):
    i = tarfile.TarInfo(name); i.type = typ; i.linkname = link; i.size = len(data)
    t.addfile(i, io.BytesIO(data) if data else None)
add('ok', data=b'fine')
add('esc', tarfile.SYMTYPE, ${JSON.stringify(outside)})
add('esc/pwned', data=b'x')
t.close()
`])
    fd = openSync(evil, 'r')
    const r = await spawnWith(['cp', '-', 'changed:/tmp'], fd, 'ignore')
    closeSync(fd)
    expect(r.code).to.equal(1)
    expect(readdirSync(outside)).to.deep.equal([])
    fd = openSync(out, 'r')
    expect((await spawnWith(['cp', '-', 'changed:/tmp'], fd, 'ignore')).code).to.equal(0)
    closeSync(fd)
    const diff = box.ok(['diff', 'changed'])
    expect(diff).to.contain('A /tmp/data/one\n')
    expect(diff).to.contain('A /tmp/ok\n')
  })
})
