import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {expect} from 'chai'

import {parseBuildArgs, parseSecret, parseSsh} from '../../src/commands/image/build.js'
import {parseBytes, parseRunMount} from '../../src/engine/build/runmount.js'
import {parseCacheSpec} from '../../src/engine/build/cacheio.js'
import {ContextFS, looksLikeTar, splitWildcards} from '../../src/engine/build/context.js'
import {applySymbolic, destinationPath, parseChmod, planItems} from '../../src/engine/build/copy.js'
import {exposedPorts, healthHistory, normalizeHistory, serializeImage} from '../../src/engine/build/image.js'
import {parseOutput} from '../../src/engine/build/output.js'
import {PatternMatcher, cleanPath, filepathMatch, hasWildcards, readIgnoreFile} from '../../src/engine/build/patterns.js'
import {buildOrder, composeBuildOptions, servicesToBuild} from '../../src/engine/compose/build.js'
import {loadNamedContexts, parseBuildContextFlag} from '../../src/engine/build/named.js'
import {topmostFirst} from '../../src/engine/container/rootfs.js'
import {UsageError} from '../../src/engine/errors.js'

describe('build patterns (src/engine/build/patterns.ts)', () => {
  it("matches paths like Go's filepath.Match", () => {
    const cases: Array<[string, string, boolean]> = [
      ['*.go', 'main.go', true],
      ['*.go', 'dir/main.go', false],
      ['a?c', 'abc', true],
      ['a?c', 'a/c', false],
      ['[a-c]x', 'bx', true],
      ['[^a-c]x', 'dx', true],
      ['[^a-c]x', 'ax', false],
      ['a\\*b', 'a*b', true],
      ['a\\*b', 'axb', false],
      ['*/*.txt', 'dir/a.txt', true],
      ['src', 'src', true],
    ]
    for (const [p, s, want] of cases) expect(filepathMatch(p, s), `${p} ~ ${s}`).to.equal(want)
    expect(() => filepathMatch('[a-', 'a')).to.throw()
    expect(() => filepathMatch('a\\', 'a')).to.throw()
    expect(hasWildcards('a/b*.c')).to.equal(true)
    expect(hasWildcards('a/b\\*.c')).to.equal(false)
    expect(splitWildcards('src/*/x.go')).to.deep.equal(['src', '*/x.go'])
  })

  it('matches like moby/patternmatcher: **, parents, exceptions', () => {
    const cases: Array<[string, string, boolean]> = [
      ['**', 'dir/file', true],
      ['**/', 'file', true],
      ['dir/**', 'dir/dir2/file', true],
      ['**/dir', 'dir/file', true],
      ['**/dir2/*', 'dir/dir2/file', true],
      ['**/file*.txt', 'dir/dir/file.txt', true],
      ['**/**/*.txt2', 'dir/dir/file.txt', false],
      ['a**/*.txt', 'a/dir/dir/file.txt', true],
      ['a/*.txt', 'a/dir/file.txt', false],
      ['abc/**', 'abc', false],
      ['abc.def', 'abcZdef', false],
      ['a(b)c/def', 'a(b)c/def', true],
      ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
      ['**/.foo', 'bar.foo', false],
      ['docs', 'docs/README.md', true],
      ['*.txt', 'keep/sub/s.txt', false],
    ]
    for (const [p, s, want] of cases) expect(new PatternMatcher([p]).matchesPath(s), `${p} ~ ${s}`).to.equal(want)
    const m = new PatternMatcher(['docs', '!docs/README.md'])
    expect(m.matchesPath('docs/README.md')).to.equal(false)
    expect(m.matchesPath('docs/other.md')).to.equal(true)
    expect(m.exclusions).to.equal(true)
    expect(new PatternMatcher(['*.go', '!fileutils.go']).matchesPath('fileutils.go')).to.equal(false)
    expect(new PatternMatcher(['!fileutils.go', '*.go']).matchesPath('fileutils.go')).to.equal(true)
    expect(() => new PatternMatcher(['!'])).to.throw('illegal exclusion pattern')
    expect(() => new PatternMatcher(['['])).to.throw('syntax error')
  })

  it('reads .dockerignore files: comments, whitespace, leading /, cleaned paths', () => {
    expect(readIgnoreFile('\uFEFF# comment\n  /node_modules  \n!/keep//x/../y\n\n.git\n *.log\n')).to.deep.equal(['node_modules', '!keep/y', '.git', '*.log'])
    expect(cleanPath('a/./b/../c/')).to.equal('a/c')
    expect(cleanPath('/../x')).to.equal('/x')
  })
})

