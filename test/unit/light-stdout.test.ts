/**
 * The lite path's stdout/stderr (src/cli/light-stdout.ts): the same bytes in the same order as
 * Node's stream, through a pipe and to a file, with Node's stream taking over for whatever the
 * light writer does not do itself, and a closed pipe reported as Node's socket reports it.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const module = join(import.meta.dirname, '..', '..', 'src', 'cli', 'light-stdout.ts')

/** Run `body` in a Node with tsx, after installing the light writers when `light`. */
function run(body: string, light: boolean): {stdout: string; stderr: string; status: number | null} {
  const code = `
    const {installLightStdout} = await import(${JSON.stringify(module)})
    globalThis.installed = ${light} ? [installLightStdout(() => {}), installLightStdout(undefined, 2)] : [false, false]
    ${body}`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  return {stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status}
}

describe('light stdout and stderr (src/cli/light-stdout.ts)', function () {
  this.timeout(30_000)

  it('writes what Node writes, in order, through a pipe (strings, buffers, encodings, console, callbacks)', () => {
    const body = `
      process.stdout.write('a\\n')
      process.stdout.write(Buffer.from('b\\n'))
      process.stdout.write('63\\n', 'hex', (e) => process.stdout.write('cb ' + e + '\\n'))
      process.stderr.write('err\\n')
      console.log('log %s', 'x', {y: 1})
      process.stdout.write('tty ' + process.stdout.isTTY + '\\n')
      process.stdout.write(JSON.stringify(globalThis.installed) + '\\n')`
    const light = run(body, true)
    const node = run(body, false)
    expect(light.status).to.equal(0)
    expect(light.stdout.replace('[true,true]', '[false,false]')).to.equal(node.stdout)
    expect(light.stdout).to.contain('[true,true]')
    expect(light.stderr).to.equal(node.stderr)
  })

  it("hands over to Node's stream for what it does not do, keeping the order and the listeners", () => {
    const body = `
      let errors = 0
      process.stdout.on('custom', () => process.stdout.write('custom event\\n'))
      process.stdout.write('before\\n')
      process.stdout.write('hwm ' + process.stdout.writableHighWaterMark + '\\n') // Node's stream from here on
      process.stdout.emit('custom')
      process.stdout.write('after\\n')`
    const light = run(body, true)
    expect(light.stdout).to.equal(run(body, false).stdout)
    expect(light.stdout).to.match(/^before\nhwm \d+\ncustom event\nafter\n$/)
  })

  it("reports a closed pipe as one EPIPE error event, as Node's socket does", () => {
    const body = `
      const events = []
      // (the reader, \`true\`, has exited by now)
      process.stdout.on('error', (e) => events.push(e.code))
      process.stdout.write('x')
      await new Promise((r) => setTimeout(r, 50))
      process.stderr.write(JSON.stringify(events) + '\\n')`
    const r = spawnSync('sh', ['-c', `${JSON.stringify(process.execPath)} --import tsx --input-type=module -e "$CODE" | true`], {
      encoding: 'utf8',
      env: {...process.env, CODE: `const {installLightStdout} = await import(${JSON.stringify(module)}); installLightStdout(() => {}); await new Promise((r) => setTimeout(r, 200)); ${body}`},
    })
    expect(r.stderr.trim()).to.equal('["EPIPE"]')
  })

  it('writes to a file as Node does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ncx-light-'))
    try {
      const file = join(dir, 'out')
      const r = spawnSync('sh', ['-c', `${JSON.stringify(process.execPath)} --import tsx --input-type=module -e "$CODE" > ${file}`], {
        encoding: 'utf8',
        env: {...process.env, CODE: `const {installLightStdout} = await import(${JSON.stringify(module)}); const ok = installLightStdout(() => {}); process.stdout.write('one\\n'); console.log('two', ok)`},
      })
      expect(r.status, r.stderr).to.equal(0)
      expect(readFileSync(file, 'utf8')).to.equal('one\ntwo true\n')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
