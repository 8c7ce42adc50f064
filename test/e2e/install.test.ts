/**
 * Installing ncx the way users do: `npm install -g` of the tarballs `npm run package` wrote
 * (the main package, and this machine's @ncx/native-<triple> served by a local registry for
 * the @ncx scope, so npm picks it by os/cpu/libc itself), into an empty prefix, as the
 * unprivileged test user, with no cargo on PATH and, as root, the checkout hidden under an
 * empty tmpfs (a private mount namespace): nothing may come from the repository.
 *
 * The tarballs: $NCX_PACK_DIR (the release workflow hands in the ones it built), else pack/
 * when it holds this version (`.ci/run` runs `npm run package`), else `npm run package
 * --no-build` is run here from the current build.
 */
import {expect} from 'chai'
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, copyFileSync, existsSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {Result, TestUser, asRoot, images, repo, user, userDir} from './harness.js'
import {fetchText, freePort} from './net-helpers.js'
import {type LocalRegistry, startNativeRegistry} from './npm-registry.js'

const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {version: string}).version
const hostTriple = (): string => spawnSync(process.execPath, ['--input-type=module', '-e', "import {platformTriple} from './dist/src/native/index.js'; console.log(platformTriple())"], {cwd: repo, encoding: 'utf8'}).stdout.trim()

/** A directory with ncx-<version>.tgz and the native tarballs, readable by the test user. */
function tarballs(): string {
  let source = process.env.NCX_PACK_DIR
  if (!source) {
    source = join(repo, 'pack')
    if (!existsSync(join(source, `ncx-${version}.tgz`))) {
      const r = spawnSync(process.execPath, [join(repo, 'scripts', 'package.js'), '--no-build'], {cwd: repo, encoding: 'utf8'})
      if (r.status !== 0) throw new Error(`npm run package --no-build failed:\n${r.stdout}\n${r.stderr}`)
    }
  }
  const dir = userDir('ncx-e2e-tarballs-')
  for (const f of readdirSync(source).filter((f) => f.endsWith('.tgz'))) {
    copyFileSync(join(source, f), join(dir, f))
    chmodSync(join(dir, f), 0o644)
  }
  return dir
}

/** Paths the installed ncx must do without: the checkout and, when it lives elsewhere, its node_modules. */
function hiddenPaths(): string[] {
  const paths = [realpathSync(repo)]
  const modules = realpathSync(join(repo, 'node_modules'))
  if (!modules.startsWith(`${paths[0]}/`)) paths.push(modules)
  return paths
}

interface Installed {
  prefix: string
  home: string
  xdg: string
  root: string
}

/** npm's settings this machine needs to reach its registry (a CA bundle), carried into env -i. */
function npmEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const k of ['NODE_EXTRA_CA_CERTS', 'npm_config_cafile', 'npm_config_registry', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY']) if (process.env[k]) env[k] = process.env[k]!
  if (!env.npm_config_cafile && existsSync('/etc/ssl/certs/ca-certificates.crt')) env.npm_config_cafile = '/etc/ssl/certs/ca-certificates.crt'
  return env
}

/**
 * Run `argv` as `who` (as root: setpriv, inside a private mount namespace where the checkout is
 * an empty tmpfs) with only `env`; asynchronous, because the registry runs in this process.
 */
async function runAs(who: TestUser | 'root', argv: string[], env: Record<string, string>, timeout = 300_000): Promise<Result> {
  const envArgs = ['env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)]
  const drop = who === 'root' || !asRoot ? [] : ['setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, '--init-groups']
  const hide = asRoot ? ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'for p in $NCX_HIDE; do mount -t tmpfs -o ro,size=4k ncx-hidden "$p" || exit 125; done; exec "$@"', 'sh'] : []
  const [command, ...args] = [...hide, ...drop, ...envArgs, ...argv]
  const child = spawn(command, args, {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, NCX_HIDE: hiddenPaths().join(' ')}})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 137)))
  clearTimeout(timer)
  return {code, stdout, stderr}
}

function must(r: Result, what: string): Result {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  return r
}

