import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {Registry, fixture, pushImage, startRegistry} from '../registry/harness.js'
import {Sandbox, asRoot, user, userDir} from './harness.js'

/** The build's flags and instructions beyond the main paths: base images from a registry, --pull, --link, --exclude, step resources. */
describe('e2e: ncx build — registry bases, flags and step resources', function () {
  this.timeout(240_000)
  const box = new Sandbox()
  let registry: Registry
  let n = 0

  const context = (files: Record<string, string>): string => {
    const dir = userDir(`ncx-e2e-bflags-${n++}-`)
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), {recursive: true})
      writeFileSync(join(dir, name), content)
    }
    if (asRoot) execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir])
    return dir
  }
  const build = (dir: string, ...args: string[]) => box.ncx(['build', '--progress', 'plain', ...args, dir], {timeout: 120_000})
  const buildOk = (dir: string, ...args: string[]) => {
    const r = build(dir, ...args)
    if (r.code !== 0) throw new Error(`build failed (${r.code}):\n${r.stderr}`)
    return r.stderr
  }
  const run = (image: string, ...cmd: string[]) => box.ok(['run', '--rm', '--network', 'none', image, ...cmd])
  /** Whether the plain progress shows the step named `text` as CACHED. */
  const cachedStep = (log: string, text: string) => new RegExp(`\\] ${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^\\n]*\\n#\\d+ CACHED`).test(log)

  before(async () => {
    registry = await startRegistry({auth: 'none'})
    await pushImage(registry, fixture('busybox'), 'library/busybox:latest')
    box.load('busybox.oci.tar')
  })
  after(async () => {
    box.destroy()
    await registry.stop()
  })

  it('pulls a missing base image from a registry, uses the local one after, and --pull fetches the new one', async () => {
    const base = `${registry.host}/library/busybox:latest`
    const dir = context({Dockerfile: `FROM ${base}\nRUN ls /data > /listing 2>&1 || echo none > /listing\n`})
    const first = buildOk(dir, '-t', 'pulled:1')
    expect(first).to.contain(`[internal] load metadata for ${base}`)
    expect(box.ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).to.contain(`${registry.host}/library/busybox:latest`)
    expect(run('pulled:1', 'cat', '/listing')).to.equal('none\n')
    // The tag now names another image in the registry: without --pull the local base is used (all cached) ...
    await pushImage(registry, fixture('multilayer'), 'library/busybox:latest')
    const again = buildOk(dir, '-t', 'pulled:1')
    expect(cachedStep(again, 'RUN ls /data')).to.equal(true)
    expect(run('pulled:1', 'cat', '/listing')).to.equal('none\n')
    // ... with --pull the new one, and the step runs on it.
    const pulled = buildOk(dir, '--pull', '-t', 'pulled:2')
    expect(cachedStep(pulled, 'RUN ls /data')).to.equal(false)
    expect(run('pulled:2', 'cat', '/listing')).to.equal('b.txt\ndir\n')
    // A base that exists nowhere: BuildKit's message, exit 1.
    const missing = build(context({Dockerfile: `FROM ${registry.host}/library/nothing:1\n`}))
    expect(missing.code).to.equal(1)
    expect(missing.stderr).to.contain(`failed to resolve source metadata for ${registry.host}/library/nothing:1`)
  })

  it('COPY --link and --exclude, --no-cache-filter, -o type=docker, --progress quiet, # check=', () => {
    const dir = context({
      Dockerfile: [
        '# check=skip=all',
        'FROM busybox AS one',
        'RUN echo one > /one',
        'FROM busybox',
        'COPY --link --from=one /one /linked/',
        // patternmatcher's rules, relative to the source: *.log is the top level only, **/*.log any depth
        'COPY --exclude=*.log --exclude=tmp app/ /app/',
        'COPY --exclude=**/*.log app/ /app2/',
        '',
      ].join('\n'),
      'app/main.txt': 'main\n',
      'app/debug.log': 'log\n',
      'app/tmp/x': 'x\n',
      'app/sub/keep.txt': 'keep\n',
      'app/sub/also.log': 'log\n',
    })
    buildOk(dir, '-t', 'flags:1')
    expect(run('flags:1', 'sh', '-c', 'cat /linked/one; find /app /app2 -type f | sort')).to.equal('one\n/app/main.txt\n/app/sub/also.log\n/app/sub/keep.txt\n/app2/main.txt\n/app2/sub/keep.txt\n/app2/tmp/x\n')
    // --no-cache-filter: that stage's steps run again, the others stay cached.
    const filtered = buildOk(dir, '--no-cache-filter', 'one', '-t', 'flags:1')
    expect(cachedStep(filtered, 'RUN echo one')).to.equal(false)
    expect(cachedStep(filtered, 'COPY --exclude')).to.equal(true)
    // A docker archive of the image that docker-archive readers load, and nothing printed with --progress quiet.
    const out = userDir('ncx-e2e-bflags-out-')
    const quiet = box.ncx(['build', '--progress', 'quiet', '-o', `type=docker,dest=${join(out, 'img.tar')}`, '-t', 'flags:docker', dir])
    expect(quiet.code, quiet.stderr).to.equal(0)
    expect(quiet.stderr).to.equal('')
    expect(existsSync(join(out, 'img.tar'))).to.equal(true)
    const other = new Sandbox()
    try {
      expect(other.ok(['load', '-i', join(out, 'img.tar')])).to.contain('Loaded image: flags:docker')
      expect(other.ok(['run', '--rm', '--network', 'none', 'flags:docker', 'cat', '/linked/one'])).to.equal('one\n')
    } finally {
      other.destroy()
    }
  })

  it('gives RUN steps --add-host, --shm-size and --ulimit, and proxy build args without putting them in the history', () => {
    const dir = context({Dockerfile: 'FROM busybox\nRUN grep -w myhost /etc/hosts && df -k /dev/shm | tail -1 && ulimit -n && echo "proxy=$HTTP_PROXY" > /proxy-seen\n'})
    const log = buildOk(dir, '--add-host', 'myhost:10.1.2.3', '--shm-size', '96m', '--ulimit', 'nofile=321:321', '--build-arg', 'HTTP_PROXY=http://proxy.example:3128', '-t', 'res:1')
    expect(log).to.match(/10\.1\.2\.3\s+myhost/)
    expect(log).to.match(/\s98304\s+0\s+98304\s/)
    expect(log).to.match(/#\d+ [\d.]+ 321\n/)
    expect(run('res:1', 'cat', '/proxy-seen')).to.equal('proxy=http://proxy.example:3128\n')
    const history = box.ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'res:1'])
    expect(history).to.not.contain('proxy.example')
  })

  it('builds independent stages at the same time: both steps start before either ends', () => {
    const dir = context({Dockerfile: 'FROM busybox AS a\nRUN sleep 1 && echo a > /a\nFROM busybox AS b\nRUN sleep 1 && echo b > /b\nFROM busybox\nCOPY --from=a /a /\nCOPY --from=b /b /\n'})
    const log = buildOk(dir, '-t', 'par:1')
    const start = (stage: string) => log.search(new RegExp(`^#\\d+ \\[${stage} 2/2\\] RUN sleep 1`, 'm'))
    const firstDone = Math.min(...['a', 'b'].map((stage) => {
      const id = new RegExp(`^#(\\d+) \\[${stage} 2/2\\] RUN`, 'm').exec(log)![1]
      return log.search(new RegExp(`^#${id} DONE`, 'm'))
    }))
    expect(start('a')).to.be.greaterThan(-1)
    expect(start('b')).to.be.greaterThan(-1)
    expect(Math.max(start('a'), start('b'))).to.be.lessThan(firstDone)
    expect(run('par:1', 'cat', '/a', '/b')).to.equal('a\nb\n')
  })

  it('builder prune: --filter until= keeps what was used since, without -a only records no image uses go; system prune takes those too', () => {
    const dir = context({Dockerfile: 'FROM busybox AS deps\nRUN echo dep > /dep && echo other > /other\nFROM busybox\nCOPY --from=deps /dep /dep\nRUN cat /dep > /final\n'})
    buildOk(dir, '-t', 'pruned:1')
    const count = () => Number(/Build Cache (\d+)/.exec(box.ok(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']))?.[1])
    const before = count()
    expect(box.ok(['builder', 'prune', '-f', '--filter', 'until=1h'])).to.equal('Total:\t0B\n')
    expect(count()).to.equal(before)
    // The deps stage's record is in no image: it goes; the final stage's records stay.
    const out = box.ok(['builder', 'prune', '-f'])
    expect(out).to.match(/^ID\n[a-f0-9]{25}\n/)
    expect(count()).to.be.lessThan(before)
    const again = buildOk(dir, '-t', 'pruned:1')
    expect(cachedStep(again, 'RUN echo dep')).to.equal(false)
    expect(cachedStep(again, 'COPY --from=deps')).to.equal(true)
    expect(cachedStep(again, 'RUN cat /dep')).to.equal(true)
    const mid = count()
    expect(box.ok(['system', 'prune', '-f'])).to.contain('Total reclaimed space')
    expect(count()).to.be.lessThan(mid)
    expect(run('pruned:1', 'cat', '/final')).to.equal('dep\n')
  })
})
