import {expect} from 'chai'
import {execFileSync, spawnSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {Sandbox, asRoot, user, userDir} from './harness.js'

/** Build secrets, escapes from the context and the image, crashes and parallel builds. */
describe('e2e: ncx build — secrets, escapes, crashes, parallel builds', function () {
  this.timeout(240_000)
  const box = new Sandbox()
  let n = 0

  const context = (files: Record<string, string>): string => {
    const dir = userDir(`ncx-e2e-bsec-${n++}-`)
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), {recursive: true})
      writeFileSync(join(dir, name), content)
    }
    if (asRoot) execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir])
    return dir
  }
  const build = (dir: string, args: string[], env: Record<string, string> = {}) => box.ncx(['build', '--progress', 'plain', ...args, dir], {timeout: 120_000, env})

  /** Every file under `dir` (read as root, or as the user where readable) that contains `needle`. */
  const filesContaining = (dir: string, needle: string): string[] => {
    const r = spawnSync('grep', ['-rlF', '--', needle, dir], {encoding: 'utf8'})
    return r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n')
  }

  before(() => box.load('busybox.oci.tar'))
  after(() => box.destroy())

  it('a secret is readable during RUN and is in no layer, history, cache record or image file', () => {
    const value = `s3cret-${randomBytes(8).toString('hex')}`
    const envValue = `envsecret-${randomBytes(8).toString('hex')}`
    const secretDir = userDir('ncx-e2e-bsec-secret-')
    const secretFile = join(secretDir, 'token')
    writeFileSync(secretFile, value)
    if (asRoot) execFileSync('chown', [`${user.uid}:${user.gid}`, secretFile])
    const dir = context({
      Dockerfile: [
        'FROM busybox',
        // Compared by digest: the value itself must not be written into the Dockerfile (nor history).
        `RUN --mount=type=secret,id=token test "$(sha256sum /run/secrets/token | cut -d' ' -f1)" = "${createHash('sha256').update(value).digest('hex')}" && echo secret-ok`,
        'RUN --mount=type=secret,id=token,target=/etc/app-token,mode=0440 stat -c "%a %u" /etc/app-token',
        'RUN --mount=type=secret,id=envtok,env=TOKEN test -n "$TOKEN" && echo env-secret-ok',
        'RUN echo after > /after',
        // uid/gid give the file to another user of the image, who can then read it (mode 0400).
        'USER 1000:1001',
        `RUN --mount=type=secret,id=token,uid=1000,gid=1001,mode=0400 stat -c "owner %u:%g %a" /run/secrets/token && test "$(sha256sum /run/secrets/token | cut -d' ' -f1)" = "${createHash('sha256').update(value).digest('hex')}" && echo user-reads-secret`,
        '',
      ].join('\n'),
    })
    const r = build(dir, ['--secret', `id=token,src=${secretFile}`, '--secret', 'id=envtok,env=MY_SECRET', '-t', 'secret:1'], {MY_SECRET: envValue})
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stderr).to.contain('secret-ok')
    expect(r.stderr).to.contain('440 0')
    expect(r.stderr).to.contain('env-secret-ok')
    expect(r.stderr).to.contain('owner 1000:1001 400')
    expect(r.stderr).to.contain('user-reads-secret')
    // Not in any layer of the saved image, nor its config and history.
    const out = userDir('ncx-e2e-bsec-save-')
    box.ok(['save', '-o', join(out, 'img.tar'), 'secret:1'])
    const raw = readFileSync(join(out, 'img.tar'))
    expect(raw.includes(value)).to.equal(false)
    expect(raw.includes(envValue)).to.equal(false)
    // Nor anywhere in the store (layers, snapshots, cache records, config), nor in the runtime dir.
    expect(filesContaining(box.root, value)).to.deep.equal([])
    expect(filesContaining(box.root, envValue)).to.deep.equal([])
    expect(filesContaining(box.xdg, value)).to.deep.equal([])
    // The mount points are not left in the image.
    expect(box.ncx(['run', '--rm', '--network', 'none', 'secret:1', 'test', '-e', '/run/secrets/token']).code).to.equal(1)
    expect(box.ncx(['run', '--rm', '--network', 'none', 'secret:1', 'test', '-e', '/etc/app-token']).code).to.equal(1)
    // A missing required secret fails clearly.
    const req = context({Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=absent,required cat /run/secrets/absent\n'})
    const missing = build(req, [])
    expect(missing.code).to.equal(1)
    expect(missing.stderr).to.contain('secret absent: not found')
  })

  it('COPY follows context symlinks only inside the context', () => {
    const dir = context({Dockerfile: 'FROM busybox\nCOPY evil /stolen\n', 'inside/ok': 'fine\n'})
    symlinkSync('/etc/passwd', join(dir, 'evil'))
    symlinkSync('../../../../../../etc/hostname', join(dir, 'inside', 'up'))
    if (asRoot) execFileSync('chown', ['-h', `${user.uid}:${user.gid}`, join(dir, 'evil'), join(dir, 'inside', 'up')])
    const r = build(dir, [])
    expect(r.code).to.equal(1)
    expect(r.stderr).to.contain('"/evil": not found')
    // Below a copied directory a symlink is copied as a symlink, never read.
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY inside /in/\n')
    const ok = build(dir, ['-t', 'links:1'])
    expect(ok.code, ok.stderr).to.equal(0)
    expect(box.ok(['run', '--rm', '--network', 'none', 'links:1', 'readlink', '/in/up'])).to.equal('../../../../../../etc/hostname\n')
  })

  it('a symlink planted in the image cannot make COPY or RUN write outside it', () => {
    const outside = userDir('ncx-e2e-bsec-outside-')
    const dir = context({Dockerfile: `FROM busybox\nRUN ln -s ${outside} /escape && ln -s / /root-link\nCOPY f /escape/\nCOPY f /root-link${outside}/g\n`, f: 'payload\n'})
    const r = build(dir, ['-t', 'escape:1'])
    expect(r.code, r.stderr).to.equal(0)
    expect(readdirSync(outside)).to.deep.equal([])
    // The files landed inside the image, where the links point within it.
    expect(box.ok(['run', '--rm', '--network', 'none', 'escape:1', 'cat', `${outside}/f`, `${outside}/g`])).to.equal('payload\npayload\n')
  })

  it('a build killed mid-RUN leaves nothing half-recorded; the next build runs cleanly', async () => {
    const dir = context({Dockerfile: 'FROM busybox\nRUN echo one > /one\nRUN sleep 8 && echo two > /two\n'})
    await box.killAfter(['build', '--progress', 'plain', '-t', 'killed:1', dir], 4000)
    expect(box.ncx(['image', 'inspect', 'killed:1']).code).to.equal(1)
    const r = build(dir, ['-t', 'killed:1'])
    expect(r.code, r.stderr).to.equal(0)
    expect(box.ok(['run', '--rm', '--network', 'none', 'killed:1', 'cat', '/one', '/two'])).to.equal('one\ntwo\n')
    // The killed build's work areas were reaped.
    const snaps = readdirSync(join(box.root, 'snapshots')).filter((s) => s.startsWith('.tmp-'))
    expect(snaps).to.deep.equal([])
    for (const d of ['runs', 'tmp', 'mnt']) {
      const names = (() => {
        try {
          return readdirSync(join(box.root, 'build', d))
        } catch {
          return []
        }
      })()
      expect(names, d).to.deep.equal([])
    }
  })

  it('parallel builds of the same Dockerfile share the cache: the step runs once, both get the same image', async () => {
    const dir = context({Dockerfile: `FROM busybox\nRUN sleep 2 && echo ${randomBytes(4).toString('hex')} > /r\n`})
    const [a, b] = await Promise.all([box.run(['build', '--progress', 'plain', '-t', 'par:a', dir]), box.run(['build', '--progress', 'plain', '-t', 'par:b', dir])])
    expect(a.code, a.stderr).to.equal(0)
    expect(b.code, b.stderr).to.equal(0)
    const ran = [a, b].filter((r) => /RUN sleep 2[\s\S]*DONE/.test(r.stderr) && !/RUN sleep 2[^\n]*\n#\d+ CACHED/.test(r.stderr))
    expect(ran).to.have.length(1)
    const id = (t: string) => box.ok(['image', 'inspect', '--format', '{{.Id}}', t]).trim()
    expect(id('par:a')).to.equal(id('par:b'))
  })
})
