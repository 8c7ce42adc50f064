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
