import {expect} from 'chai'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {parseDocument} from 'yaml'

// The GitHub workflows and the action cannot run here (no runner): they must stay thin lists
// of steps whose commands are scripts that .ci/run runs too. This checks what can be checked
// without a runner: the YAML parses, every script a step names exists, and .ci/run (or a test
// it runs) exercises it.
describe('GitHub workflows and action.yml', () => {
  const root = join(import.meta.dirname, '..', '..')
  const files = [...readdirSync(join(root, '.github', 'workflows')).map((f) => join('.github', 'workflows', f)), 'action.yml']
  const ciRun = readFileSync(join(root, '.ci', 'run'), 'utf8')
  /** The test files .ci/run runs (some scripts are run by a test rather than by .ci/run itself). */
  const tests = ['test/e2e', 'test/unit']
    .flatMap((dir) => readdirSync(join(root, dir)).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(root, dir, f), 'utf8')))
    .join('\n')
  const exercised = (script: string) => script === '.ci/run' || ciRun.includes(script) || tests.includes(`'${script.split('/')[0]}', '${script.split('/')[1]}'`)
  const packageScripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {scripts: Record<string, string>}).scripts

  interface Step {
    run?: string
    uses?: string
  }
  function steps(file: string): Step[] {
    const doc = parseDocument(readFileSync(join(root, file), 'utf8'))
    expect(doc.errors.map((e) => e.message), file).to.deep.equal([])
    const data = doc.toJS() as {jobs?: Record<string, {steps: Step[]}>; runs?: {steps: Step[]}}
    return data.runs ? data.runs.steps : Object.values(data.jobs ?? {}).flatMap((j) => j.steps)
  }

  for (const file of files) {
    it(`${file}: parses, and names only scripts that exist and .ci/run also runs`, () => {
      const all = steps(file)
      expect(all.length, file).to.be.above(0)
      for (const step of all) {
        if (!step.run) continue
        // Thin: a few commands, the work is in scripts.
        expect(step.run.trim().split('\n').length, `${file}: a step of more than 15 lines belongs in a script:\n${step.run}`).to.be.at.most(15)
        for (const [, script] of step.run.matchAll(/(?:^|[\s/"])((?:scripts|\.ci)\/[\w.-]+)/g)) {
          expect(existsSync(join(root, script)), `${file} runs ${script}, which does not exist`).to.equal(true)
          expect(exercised(script), `${file} runs ${script}, which neither .ci/run nor a test runs`).to.equal(true)
        }
        for (const [, name] of step.run.matchAll(/npm run ([\w:-]+)/g)) {
          expect(packageScripts, `${file}: npm run ${name}`).to.have.property(name)
          expect(ciRun.includes(`npm run ${name}`) || ciRun.includes('npm test'), `${file} runs npm run ${name}, which .ci/run does not`).to.equal(true)
        }
      }
    })
  }
})
