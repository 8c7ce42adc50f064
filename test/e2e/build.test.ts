import {expect} from 'chai'
import {execFileSync, spawn} from 'node:child_process'
import {createServer, Server} from 'node:http'
import {AddressInfo} from 'node:net'
import {chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {createHash} from 'node:crypto'
import {dirname, join} from 'node:path'

import {Sandbox, asRoot, user, userDir} from './harness.js'

/** Real builds, as the unprivileged user, from the busybox image made locally. */
describe('e2e: ncx build', function () {
  this.timeout(180_000)
  const box = new Sandbox()
  let n = 0

  /** A context directory owned by the test user with these files (mode after a `|`: "x|0755"). */
  const context = (files: Record<string, string>): string => {
    const dir = userDir(`ncx-e2e-build-${n++}-`)
    for (const [name, spec] of Object.entries(files)) {
      const path = join(dir, name)
      mkdirSync(dirname(path), {recursive: true})
      const [content, mode] = spec.includes('|') && /\|0[0-7]{3}$/.test(spec) ? [spec.slice(0, spec.lastIndexOf('|')), spec.slice(spec.lastIndexOf('|') + 1)] : [spec, undefined]
      writeFileSync(path, content)
      if (mode) chmodSync(path, Number.parseInt(mode, 8))
    }
    if (asRoot) execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir])
    return dir
  }
  const build = (dir: string, ...args: string[]) => box.ncx(['build', '--progress', 'plain', ...args, dir], {timeout: 120_000})
  const buildOk = (dir: string, ...args: string[]) => {
    const r = build(dir, ...args)
    if (r.code !== 0) throw new Error(`build failed (${r.code}):\n${r.stderr}`)
    return r
  }
  const run = (image: string, ...cmd: string[]) => box.ok(['run', '--rm', '--network', 'none', image, ...cmd])
  const inspect = (image: string) => JSON.parse(box.ok(['image', 'inspect', image]))[0] as {Id: string; Config: Record<string, unknown>}

  before(() => box.load('busybox.oci.tar'))
  after(() => box.destroy())

  it('builds a multi-stage Dockerfile, COPY --from a stage, and runs the image', () => {
    const dir = context({
      Dockerfile: ['FROM busybox AS build', 'WORKDIR /src', 'COPY app.sh .', 'RUN sh app.sh > /out.txt', '', 'FROM busybox', 'COPY --from=build /out.txt /result.txt', 'CMD ["cat", "/result.txt"]', ''].join('\n'),
      'app.sh': 'echo built by $(id -u)\n',
    })
    const r = buildOk(dir, '-t', 'multi:1')
    expect(r.stderr).to.match(/#\d+ \[build 2\/4\] WORKDIR \/src/)
    expect(r.stderr).to.match(/#\d+ \[stage-1 2\/2\] COPY --from=build \/out.txt \/result.txt/)
    expect(r.stderr).to.contain('naming to docker.io/library/multi:1 done')
    expect(run('multi:1')).to.equal('built by 0\n')
  })

  it('a rebuild with nothing changed is all CACHED and gives the same image ID', () => {
    const dir = context({Dockerfile: 'FROM busybox\nCOPY a /a\nRUN cat /a > /b\nENV X=1\n', a: 'A\n'})
    buildOk(dir, '-t', 'again:1')
    const first = inspect('again:1').Id
    const r = buildOk(dir, '-t', 'again:2')
    expect(r.stderr.match(/CACHED/g)).to.have.length(2)
    expect(r.stderr).to.not.match(/#\d+ \d+\.\d+ /) // no step ran
    expect(inspect('again:2').Id).to.equal(first)
    // A changed source reruns from the COPY on.
    writeFileSync(join(dir, 'a'), 'changed\n')
    const changed = buildOk(dir, '-t', 'again:3')
    expect(changed.stderr.match(/CACHED/g) ?? []).to.have.length(0)
    expect(run('again:3', 'cat', '/b')).to.equal('changed\n')
    // --no-cache runs every step again.
    const nc = buildOk(dir, '--no-cache', '-t', 'again:4')
    expect(nc.stderr).to.not.contain('CACHED')
  })

  it('builds only the stages the target needs', () => {
    const dir = context({Dockerfile: ['FROM busybox AS broken', 'RUN exit 7', 'FROM busybox AS good', 'RUN echo good > /g', 'FROM broken AS final', ''].join('\n')})
    const r = buildOk(dir, '--target', 'good', '-t', 'target:good')
    expect(r.stderr).to.not.contain('exit 7')
    expect(run('target:good', 'cat', '/g')).to.equal('good\n')
    const missing = build(dir, '--target', 'nope')
    expect(missing.code).to.equal(1)
    expect(missing.stderr).to.contain('failed to solve: target stage "nope" could not be found')
  })

  it('substitutes ARG and ENV with Docker\'s rules', () => {
    const dir = context({
      Dockerfile: [
        'ARG BASE=busybox',
        'ARG GLOBAL=g',
        'FROM ${BASE}',
        'ARG GLOBAL',
        'ARG DEF=default',
        'ARG GIVEN=default',
        'ENV E1=e1 E2="two words" E3=${DEF:+set} E4=${UNSET:-fallback} E5=${UNSET-dash} E6=\'$NOT\' E7=\\$escaped',
        'ENV E8=${E1}-${E2}',
        'WORKDIR /w/${DEF}',
        'RUN printf "%s\\n" "$GLOBAL" "$DEF" "$GIVEN" "$E1" "$E2" "$E3" "$E4" "$E5" "$E6" "$E7" "$E8" "$(pwd)" "$TARGETARCH" > /vars',
        '',
      ].join('\n'),
    })
    buildOk(dir, '--build-arg', 'GIVEN=from-cli', '-t', 'vars:1')
    expect(run('vars:1', 'cat', '/vars').split('\n').slice(0, 12)).to.deep.equal(['g', 'default', 'from-cli', 'e1', 'two words', 'set', 'fallback', 'dash', '$NOT', '$escaped', 'e1-two words', '/w/default'])
    const env = inspect('vars:1').Config.Env as string[]
    expect(env).to.include.members(['E2=two words', 'E8=e1-two words'])
    // ARGs are not in the image's environment.
    expect(env.some((e) => e.startsWith('DEF='))).to.equal(false)
    const history = JSON.parse(box.ok(['image', 'inspect', '--format', '{{json .}}', 'vars:1'])) as {Id: string}
    expect(history.Id).to.match(/^sha256:/)
    expect(box.ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'vars:1'])).to.contain('RUN |3 GLOBAL=g DEF=default GIVEN=from-cli /bin/sh -c printf')
  })

  it('runs heredocs: RUN <<EOF, a #! script, COPY <<EOF with and without expansion', () => {
    const dir = context({
      Dockerfile: [
        'FROM busybox',
        'ENV WHO=world',
        'RUN <<EOF',
        'echo "hello $WHO" > /hd1',
        'echo second >> /hd1',
        'EOF',
        'RUN <<EOF',
        '#!/bin/sh',
        'echo "script $0" > /hd2',
        'EOF',
        'COPY <<EOF /hd3',
        'expanded $WHO',
        'EOF',
        'COPY <<"EOF" /hd4',
        'literal $WHO',
        'EOF',
        '',
      ].join('\n'),
    })
    buildOk(dir, '-t', 'heredoc:1')
    expect(run('heredoc:1', 'cat', '/hd1', '/hd2', '/hd3', '/hd4')).to.equal('hello world\nsecond\nscript /dev/pipes/EOF\nexpanded world\nliteral $WHO\n')
    expect(run('heredoc:1', 'stat', '-c', '%a %u:%g', '/hd3')).to.equal('644 0:0\n')
  })

  it('reads the context through .dockerignore: exceptions, **, leading /, and says when a source was excluded', () => {
    const dir = context({
      Dockerfile: 'FROM busybox\nCOPY . /ctx/\n',
      '.dockerignore': '# comment\n**/*.log\n/secret.txt\nbuild\n!build/keep.me\nDockerfile\n',
      'a.txt': 'a',
      'sub/deep/x.log': 'log',
      'sub/deep/y.txt': 'y',
      'secret.txt': 's',
      'build/out.bin': 'o',
      'build/keep.me': 'k',
    })
    buildOk(dir, '-t', 'ignore:1')
    expect(run('ignore:1', 'find', '/ctx', '-type', 'f').trim().split('\n').sort()).to.deep.equal(['/ctx/.dockerignore', '/ctx/a.txt', '/ctx/build/keep.me', '/ctx/sub/deep/y.txt'])
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY secret.txt /\n')
    const r = build(dir)
    expect(r.code).to.equal(1)
    expect(r.stderr).to.contain('"/secret.txt": not found (it is excluded by .dockerignore)')
    expect(r.stderr).to.match(/Dockerfile:2\n-+\n\s+1 \|\s+FROM busybox\n\s+2 \| >>> COPY secret.txt \//)
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY nope /\n')
    const missing = build(dir)
    expect(missing.stderr).to.contain('"/nope": not found')
    expect(missing.stderr).to.not.contain('dockerignore')
  })

  it('applies Docker\'s owners and modes: 0:0 from the context, --chown by name or id, --chmod, owners kept from a stage', () => {
    const dir = context({
      Dockerfile: [
        'FROM busybox AS other',
        'RUN mkdir /owned && echo o > /owned/f && chown -R 1234:2345 /owned',
        'FROM busybox',
        'RUN echo "app:x:1234:2345::/home/app:/bin/sh" >> /etc/passwd && echo "grp:x:3456:" >> /etc/group',
        'COPY exec.sh plain.txt /files/',
        'COPY --chown=app plain.txt /chown-name',
        'COPY --chown=app:grp plain.txt /chown-group',
        'COPY --chown=42:43 --chmod=600 dir /chown-dir/',
        'COPY --chmod=u=rwX,go=rX exec.sh plain.txt /sym/',
        'COPY --from=other /owned /kept/',
        '',
      ].join('\n'),
      'exec.sh': 'echo x|0755',
      'plain.txt': 'p|0640',
      'dir/inner/f': 'f',
    })
    buildOk(dir, '-t', 'owners:1')
    const stat = (...paths: string[]) => run('owners:1', 'stat', '-c', '%n %a %u:%g', ...paths).trim().split('\n')
    expect(stat('/files/exec.sh', '/files/plain.txt', '/chown-name', '/chown-group')).to.deep.equal(['/files/exec.sh 755 0:0', '/files/plain.txt 640 0:0', '/chown-name 640 1234:2345', '/chown-group 640 1234:3456'])
    expect(stat('/chown-dir', '/chown-dir/inner', '/chown-dir/inner/f')).to.deep.equal(['/chown-dir 600 42:43', '/chown-dir/inner 600 42:43', '/chown-dir/inner/f 600 42:43'])
    expect(stat('/sym/exec.sh', '/sym/plain.txt')).to.deep.equal(['/sym/exec.sh 755 0:0', '/sym/plain.txt 644 0:0'])
    expect(stat('/kept/f')).to.deep.equal(['/kept/f 644 1234:2345'])
  })

  it('ADD unpacks a local tar and downloads a URL served on 127.0.0.1, checking --checksum', async () => {
    const payload = 'downloaded content\n'
    const server: Server = createServer((req, res) => {
      if (req.url === '/file.txt') res.end(payload)
      else res.writeHead(404).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as AddressInfo).port
    try {
      const dir = context({'payload/inner/x': 'from tar\n'})
      execFileSync('tar', ['czf', join(dir, 'a.tar.gz'), '-C', dir, 'payload'])
      if (asRoot) chownSync(join(dir, 'a.tar.gz'), user.uid, user.gid)
      const sum = `sha256:${createHash('sha256').update(payload).digest('hex')}`
      writeFileSync(join(dir, 'Dockerfile'), `FROM busybox\nADD a.tar.gz /opt/\nADD --checksum=${sum} http://127.0.0.1:${port}/file.txt /dl/\nADD http://127.0.0.1:${port}/file.txt /named\n`)
      const r = await box.run(['build', '--progress', 'plain', '-t', 'add:1', dir])
      expect(r.code, r.stderr).to.equal(0)
      const out = await box.run(['run', '--rm', '--network', 'none', 'add:1', 'sh', '-c', 'cat /opt/payload/inner/x /dl/file.txt /named; stat -c "%a" /dl/file.txt'])
      expect(out.stdout).to.equal(`from tar\n${payload}${payload}600\n`)
      writeFileSync(join(dir, 'Dockerfile'), `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/file.txt /dl/\n`)
      const bad = await box.run(['build', '--progress', 'plain', dir])
      expect(bad.code).to.equal(1)
      expect(bad.stderr).to.contain(`digest mismatch sha256:${'0'.repeat(64)}: ${sum}`)
    } finally {
      server.close()
    }
  })

  it('keeps RUN --mount=type=cache directories between builds', () => {
    const dir = context({Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/var/cache/app,id=appcache echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /count && ls /var/cache\n'})
    buildOk(dir, '-t', 'cachemount:1')
    expect(run('cachemount:1', 'cat', '/count').trim()).to.equal('1')
    buildOk(dir, '--no-cache', '-t', 'cachemount:2')
    expect(run('cachemount:2', 'cat', '/count').trim()).to.equal('2')
    // The mount point (and the parents made for it) are not left in the image, as in BuildKit.
    expect(box.ncx(['run', '--rm', '--network', 'none', 'cachemount:2', 'test', '-e', '/var/cache/app']).code).to.equal(1)
  })

  it('runs ONBUILD triggers of the base image', () => {
    const dir = context({'Dockerfile.base': 'FROM busybox\nONBUILD COPY trigger.txt /t\nONBUILD RUN echo ran > /ran\n', Dockerfile: 'FROM onbuild-base\nRUN cat /t /ran > /both\n', 'trigger.txt': 'copied\n'})
    buildOk(dir, '-f', join(dir, 'Dockerfile.base'), '-t', 'onbuild-base')
    expect(inspect('onbuild-base').Config.OnBuild).to.deep.equal(['COPY trigger.txt /t', 'RUN echo ran > /ran'])
    const r = buildOk(dir, '-t', 'onbuild-child')
    expect(r.stderr).to.match(/\[2\/4\] ONBUILD COPY trigger.txt \/t/)
    expect(run('onbuild-child', 'cat', '/both')).to.equal('copied\nran\n')
    expect(inspect('onbuild-child').Config.OnBuild ?? null).to.equal(null)
  })

  it('reports a failing RUN as Docker does: the step, its last output lines, the Dockerfile line, exit 1', () => {
    const dir = context({Dockerfile: 'FROM busybox\nRUN echo first\nRUN echo out && echo err >&2 && exit 3\n'})
    const r = build(dir)
    expect(r.code).to.equal(1)
    expect(r.stderr).to.match(/------\n > \[3\/3\] RUN echo out && echo err >&2 && exit 3:\n\d+\.\d+ out\n\d+\.\d+ err\n------/)
    expect(r.stderr).to.contain('Dockerfile:3')
    expect(r.stderr).to.contain(' 3 | >>> RUN echo out && echo err >&2 && exit 3')
    expect(r.stderr).to.contain('ERROR: failed to solve: process "/bin/sh -c echo out && echo err >&2 && exit 3" did not complete successfully: exit code: 3')
  })

  it('reports syntax errors with file and line, and a missing Dockerfile or context', () => {
    const dir = context({Dockerfile: 'FROM busybox\n\nCOPY --chwn=1 a b\n'})
    const r = build(dir)
    expect(r.code).to.equal(1)
    expect(r.stderr).to.contain('ERROR: failed to solve: dockerfile parse error on line 3: unknown flag: --chwn (did you mean --chown?)')
    expect(r.stderr).to.contain('Dockerfile:3')
    const empty = context({'x.txt': 'x'})
    const nofile = build(empty)
    expect(nofile.code).to.equal(1)
    expect(nofile.stderr).to.contain('failed to solve: failed to read dockerfile: open Dockerfile: no such file or directory')
    const nodir = box.ncx(['build', '/nonexistent-context-dir'])
    expect(nodir.code).to.equal(1)
    expect(nodir.stderr).to.contain('unable to prepare context: path "/nonexistent-context-dir" not found')
  })

  it('takes the Dockerfile on stdin, with no context or with -f -, and a tar context on stdin', () => {
    const id = box.ok(['build', '-q', '-t', 'stdin:1', '-'], {input: 'FROM busybox\nRUN echo from-stdin > /s\n'}).trim()
    expect(id).to.match(/^sha256:[a-f0-9]{64}$/)
    expect(run('stdin:1', 'cat', '/s')).to.equal('from-stdin\n')
    const dir = context({'c.txt': 'ctx\n'})
    box.ok(['build', '-q', '-f', '-', '-t', 'stdin:2', dir], {input: 'FROM busybox\nCOPY c.txt /\n'})
    expect(run('stdin:2', 'cat', '/c.txt')).to.equal('ctx\n')
    const tarDir = context({Dockerfile: 'FROM busybox\nCOPY t.txt /\n', 't.txt': 'in tar\n'})
    const tar = execFileSync('tar', ['cf', '-', '-C', tarDir, '.'])
    const r = box.ncx(['build', '-q', '-t', 'stdin:3', '-'], {input: tar as unknown as string})
    expect(r.code, r.stderr).to.equal(0)
    expect(run('stdin:3', 'cat', '/t.txt')).to.equal('in tar\n')
    const noctx = box.ncx(['build', '-'], {input: 'FROM busybox\nCOPY x /\n'})
    expect(noctx.code).to.equal(1)
    expect(noctx.stderr).to.contain('this build has no context')
  })

  it('writes the image config and history as BuildKit does', () => {
    const dir = context({
      Dockerfile: [
        'FROM busybox',
        'LABEL org.example.a=1 b="two"',
        'MAINTAINER someone',
        'EXPOSE 80 53/udp',
        'VOLUME /data',
        'USER 1000:1000',
        'WORKDIR /app',
        'STOPSIGNAL SIGINT',
        'HEALTHCHECK --interval=5s --retries=2 CMD true',
        'SHELL ["/bin/sh", "-ec"]',
        'ENTRYPOINT ["/bin/echo"]',
        'CMD hello',
        '',
      ].join('\n'),
    })
    buildOk(dir, '--label', 'from-cli=yes', '-t', 'config:1')
    const c = inspect('config:1').Config
    expect(c).to.deep.include({User: '1000:1000', WorkingDir: '/app', StopSignal: 'SIGINT', Entrypoint: ['/bin/echo'], Cmd: ['/bin/sh', '-ec', 'hello'], Shell: ['/bin/sh', '-ec']})
    expect(c.Labels).to.deep.equal({'org.example.a': '1', b: 'two', 'from-cli': 'yes'})
    expect(c.ExposedPorts).to.deep.equal({'80/tcp': {}, '53/udp': {}})
    expect(c.Volumes).to.deep.equal({'/data': {}})
    expect(c.Healthcheck).to.deep.equal({Test: ['CMD-SHELL', 'true'], Interval: 5e9, Retries: 2})
    const history = box.ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'config:1']).trim().split('\n').reverse().slice(1)
    expect(history.map((h) => h.split('|')[0])).to.deep.equal([
      'LABEL org.example.a=1 b=two',
      'MAINTAINER someone',
      'EXPOSE [53/udp 80/tcp]',
      'VOLUME [/data]',
      'USER 1000:1000',
      'WORKDIR /app',
      'STOPSIGNAL SIGINT',
      'HEALTHCHECK {Test:[CMD-SHELL true] Interval:5s Timeout:0s StartPeriod:0s StartInterval:0s Retries:2}',
      'SHELL [/bin/sh -ec]',
      'ENTRYPOINT ["/bin/echo"]',
      'CMD ["/bin/sh" "-ec" "hello"]',
    ])
    expect(history.every((h) => h.endsWith('|buildkit.dockerfile.v0'))).to.equal(true)
    expect(run('config:1')).to.equal('/bin/sh -ec hello\n')
  })

  it('exports the final stage with -o type=local and type=tar, and the image with type=oci', () => {
    const dir = context({Dockerfile: 'FROM busybox AS b\nRUN mkdir /out && echo x > /out/f && chmod 600 /out/f\nFROM scratch\nCOPY --from=b /out/ /\n'})
    const out = userDir('ncx-e2e-build-out-')
    buildOk(dir, '-o', `type=local,dest=${out}/local`)
    expect(readFileSync(join(out, 'local', 'f'), 'utf8')).to.equal('x\n')
    expect(readdirSync(join(out, 'local'))).to.deep.equal(['f'])
    buildOk(dir, '-o', `type=tar,dest=${out}/fs.tar`)
    expect(execFileSync('tar', ['tf', join(out, 'fs.tar')], {encoding: 'utf8'}).trim()).to.equal('f')
    buildOk(dir, '-o', `type=oci,dest=${out}/img.tar`, '-t', 'exported:1')
    expect(execFileSync('tar', ['tf', join(out, 'img.tar')], {encoding: 'utf8'})).to.contain('index.json')
  })

  it('forwards the SSH agent socket with --ssh default', () => {
    const dir = context({Dockerfile: 'FROM busybox\nRUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "agent at $SSH_AUTH_SOCK"\n'})
    const sock = join(userDir('ncx-e2e-ssh-'), 'agent.sock')
    const agent = asRoot ? execFileSync('runuser', ['-u', user.name, '--', 'ssh-agent', '-a', sock], {encoding: 'utf8'}) : execFileSync('ssh-agent', ['-a', sock], {encoding: 'utf8'})
    const pid = /SSH_AGENT_PID=(\d+)/.exec(agent)?.[1]
    try {
      const r = box.ncx(['build', '--progress', 'plain', '--ssh', 'default', dir], {env: {SSH_AUTH_SOCK: sock}})
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stderr).to.contain('agent at /run/buildkit/ssh_agent.0')
      const none = box.ncx(['build', '--progress', 'plain', dir])
      expect(none.code).to.equal(1)
    } finally {
      if (pid) process.kill(Number(pid))
    }
  })

  it('builds and runs an image of 70 layers (overlay mount data through short layer links), empty layers twice', () => {
    // Before: `ncx run` mounted full snapshot paths, which overflow overlay's one-page mount data
    // after ~35 layers ("mount overlay rootfs: No such file or directory"); two RUN steps that
    // change nothing give the same empty layer, which overlayfs refused twice (ELOOP).
    const lines = ['FROM busybox', 'RUN true', 'RUN true']
    for (let i = 1; i <= 68; i++) lines.push(`RUN echo ${i} > /f${i}`)
    const dir = context({Dockerfile: lines.join('\n') + '\n'})
    buildOk(dir, '-t', 'many:1')
    expect(run('many:1', 'cat', '/f1', '/f68')).to.equal('1\n68\n')
  })

  it('gives RUN the default network (the per-user namespace), none, or host only when allowed', () => {
    const dir = context({
      Dockerfile: ['FROM busybox', "RUN --network=none sh -c 'grep -q tap0 /proc/net/dev && echo none-has-tap || echo none-no-tap'", "RUN sh -c 'grep -q tap0 /proc/net/dev && echo default-has-tap || echo default-no-tap'", ''].join('\n'),
    })
    const r = buildOk(dir, '--no-cache')
    expect(r.stderr).to.contain('none-no-tap')
    expect(r.stderr).to.contain('default-has-tap')
    const host = context({Dockerfile: 'FROM busybox\nRUN --network=host true\n'})
    const refused = build(host)
    expect(refused.code).to.equal(1)
    expect(refused.stderr).to.contain('granting entitlement network.host is not allowed')
    buildOk(host, '--allow', 'network.host')
  })

  it('shares the cache through --cache-to / --cache-from type=local with another store', () => {
    const dir = context({Dockerfile: 'FROM busybox\nCOPY a /a\nRUN cat /a > /b\n', a: 'shared\n'})
    const cacheDir = userDir('ncx-e2e-build-cache-')
    buildOk(dir, '--cache-to', `type=local,dest=${cacheDir}`, '-t', 'cacheto:1')
    expect(existsSync(join(cacheDir, 'ncx-cache.json'))).to.equal(true)
    const other = new Sandbox()
    try {
      other.load('busybox.oci.tar')
      const r = other.ncx(['build', '--progress', 'plain', '--cache-from', `type=local,src=${cacheDir}`, '-t', 'cachefrom:1', dir], {timeout: 120_000})
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stderr.match(/CACHED/g)).to.have.length(2)
      expect(other.ok(['run', '--rm', '--network', 'none', 'cachefrom:1', 'cat', '/b'])).to.equal('shared\n')
    } finally {
      other.destroy()
    }
  })

  it('uses <Dockerfile>.dockerignore beside a named Dockerfile, writes --iidfile', () => {
    const dir = context({'build/app.Dockerfile': 'FROM busybox\nCOPY . /ctx/\n', 'build/app.Dockerfile.dockerignore': 'secret\nbuild\n', '.dockerignore': 'other\n', secret: 's', other: 'o'})
    const iid = join(userDir('ncx-e2e-build-iid-'), 'iid')
    buildOk(dir, '-f', join(dir, 'build', 'app.Dockerfile'), '--iidfile', iid, '-t', 'named-ignore:1')
    expect(run('named-ignore:1', 'ls', '-a', '/ctx').split('\n').filter(Boolean).sort()).to.deep.equal(['.', '..', '.dockerignore', 'other'])
    expect(readFileSync(iid, 'utf8')).to.equal(inspect('named-ignore:1').Id)
  })

  it('gives what RUN steps and images see their own modes, not ncx\'s umask 077; the user\'s outputs get the caller\'s umask', () => {
    // A non-root USER must traverse / (the upper directory's root), read /etc/hosts and /etc/resolv.conf, run a heredoc script.
    const dir = context({
      Dockerfile: [
        'FROM busybox',
        'RUN mkdir /w && echo x > /w/f',
        'USER 1000:1000',
        'RUN stat -c "root %a" / && cat /etc/hosts /etc/resolv.conf > /dev/null && echo etc-readable',
        'RUN <<EOF',
        '#!/bin/sh',
        'echo script-runs-as-$(id -u)',
        'EOF',
        'RUN --mount=type=cache,target=/cache stat -c "cache %a" /cache',
        '',
      ].join('\n'),
    })
    const r = buildOk(dir, '-t', 'modes:1')
    expect(r.stderr).to.contain('root 755')
    expect(r.stderr).to.contain('etc-readable')
    expect(r.stderr).to.contain('script-runs-as-1000')
    expect(r.stderr).to.contain('cache 755')
    expect(run('modes:1', 'stat', '-c', '%a', '/', '/w')).to.equal('755\n755\n')
    // A tar context whose archive lists files only: the directories above them are 0755, as Docker makes them.
    const src = context({'a/b/file': 'in tar\n', Dockerfile: 'FROM busybox\nCOPY a /a\n'})
    const tar = execFileSync('tar', ['cf', '-', '-C', src, 'Dockerfile', 'a/b/file'])
    expect(box.ncx(['build', '-q', '-t', 'modes:2', '-'], {input: tar as unknown as string}).code).to.equal(0)
    expect(run('modes:2', 'stat', '-c', '%a', '/a/b')).to.equal('755\n')
    // --iidfile, -o type=local and -o type=tar: the user's files, with the caller's umask (022 here).
    const out = userDir('ncx-e2e-build-umask-')
    buildOk(dir, '--iidfile', join(out, 'iid'), '-o', `type=local,dest=${join(out, 'local')}`)
    buildOk(dir, '-o', `type=tar,dest=${join(out, 'fs.tar')}`)
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8)
    expect([mode(join(out, 'iid')), mode(join(out, 'local')), mode(join(out, 'fs.tar')), mode(join(out, 'local', 'w'))]).to.deep.equal(['644', '755', '644', '755'])
  })

  it('takes named contexts (--build-context NAME=DIR|docker-image://REF) for COPY --from, RUN --mount from= and FROM, replacing stages of that name', () => {
    const docs = context({'a.md': 'doc\n', 'sub/x': 'deep\n', 'secret.txt': 'no\n', '.dockerignore': 'secret.txt\n'})
    const dir = context({
      Dockerfile: [
        'FROM scratch AS docs',
        'FROM busybox AS build',
        'RUN mkdir -p /app/dist && echo built > /app/dist/out.js && chown -R 1000:1000 /app/dist',
        'FROM base',
        'COPY --from=docs . /docs/',
        'RUN --mount=type=bind,from=docs,source=sub,target=/m cat /m/x > /from-docs',
        // A directory and a file below a stage's root (copied for the step, owners kept).
        'RUN --mount=type=bind,from=build,source=/app/dist,target=/dist stat -c "%u" /dist/out.js > /owner && cat /dist/out.js > /dist-copy',
        'RUN --mount=type=bind,from=build,source=app/dist/out.js,target=/one.js,rw echo changed >> /one.js && cat /one.js > /one-copy',
        '',
      ].join('\n'),
    })
    const args = ['--build-context', `docs=${docs}`, '--build-context', 'base=docker-image://busybox', '-t', 'named:1']
    buildOk(dir, ...args)
    expect(run('named:1', 'sh', '-c', 'ls -A /docs; cat /from-docs /owner /dist-copy /one-copy')).to.equal('.dockerignore\na.md\nsub\ndeep\n1000\nbuilt\nbuilt\nchanged\n')
    expect(run('named:1', 'stat', '-c', '%u:%g', '/docs/a.md')).to.equal('0:0\n')
    // All cached the second time; a change in the named directory re-runs the steps that read it.
    const again = buildOk(dir, ...args)
    expect(again.stderr.match(/^#\d+ CACHED$/gm) ?? []).to.have.length(5)
    writeFileSync(join(docs, 'sub', 'x'), 'changed\n')
    const changed = buildOk(dir, ...args)
    expect(changed.stderr).to.match(/\[build 2\/2\] RUN mkdir[^\n]*\n#\d+ CACHED/)
    expect(changed.stderr).to.not.match(/COPY --from=docs[^\n]*\n#\d+ CACHED/)
    expect(run('named:1', 'cat', '/from-docs')).to.equal('changed\n')
    // What ncx cannot take is refused by name.
    const remote = build(dir, '--build-context', 'docs=https://example.com/docs.tar')
    expect(remote.code).to.equal(1) // Docker: a failed build (not a flag that does not parse) exits 1
    expect(remote.stderr).to.contain('build context docs: https contexts are not supported by ncx')
    const missing = build(dir, '--build-context', `docs=${join(docs, 'nope')}`)
    expect(missing.stderr).to.contain('not found (build context docs)')
    const below = build(context({Dockerfile: 'FROM busybox AS s\nFROM busybox\nRUN --mount=type=bind,from=s,source=/nothing,target=/n true\n'}))
    expect(below.code).to.equal(1)
    expect(below.stderr).to.contain('"/nothing": not found in s')
  })

  it('draws the live view on a terminal (--progress auto on a tty, or tty)', async () => {
    const dir = context({Dockerfile: 'FROM busybox\nRUN echo visible-output\n'})
    const quoted = box.commandLine(['build', '--progress', 'tty', '--no-cache', dir]).map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
    const child = spawn('script', ['-qfec', `exec ${quoted}`, '/dev/null'], {stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')))
    const code = await new Promise((r) => child.on('close', r))
    expect(code).to.equal(0)
    expect(out).to.contain('[+] Building')
    expect(out).to.contain('FINISHED')
    expect(out).to.match(/=> \[2\/2\] RUN echo visible-output/)
    expect(out).to.contain('\x1b[2K') // lines redrawn in place
  })

  it('counts the build cache in system df, and builder prune removes it', () => {
    const df = box.ok(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}'])
    const count = Number(/Build Cache (\d+)/.exec(df)?.[1])
    expect(count).to.be.greaterThan(0)
    expect(box.ncx(['builder', 'prune']).code).to.equal(1) // no terminal: needs -f
    box.ok(['builder', 'prune', '-af'])
    expect(box.ok(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}'])).to.contain('Build Cache 0')
    // Images built before still run: their layers were not the cache's to remove.
    expect(run('multi:1')).to.equal('built by 0\n')
    expect(existsSync(join(box.root, 'build'))).to.equal(true)
  })
})