function newInstall(owner: TestUser): Installed {
  const inst = {prefix: userDir('ncx-e2e-prefix-', owner), home: userDir('ncx-e2e-home-', owner), xdg: userDir('ncx-e2e-xdg-', owner), root: userDir('ncx-e2e-root-', owner)}
  chmodSync(inst.xdg, 0o700)
  return inst
}

/** The environment of an ordinary user with the prefix's bin first on PATH (no cargo anywhere on it). */
function userEnv(inst: Installed): Record<string, string> {
  return {PATH: `${inst.prefix}/bin:/usr/local/bin:/usr/bin:/bin`, HOME: inst.home, USER: user.name, XDG_RUNTIME_DIR: inst.xdg, NCX_ROOT: inst.root, NO_COLOR: '1', ...npmEnv()}
}

const npmInstall = (inst: Installed, registry: LocalRegistry, tgz: string, extra: string[] = []) => [
  'npm',
  'install',
  '--global',
  '--prefix',
  inst.prefix,
  tgz,
  `--@ncx:registry=${registry.url}`,
  '--foreground-scripts',
  '--no-audit',
  '--no-fund',
  '--no-update-notifier',
  ...extra,
]

/** Stop what ncx left running for this installation (holder, network namespace) and remove its stores. */
function teardown(inst: Installed, runtime: string): void {
  const record = join(inst.xdg, 'ncx', 'userns.json')
  const holder = existsSync(record) ? (JSON.parse(readFileSync(record, 'utf8')) as {pid: number}).pid : undefined
  if (holder && existsSync(runtime)) {
    const args = ['rmtree', '--userns-pid', String(holder), inst.root]
    if (asRoot) spawnSync('runuser', ['-u', user.name, '--', runtime, ...args])
    else spawnSync(runtime, args)
  }
  for (const [file, signal] of [[record, 'SIGKILL'], [join(inst.xdg, 'ncx', 'netns.json'), 'SIGTERM']] as const) {
    if (!existsSync(file)) continue
    try {
      process.kill((JSON.parse(readFileSync(file, 'utf8')) as {pid: number}).pid, signal)
    } catch {
      // gone
    }
  }
  rmSync(inst.root, {recursive: true, force: true})
}

