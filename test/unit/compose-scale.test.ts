import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {ComposeError} from '../../src/engine/compose/errors.js'
import {loadProject} from '../../src/engine/compose/loader.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/**
 * A compose file of about `bytes`: services that merge a common anchor, each depending on
 * the one before (one long chain), with ports, environment and extra_hosts; then one service
 * with a long environment list.
 */
function bigCompose(bytes: number): string {
  let out = 'x-common: &common\n  image: busybox\n  environment:\n    A: "1"\n  labels: ["tier=web"]\nservices:\n'
  for (let i = 0; out.length < bytes * 0.8; i++) {
    out += `  svc${i}:\n    <<: *common\n    command: ["sh", "-c", "echo ${i}"]\n${i > 0 ? `    depends_on: [svc${i - 1}]\n` : ''}    environment:\n      KEY_${i}: "value-${i}"\n      HOME_DIR: "\${HOME}/x"\n    ports: ["${10000 + (i % 50000)}:80"]\n    extra_hosts: ["h${i}:10.0.${Math.floor(i / 250) % 250}.${i % 250}"]\n`
  }
  out += '  big:\n    image: busybox\n    environment:\n'
  for (let i = 0; out.length < bytes; i++) out += `      - KEY_${i}=value-${i}-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n`
  return out
}

/** Load a file in a process of its own: CPU time and peak memory of that alone. */
function measureLoad(file: string): {cpuMs: number; maxRssMb: number; services: number} {
  const script = `
    const {loadProject} = await import(${JSON.stringify(join(repo, 'src/engine/compose/loader.ts'))})
    const before = process.cpuUsage()
    const p = loadProject({files: [${JSON.stringify(file)}], cwd: ${JSON.stringify(dirname(file))}, projectName: 'big', env: {HOME: '/home/u'}})
    const cpu = process.cpuUsage(before)
    console.log(JSON.stringify({cpuMs: (cpu.user + cpu.system) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, services: Object.keys(p.services).length}))
  `
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {cwd: repo, encoding: 'utf8', timeout: 600_000})
  if (r.status !== 0) throw new Error(`loading ${file} failed: ${r.stderr || r.error?.message}`)
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as {cpuMs: number; maxRssMb: number; services: number}
}

