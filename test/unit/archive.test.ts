import {expect} from 'chai'

import {UsageError} from '../../src/engine/errors.js'
import {applyChanges} from '../../src/engine/image/archive.js'
import {ImageConfig} from '../../src/engine/image/types.js'

type Cfg = NonNullable<ImageConfig['config']>

const apply = (changes: string[], cfg: Cfg = {}): Cfg => {
  applyChanges(cfg, changes)
  return cfg
}

describe('import --change (applyChanges in src/engine/image/archive.ts)', () => {
  it('takes CMD in JSON form', () => {
    expect(apply(['CMD ["sh", "-c", "echo hi"]']).Cmd).to.deep.equal(['sh', '-c', 'echo hi'])
  })

  it('wraps CMD in shell form in /bin/sh -c', () => {
    expect(apply(['CMD echo hello world']).Cmd).to.deep.equal(['/bin/sh', '-c', 'echo hello world'])
  })

  it('takes ENTRYPOINT in both forms', () => {
    expect(apply(['ENTRYPOINT ["/entry"]']).Entrypoint).to.deep.equal(['/entry'])
    expect(apply(['ENTRYPOINT run me']).Entrypoint).to.deep.equal(['/bin/sh', '-c', 'run me'])
  })

  it('accepts lower-case instructions and surrounding whitespace', () => {
    expect(apply(['  cmd ["a"]']).Cmd).to.deep.equal(['a'])
  })

  it('rejects a JSON CMD that is not an array of strings', () => {
    expect(() => apply(['CMD ["a", 1]'])).to.throw(UsageError, /must be a JSON array of strings/)
  })

  it('sets ENV in KEY=VALUE form', () => {
    expect(apply(['ENV A=1']).Env).to.deep.equal(['A=1'])
  })

  it('sets ENV in "KEY VALUE" form, keeping spaces in the value', () => {
    expect(apply(['ENV A 1']).Env).to.deep.equal(['A=1'])
    expect(apply(['ENV GREETING hello big world']).Env).to.deep.equal(['GREETING=hello big world'])
  })

  it('replaces an existing ENV key and keeps the others', () => {
    const cfg = apply(['ENV A=2'], {Env: ['PATH=/bin', 'A=1', 'AB=3']})
    expect(cfg.Env).to.have.members(['PATH=/bin', 'A=2', 'AB=3'])
    expect(cfg.Env).to.have.length(3)
  })

  it('sets WORKDIR, USER and LABEL', () => {
    const cfg = apply(['WORKDIR /app', 'USER 1000:1000', 'LABEL a=b', 'LABEL q="quoted value"', 'LABEL eq=x=y'], {Labels: {old: 'kept'}})
    expect(cfg.WorkingDir).to.equal('/app')
    expect(cfg.User).to.equal('1000:1000')
    expect(cfg.Labels).to.deep.equal({old: 'kept', a: 'b', q: 'quoted value', eq: 'x=y'})
  })

  it('applies changes in order: the last CMD wins', () => {
    expect(apply(['CMD ["a"]', 'CMD ["b"]']).Cmd).to.deep.equal(['b'])
  })

  it('rejects unsupported instructions', () => {
    expect(() => apply(['RUN echo hi'])).to.throw(UsageError, '--change RUN is not supported')
    expect(() => apply(['expose 80'])).to.throw(UsageError, '--change EXPOSE is not supported')
  })

  it('rejects a change without a value', () => {
    expect(() => apply(['CMD'])).to.throw(UsageError, 'invalid --change "CMD"')
    expect(() => apply([''])).to.throw(UsageError, /invalid --change/)
  })

  it('leaves the config untouched for no changes', () => {
    expect(apply([], {Cmd: ['x']})).to.deep.equal({Cmd: ['x']})
  })

  // Docker's --change uses the Dockerfile parser: `ENV A="hello world"` sets A=hello world
  // and `ENV A=1 B=2` sets two variables. ncx keeps the quotes and sets one variable
  // A="1 B=2".
  it('ENV strips quotes like a Dockerfile', () => {
    expect(apply(['ENV A="hello world"']).Env).to.deep.equal(['A=hello world'])
  })
  it('ENV sets several KEY=VALUE pairs', () => {
    expect(apply(['ENV A=1 B=2']).Env).to.deep.equal(['A=1', 'B=2'])
  })
})
