/**
 * Every command through the start-up paths of bin/run.cjs with the same result (stdout, stderr
 * and exit code): the lite path (dist/lite/*.cjs, the every-day commands without oclif's
 * Config, src/cli/lite.ts), the command bundle (NCX_LITE=0: dist/fast-command.cjs, oclif and
 * the commands from one code-cached bundle) and oclif loaded module by module (NCX_OCLIF=1).
 * The commands come from the oclif manifest, so a new command is covered by itself: each name
 * and alias with a flag it does not have (its module loaded, its flags parsed, Docker's flag
 * error), each command's --help, the read commands on a store with an image and a container,
 * flag and argument errors (which the lite path hands to oclif), and the lifecycle commands.
 */
import {expect} from 'chai'
import {chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Result, Sandbox, installation, userDir} from './harness.js'

interface ManifestCommand {
  id: string
  aliases?: string[]
}

const manifest = JSON.parse(readFileSync(join(installation(), 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, ManifestCommand>}
const commands = Object.values(manifest.commands)
const words = (name: string) => name.split(':')

describe('e2e: every command through the fast path and through oclif alike', function () {
  this.timeout(900_000)
  const box = new Sandbox()
  after(() => box.destroy())

  before(() => {
    box.load('busybox.oci.tar')
    box.ok(['create', '--name', 'fp1', '-p', '127.0.0.1:18123:80', 'busybox', 'echo', 'hello'])
    box.ok(['start', '-a', 'fp1'])
  })

  // (the three run side by side, but a relative time such as `6 seconds ago` may cross a second between them)
  const durations = (t: string) => t.replace(/\b(Less than a second|About an? (minute|hour)|\d+ (seconds?|minutes?|hours?|days?|weeks?|months?|years?))\b/g, 'DURATION')
  const same = (a: Result, b: Result) => a.code === b.code && durations(a.stdout) === durations(b.stdout) && a.stderr === b.stderr
  const shown = (r: Result) => `${r.code} ${JSON.stringify(r.stdout + r.stderr)}`

  /** `args` all three ways; a difference is reported with the results. */
  async function compare(args: string[], input?: string): Promise<string | undefined> {
    const [lite, fast, oclif] = await Promise.all([box.run(args, {input}), box.run(args, {input, env: {NCX_LITE: '0'}}), box.run(args, {input, env: {NCX_OCLIF: '1'}})])
    if (same(lite, oclif) && same(fast, oclif)) return undefined
    return `ncx ${args.join(' ')}\n  lite:  ${shown(lite)}\n  fast:  ${shown(fast)}\n  oclif: ${shown(oclif)}`
  }

  async function compareAll(cases: string[][]): Promise<void> {
    const differences: string[] = []
    for (let i = 0; i < cases.length; i += 2) {
      for (const d of await Promise.all(cases.slice(i, i + 2).map((c) => compare(c)))) if (d) differences.push(d)
    }
    expect(differences.join('\n')).to.equal('')
  }

  it('the manifest lists the commands', () => {
    expect(commands.length).to.be.greaterThan(80)
    expect(commands.map((c) => c.id)).to.include.members(['container:ls', 'image:ls', 'compose:ps', 'version'])
  })

  it('every command and alias: an unknown flag', async () => {
    const names = commands.flatMap((c) => [c.id, ...(c.aliases ?? [])])
    await compareAll(names.map((n) => [...words(n), '--no-such-flag']))
  })

  it('every command: --help', async () => {
    await compareAll(commands.map((c) => [...words(c.id), '--help']))
  })

  it('the read commands, help and unknown commands', async () => {
    await compareAll([
      [],
      ['--help'],
      ['help', 'ps'],
      ['help', 'bogus'],
      ['container'],
      ['rnu'],
      ['ps', 'x'],
      ['ps'],
      ['ps', '-a'],
      ['ps', '-a', '--format', '{{.Names}} {{.Status}}'],
      ['images'],
      ['image', 'ls', '-q'],
      ['inspect', 'fp1'],
      ['inspect', 'nope'],
      ['logs', 'fp1'],
      ['port', 'fp1'],
      ['volume', 'ls'],
      ['network', 'ls'],
      ['compose', 'ps'],
      ['version', '--format', '{{.Client.Version}}'],
      ['system', 'df'],
      ['stop', 'nope'],
      ['rm', '-f', 'nope'],
      ['container', 'ls', '-a', '-q', '--no-trunc'],
      ['ps', '-a', '--filter', 'name=fp1', '--format', '{{.Names}}'],
      ['ps', '-n', '1', '--size'],
      ['images', 'busybox'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}'],
      ['inspect', '--format', '{{.Name}}', 'fp1'],
      ['container', 'inspect', '-f', '{{.State.Status}}', 'fp1'],
      ['image', 'inspect', '--format', '{{.Id}}', 'busybox'],
      ['logs', '--tail', '1', 'fp1'],
      ['logs', '-t', 'fp1'],
      ['port', 'fp1', '80'],
      ['port', 'fp1', '81'],
      ['volume', 'ls', '-q'],
      ['network', 'ls', '--format', '{{.Name}}'],
      ['network', 'inspect', 'bridge'],
      ['version'],
      ['info', '--format', '{{.ServerVersion}}'],
      ['top', 'fp1'],
      ['wait', 'fp1'],
    ])
  })

  it('flag and argument errors (the lite path leaves them to oclif)', async () => {
    await compareAll([
      ['ps', '-n', 'abc'],
      ['ps', '--format'],
      ['ps', '--filter', 'bogus'],
      ['ps', '--filter', 'nope=1'],
      ['ps', '-a=maybe'],
      ['ps', '--last', '1', '--last', '2'],
      ['images', 'a', 'b'],
      ['logs'],
      ['logs', 'fp1', 'fp2'],
      ['logs', '--tail'],
      ['inspect'],
      ['inspect', '--type', 'nope', 'fp1'],
      ['stop'],
      ['stop', '-t', 'x', 'fp1'],
      ['kill', '-s'],
      ['volume', 'ls', 'x'],
      ['network', 'ls', '--filter'],
      ['version', '--format'],
      ['compose', 'ps', '--format'],
      ['compose', 'ps', '--nope'],
      ['port'],
    ])
  })

  it('never reads an argument from piped stdin (oclif did: `echo x | ncx images` filtered by x)', async () => {
    for (const args of [['images'], ['port', 'fp1']]) {
      const d = await compare(args, 'nosuch\n')
      expect(d).to.equal(undefined)
      const r = await box.run(args, {input: 'nosuch\n'})
      expect(r.stdout, `ncx ${args.join(' ')}`).to.equal((await box.run(args)).stdout)
    }
  })

  it('the lifecycle commands, each path on a container of its own', async () => {
    const paths: Record<string, Record<string, string>> = {lite: {}, fast: {NCX_LITE: '0'}, oclif: {NCX_OCLIF: '1'}}
    const results: Record<string, string[]> = {}
    await Promise.all(
      Object.entries(paths).map(async ([name, env]) => {
        const c = `lc-${name}`
        const steps = [['create', '--name', c, 'busybox', 'sleep', '1000'], ['start', c], ['pause', c], ['unpause', c], ['kill', c], ['start', c], ['stop', '-t', '0', c], ['restart', '-t', '0', c], ['rename', c, `${c}-2`], ['rename', `${c}-2`, c], ['stop', '--time', '0', c], ['wait', c], ['rm', c], ['rm', '-f', c]]
        const out: string[] = []
        for (const step of steps) {
          const r = await box.run(step, {env})
          // (the container's id and name differ between the paths)
          out.push(`${step[0]}: ${r.code} ${(r.stdout + r.stderr).replace(/\b[0-9a-f]{64}\b/g, 'ID').replaceAll(c, 'C')}`)
        }
        results[name] = out
      }),
    )
    expect(results.lite).to.deep.equal(results.oclif)
    expect(results.fast).to.deep.equal(results.oclif)
    expect(results.lite.at(-2)).to.match(/^rm: 0 C\n$/)
  })

  it('takes the lite path for the every-day commands, and oclif for help and for errors of flags', async () => {
    // A preload that reports which of ncx's built files the process reads.
    const dir = mkdtempSync(join(tmpdir(), 'ncx-e2e-preload-'))
    chmodSync(dir, 0o755)
    const preload = join(dir, 'reads.cjs')
    writeFileSync(preload, "const fs = require('node:fs'); const read = fs.readFileSync; fs.readFileSync = function (p, ...rest) { if (typeof p === 'string' && /[\\/]dist[\\/]/.test(p) && !p.endsWith('.cache')) process.stderr.write('read ' + p.replace(/.*[\\/]dist[\\/]/, '') + '\\n'); return read.call(this, p, ...rest) }\n", {mode: 0o644})
    const reads = async (args: string[]) => {
      const r = await box.run(args, {env: {NODE_OPTIONS: `--require ${preload}`}})
      // (every command line reads the route table first)
      return [...r.stderr.matchAll(/^read (\S+)$/gm)].map((m) => m[1]).filter((f) => f !== 'lite/routes.cjs')
    }
    expect(await reads(['ps'])).to.deep.equal(['lite/ps.cjs'])
    expect(await reads(['container', 'ls', '-a'])).to.deep.equal(['lite/ps.cjs'])
    expect(await reads(['images'])).to.deep.equal(['lite/images.cjs'])
    expect(await reads(['volume', 'ls'])).to.deep.equal(['lite/volumes.cjs'])
    expect(await reads(['stop', 'nope'])).to.deep.equal(['lite/lifecycle.cjs'])
    expect(await reads(['ps', '-n', 'abc'])).to.deep.equal(['lite/ps.cjs', 'fast-command.cjs'])
    expect(await reads(['ps', '--help'])).to.deep.equal(['fast-command.cjs'])
    expect(await reads(['help'])).to.deep.equal(['fast-command.cjs'])
  })

  it('takes the fast path: no module of oclif or of dist/src is loaded', async () => {
    for (const args of [['ps'], ['images'], ['ps', '--help'], ['volume', 'ls']]) {
      const r = await box.run(args, {env: {NODE_DEBUG: 'module'}})
      expect(r.code, `ncx ${args.join(' ')}: ${r.stderr}`).to.equal(0)
      expect(r.stderr, `ncx ${args.join(' ')}`).not.to.match(/@oclif\/core|dist\/src\//)
      // (the reference path does load them: the check can fail)
      const reference = await box.run(args, {env: {NODE_DEBUG: 'module', NCX_OCLIF: '1'}})
      expect(reference.stderr).to.match(/@oclif\/core/)
    }
  })

  it('run --rm and run -d start the runtime without node:child_process (the addon spawns it)', async () => {
    // Node's own list of the built-in modules it loaded, printed as the process exits.
    const dir = userDir('ncx-e2e-builtins-')
    const hook = join(dir, 'builtins.cjs')
    writeFileSync(hook, "process.on('exit', () => process.stderr.write('\\nBUILTINS ' + process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).join(',') + '\\n'))\n", {mode: 0o644})
    const builtins = (r: Result) => (/BUILTINS (.*)/.exec(r.stderr)?.[1] ?? '').split(',').map((m) => m.replace('NativeModule ', ''))
    const env = {NODE_OPTIONS: `--require=${hook}`}
    for (const args of [['run', '--rm', '--network', 'none', 'busybox', 'true'], ['run', '-d', '--network', 'none', 'busybox', 'true']]) {
      const r = await box.run(args, {env})
      expect(r.code, r.stderr).to.equal(0)
      const loaded = builtins(r)
      expect(loaded, 'the hook reported').to.include('fs')
      expect(loaded, `ncx ${args.join(' ')}`).not.to.include('child_process')
    }
    // (exec still spawns through it: the check can fail)
    box.ok(['run', '-d', '--name', 'builtins', '--network', 'none', 'busybox', 'sleep', '100'])
    const e = await box.run(['exec', 'builtins', 'true'], {env})
    box.ok(['rm', '-f', 'builtins'])
    expect(e.code, e.stderr).to.equal(0)
    expect(builtins(e)).to.include('child_process')
  })

  it("run and exec keep the user's warm code cache of dist/fast.cjs: written after a success, used, replaced when V8 refuses it", () => {
    const cache = userDir('ncx-e2e-cache-')
    const env = {XDG_CACHE_HOME: cache}
    const files = () => (existsSync(join(cache, 'ncx')) ? readdirSync(join(cache, 'ncx')).filter((f) => f.startsWith('fast-')).sort() : [])
    const run = (word: string) => box.ok(['run', '--rm', '--network', 'none', 'busybox', 'echo', word], {env})
    // A failed command writes none, nor does one with NCX_WARM_CACHE=0.
    expect(box.ncx(['run', '--rm', '--network', 'none', 'busybox', 'false'], {env}).code).to.equal(1)
    expect(box.ok(['run', '--rm', '--network', 'none', 'busybox', 'true'], {env: {...env, NCX_WARM_CACHE: '0'}})).to.equal('')
    expect(files()).to.deep.equal([])
    expect(run('one')).to.equal('one\n')
    expect(files()).to.have.length(1)
    expect(files()[0]).to.match(/^fast-run-\d+-\d+-v[\d.]+-\w+\.cache$/)
    const file = join(cache, 'ncx', files()[0])
    expect(statSync(file).mode & 0o777).to.equal(0o600)
    // Used as it is (not written again).
    const written = statSync(file).mtimeMs
    expect(run('two')).to.equal('two\n')
    expect(statSync(file).mtimeMs).to.equal(written)
    // One that V8 refuses: the command runs all the same, and the cache is written anew.
    writeFileSync(file, 'not a code cache')
    expect(run('three')).to.equal('three\n')
    expect(statSync(file).size).to.be.greaterThan(10_000)
    // A detached run and an exec have caches of their own; the foreground one stays.
    box.ok(['run', '-d', '--name', 'warm', '--network', 'none', 'busybox', 'sleep', '100'], {env})
    expect(box.ok(['exec', 'warm', 'echo', 'four'], {env})).to.equal('four\n')
    box.ok(['rm', '-f', 'warm'])
    expect(files().map((f) => /^fast-(.+?)-\d/.exec(f)![1])).to.deep.equal(['exec', 'run', 'run-d'])
    // A stale cache of an older bundle or Node is removed when its successor is written.
    const stale = join(cache, 'ncx', 'fast-run-1-1-v0.0.0-x64.cache')
    writeFileSync(stale, 'old')
    rmSync(file)
    expect(run('five')).to.equal('five\n')
    expect(existsSync(stale)).to.equal(false)
    expect(existsSync(file)).to.equal(true)
    // A cache directory the user cannot write: the command runs as ever (with the build's cache).
    const readOnly = userDir('ncx-e2e-cache-ro-')
    chmodSync(readOnly, 0o555)
    expect(box.ok(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'six'], {env: {XDG_CACHE_HOME: readOnly}})).to.equal('six\n')
    expect(readdirSync(readOnly)).to.deep.equal([])
  })
})
