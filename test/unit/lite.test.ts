/**
 * The lite path (src/cli/lite*.ts): its route table must read command lines as oclif reads
 * them, and its parser must give oclif's values for every command line that parses (and give
 * up wherever oclif reports an error). Both are checked against oclif itself, over the
 * commands' real flag and argument definitions. Needs the build (npm run build:ts) for the
 * manifest and the bundles.
 */
import {Config} from '@oclif/core'
import {normalizeArgv} from '@oclif/core/help'
import {parse as oclifParse} from '@oclif/core/parser'
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, readdirSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {LiteUnsupported, liteParse} from '../../src/cli/lite-parse.js'
import {RouteTable, commandId, liteRoute} from '../../src/cli/lite-route.js'

const root = join(import.meta.dirname, '..', '..')
const manifestFile = join(root, 'oclif.manifest.json')

interface ManifestCommand {
  id: string
  aliases?: string[]
  relativePath: string[]
}

type Definitions = Record<string, Record<string, unknown>>

/** argv forms for one flag definition (good and bad ones). */
function flagCases(name: string, f: Record<string, unknown>): string[][] {
  const char = f.char as string | undefined
  if (f.type === 'boolean') {
    return [[`--${name}`], [`--no-${name}`], [`--${name}=false`], ...(char ? [[`-${char}`], [`-${char}`, 'pos']] : []), [`--${name}`, `--${name}`]]
  }
  const options = f.options as string[] | undefined
  const good = options?.[0] ?? (f.parse && String(f.parse).includes('integer') ? '3' : '7')
  const cases = [[`--${name}=${good}`], [`--${name}`, good], [`--${name}=${good}`, 'pos'], [`--${name}`, good, 'pos', 'pos2'], [`--${name}=${good}`, `--${name}=${good}`], [`--${name}`], [`--${name}=zz`], [`--${name}`, '--', 'pos']]
  if (char) cases.push([`-${char}`, good], [`-${char}${good}`], [`-${char}=${good}`], [`-${char}`])
  return cases
}

function commandCases(flags: Definitions): string[][] {
  const chars = Object.values(flags).filter((f) => f.type === 'boolean' && f.char).map((f) => f.char as string)
  return [
    [],
    ['a'],
    ['a', 'b'],
    ['a', 'b', 'c'],
    ['--', '-x', 'a'],
    ['-5'],
    ['--nope'],
    ['-'],
    ...(chars.length >= 2 ? [[`-${chars[0]}${chars[1]}`], [`-${chars[0]}${chars[1]}`, 'a']] : []),
    ...Object.entries(flags).flatMap(([name, f]) => flagCases(name, f)),
  ]
}

async function outcome(run: () => Promise<{args: unknown; argv: unknown; flags: unknown; metadata: unknown}>): Promise<{ok: true; value: unknown} | {ok: false; error: unknown}> {
  try {
    const r = await run()
    return {ok: true, value: {args: r.args, argv: r.argv, flags: r.flags, metadata: r.metadata}}
  } catch (error) {
    return {ok: false, error}
  }
}

