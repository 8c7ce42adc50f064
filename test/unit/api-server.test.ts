/** The Engine API server's pure parts: request mapping, header decoding, generated files. */
import {expect} from 'chai'

import {consoleSize, createOptions} from '../../src/server/create.js'

describe('api server: POST /containers/create mapping', () => {
  it('Config.Volumes covered by a bind or a mount is no anonymous volume (docker-compose sends both)', () => {
    const {options} = createOptions({Image: 'busybox', Volumes: {'/www': {}, '/anon': {}, '/m/': {}}, HostConfig: {Binds: ['demo_data:/www:rw'], Mounts: [{Type: 'volume', Source: 'vol', Target: '/m'}]}}, undefined, undefined, {})
    const mounts = (options.mounts ?? []).map((m) => `${m.type}:${m.source ?? ''}:${m.target}`)
    expect(mounts.sort()).to.deep.equal(['volume::/anon', 'volume:demo_data:/www', 'volume:vol:/m'])
  })
})

describe('api server: ConsoleSize', () => {
  it('is [rows, cols] of a terminal container; [0, 0] or absent is none; anything else a 400', () => {
    expect(createOptions({Image: 'busybox', Tty: true, HostConfig: {ConsoleSize: [30, 100]}}, undefined, undefined, {}).options.consoleSize).to.deep.equal([30, 100])
    expect(createOptions({Image: 'busybox', HostConfig: {ConsoleSize: [30, 100]}}, undefined, undefined, {}).options.consoleSize).to.equal(undefined)
    expect(consoleSize([0, 0])).to.equal(undefined)
    expect(consoleSize(undefined)).to.equal(undefined)
    for (const bad of [[1], [1, 2, 3], ['1', 2], [-1, 2], [1.5, 2], [70000, 2], 'x']) expect(() => consoleSize(bad)).to.throw(/invalid ConsoleSize/)
  })
})

describe('api server: X-Registry-Auth', () => {
  it('decodes base64url JSON; no username means the stored credentials; garbage is a 400', async () => {
    const {registryAuth} = await import('../../src/server/images.js')
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
    expect(registryAuth(enc({username: 'u', password: 'p?>', serveraddress: 'r'}))).to.deep.equal({username: 'u', password: 'p?>'})
    expect(registryAuth(Buffer.from(JSON.stringify({username: 'u', password: 'p?>'})).toString('base64'))).to.deep.equal({username: 'u', password: 'p?>'})
    expect(registryAuth(enc({}))).to.equal(undefined)
    expect(registryAuth(undefined)).to.equal(undefined)
    expect(() => registryAuth('%%%not-base64')).to.throw(/X-Registry-Auth/)
    // An identity token (the token service's refresh token) goes to the registry client, with or without a username.
    expect(registryAuth(enc({identitytoken: 'tok'}))).to.deep.equal({username: '', password: '', identityToken: 'tok'})
    expect(registryAuth(enc({username: 'u', password: '', identitytoken: 'tok'}))).to.deep.equal({username: 'u', password: '', identityToken: 'tok'})
  })
})

describe('api server: import names (repo, tag)', () => {
  it('as dockerd: repo with its tag, tag over it, latest by default, no repo no name; digests and bad names 400', async () => {
    const {importName} = await import('../../src/server/images.js')
    expect(importName('app', null)).to.equal('app:latest')
    expect(importName('team/app:1', null)).to.equal('team/app:1')
    expect(importName('team/app:1', '2')).to.equal('team/app:2')
    expect(importName('localhost:5000/app', 'v')).to.equal('localhost:5000/app:v')
    expect(importName(null, 'x')).to.equal(undefined)
    expect(() => importName(`app@sha256:${'a'.repeat(64)}`, null)).to.throw('cannot import digest reference')
    expect(() => importName('Bad Name', null)).to.throw()
  })
})