describe('build context (src/engine/build/context.ts)', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-unit-ctx-'))
    mkdirSync(join(dir, 'keep/sub'), {recursive: true})
    mkdirSync(join(dir, 'drop/inner'), {recursive: true})
    writeFileSync(join(dir, 'keep/a.txt'), 'a')
    writeFileSync(join(dir, 'keep/sub/b.txt'), 'b')
    writeFileSync(join(dir, 'drop/x'), 'x')
    writeFileSync(join(dir, 'drop/inner/wanted'), 'w')
    writeFileSync(join(dir, 'top.md'), 't')
    symlinkSync('keep', join(dir, 'link'))
    symlinkSync('/etc', join(dir, 'abs'))
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('hides what .dockerignore excludes, except directories holding an exception', () => {
    const fs = new ContextFS(dir, new PatternMatcher(['drop', '!drop/inner/wanted', '*.md']))
    expect(fs.present('top.md')).to.equal(false)
    expect(fs.present('drop/x')).to.equal(false)
    expect(fs.present('drop')).to.equal(true)
    expect(fs.present('drop/inner/wanted')).to.equal(true)
    expect(fs.tree('drop').map((e) => e.path)).to.deep.equal(['', 'inner', 'inner/wanted'])
    expect(fs.children('')).to.deep.equal(['abs', 'drop', 'keep', 'link'])
  })

  it('resolves symlinks inside the context only', () => {
    const fs = new ContextFS(dir, new PatternMatcher([]))
    expect(fs.resolveLinks('link/a.txt')).to.equal('keep/a.txt')
    expect(fs.resolveLinks('abs/passwd')).to.equal('etc/passwd')
    expect(fs.resolveLinks('../../keep')).to.equal('keep')
  })

  it('resolves COPY sources: literal, wildcard, missing (saying when .dockerignore excluded it)', async () => {
    const fs = new ContextFS(dir, new PatternMatcher(['top.md']))
    const [lit, wild, missing, ignored] = await fs.resolveSources(['keep/', 'keep/*.txt', 'nope', 'top.md'])
    expect(lit.trees[0].entries.map((e) => e.path)).to.deep.equal(['', 'a.txt', 'sub', 'sub/b.txt'])
    expect(wild.trees.map((t) => t.name)).to.deep.equal(['keep/a.txt'])
    expect(missing.missing).to.deep.equal({path: '/nope', excluded: false})
    expect(ignored.missing).to.deep.equal({path: '/top.md', excluded: true})
  })

  it('recognises tar headers', () => {
    const h = Buffer.alloc(512)
    h.write('file.txt', 0)
    h.write('0000644\0', 100)
    h.write('00000000001\0', 124)
    h.write('ustar\0', 257)
    let sum = 0
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148)
    expect(looksLikeTar(h)).to.equal(true)
    expect(looksLikeTar(Buffer.alloc(512, 1))).to.equal(false)
  })
})

