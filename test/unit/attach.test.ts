import {expect} from 'chai'

import {DEFAULT_DETACH_KEYS, parseDetachKeys} from '../../src/engine/container/attach.js'
import {UsageError} from '../../src/engine/errors.js'
import {parseExecArgv, parseRunArgv} from '../../src/cli/run-flags.js'

describe('detach keys', () => {
  it("parses Docker's syntax into bytes", () => {
    expect(parseDetachKeys(DEFAULT_DETACH_KEYS)).to.deep.equal([16, 17])
    expect(parseDetachKeys('ctrl-a,b')).to.deep.equal([1, 98])
    expect(parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')).to.deep.equal([0, 27, 28, 29, 30, 31])
    expect(parseDetachKeys('x')).to.deep.equal([120])
  })

  it('refuses what Docker refuses, with its message', () => {
    for (const bad of ['', 'ctrl-', 'ctrl-1', 'ctrl-ab', 'ab', 'a,,b', 'é']) {
      expect(() => parseDetachKeys(bad), bad).to.throw(UsageError, `Invalid detach keys (${bad}) provided`)
    }
  })

  it('run and exec take --detach-keys (default ctrl-p,ctrl-q) and run takes --sig-proxy=false', () => {
    const run = parseRunArgv(['--detach-keys', 'ctrl-x,y', '--sig-proxy=false', 'busybox', 'sh'], {})
    expect(run.detachKeys).to.deep.equal([24, 121])
    expect(run.sigProxy).to.equal(false)
    const plain = parseRunArgv(['busybox'], {})
    expect(plain.detachKeys).to.deep.equal([16, 17])
    expect(plain.sigProxy).to.equal(true)
    expect(parseExecArgv(['--detach-keys=ctrl-e', 'c', 'sh'], {}).options.detachKeys).to.deep.equal([5])
  })
})

describe('resize acknowledgements (--resize-fd)', () => {
  it('a resize resolves on the runtime\'s answer line, in order; without one after RESIZE_ACK_MS; at once when the pipe is gone', async () => {
    const {Duplex} = await import('node:stream')
    const {RESIZE_ACK_MS, resizer} = await import('../../src/engine/container/exec.js')
    const written: string[] = []
    const pipe = new Duplex({
      read() {},
      write(chunk: Buffer, _e, done) {
        written.push(chunk.toString())
        done()
      },
    })
    const resize = resizer(pipe)
    const order: string[] = []
    const a = resize(10, 20).then(() => order.push('a'))
    const b = resize(11, 21).then(() => order.push('b'))
    await new Promise((r) => setImmediate(r))
    expect(written).to.deep.equal(['10 20\n', '11 21\n'])
    expect(order).to.deep.equal([])
    pipe.push('10 20\n11 ')
    await a
    expect(order).to.deep.equal(['a'])
    pipe.push('21\n')
    await b
    expect(order).to.deep.equal(['a', 'b'])
    // No answer (a monitor of an older runtime): resolved after the deadline.
    const started = Date.now()
    await resize(12, 22)
    expect(Date.now() - started).to.be.at.least(RESIZE_ACK_MS - 50)
    // The runtime gone: pending resizes resolve, later ones at once.
    const pending = resize(13, 23)
    pipe.destroy()
    await pending
    await resize(14, 24)
  })
})