describe('api server: POST /containers/{id}/update', () => {
  it("maps Docker's fields onto ncx update's flags (0: unchanged) and warns about the rest", async () => {
    const {updateFlags} = await import('../../src/server/operations.js')
    const r = updateFlags({Memory: 67108864, MemorySwap: 0, NanoCpus: 500000000, CpuShares: 0, PidsLimit: 100, KernelMemory: 10485760, CpusetCpus: '', RestartPolicy: {Name: 'on-failure', MaximumRetryCount: 2}})
    expect(r.flags).to.deep.equal({memory: '67108864', cpus: '0.5', 'pids-limit': '100'})
    expect(r.restart).to.equal('on-failure:2')
    expect(r.warnings).to.deep.equal(['KernelMemory is not supported by ncx and was ignored'])
    expect(updateFlags({RestartPolicy: {Name: ''}}).restart).to.equal(undefined)
    expect(() => updateFlags({Memory: 'lots'})).to.throw(/invalid Memory/)
  })
})

describe('api server: POST /build query', () => {
  const request = (query: string) => ({query: new URLSearchParams(query)}) as unknown as import('../../src/server/http.js').Request
  it("maps Docker's query onto the builder's options", async () => {
    const {buildRequestOptions} = await import('../../src/server/build.js')
    const {options, quiet, warnings} = buildRequestOptions(request(`t=a:1&t=b&dockerfile=sub/D&buildargs=${encodeURIComponent('{"A":"1","B":null}')}&target=base&q=1&nocache=1&networkmode=none&cachefrom=${encodeURIComponent('["x"]')}`))
    expect(options).to.include({context: '-', dockerfile: 'sub/D', target: 'base', noCache: true, network: 'none'})
    expect(options.tags).to.deep.equal(['a:1', 'b'])
    expect(options.buildArgs).to.deep.equal({A: '1'})
    expect(quiet).to.equal(true)
    expect(warnings).to.deep.equal(['cachefrom is not supported by the API builder of ncx and was ignored'])
    expect(buildRequestOptions(request('')).options.dockerfile).to.equal('Dockerfile')
  })
  it('refuses a Dockerfile outside the context, a remote context, bad JSON', async () => {
    const {buildRequestOptions} = await import('../../src/server/build.js')
    expect(() => buildRequestOptions(request('dockerfile=/etc/passwd'))).to.throw(/inside the build context/)
    expect(() => buildRequestOptions(request('dockerfile=../x'))).to.throw(/inside the build context/)
    expect(() => buildRequestOptions(request('remote=https://example.com/x.git'))).to.throw(/remote context/)
    expect(() => buildRequestOptions(request('buildargs=nope'))).to.throw(/invalid buildargs/)
    // BuildKit's version=2 (the docker 20.10 CLI's BuildKit path): the message, 501; v1 is this builder.
    expect(() => buildRequestOptions(request('version=2&remote=client-session'))).to.throw(/BuildKit is not served by ncx system service: build with DOCKER_BUILDKIT=0/)
    expect(() => buildRequestOptions(request('version=3'))).to.throw(/invalid version "3"/)
    expect(buildRequestOptions(request('version=1')).options.dockerfile).to.equal('Dockerfile')
  })
})