describe('COPY planning (src/engine/build/copy.ts)', () => {
  it('puts relative destinations under WORKDIR and keeps a trailing /', () => {
    expect(destinationPath('rel/', '/app')).to.equal('/app/rel/')
    expect(destinationPath('.', '/app')).to.equal('/app/')
    expect(destinationPath('x', '/app')).to.equal('/app/x')
    expect(destinationPath('/abs/../y', '/app')).to.equal('/y')
    expect(destinationPath('./', '/')).to.equal('/')
  })

  it('parses --chmod: octal, symbolic as chmod(1)', () => {
    expect(parseChmod('755')).to.deep.equal({octal: 0o755})
    expect(() => parseChmod('8')).to.throw("invalid chmod parameter: '8'")
    expect(() => parseChmod('10000')).to.throw('between 0 and 07777')
    expect(applySymbolic(0o644, false, '+x')).to.equal(0o755)
    expect(applySymbolic(0o600, false, 'u=rwX,go=rX')).to.equal(0o644)
    expect(applySymbolic(0o700, true, 'u=rwX,go=rX')).to.equal(0o755)
    expect(applySymbolic(0o640, false, 'g=u')).to.equal(0o660)
    expect(applySymbolic(0o777, false, 'o-w')).to.equal(0o775)
    expect(() => parseChmod('z+q')).to.throw(UsageError)
  })

  it('resets context owners to 0:0, keeps a stage\'s, applies --chown and --exclude', () => {
    const tree = {
      name: 'dir',
      path: '/dir',
      entries: [
        {path: '', kind: 'd' as const, mode: 0o755, uid: 1000, gid: 1000, size: 0, mtime: [1, 0] as [number, number]},
        {path: 'a.txt', kind: 'f' as const, mode: 0o644, uid: 1000, gid: 1000, size: 1, mtime: [2, 0] as [number, number]},
        {path: 'b.log', kind: 'f' as const, mode: 0o600, uid: 1000, gid: 1000, size: 1, mtime: [3, 0] as [number, number]},
        {path: 'l', kind: 'l' as const, mode: 0o777, uid: 1000, gid: 1000, size: 1, mtime: [3, 0] as [number, number], link: 'a.txt'},
      ],
    }
    const [ctx] = planItems([{arg: 'dir', trees: [tree]}], 0, {dest: '/d/', exclude: ['*.log'], resetOwners: true})
    if (ctx.op !== 'copy') throw new Error('copy expected')
    expect(ctx.item.children.map((c) => [c.p, c.u, c.g, c.src, c.l])).to.deep.equal([
      ['a.txt', 0, 0, '/dir/a.txt', undefined],
      ['l', 0, 0, undefined, 'a.txt'],
    ])
    const [stage] = planItems([{arg: 'dir', trees: [tree]}], 1, {dest: '/d/', exclude: [], resetOwners: false, chmod: {octal: 0o700}})
    if (stage.op !== 'copy') throw new Error('copy expected')
    expect(stage.item.children.map((c) => [c.u, c.m])).to.deep.equal([
      [1000, 0o700],
      [1000, 0o700],
      [1000, 0o777],
    ])
    const [chowned] = planItems([{arg: 'dir', trees: [tree]}], 0, {dest: '/d/', exclude: [], resetOwners: true, chown: {uid: 5, gid: 6}})
    if (chowned.op !== 'copy') throw new Error('copy expected')
    expect(chowned.item.top).to.include({u: 5, g: 6})
  })
})

describe('build image config (src/engine/build/image.ts)', () => {
  it("fills created times as BuildKit's exporter does; the image takes the last one", () => {
    const {history, created} = normalizeHistory([
      {created: 'base', created_by: 'ADD rootfs'},
      {created_by: 'ENV A=1', empty_layer: true},
      {created: 'L1', created_by: 'RUN a'},
      {created_by: 'CMD', empty_layer: true},
      {created: 'L2', created_by: 'COPY'},
      {created_by: 'LABEL', empty_layer: true},
    ])
    expect(history.map((h) => h.created)).to.deep.equal(['base', 'L1', 'L1', 'L1', 'L2', 'L2'])
    expect(created).to.equal('L2')
  })

  it('serializes with omitempty and Docker\'s field order', () => {
    const bytes = serializeImage({architecture: 'amd64', os: 'linux', created: 'T', config: {Cmd: ['a'], Env: ['PATH=/bin'], Entrypoint: null, Labels: {}, User: '', ArgsEscaped: true, Volumes: {'/d': {}}}, rootfs: {type: 'layers', diff_ids: []}, history: []})
    expect(bytes.toString()).to.equal('{"architecture":"amd64","config":{"Env":["PATH=/bin"],"Cmd":["a"],"Volumes":{"/d":{}},"ArgsEscaped":true},"created":"T","history":[],"os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')
  })

  it('expands EXPOSE ports and writes HEALTHCHECK history as BuildKit does', () => {
    expect(exposedPorts(['80', '53/UDP', '8000-8002/tcp', '127.0.0.1:9000:90'])).to.deep.equal(['80/tcp', '53/udp', '8000/tcp', '8001/tcp', '8002/tcp', '90/tcp'])
    expect(() => exposedPorts(['80/foo'])).to.throw('invalid proto')
    expect(healthHistory({Test: ['CMD-SHELL', 'true'], Interval: 30e9, Retries: 3})).to.equal('HEALTHCHECK {Test:[CMD-SHELL true] Interval:30s Timeout:0s StartPeriod:0s StartInterval:0s Retries:3}')
    expect(healthHistory({Test: ['CMD', 'x'], Interval: 90e9})).to.contain('Interval:1m30s')
  })
})

