/**
 * The command-line experience end to end, as the test user: system doctor (with each broken
 * prerequisite simulated through its injectable paths), system df / prune (confirmation
 * rules), version, events, ncx.toml, help, and plain output without a terminal.
 */
import {expect} from 'chai'
import {execFileSync, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Result, Sandbox, asRoot, installation, userDir} from './harness.js'

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** Run ncx under `script`, so stdin and stdout are a terminal. */
function inTerminal(box: Sandbox, args: string[], input = '', env: Record<string, string> = {}): Result {
  const vars = Object.entries({...box.env(), ...env}).map(([k, v]) => `${k}=${v}`)
  const cli = [process.execPath, join(installation(), 'bin', 'run.cjs'), ...args]
  const command = asRoot ? ['runuser', '-u', box.owner.name, '--', 'env', '-i', ...vars, ...cli] : ['env', '-i', ...vars, ...cli]
  const r = spawnSync('script', ['-qec', command.map(quote).join(' '), '/dev/null'], {input, encoding: 'utf8', timeout: 60_000})
  return {code: r.status ?? 137, stdout: r.stdout.replace(/\r\n/g, '\n'), stderr: r.stderr}
}

const ESC = '\u001b'

describe('e2e: system doctor, df, prune, version, events, config, help, plain output', function () {
  this.timeout(180_000)
  const box = new Sandbox()
  const scratch = mkdtempSync(join(tmpdir(), 'ncx-cli-e2e-'))
  chmodSync(scratch, 0o755)
  after(() => {
    box.destroy()
    rmSync(scratch, {recursive: true, force: true})
  })

  before(() => {
    box.load('busybox.oci.tar')
  })

  describe('system doctor', () => {
    it('passes on this machine (exit 0) and reports every check as JSON', () => {
      const r = box.ncx(['system', 'doctor', '--format', 'json'])
      expect(r.code, r.stderr).to.equal(0)
      const report = JSON.parse(r.stdout) as {ok: boolean; checks: Array<{id: string; status: string}>}
      expect(report.ok).to.equal(true)
      const ids = report.checks.map((c) => c.id)
      for (const id of ['max_user_namespaces', 'unprivileged_userns_clone', 'apparmor_userns', 'subuid', 'subgid', 'newuidmap', 'newgidmap', 'runtime', 'xdg_runtime_dir', 'storage', 'disk', 'slirp4netns', 'ports', 'ping', 'cgroup']) {
        expect(ids).to.include(id)
      }
      expect(report.checks.find((c) => c.id === 'subuid')?.status).to.equal('ok')
    })

    it('warns with the usermod fix on an empty subuid file', () => {
      const empty = join(scratch, 'subuid-empty')
      writeFileSync(empty, '')
      chmodSync(empty, 0o644)
      const r = box.ncx(['system', 'doctor', '--subuid-file', empty])
      expect(r.stdout).to.match(/\[warn\] subordinate uids \(.*subuid-empty\): no range for /)
      // A range no one has in /etc/subgid (the other file doctor reads), 65536 ids long.
      const [, first, last] = /fix: sudo usermod --add-subuids (\d+)-(\d+) \S+/.exec(r.stdout) ?? []
      expect(Number(last) - Number(first) + 1).to.equal(65536)
      for (const line of readFileSync('/etc/subgid', 'utf8').split('\n').filter(Boolean)) {
        const [, start, count] = line.split(':').map(Number)
        expect(start + count <= Number(first) || start > Number(last), `${line} overlaps ${first}-${last}`).to.equal(true)
      }
    })

    it('warns on newuidmap and slirp4netns missing from PATH', () => {
      const bin = join(scratch, 'bin-without-tools')
      mkdirSync(bin, {recursive: true})
      chmodSync(bin, 0o755)
      const r = box.ncx(['system', 'doctor'], {env: {PATH: bin}})
      expect(r.stdout).to.contain('[warn] newuidmap: not found on PATH').and.contain('fix: sudo apt-get install uidmap')
      expect(r.stdout).to.contain('[warn] container networking (slirp4netns, /dev/net/tun): slirp4netns was not found on PATH')
    })

    it('fails (exit 1) when user namespaces are disabled or AppArmor restricts them', () => {
      const sys = join(scratch, 'sys')
      for (const d of ['user', 'kernel', 'net/ipv4']) mkdirSync(join(sys, d), {recursive: true})
      writeFileSync(join(sys, 'user', 'max_user_namespaces'), '0\n')
      writeFileSync(join(sys, 'kernel', 'apparmor_restrict_unprivileged_userns'), '1\n')
      spawnSync('chmod', ['-R', 'a+rX', sys])
      const r = box.ncx(['system', 'doctor', '--proc-sys', sys])
      expect(r.code).to.equal(1)
      expect(r.stdout).to.contain('[fail] user.max_user_namespaces: is 0').and.contain('fix: sudo sysctl -w user.max_user_namespaces=28633')
      expect(r.stdout).to.contain('[fail] kernel.apparmor_restrict_unprivileged_userns: is 1').and.contain('apparmor_parser -r /etc/apparmor.d/ncx-runtime')
      expect(r.stdout).to.contain('ncx cannot run containers here until the failures are fixed (2 failed')
    })

    it('prints the AppArmor profile for the installed runtime', () => {
      const out = box.ok(['system', 'doctor', '--apparmor-profile'])
      expect(out).to.contain(`profile ncx-runtime ${join(installation(), 'native', 'ncx-runtime')} flags=(unconfined) {`).and.contain('  userns,')
    })

    it('colours on a terminal, not with NO_COLOR, and never through a pipe', function () {
      if (spawnSync('sh', ['-c', 'command -v script']).status !== 0) this.skip()
      expect(inTerminal(box, ['system', 'doctor'], '', {NO_COLOR: ''}).stdout).to.contain(`${ESC}[32m[ok]`)
      expect(inTerminal(box, ['system', 'doctor'], '', {NO_COLOR: '1'}).stdout).not.to.contain(ESC)
      expect(box.ncx(['system', 'doctor'], {env: {NO_COLOR: ''}}).stdout).not.to.contain(ESC)
    })
  })

  describe('system df and prune', () => {
    it('counts images, containers and reclaimable space', () => {
      box.ok(['run', '--network', 'none', '--name', 'df-writer', 'busybox', 'sh', '-c', 'dd if=/dev/zero of=/blob bs=1k count=200 2>/dev/null'])
      const rows = box
        .ok(['system', 'df', '--format', 'json'])
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, string>)
      expect(rows.map((r) => r.Type)).to.deep.equal(['Images', 'Containers', 'Local Volumes', 'Build Cache'])
      expect(rows[0]).to.include({TotalCount: '1', Active: '1'})
      expect(rows[1]).to.include({TotalCount: '1', Active: '0', Size: '205kB', Reclaimable: '205kB (100%)'})
      const table = box.ok(['system', 'df'])
      expect(table.split('\n')[0]).to.match(/^TYPE {12}TOTAL {5}ACTIVE {4}SIZE {6}RECLAIMABLE$/)
      expect(box.ok(['system', 'df', '-v'])).to.contain('Containers space usage:').and.contain('df-writer')
    })

    it('refuses without a terminal, and with CI=true, unless -f', () => {
      for (const env of [{}, {CI: 'true'}] as Array<Record<string, string>>) {
        const r = box.ncx(['system', 'prune'], {input: 'y\n', env})
        expect(r.code).to.equal(1)
        expect(r.stderr).to.contain('system prune deletes data and needs confirmation, but there is no terminal to ask on').and.contain('add -f (--force)')
      }
      expect(box.ok(['ps', '-aq'])).not.to.equal('')
    })

    it('asks on a terminal (no: nothing removed), never in CI even on a terminal', function () {
      if (spawnSync('sh', ['-c', 'command -v script']).status !== 0) this.skip()
      const asked = inTerminal(box, ['system', 'prune'], 'n\n')
      expect(asked.stdout).to.contain('WARNING! This will remove:').and.contain('all stopped containers')
      expect(asked.stdout).not.to.contain('Total reclaimed space')
      const ci = inTerminal(box, ['system', 'prune'], '', {CI: 'true'})
      expect(ci.code).to.equal(1)
      expect(ci.stdout).to.contain('(CI is set)')
      expect(box.ok(['ps', '-aq'])).not.to.equal('')
    })

    it('removes stopped containers and unused images with -af', () => {
      const out = box.ok(['system', 'prune', '-af'])
      expect(out).to.match(/^Deleted Containers:\n[0-9a-f]{64}\n\nDeleted Images:\nuntagged: busybox:latest\ndeleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: \S+\n$/)
      expect(box.ok(['ps', '-aq'])).to.equal('')
      expect(box.ok(['images', '-q'])).to.equal('')
      box.load('busybox.oci.tar')
    })
  })

  it('version prints client, engine, Rust core and OCI runtime-spec versions', () => {
    const out = box.ok(['version'])
    expect(out).to.match(/^Client:\n Version: +\d+\.\d+\.\d+/)
    expect(out).to.match(/Rust core: +\d+\.\d+\.\d+/).and.match(/OCI runtime-spec: 1\.0\.2/)
    expect(box.ok(['version', '--format', '{{.Server.OciRuntimeSpecVersion}} {{.Client.Os}}'])).to.equal('1.0.2 linux\n')
  })

  it('version: the runtime version cached in XDG_CACHE_HOME gives the output the spawned runtime gives', () => {
    const cache = userDir('ncx-e2e-cache-')
    const env = {XDG_CACHE_HOME: cache}
    const runtime = box.ok(['version', '--format', '{{.Server.Runtime.Path}}']).trim()
    const spawned = execFileSync(runtime, ['version'], {encoding: 'utf8'}).trim().replace(/^ncx-runtime\s+/, '')
    const first = box.ok(['version'], {env})
    expect(existsSync(join(cache, 'ncx', 'runtime-version.json'))).to.equal(true)
    const second = box.ok(['version'], {env})
    expect(second).to.equal(first)
    expect(first).to.include(`Rust core:        ${spawned}\n`).and.include(`  Version:          ${spawned}\n  Path:             ${runtime}\n`)
    expect(box.ok(['version'], {env: {XDG_CACHE_HOME: join(cache, 'missing')}})).to.equal(first)
  })

  it('events: records the lifecycle (die from the monitor with its exit code), filters, formats and follows', async () => {
    const follower = box.spawn(['events', '--filter', 'container=ev-web', '--filter', 'container=ev-probe', '--format', '{{.Actor.Attributes.name}} {{.Action}}'], {stdio: ['ignore', 'pipe', 'pipe']})
    let live = ''
    follower.stdout!.on('data', (d: Buffer) => (live += d))
    // Until a probe container's events come through, the follower is not reading yet (a fixed
    // wait missed create and start on a busy machine).
    for (let i = 0; !live.includes('ev-probe create'); i++) {
      if (i === 60) throw new Error(`events never followed: ${live}`)
      box.ok(['create', '--network', 'none', '--name', 'ev-probe', 'busybox', 'true'])
      box.ok(['rm', 'ev-probe'])
      await new Promise((r) => setTimeout(r, 500))
    }
    box.ok(['run', '-d', '--network', 'none', '--name', 'ev-web', 'busybox', 'sh', '-c', 'sleep 0.3; exit 7'])
    box.ok(['wait', 'ev-web'])
    box.ok(['rm', 'ev-web'])
    await new Promise((r) => setTimeout(r, 1000))
    follower.kill('SIGTERM')
    await new Promise((r) => follower.on('close', r))
    const web = live.trim().split('\n').filter((l) => l.startsWith('ev-web '))
    expect(web.map((l) => l.slice('ev-web '.length))).to.deep.equal(['create', 'start', 'die', 'destroy'])
    const past = box.ok(['events', '--since', '5m', '--until', '0s', '--filter', 'event=die', '--filter', 'container=ev-web', '--format', '{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}'])
    expect(past).to.equal('ev-web 7\n')
    const line = box.ok(['events', '--since', '5m', '--until', '0s', '--filter', 'container=ev-web', '--filter', 'event=create'])
    expect(line).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container create [0-9a-f]{64} \(image=busybox, name=ev-web\)\n$/)
    // A detached --rm container is removed by its monitor, which records the destroy.
    box.ok(['run', '-d', '--rm', '--network', 'none', '--name', 'ev-rm', 'busybox', 'true'])
    for (let i = 0; i < 100 && box.ok(['ps', '-aq', '--filter', 'name=ev-rm']).trim() !== ''; i++) await new Promise((r) => setTimeout(r, 100))
    expect(box.ok(['events', '--since', '5m', '--until', '0s', '--filter', 'container=ev-rm', '--format', '{{.Action}}'])).to.equal('create\nstart\ndie\ndestroy\n')
  })

  it('stats streams a table a second until interrupted, with no escape codes off a terminal; --no-stream prints one', async () => {
    box.ok(['run', '-d', '--network', 'none', '--name', 'st-live', 'busybox', 'sleep', '60'])
    const stream = box.spawn(['stats', '--format', 'table {{.Name}}\t{{.PIDs}}', 'st-live'], {stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    stream.stdout!.on('data', (d: Buffer) => (out += d))
    // The first frame comes after the one-second CPU baseline; then one a second, until interrupted.
    const frames = () => out.split('\n').filter((l) => l.startsWith('NAME')).length
    const started = Date.now()
    for (let i = 0; i < 200 && frames() < 3; i++) await new Promise((r) => setTimeout(r, 100))
    const elapsed = Date.now() - started
    stream.kill('SIGINT')
    await new Promise((r) => stream.on('close', r))
    expect(frames(), out).to.be.at.least(3)
    expect(elapsed, 'three frames take about two seconds after the first').to.be.at.least(2000)
    expect(out.split('\n').filter((l) => l.startsWith('st-live')).length).to.equal(frames())
    expect(out).to.not.match(/\u001B/)
    const once = box.ok(['stats', '--no-stream', '--format', '{{.Name}}', 'st-live'])
    expect(once).to.equal('st-live\n')
    box.ok(['rm', '-f', 'st-live'])
  })

  it('events: images (tag, untag), networks and volumes (create, destroy), each selected by its own filter', () => {
    box.ok(['volume', 'create', 'ev-vol'])
    box.ok(['volume', 'rm', 'ev-vol'])
    box.ok(['network', 'create', 'ev-net'])
    box.ok(['network', 'rm', 'ev-net'])
    box.ok(['tag', 'busybox', 'ev-img:v1'])
    box.ok(['rmi', 'ev-img:v1'])
    const past = (...args: string[]) => box.ok(['events', '--since', '1h', '--until', '0s', ...args])
    expect(past('--filter', 'volume=ev-vol', '--format', '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}')).to.equal('volume create ev-vol local\nvolume destroy ev-vol local\n')
    const nets = past('--filter', 'network=ev-net', '--format', '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}} {{.Actor.ID}}')
    expect(nets).to.match(/^create ev-net bridge ([0-9a-f]{64})\ndestroy ev-net bridge \1\n$/)
    const id = box.ok(['image', 'inspect', '--format', '{{.Id}}', 'busybox']).trim()
    const images = past('--filter', 'type=image', '--filter', 'event=tag', '--filter', 'event=untag', '--format', '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}')
    expect(images.trim().split('\n').slice(-2)).to.deep.equal([`tag ${id} ev-img:v1`, `untag ${id} ${id}`])
    // The text line of a network event, as Docker prints it.
    expect(past('--filter', 'type=network', '--filter', 'event=destroy')).to.match(/ network destroy [0-9a-f]{64} \(name=ev-net, type=bridge\)\n$/)
  })

  it('ncx.toml sets the data root; info names the file and each source; NCX_ROOT overrides it', () => {
    const home = join(scratch, 'home')
    const data = join(scratch, 'toml-root')
    mkdirSync(join(home, '.config', 'ncx'), {recursive: true})
    writeFileSync(join(home, '.config', 'ncx', 'ncx.toml'), `data_root = "${data}"\ndefault_network = "none"\n`)
    spawnSync('chmod', ['-R', 'a+rwX', home])
    mkdirSync(data)
    spawnSync('chown', [`${box.owner.uid}:${box.owner.gid}`, data])
    const env = {HOME: home, NCX_ROOT: ''}
    const info = box.ok(['info'], {env})
    expect(info).to.contain(` Data Root: ${data} (config file)`)
    expect(info).to.contain(` Config File: ${join(home, '.config', 'ncx', 'ncx.toml')} (loaded)`)
    expect(info).to.contain('  Default Network: none (config file)')
    expect(box.ok(['info'], {env: {HOME: home}})).to.contain(` Data Root: ${box.root} (env NCX_ROOT)`)
    writeFileSync(join(home, '.config', 'ncx', 'ncx.toml'), 'data_rot = "/x"\n')
    const bad = box.ncx(['images'], {env})
    expect(bad.code).to.equal(1) // Docker's rule: 1 for failures of commands other than run/create
    expect(box.ncx(['run', '--rm', 'busybox', 'true'], {env}).code).to.equal(125)
    expect(bad.stderr).to.contain('ncx.toml: unknown key "data_rot"')
  })

  it('global options before the command: --root DIR / --root=DIR / --data-root, --debug (as the root help shows them)', () => {
    const other = userDir('ncx-e2e-global-root-')
    box.ok(['--root', other, 'volume', 'create', 'elsewhere'])
    expect(box.ok(['volume', 'ls', '-q'])).to.not.contain('elsewhere')
    expect(box.ok([`--root=${other}`, 'volume', 'ls', '-q'])).to.equal('elsewhere\n')
    expect(box.ok(['--data-root', other, 'volume', 'ls', '-q'])).to.equal('elsewhere\n')
    // The fast path too, and a --root after the command still wins.
    const run = box.ncx(['--root', other, 'run', '--rm', 'busybox', 'true'])
    expect(run.code).to.equal(125)
    expect(run.stderr).to.contain("Unable to find image 'busybox:latest' locally")
    expect(box.ok(['--root', other, 'volume', 'ls', '-q', '--root', box.root])).to.not.contain('elsewhere')
    const plain = box.ncx(['volume', 'inspect', 'no-such-thing'])
    const debug = box.ncx(['--debug', 'volume', 'inspect', 'no-such-thing'])
    expect(plain.code).to.equal(debug.code)
    expect(plain.stderr).to.not.match(/\n\s+at /)
    expect(debug.stderr).to.match(/\n\s+at /)
    rmSync(other, {recursive: true, force: true})
  })

  it('--help groups commands like Docker', () => {
    const out = box.ok(['--help'])
    expect(out).to.match(/Common Commands:\n {2}run +Create and run a new container/)
    expect(out).to.match(/Management Commands:\n(?: {2}\S+ +.+\n)* {2}container +Manage containers/)
    expect(out).to.match(/\nCommands:\n/).and.contain('Global Options:')
  })

  it('prints no escape codes without a terminal, even without NO_COLOR', () => {
    const env = {NO_COLOR: '', TERM: 'xterm-256color'}
    box.ok(['run', '-d', '--network', 'none', '--name', 'plain', 'busybox', 'sleep', '30'])
    const runs: string[][] = [['ps', '-a'], ['images'], ['info'], ['system', 'df', '-v'], ['system', 'doctor'], ['version'], ['events', '--since', '5m', '--until', '0s'], ['--help'], ['run', '--help'], ['inspect', 'plain'], ['logs', 'plain'], ['rmi', 'nonexistent'], ['load', '-i', join(scratch, 'missing.tar')]]
    for (const args of runs) {
      const r = box.ncx(args, {env})
      expect(r.stdout, `stdout of ncx ${args.join(' ')}`).not.to.contain(ESC)
      expect(r.stderr, `stderr of ncx ${args.join(' ')}`).not.to.contain(ESC)
    }
    box.ok(['rm', '-f', 'plain'])
  })

  it('completion: the scripts are printed for the three shells; an unknown shell is refused', () => {
    expect(box.ok(['completion', 'bash'])).to.contain('complete -o default -o bashdefault -F _ncx_complete ncx')
    expect(box.ok(['completion', 'zsh'])).to.match(/^#compdef ncx/)
    expect(box.ok(['completion', 'fish'])).to.contain("complete -c ncx -f -a '(__ncx_complete)'")
    expect(box.ncx(['completion', 'tcsh']).code).not.to.equal(0)
  })
})