describe('build context archives (POST /build, ncx build -)', () => {
  type Entry = {name: string; type?: 'file' | 'symlink' | 'link'; linkname?: string; body?: string}
  async function tarOf(entries: Entry[]): Promise<Buffer> {
    const {pack} = await import('tar-stream')
    const p = pack()
    for (const e of entries) {
    const header = {name: e.name, type: e.type ?? 'file', mode: 0o644, ...(e.linkname ? {linkname: e.linkname} : {})} as const
    if (e.type === undefined || e.type === 'file') p.entry(header, e.body ?? '')
    else p.entry(header)
  }
    p.finalize()
    const chunks: Buffer[] = []
    for await (const c of p) chunks.push(c as Buffer)
    return Buffer.concat(chunks)
  }
  async function unpack(entries: Entry[]) {
    const {mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync} = await import('node:fs')
    const {join} = await import('node:path')
    const {tmpdir} = await import('node:os')
    const {Readable} = await import('node:stream')
    const {loadContext} = await import('../../src/engine/build/context.js')
    const root = mkdtempSync(join(tmpdir(), 'ncx-ctx-test-'))
    const outside = join(root, 'outside')
    mkdirSync(outside)
    writeFileSync(join(outside, 'target'), 'original\n')
    const tar = await tarOf(entries.map((e) => ({...e, linkname: e.linkname?.replace('OUTSIDE', outside)})))
    let error: unknown
    try {
      await loadContext({context: '-', stdin: Readable.from([tar]), tmpDir: join(root, 'tmp')})
    } catch (e) {
      error = e
    }
    const state = {error, outside: readdirSync(outside).sort(), target: readFileSync(join(outside, 'target'), 'utf8')}
    rmSync(root, {recursive: true, force: true})
    return state
  }
  it('refuses entries under a symlink and hard links through one; replaces a symlink by a later file', async () => {
    const under = await unpack([{name: 'Dockerfile', body: 'FROM x'}, {name: 'e', type: 'symlink', linkname: 'OUTSIDE'}, {name: 'e/pwned', body: 'x'}])
    expect(String(under.error)).to.match(/lies under the symbolic link "e"/)
    expect(under.outside).to.deep.equal(['target'])
    const over = await unpack([{name: 'Dockerfile', body: 'FROM x'}, {name: 'f', type: 'symlink', linkname: 'OUTSIDE/target'}, {name: 'f', body: 'replaced\n'}])
    expect(over.error).to.equal(undefined)
    expect(over.target).to.equal('original\n')
    const link = await unpack([{name: 'Dockerfile', body: 'FROM x'}, {name: 'd', type: 'symlink', linkname: 'OUTSIDE'}, {name: 'h', type: 'link', linkname: 'd/target'}, {name: 'h', body: 'pwned\n'}])
    expect(String(link.error)).to.match(/lies under the symbolic link "d"/)
    expect(link.target).to.equal('original\n')
  })
})

describe('api server: systemd units and socket activation', () => {
  it('writes a 0600 socket unit and a service that runs this ncx with KillMode=process', async () => {
    const {systemdUnits} = await import('../../src/server/systemd.js')
    const units = systemdUnits({command: ['/usr/bin/node', '/opt/my ncx/bin/run.cjs'], socketPath: '%t/ncx/docker.sock', timeoutSeconds: 5, environment: {NCX_ROOT: '/data/50% "x"'}})
    expect(units['ncx.socket']).to.match(/^ListenStream=%t\/ncx\/docker\.sock$/m)
    expect(units['ncx.socket']).to.match(/^SocketMode=0600$/m)
    expect(units['ncx.socket']).to.match(/^DirectoryMode=0700$/m)
    expect(units['ncx.socket']).to.match(/^WantedBy=sockets\.target$/m)
    expect(units['ncx.service']).to.match(/^Requires=ncx\.socket$/m)
    expect(units['ncx.service']).to.match(/^KillMode=process$/m)
    expect(units['ncx.service']).to.match(/^ExecStart=\/usr\/bin\/node "\/opt\/my ncx\/bin\/run\.cjs" system service --timeout 5$/m)
    expect(units['ncx.service']).to.match(/^Environment="NCX_ROOT=\/data\/50%% \\"x\\""$/m)
    expect(() => systemdUnits({command: ['ncx'], socketPath: 'relative.sock', timeoutSeconds: 5, environment: {}})).to.throw(/absolute/)
  })

  it('--install writes both units and says what to run when systemctl cannot; --uninstall removes only ours', async () => {
    const {installUnits, uninstallUnits} = await import('../../src/server/systemd.js')
    const {mkdtempSync, readFileSync, existsSync, writeFileSync, rmSync, statSync} = await import('node:fs')
    const {join} = await import('node:path')
    const {tmpdir} = await import('node:os')
    const config = mkdtempSync(join(tmpdir(), 'ncx-units-'))
    const env = {XDG_CONFIG_HOME: config, HOME: '/nonexistent'}
    const calls: string[][] = []
    try {
      const failing = installUnits({command: ['/n', '/r.cjs'], socketPath: '%t/ncx/docker.sock', timeoutSeconds: 5, environment: {}}, env, (args) => (calls.push(args), {args, ok: false, output: 'Failed to connect to bus'}))
      expect(failing.files).to.deep.equal([join(config, 'systemd/user/ncx.socket'), join(config, 'systemd/user/ncx.service')])
      const {callersUmaskValue} = await import('../../src/engine/store/private.js')
      expect(statSync(failing.files[0]).mode & 0o777).to.equal(0o644 & ~callersUmaskValue())
      expect(failing.manual).to.deep.equal(['systemctl --user daemon-reload', 'systemctl --user enable --now ncx.socket'])
      expect(calls).to.deep.equal([['daemon-reload']])
      calls.length = 0
      const working = installUnits({command: ['/n', '/r.cjs'], socketPath: '%t/ncx/docker.sock', timeoutSeconds: 5, environment: {}}, env, (args) => (calls.push(args), {args, ok: true, output: ''}))
      expect(working.manual).to.deep.equal([])
      expect(calls).to.deep.equal([['daemon-reload'], ['enable', '--now', 'ncx.socket']])
      calls.length = 0
      // A unit of the same name that ncx did not write stays.
      writeFileSync(join(config, 'systemd/user/ncx.service'), '[Unit]\nDescription=someone else\n')
      const removed = uninstallUnits(env, (args) => (calls.push(args), {args, ok: true, output: ''}))
      expect(removed.files).to.deep.equal([join(config, 'systemd/user/ncx.socket')])
      expect(existsSync(join(config, 'systemd/user/ncx.socket'))).to.equal(false)
      expect(readFileSync(join(config, 'systemd/user/ncx.service'), 'utf8')).to.match(/someone else/)
      expect(calls).to.deep.equal([['disable', '--now', 'ncx.socket', 'ncx.service'], ['daemon-reload']])
    } finally {
      rmSync(config, {recursive: true, force: true})
    }
  })

  it('takes descriptor 3 only when LISTEN_PID is this process, and clears the variables', async () => {
    const {activationSocket} = await import('../../src/server/systemd.js')
    const env: NodeJS.ProcessEnv = {LISTEN_PID: '42', LISTEN_FDS: '1', LISTEN_FDNAMES: 'ncx.socket'}
    expect(activationSocket(env, 42, () => true)).to.equal(3)
    expect(env).to.deep.equal({})
    expect(activationSocket({LISTEN_PID: '41', LISTEN_FDS: '1'}, 42, () => true)).to.equal(undefined)
    expect(activationSocket({LISTEN_PID: '42', LISTEN_FDS: '0'}, 42, () => true)).to.equal(undefined)
    expect(activationSocket({}, 42, () => true)).to.equal(undefined)
    expect(() => activationSocket({LISTEN_PID: '42', LISTEN_FDS: '1'}, 42, () => false)).to.throw(/descriptor 3 is not a socket/)
  })
})