describe('RUN --mount (src/engine/build/builder.ts)', () => {
  const id = (w: string) => w
  it('parses mounts with BuildKit\'s defaults', () => {
    expect(parseRunMount('type=cache,target=/root/.npm,id=npm,sharing=locked,uid=1000', id)).to.deep.include({type: 'cache', target: '/root/.npm', id: 'npm', sharing: 'locked', uid: 1000, readonly: false})
    expect(parseRunMount('target=/src', id)).to.deep.include({type: 'bind', readonly: true})
    expect(parseRunMount('type=bind,target=/src,rw', id)).to.deep.include({readonly: false})
    expect(parseRunMount('type=secret,id=npmrc,target=/root/.npmrc,required', id)).to.deep.include({type: 'secret', id: 'npmrc', required: true, readonly: true})
    expect(parseRunMount('type=secret,source=tok', id)).to.deep.include({id: 'tok'})
    expect(parseRunMount('type=tmpfs,target=/t,size=64m', id)).to.deep.include({size: 64 * 1024 * 1024})
    expect(parseRunMount('type=secret,id=x,env=TOKEN', id)).to.deep.include({env: 'TOKEN'})
  })

  it('refuses bad mounts with BuildKit\'s messages', () => {
    expect(() => parseRunMount('type=foo,target=/x', id)).to.throw('unsupported mount type "foo"')
    expect(() => parseRunMount('type=bind,target=/x,mode=0600', id)).to.throw('mode not allowed for "bind" type mounts')
    expect(() => parseRunMount('type=bind,target=/x,sharing=locked', id)).to.throw('invalid cache sharing set for bind mount')
    expect(() => parseRunMount('type=secret,from=x,id=y', id)).to.throw('secret mount should not have a from')
    expect(() => parseRunMount('type=cache,target=/x,bogus=1', id)).to.throw("unexpected key 'bogus'")
    expect(() => parseRunMount('type=cache,target=/x,required', id)).to.throw("unexpected key 'required' for mount type 'cache'")
    expect(() => parseRunMount('type=secret', id)).to.throw('invalid secret mount')
  })

  it('parses sizes', () => {
    expect(parseBytes('1g')).to.equal(1024 ** 3)
    expect(parseBytes('512')).to.equal(512)
    expect(parseBytes('x')).to.equal(undefined)
  })
})

describe('overlay lower directories (src/engine/container/run.ts)', () => {
  it('lists a repeated layer once, at its topmost place', () => {
    // Two RUN steps that change nothing give the same empty layer: overlayfs refuses a
    // directory twice (ELOOP), so `ncx run` of such an image failed before.
    expect(topmostFirst(['base', 'empty', 'a', 'empty', 'b'])).to.deep.equal(['b', 'empty', 'a', 'base'])
  })
})

