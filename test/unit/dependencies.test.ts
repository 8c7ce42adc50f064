/**
 * The import rules of src/ (.dependency-cruiser.cjs): no cycles, and commands → cli → engine →
 * native. dependency-cruiser reads JavaScript here (its TypeScript reader stops before
 * TypeScript 7), so each source file is first compiled alone by esbuild, which keeps every
 * import that exists at run time and drops the type-only ones.
 */
import {expect} from 'chai'
import {mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {buildSync} from 'esbuild'
import {cruise, type ICruiseResult, type IConfiguration} from 'dependency-cruiser'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const rules = createRequire(import.meta.url)(join(repo, '.dependency-cruiser.cjs')) as IConfiguration

function tsFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
    const p = join(dir, e.name)
    return e.isDirectory() ? tsFiles(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : []
  })
}

/** The rule violations of the TypeScript tree `srcDir`, as `rule: from → to` lines. */
async function violations(srcDir: string): Promise<string[]> {
  const out = mkdtempSync(join(tmpdir(), 'ncx-deps-'))
  try {
    buildSync({entryPoints: tsFiles(srcDir), outdir: join(out, 'src'), outbase: srcDir, format: 'esm', platform: 'node', bundle: false, logLevel: 'error'})
    const cwd = process.cwd()
    process.chdir(out) // the rules' paths are relative to the directory cruised from
    try {
      const result = (await cruise(['src'], {validate: true, ruleSet: rules, doNotFollow: {path: 'node_modules'}, exclude: {path: 'node_modules'}})).output as ICruiseResult
      return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (cycle ${v.cycle.map((c) => c.name).join(' → ')})` : ''}`)
    } finally {
      process.chdir(cwd)
    }
  } finally {
    rmSync(out, {recursive: true, force: true})
  }
}

describe('import rules (dependency-cruiser)', function () {
  this.timeout(120_000)

  it('src/ has no import cycle and keeps its layers', async () => {
    expect(await violations(join(repo, 'src'))).to.deep.equal([])
  })

  it('catches a cycle and an engine module importing a command', async () => {
    const tree = mkdtempSync(join(tmpdir(), 'ncx-deps-fixture-'))
    try {
      const write = (file: string, text: string) => {
        mkdirSync(dirname(join(tree, file)), {recursive: true})
        writeFileSync(join(tree, file), text)
      }
      write('engine/a.ts', "import {b} from './b.js'\nexport const a = () => b\n")
      write('engine/b.ts', "import {a} from './a.js'\nexport const b = () => a\n")
      write('engine/c.ts', "import {run} from '../commands/run.js'\nexport const c = run\n")
      write('commands/run.ts', 'export const run = 1\n')
      const found = await violations(tree)
      expect(found.some((v) => v.startsWith('no-circular: src/engine/a.js'))).to.equal(true, found.join('\n'))
      expect(found).to.include('engine-not-up: src/engine/c.js → src/commands/run.js')
    } finally {
      rmSync(tree, {recursive: true, force: true})
    }
  })
})
