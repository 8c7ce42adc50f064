import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {expect} from 'chai'

import {UsageError} from '../../src/engine/errors.js'
import {mergeEnv, parseEnvFile, resolveEnvEntry} from '../../src/engine/spec/env.js'

describe('env (src/engine/spec/env.ts)', () => {
  let dir: string
  let n = 0
  const envFile = (text: string) => {
    const path = join(dir, `f${n++}.env`)
    writeFileSync(path, text)
    return path
  }
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-unit-env-'))
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  describe('resolveEnvEntry', () => {
    it('keeps KEY=VALUE as given', () => {
      expect(resolveEnvEntry('A=1=2', {A: 'host'})).to.equal('A=1=2')
      expect(resolveEnvEntry('A=', {})).to.equal('A=')
    })
    it('copies a bare KEY from the host, or drops it', () => {
      expect(resolveEnvEntry('A', {A: 'x y'})).to.equal('A=x y')
      expect(resolveEnvEntry('A', {})).to.equal(undefined)
    })
    it('rejects an empty name', () => {
      expect(() => resolveEnvEntry('=v', {})).to.throw(UsageError, 'invalid argument "=v" for "-e, --env" flag: invalid environment variable: =v')
    })
  })

  describe('parseEnvFile', () => {
    it('skips comments and blank lines, strips leading whitespace, keeps values verbatim', () => {
      const path = envFile('# a comment\n\n   \n  A=1\n\t# indented comment\nB= spaced value \nC="quoted"\nD=\n')
      expect(parseEnvFile(path, {})).to.deep.equal(['A=1', 'B= spaced value ', 'C="quoted"', 'D='])
    })
    it('takes KEY without a value from the host env, dropping it when unset', () => {
      const path = envFile('HOSTVAR\nUNSET\nX=1\n')
      expect(parseEnvFile(path, {HOSTVAR: 'hv'})).to.deep.equal(['HOSTVAR=hv', 'X=1'])
    })
    it('handles CRLF line endings', () => {
      expect(parseEnvFile(envFile('A=1\r\nB=2\r\n'), {})).to.deep.equal(['A=1', 'B=2'])
    })
    it('rejects whitespace in a name, naming file and line', () => {
      const path = envFile('OK=1\n# c\nBAD NAME=2\n')
      expect(() => parseEnvFile(path, {})).to.throw(UsageError, `${path}:3: invalid env file: variable 'BAD NAME' contains whitespaces`)
    })
    it('rejects trailing whitespace after a bare name, as Docker does', () => {
      const path = envFile('NAME \n')
      expect(() => parseEnvFile(path, {NAME: 'x'})).to.throw(UsageError, `${path}:1:`)
    })
    it('reports an unreadable file as a UsageError', () => {
      const missing = join(dir, 'missing.env')
      expect(() => parseEnvFile(missing, {})).to.throw(UsageError, `open ${missing}: no such file or directory`)
      expect(() => parseEnvFile(dir, {})).to.throw(UsageError, `read ${dir}: is a directory`)
    })
    it('returns nothing for an empty file', () => {
      expect(parseEnvFile(envFile(''), {})).to.deep.equal([])
    })
  })

  describe('mergeEnv', () => {
    it('lets later lists override earlier ones by key', () => {
      const merged = mergeEnv(['A=1', 'B=1'], ['B=2'], ['C=3', 'B=3'])
      expect(merged).to.have.members(['A=1', 'B=3', 'C=3'])
      expect(merged).to.have.length(3)
    })
    it('keeps the first-seen order of keys that are not overridden', () => {
      expect(mergeEnv(['A=1', 'B=1'], ['C=1'], ['D=1'])).to.deep.equal(['A=1', 'B=1', 'C=1', 'D=1'])
    })
    it('matches keys exactly (A does not override AB)', () => {
      expect(mergeEnv(['AB=1'], ['A=2'])).to.have.members(['AB=1', 'A=2'])
    })
    it('overrides within one list too', () => {
      expect(mergeEnv(['A=1', 'A=2'])).to.deep.equal(['A=2'])
    })
    it('returns an empty list for no input', () => {
      expect(mergeEnv()).to.deep.equal([])
      expect(mergeEnv([], [])).to.deep.equal([])
    })
    // Docker/containerd replaceOrAppendEnvValues replace an overridden entry in place, so
    // `docker run busybox env` prints PATH (overridden by the image) before HOSTNAME.
    it('replaces an overridden key in place instead of moving it to the end', () => {
      expect(mergeEnv(['PATH=/default', 'HOSTNAME=h'], ['PATH=/image'])).to.deep.equal(['PATH=/image', 'HOSTNAME=h'])
    })
  })
})