describe('build command line (src/commands/image/build.ts)', () => {
  it('takes --build-arg KEY from the environment, left out when unset', () => {
    expect(parseBuildArgs(['A=1', 'B', 'C', 'D='], {B: 'env'})).to.deep.equal({A: '1', B: 'env', D: ''})
  })

  it('parses --secret and --ssh', () => {
    expect(parseSecret('id=npmrc,src=/home/u/.npmrc')).to.deep.equal({id: 'npmrc', file: '/home/u/.npmrc'})
    expect(parseSecret('id=tok,env=GITHUB_TOKEN')).to.deep.equal({id: 'tok', env: 'GITHUB_TOKEN'})
    expect(parseSecret('id=TOKEN', {TOKEN: 'x'})).to.deep.equal({id: 'TOKEN', env: 'TOKEN'})
    expect(parseSecret('src=/x/key')).to.deep.equal({id: 'key', file: '/x/key'})
    expect(() => parseSecret('npmrc')).to.throw(UsageError)
    expect(parseSsh('default', {SSH_AUTH_SOCK: '/run/agent'})).to.deep.equal({id: 'default', paths: ['/run/agent']})
    expect(parseSsh('gh=/a,/b', {})).to.deep.equal({id: 'gh', paths: ['/a', '/b']})
    expect(() => parseSsh('default', {})).to.throw('SSH_AUTH_SOCK is not set')
  })

  it('parses -o and the cache specs', () => {
    expect(parseOutput('out')).to.deep.equal({type: 'local', dest: 'out'})
    expect(parseOutput('-')).to.deep.equal({type: 'tar', dest: '-'})
    expect(parseOutput('type=oci,dest=img.tar')).to.deep.equal({type: 'oci', dest: 'img.tar'})
    expect(parseOutput('type=image,name=a:1')).to.deep.equal({type: 'image', name: 'a:1'})
    expect(() => parseOutput('type=registry,name=x')).to.throw('pushing from the build is not supported')
    expect(() => parseOutput('type=local')).to.throw('needs dest=')
    expect(parseCacheSpec('type=local,src=/c', 'src')).to.include({src: '/c'})
    expect(() => parseCacheSpec('type=registry,ref=x', 'src')).to.throw('not supported by ncx')
  })
})