describe('npm install -g of the packed tarballs (e2e)', function () {
  this.timeout(600_000)
  const triple = hostTriple()
  let dir: string
  let registry: LocalRegistry
  let inst: Installed
  let env: Record<string, string>
  let installOutput: Result
  const pkgDir = () => join(inst.prefix, 'lib', 'node_modules', 'ncx')
  const nativeDir = () => join(pkgDir(), 'node_modules', '@ncx', `native-${triple}`)
  const ncx = (args: string[], timeout?: number) => runAs(user, ['ncx', ...args], env, timeout)
  const ok = async (args: string[]) => must(await ncx(args), `ncx ${args.join(' ')}`).stdout

  before(async () => {
    dir = tarballs()
    expect(existsSync(join(dir, `ncx-native-${triple}-${version}.tgz`)), `no native tarball for ${triple} in ${dir}`).to.equal(true)
    registry = await startNativeRegistry(dir, join(repo, 'npm'), version)
    inst = newInstall(user)
    env = userEnv(inst)
    installOutput = await runAs(user, npmInstall(inst, registry, join(dir, `ncx-${version}.tgz`)), env)
  })
  after(async () => {
    if (inst) teardown(inst, join(nativeDir(), 'ncx-runtime'))
    await registry?.close()
  })

  it('installs with no cargo on PATH, npm picking the prebuilt package by os/cpu/libc: nothing is built', async () => {
    must(installOutput, 'npm install -g')
    expect((await runAs(user, ['sh', '-c', 'command -v cargo rustc || echo none'], env)).stdout.trim()).to.equal('none')
    expect(installOutput.stdout + installOutput.stderr).not.to.match(/building the native parts|build-native/)
    for (const f of [`ncx.${triple}.node`, 'ncx-runtime', 'ncx-init']) expect(existsSync(join(nativeDir(), f)), f).to.equal(true)
    expect(existsSync(join(pkgDir(), 'native')), 'a native/ build in the installed package').to.equal(false)
    // Only this platform's tarball was fetched; the other triples were skipped by their fields.
    expect(registry.requests.filter((p) => p.startsWith('/-/tarballs/'))).to.deep.equal([`/-/tarballs/ncx-native-${triple}-${version}.tgz`])
    // Nothing of the repository's development tools came along.
    for (const dev of ['typescript', 'esbuild', 'mocha', 'oclif', 'tsx']) expect(existsSync(join(pkgDir(), 'node_modules', dev)), dev).to.equal(false)
  })

  it('ncx --version and ncx version run from the prefix, with the runtime of the native package', async () => {
    expect(await ok(['--version'])).to.match(new RegExp(`^ncx/${version.replace(/\./g, '\\.')} linux-`))
    const v = await ok(['version'])
    expect(v).to.contain(`Path:             ${join(nativeDir(), 'ncx-runtime')}`)
    // oclif's help, through the package's own help class and the manifest.
    expect(await ok(['--help'])).to.match(/^ {2}run\s/m)
  })

  it('load, run --rm, run -d -p, completion and compose work as the unprivileged user', async () => {
    expect(await ok(['load', '-i', join(images(), 'busybox.oci.tar')])).to.contain('Loaded image: busybox:latest')
    expect((await ok(['run', '--rm', 'busybox', 'echo', 'ok'])).trim()).to.equal('ok')

    const port = await freePort()
    await ok(['run', '-d', '--name', 'web', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'mkdir /w && echo served > /w/index.html && exec httpd -f -p 80 -h /w'])
    expect((await fetchText(port)).trim()).to.equal('served')
    await ok(['rm', '-f', 'web'])

    // Tab completion: the hidden __complete (the shells' scripts call it) and the script itself.
    expect(await ok(['__complete', 'run', 'bu'])).to.match(/^busybox:latest\b/m)
    expect(await ok(['__complete', 'ima'])).to.match(/^images\b/m)
    expect(await ok(['completion', 'bash'])).to.contain('__complete')

    const project = userDir('ncx-e2e-install-compose-')
    writeFileSync(join(project, 'compose.yaml'), 'services:\n  app:\n    image: busybox\n    command: sleep 300\n', {mode: 0o644})
    await ok(['compose', '--project-directory', project, '-p', 'inst', 'up', '-d'])
    expect(await ok(['ps', '--format', '{{.Names}}'])).to.match(/inst-app-1/)
    await ok(['compose', '--project-directory', project, '-p', 'inst', 'down'])
    expect((await ok(['ps', '-aq'])).trim()).to.equal('')

    // build has a fast-path bundle of its own (dist/fast-build.cjs): it must ship too.
    writeFileSync(join(project, 'Dockerfile'), 'FROM busybox\nRUN echo built > /built\n', {mode: 0o644})
    await ok(['build', '-q', '-t', 'inst-built', project])
    expect((await ok(['run', '--rm', 'inst-built', 'cat', '/built'])).trim()).to.equal('built')
  })
  it("the AppArmor profile the installed ncx prints for its runtime compiles (apparmor_parser -Q), a broken one does not", async () => {
    const profile = await ok(['system', 'doctor', '--apparmor-profile'])
    expect(profile).to.contain(`profile ncx-runtime ${join(nativeDir(), 'ncx-runtime')} flags=(unconfined) {\n  userns,\n`)
    const scratch = userDir('ncx-e2e-apparmor-')
    const check = (text: string) => {
      writeFileSync(join(scratch, 'ncx-runtime'), text)
      return spawnSync('bash', [join(repo, 'scripts', 'check-apparmor-profile.sh'), join(scratch, 'ncx-runtime')], {encoding: 'utf8', timeout: 300_000})
    }
    const good = check(profile)
    expect(good.status, good.stderr).to.equal(0)
    const bad = check(profile.replace('userns,', 'usernz,'))
    expect(bad.status).not.to.equal(0)
    expect(bad.stderr).to.contain('AppArmor parser error')
  })
})