describe('compose loading at scale (src/engine/compose/source.ts, loader.ts)', () => {
  let dir: string
  let n = 0
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-unit-compose-scale-'))
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  const file = (text: string) => {
    const d = join(dir, `p${n++}`)
    mkdirSync(d)
    writeFileSync(join(d, 'compose.yaml'), text)
    return join(d, 'compose.yaml')
  }
  const load = (text: string, env: Record<string, string> = {}) => loadProject({files: [file(text)], projectName: 'p', env})
  const refused = (text: string): ComposeError => {
    try {
      load(text)
    } catch (error) {
      expect(error).to.be.instanceOf(ComposeError)
      return error as ComposeError
    }
    throw new Error('expected the file to be refused')
  }

  it('loads 5 MB in time and memory proportional to 0.5 MB (it was quadratic: 5 MB took 16 s and more)', function () {
    this.timeout(600_000)
    const small = measureLoad(file(bigCompose(512 * 1024)))
    const large = measureLoad(file(bigCompose(5 * 1024 * 1024)))
    console.log(`      0.5 MB: ${Math.round(small.cpuMs)} ms CPU, ${Math.round(small.maxRssMb)} MB peak; 5 MB: ${Math.round(large.cpuMs)} ms CPU, ${Math.round(large.maxRssMb)} MB peak`)
    expect(large.services).to.be.greaterThan(10_000)
    // Ten times the input: linear is ~10x (less, with the start-up share); quadratic was ~100x.
    expect(large.cpuMs / small.cpuMs, 'CPU time ratio for 10x the input').to.be.below(25)
    expect(large.cpuMs, 'CPU time for 5 MB').to.be.below(120_000)
    expect(large.maxRssMb, 'peak memory for 5 MB').to.be.below(1024)
  })

  it('refuses a YAML "billion laughs" at once, naming the file', function () {
    this.timeout(30_000)
    let text = 'x-a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for (let i = 1; i <= 9; i++) text += `x-${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]\n`
    text += 'services:\n  web:\n    image: busybox\n    command: *j\n'
    const started = Date.now()
    const e = refused(text)
    expect(e.message).to.match(/compose\.yaml: invalid YAML: document contains excessive aliasing \(its aliases expand it to \d+ values/)
    expect(Date.now() - started).to.be.below(5000)
    // Modest reuse of anchors is fine.
    expect(load('x-a: &a [1, 2]\nx-b: &b [*a, *a, *a]\nservices:\n  web:\n    image: busybox\n    x-c: [*b, *b]\n').services.web['x-c']).to.deep.equal([[[1, 2], [1, 2], [1, 2]], [[1, 2], [1, 2], [1, 2]]])
  })

  it('refuses a file too large to parse in this process, with how to give it more memory (the runtime would abort)', () => {
    const started = Date.now()
    const e = refused(`x-a: [${'1,'.repeat(10_000_000)}1]\nservices: {}\n`)
    expect(e.message).to.match(/compose\.yaml: too large to load: its 20 MB of YAML may need up to \d+ MB of memory to parse, and \d+ MB are available$/)
    expect(e.hint).to.match(/NODE_OPTIONS=--max-old-space-size=\d+/)
    expect(Date.now() - started).to.be.below(10_000)
  })

  it('an alias is a copy: $$ in an anchored value is interpolated once (it was interpolated again through every alias)', () => {
    const p = load('x-env: &env\n  LITERAL: "$$HOME"\n  HOME_IS: "$HOME"\nservices:\n  one:\n    image: busybox\n    environment: *env\n  two:\n    image: busybox\n    environment: *env\n', {HOME: '/h'})
    expect(p.services.one.environment).to.deep.equal({LITERAL: '$HOME', HOME_IS: '/h'})
    expect(p.services.two.environment).to.deep.equal({LITERAL: '$HOME', HOME_IS: '/h'})
    expect(p.extensions['x-env']).to.deep.equal({LITERAL: '$HOME', HOME_IS: '/h'})
  })

  it('merge keys: explicit keys win wherever they are, the first of several sources wins, quoted "<<" is a plain key', () => {
    const p = load('x-a: &a {image: a, restart: always, tty: true}\nx-b: &b {image: b, stdin_open: true}\nservices:\n  one:\n    restart: "no"\n    <<: [*a, *b]\n  two:\n    <<: {image: inline}\n    image: explicit\n  three:\n    image: x\n    labels:\n      "<<": literal\n')
    expect(p.services.one).to.include({image: 'a', restart: 'no', tty: true, stdin_open: true})
    expect(p.services.two.image).to.equal('explicit')
    expect(p.services.three.labels).to.deep.equal({'<<': 'literal'})
    expect(refused('x-a: &a [1]\nservices:\n  one:\n    <<: *a\n').message).to.match(/compose\.yaml:4: invalid YAML: merge sources \(<<\) must be mappings/)
  })

  it('duplicate keys and unknown anchors are refused with their lines', () => {
    expect(refused('services:\n  web:\n    image: a\n    tty: true\n    image: b\n').message).to.match(/compose\.yaml:5: invalid YAML: mapping key "image" already defined at line 3$/)
    expect(refused('services:\n  web:\n    image: *nope\n').message).to.match(/compose\.yaml:3: invalid YAML: unknown anchor "nope" referenced/)
    // A key named __proto__ never reaches Object.prototype.
    load('x-a:\n  __proto__: {polluted: yes}\nservices:\n  web:\n    image: busybox\n    x-b: {__proto__: {polluted: yes}}\n    labels:\n      __proto__: x\n')
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined)
  })

  it('a chain of 20,000 depends_on is checked for cycles without overflowing the stack', function () {
    this.timeout(60_000)
    let text = 'services:\n'
    for (let i = 0; i < 20_000; i++) text += `  s${i}:\n    image: busybox\n${i > 0 ? `    depends_on: [s${i - 1}]\n` : ''}`
    expect(Object.keys(load(text).services)).to.have.length(20_000)
    expect(refused('services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on: [a]\n').message).to.match(/dependency cycle detected: a -> b -> c -> a$/)
  })
})