describe('lite path (src/cli/lite*.ts)', function () {
  this.timeout(120_000)
  let manifest: {commands: Record<string, ManifestCommand>}

  before(function () {
    if (!existsSync(manifestFile)) throw new Error('oclif.manifest.json and dist/lite are missing: run "npm run build:ts" first (a skip would count as a pass)')
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8'))
  })

  it("parses every command's flags and arguments to oclif's values, and gives up where oclif fails", async () => {
    const disagreements: string[] = []
    let agreed = 0
    // Commands kept off the lite path on purpose (LITE_EXCLUDED in scripts/build-fast.cjs: no
    // bundle, null in the route table) always go to oclif, so the lite parser need not know
    // their flags' features (`system service --install` is exclusive with a URI).
    const routes = (createRequire(import.meta.url)(join(root, 'dist', 'lite', 'routes.cjs')) as {table: RouteTable}).table
    for (const c of Object.values(manifest.commands)) {
      if (routes[c.id]?.[2] === null) continue
      const source = join(root, c.relativePath.join('/').replace(/^dist\//, '').replace(/\.js$/, '.ts'))
      const Class = ((await import(pathToFileURL(source).href)) as {default: {flags?: Definitions; baseFlags?: Definitions; args?: Definitions; strict?: boolean}}).default
      const flags = {...Class.baseFlags, ...Class.flags}
      // (as BaseCommand passes them: never from stdin)
      const args = Object.fromEntries(Object.entries(Class.args ?? {}).map(([k, a]) => [k, {...a, ignoreStdin: true}]))
      for (const strict of [Class.strict !== false, false]) {
        for (const argv of commandCases(flags)) {
          for (const env of [undefined, '/x']) {
            if (env === undefined) delete process.env.NCX_ROOT
            else process.env.NCX_ROOT = env
            const input = {flags, args, strict}
            const reference = await outcome(() => oclifParse(argv, {...input, context: {}} as Parameters<typeof oclifParse>[1]))
            const lite = await outcome(() => liteParse(argv, {...input, context: {}}))
            const label = `${c.id} ${JSON.stringify(argv)} strict=${strict} NCX_ROOT=${env}`
            if (lite.ok) {
              if (!reference.ok) disagreements.push(`${label}: lite parsed, oclif failed (${(reference.error as Error).message})`)
              else if (JSON.stringify(lite.value) !== JSON.stringify(reference.value)) disagreements.push(`${label}:\n  lite  ${JSON.stringify(lite.value)}\n  oclif ${JSON.stringify(reference.value)}`)
              else agreed++
            } else {
              expect(lite.error, label).to.be.instanceOf(LiteUnsupported)
              if (reference.ok) disagreements.push(`${label}: lite gave up (${(lite.error as Error).message}), oclif parsed`)
            }
          }
        }
      }
    }
    delete process.env.NCX_ROOT
    expect(disagreements.slice(0, 20).join('\n')).to.equal('')
    expect(agreed).to.be.greaterThan(1000)
  })

  it('leaves an argument oclif would read from stdin to oclif', async () => {
    const args = {name: {parse: async (i: string) => i, type: 'option'}}
    let error: unknown
    await liteParse([], {flags: {}, args}).catch((e) => (error = e))
    expect(error).to.be.instanceOf(LiteUnsupported)
  })

  it('reads the command words of a command line as oclif does', async () => {
    const config = await Config.load(root)
    const routes = (createRequire(import.meta.url)(join(root, 'dist', 'lite', 'routes.cjs')) as {table: RouteTable}).table
    const names = Object.values(manifest.commands).flatMap((c) => [c.id, ...(c.aliases ?? [])])
    const lines = [
      ...names.map((n) => n.split(':')),
      ...names.map((n) => [...n.split(':'), 'x']),
      ...names.map((n) => [...n.split(':'), 'x', 'y']),
      ...names.map((n) => [...n.split(':'), '-a', 'x']),
      ...names.map((n) => [...n.split(':'), 'k=v']),
      ['container'],
      ['container', 'nope'],
      ['nope', 'ls'],
      ['compose', 'ps', 'web'],
      ['ps', ''],
    ]
    for (const argv of lines) {
      const [id, ...rest] = normalizeArgv(config, [...argv])
      const typed = commandId(argv, routes) ?? argv[0]
      expect([typed, ...argv.slice(typed.split(':').length)], JSON.stringify(argv)).to.deep.equal([id, ...rest])
      const route = liteRoute(argv, routes)
      const command = config.findCommand(id)
      if (route) {
        expect(command?.id === route.id || command?.aliases?.includes(id), JSON.stringify(argv)).to.equal(true)
        expect(route.argv).to.deep.equal(rest)
      }
    }
    expect(liteRoute(['ps', '--help'], routes)).to.equal(undefined)
    expect(liteRoute(['ps', '-h'], routes)).to.equal(undefined)
    expect(liteRoute(['container:ls'], routes)).to.equal(undefined)
    expect(liteRoute(['ps', '-a'], routes)).to.deep.include({id: 'container:ls', argv: ['-a']})
  })

  it('has a bundle with an accepted code cache for each routed command, and none of oclif in it', () => {
    const dir = join(root, 'dist', 'lite')
    const bundles = readdirSync(dir).filter((f) => f.endsWith('.cjs') && f !== 'routes.cjs')
    expect(bundles).to.include.members(['ps.cjs', 'images.cjs', 'inspect.cjs', 'lifecycle.cjs'])
    for (const name of bundles) {
      const file = join(dir, name)
      const probe = `
        const fs = require('node:fs'), vm = require('node:vm'), Module = require('node:module')
        const file = ${JSON.stringify(file)}
        const s = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), {filename: file, cachedData: fs.readFileSync(file + '.cache')})
        process.stdout.write(JSON.stringify(s.cachedDataRejected))`
      const r = spawnSync(process.execPath, ['-e', probe], {encoding: 'utf8'})
      expect(r.status, r.stderr).to.equal(0)
      expect(JSON.parse(r.stdout), name).to.equal(false)
      // (oclif's Config, its help and its module loader are what the lite path leaves out)
      expect(readFileSync(file, 'utf8'), name).not.to.match(/loadPluginsAndCommands|findCommand|loadHelpClass/)
    }
  })

  it('writes the caches of ps, images and version from a warm-up run, the others eagerly (scripts/fast-cache.cjs)', () => {
    const dir = join(root, 'dist', 'lite')
    // (an eager cache is about 2.5x its bundle; a warm-up's about 1x: a failed warm-up falls back to eager)
    const ratio = (name: string) => statSync(join(dir, `${name}.cjs.cache`)).size / statSync(join(dir, `${name}.cjs`)).size
    for (const name of ['ps', 'images', 'version']) expect(ratio(name), name).to.be.below(1.8)
    for (const name of ['lifecycle', 'inspect']) expect(ratio(name), name).to.be.above(1.8)
  })
})
