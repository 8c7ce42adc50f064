/**
 * Every command through the start-up fast path (bin/run.cjs → dist/fast-command.cjs, oclif and
 * the commands from one code-cached bundle) and through oclif loaded module by module
 * (NCX_OCLIF=1), with the same result: stdout, stderr and exit code. The commands come from
 * the oclif manifest, so a new command is covered by itself: each name and alias with a flag
 * it does not have (its module loaded, its flags parsed, Docker's flag error), each command's
 * --help, and the read commands on a store with an image and a container.
 */
import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {Result, Sandbox, installation} from './harness.js'

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

  /** `args` both ways; a difference is reported with both results. */
  async function compare(args: string[]): Promise<string | undefined> {
    const [fast, oclif] = await Promise.all([box.run(args), box.run(args, {env: {NCX_OCLIF: '1'}})])
    const same = (a: Result, b: Result) => a.code === b.code && a.stdout === b.stdout && a.stderr === b.stderr
    if (same(fast, oclif)) return undefined
    return `ncx ${args.join(' ')}\n  fast:  ${fast.code} ${JSON.stringify(fast.stdout + fast.stderr)}\n  oclif: ${oclif.code} ${JSON.stringify(oclif.stdout + oclif.stderr)}`
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
    ])
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
})