describe('npm install -g without a prebuilt package for this platform (e2e)', function () {
  this.timeout(900_000)
  const triple = hostTriple()
  let dir: string
  let registry: LocalRegistry

  before(async () => {
    dir = tarballs()
    // An @ncx scope with nothing published: as on a platform no native package is built for.
    registry = await startNativeRegistry(dir, join(repo, 'npm'), version, [])
  })
  after(async () => {
    await registry?.close()
  })

  it('without cargo: the install fails and says which package is missing and how to get one', async () => {
    const inst = newInstall(user)
    const r = await runAs(user, npmInstall(inst, registry, join(dir, `ncx-${version}.tgz`)), userEnv(inst))
    expect(r.code).not.to.equal(0)
    const out = r.stdout + r.stderr
    expect(out).to.contain(`the native parts for ${triple} are missing`)
    expect(out).to.contain(`@ncx/native-${triple} is not installed`)
    expect(out).to.contain('"cargo" is not on PATH')

    // With install scripts off, the install goes through; ncx then says what is missing when used.
    const skipped = newInstall(user)
    const env = userEnv(skipped)
    must(await runAs(user, npmInstall(skipped, registry, join(dir, `ncx-${version}.tgz`), ['--ignore-scripts']), env), 'npm install -g --ignore-scripts')
    for (const args of [['load', '-i', join(images(), 'busybox.oci.tar')], ['info']]) {
      const r = await runAs(user, ['ncx', ...args], env)
      expect(r.code, `ncx ${args.join(' ')}`).not.to.equal(0) // Docker's code for each command (load 1, info 125)
      expect(r.stderr).to.contain(`not available: no local build (${join(skipped.prefix, 'lib', 'node_modules', 'ncx', 'native')}`)
      expect(r.stderr).to.contain(`prebuilt package @ncx/native-${triple} is not installed`)
      expect(r.stderr).to.contain('--build-from-source')
    }
  })

  it('with cargo: builds the native parts from source, says so, and ncx uses that build', async function () {
    const cargo = spawnSync('sh', ['-c', 'command -v cargo'], {encoding: 'utf8'}).stdout.trim()
    if (!cargo) throw new Error('cargo is needed on PATH for the from-source test (the build machine has it)')
    // As the user running the tests (root in CI): it has cargo and crates.io's cache. The build
    // shares this checkout's target directory so the dependencies are not compiled again.
    const owner: TestUser = asRoot ? {name: 'root', uid: 0, gid: 0, home: '/root'} : user
    const inst = newInstall(owner)
    const env: Record<string, string> = {...userEnv(inst), HOME: process.env.HOME ?? owner.home, PATH: `${inst.prefix}/bin:${process.env.PATH}`, CARGO_TARGET_DIR: join(repo, 'target')}
    if (process.env.CARGO_HOME) env.CARGO_HOME = process.env.CARGO_HOME
    if (process.env.RUSTUP_HOME) env.RUSTUP_HOME = process.env.RUSTUP_HOME
    // The target directory is inside the checkout: this one install may see the checkout.
    const r = await runAsVisible(npmInstall(inst, registry, join(dir, `ncx-${version}.tgz`), ['--build-from-source']), env)
    must(r, 'npm install -g --build-from-source')
    const out = r.stdout + r.stderr
    expect(out).to.contain(`--build-from-source: building the native parts for ${triple} with cargo`)
    expect(out).to.match(/build-native: built .*ncx\.linux-.*\.node, .*ncx-runtime and .*ncx-init/)
    const pkg = join(inst.prefix, 'lib', 'node_modules', 'ncx')
    for (const f of [`ncx.${triple}.node`, 'ncx-runtime', 'ncx-init']) expect(existsSync(join(pkg, 'native', f)), f).to.equal(true)
    const v = must(await runAsVisible(['ncx', 'version'], env), 'ncx version').stdout
    expect(v).to.contain(`Path:             ${join(pkg, 'native', 'ncx-runtime')}`)
    rmSync(inst.prefix, {recursive: true, force: true})
  })
})

/** As the test runner's own user, with the checkout visible (for the from-source build, which uses its target/). */
async function runAsVisible(argv: string[], env: Record<string, string>): Promise<Result> {
  const child = spawn('env', ['-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv], {stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 137)))
  return {code, stdout, stderr}
}