describe('compose build (src/engine/compose/build.ts)', () => {
  const project = {
    name: 'proj',
    workingDir: '/p',
    services: {
      web: {build: {context: '/p/web', dockerfile: 'Dockerfile.dev', args: ['A=1', 'FROM_ENV'], target: 'dev', labels: {l: 'v'}, tags: ['extra:1'], secrets: ['tok'], extra_hosts: ['h:1.2.3.4'], shm_size: '64m', no_cache: true}},
      db: {image: 'postgres'},
      api: {image: 'myapi:2', build: {context: '/p/api'}, pull_policy: 'build'},
    },
    disabled: {},
    networks: {},
    volumes: {},
    secrets: {tok: {file: 'secret.txt'}},
    configs: {},
    environment: {FROM_ENV: 'e'},
  } as unknown as Parameters<typeof composeBuildOptions>[0]

  it('maps build: to the builder\'s options, naming the image <project>-<service>', () => {
    const o = composeBuildOptions(project, 'web', project.services.web)
    expect(o.tags).to.deep.equal(['proj-web', 'extra:1'])
    expect(o.dockerfile).to.equal('/p/web/Dockerfile.dev')
    expect(o.buildArgs).to.deep.equal({A: '1', FROM_ENV: 'e'})
    expect(o).to.deep.include({target: 'dev', noCache: true, shmSize: 64 * 1024 * 1024, labels: {l: 'v'}, addHosts: ['h:1.2.3.4']})
    expect(o.secrets).to.deep.equal([{id: 'tok', file: '/p/secret.txt'}])
    expect(composeBuildOptions(project, 'api', project.services.api).tags).to.deep.equal(['myapi:2'])
  })

  it('builds with --build, pull_policy: build, or a missing image; never with --no-build', () => {
    const engine = {images: {find: (n: string) => (n === 'proj-web' ? {} : undefined)}} as unknown as Parameters<typeof servicesToBuild>[0]
    expect(servicesToBuild(engine, project, ['web', 'db', 'api'], {})).to.deep.equal(['api'])
    expect(servicesToBuild(engine, project, ['web', 'db', 'api'], {build: true})).to.deep.equal(['web', 'api'])
    expect(servicesToBuild(engine, project, ['web', 'api'], {noBuild: true})).to.deep.equal([])
  })

  it('additional_contexts: directories against the project, docker-image:// as is, service:X as its image, built first', () => {
    const p = {
      ...project,
      services: {
        app: {build: {context: '/p/app', additional_contexts: {src: '../src', abs: '/opt/x', img: 'docker-image://busybox', base: 'service:base'}}},
        base: {build: {context: '/p/base'}},
        lone: {build: {context: '/p/lone', additional_contexts: ['b=service:base']}},
      },
    } as unknown as Parameters<typeof composeBuildOptions>[0]
    expect(composeBuildOptions(p, 'app', p.services.app).namedContexts).to.deep.equal({src: '/src', abs: '/opt/x', img: 'docker-image://busybox', base: 'docker-image://proj-base'})
    expect(buildOrder(p, ['app', 'lone', 'base'])).to.deep.equal(['base', 'app', 'lone'])
    // base has no image yet: `up app` builds it too.
    const engine = {images: {find: () => undefined}} as unknown as Parameters<typeof servicesToBuild>[0]
    expect(servicesToBuild(engine, p, ['app'], {})).to.deep.equal(['app', 'base'])
    const bad = {...p, services: {a: {build: {context: '/p', additional_contexts: {x: 'service:nope'}}}}} as unknown as Parameters<typeof composeBuildOptions>[0]
    expect(() => composeBuildOptions(bad, 'a', bad.services.a)).to.throw('refers to undefined service nope')
    const cyc = {...p, services: {a: {build: {context: '/p', additional_contexts: {x: 'service:b'}}}, b: {build: {context: '/p', additional_contexts: {y: 'service:a'}}}}} as unknown as Parameters<typeof composeBuildOptions>[0]
    expect(() => buildOrder(cyc, ['a', 'b'])).to.throw('form a cycle: a -> b -> a')
  })
})

describe('named build contexts (src/engine/build/named.ts)', () => {
  it('parses NAME=VALUE and loads directories (with their .dockerignore) and images; refuses what ncx cannot read', () => {
    expect(parseBuildContextFlag('docs=../docs')).to.deep.equal(['docs', '../docs'])
    expect(parseBuildContextFlag('a=b=c')).to.deep.equal(['a', 'b=c'])
    expect(() => parseBuildContextFlag('=x')).to.throw(UsageError)
    expect(() => parseBuildContextFlag('x=')).to.throw(UsageError)
    const dir = mkdtempSync(join(tmpdir(), 'ncx-named-'))
    try {
      mkdirSync(join(dir, 'd'))
      writeFileSync(join(dir, 'd', '.dockerignore'), 'hidden\n')
      const named = loadNamedContexts({Docs: 'd', base: 'docker-image://busybox:1'}, dir)
      const docs = named.get('docs')!
      expect(docs.kind).to.equal('dir')
      if (docs.kind === 'dir') {
        expect(docs.dir).to.equal(join(dir, 'd'))
        expect(docs.fs.excluded('hidden')).to.equal(true)
      }
      expect(named.get('base')).to.deep.equal({name: 'base', kind: 'image', ref: 'busybox:1'})
      expect(() => loadNamedContexts({x: 'https://example.com/a.tar'}, dir)).to.throw('https contexts are not supported')
      expect(() => loadNamedContexts({x: 'git@github.com:a/b.git'}, dir)).to.throw('git contexts are not supported')
      expect(() => loadNamedContexts({x: 'target:base'}, dir)).to.throw('target contexts are not supported')
      expect(() => loadNamedContexts({x: 'nope'}, dir)).to.throw('path "nope" not found (build context x)')
      writeFileSync(join(dir, 'f'), '')
      expect(() => loadNamedContexts({x: 'f'}, dir)).to.throw('must be a directory')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