describe('api server: prune filters and commit Config', () => {
  it("matches Docker's label, label! and until prune filters; other keys are a 400", async () => {
    const {pruneMatcher} = await import('../../src/server/operations.js')
    const f = (o: Record<string, string[]>) => new Map(Object.entries(o))
    const m = pruneMatcher(f({label: ['a', 'b=2'], 'label!': ['c=3']}), ['label', 'label!', 'until'])
    expect(m({a: '', b: '2'}, 0)).to.equal(true)
    expect(m({a: '', b: '1'}, 0)).to.equal(false)
    expect(m({a: '', b: '2', c: '3'}, 0)).to.equal(false)
    const until = pruneMatcher(f({until: ['1h']}), ['until'], 10_000_000)
    expect(until({}, 10_000_000 - 3_600_001)).to.equal(true)
    expect(until({}, 10_000_000 - 60_000)).to.equal(false)
    expect(() => pruneMatcher(f({until: ['soon']}), ['until'])).to.throw(/failed to parse/)
    expect(() => pruneMatcher(f({nosuch: ['1']}), ['label'])).to.throw(/invalid filter 'nosuch'/)
  })
  it('turns Config fields into the instructions commit applies; other given fields are refused', async () => {
    const {commitChanges} = await import('../../src/server/operations.js')
    expect(commitChanges({Cmd: ['cat', '/x'], Env: ['A=b c'], Labels: {k: 'v'}, WorkingDir: '/w', User: '1', Tty: false, ExposedPorts: {}})).to.deep.equal(['CMD ["cat","/x"]', 'ENV A="b c"', 'LABEL "k"="v"', 'WORKDIR /w', 'USER 1'])
    expect(commitChanges(null)).to.deep.equal([])
    expect(() => commitChanges({Healthcheck: {Test: ['NONE']}})).to.throw(/Config\.Healthcheck cannot be changed/)
  })
})
