import {expect} from 'chai'

import {FlagSpec, splitArgv} from '../../src/cli/argv.js'
import {RUN_FLAGS} from '../../src/cli/run-flags.js'
import {UsageError} from '../../src/engine/errors.js'

const split = (argv: string[]) => splitArgv(argv, RUN_FLAGS)

function usageError(fn: () => unknown, message: string | RegExp): UsageError {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  expect(caught, 'expected a UsageError').to.be.instanceOf(UsageError)
  const err = caught as UsageError
  if (typeof message === 'string') expect(err.message).to.equal(message)
  else expect(err.message).to.match(message)
  return err
}

describe('splitArgv with RUN_FLAGS (src/cli/argv.ts)', () => {
  it('stops at the image: the command keeps its own flags', () => {
    const {flags, positionals} = split(['--rm', 'busybox', 'ls', '-l'])
    expect(positionals).to.deep.equal(['busybox', 'ls', '-l'])
    expect(flags).to.deep.equal({rm: true})
  })

  it('does not parse flags after the image even if ncx knows them', () => {
    const {flags, positionals} = split(['busybox', '--rm', '-e', 'A=1'])
    expect(positionals).to.deep.equal(['busybox', '--rm', '-e', 'A=1'])
    expect(flags).to.deep.equal({})
  })

  it('expands a cluster of boolean shorthands (-it)', () => {
    const {flags, positionals} = split(['-it', 'busybox'])
    expect(flags).to.deep.equal({interactive: true, tty: true})
    expect(positionals).to.deep.equal(['busybox'])
  })

  it('collects -e in order, with and without a value', () => {
    const {flags, positionals} = split(['-e', 'A=1', '-e', 'B', 'img'])
    expect(flags.env).to.deep.equal(['A=1', 'B'])
    expect(positionals).to.deep.equal(['img'])
  })

  it('takes an attached shorthand value (-eA=1, -w/src)', () => {
    expect(split(['-eA=1', 'img']).flags.env).to.deep.equal(['A=1'])
    expect(split(['-w/src', 'img']).flags.workdir).to.equal('/src')
  })

  it('takes -e=VALUE like pflag (the = is not part of the value)', () => {
    expect(split(['-e=A=1', 'img']).flags.env).to.deep.equal(['A=1'])
  })

  it('ends a shorthand cluster at a value flag (-ite A=1, -ieA=1)', () => {
    expect(split(['-ite', 'A=1', 'img'])).to.deep.equal({flags: {interactive: true, tty: true, env: ['A=1']}, positionals: ['img']})
    expect(split(['-ieA=1', 'img'])).to.deep.equal({flags: {interactive: true, env: ['A=1']}, positionals: ['img']})
  })

  it('takes --flag=value, keeping later = signs in the value', () => {
    const {flags} = split(['--env=A=1', '--name=x', '--env', 'B=2=3', 'img'])
    expect(flags.env).to.deep.equal(['A=1', 'B=2=3'])
    expect(flags.name).to.equal('x')
  })

  it('takes the next argument as the value even when it starts with a dash', () => {
    expect(split(['--name', '--rm', 'img']).flags).to.deep.equal({name: '--rm'})
  })

  it('lets a later string flag override an earlier one', () => {
    expect(split(['--name', 'a', '--name', 'b', 'img']).flags.name).to.equal('b')
  })

  it('stores aliases under the canonical name', () => {
    expect(split(['--net', 'none', '--data-root=/d', 'img']).flags).to.deep.equal({network: ['none'], root: '/d'})
  })

  it('treats -- as the end of flags', () => {
    expect(split(['--rm', '--', '--weird-image-name', '-x'])).to.deep.equal({flags: {rm: true}, positionals: ['--weird-image-name', '-x']})
    expect(split(['--', 'img']).positionals).to.deep.equal(['img'])
  })

  it('passes a -- after the image through to the command, as Docker does', () => {
    expect(split(['img', '--', 'echo']).positionals).to.deep.equal(['img', '--', 'echo'])
  })

  it('treats a lone - as a positional', () => {
    expect(split(['-', 'x']).positionals).to.deep.equal(['-', 'x'])
  })

  it('returns no positionals for flags only', () => {
    expect(split(['--rm'])).to.deep.equal({flags: {rm: true}, positionals: []})
    expect(split([])).to.deep.equal({flags: {}, positionals: []})
  })

  it('accepts --rm=false and --rm=true', () => {
    expect(split(['--rm=false', 'img']).flags.rm).to.equal(false)
    expect(split(['--rm=true', 'img']).flags.rm).to.equal(true)
  })

  it('rejects a non-boolean value for a boolean flag', () => {
    usageError(() => split(['--rm=yes', 'img']), 'invalid argument "yes" for "--rm" flag: strconv.ParseBool: parsing "yes": invalid syntax')
  })

  it('rejects an unknown long flag with Docker\'s message', () => {
    usageError(() => split(['--bogus', 'img']), 'unknown flag: --bogus')
    usageError(() => split(['--bogus=1', 'img']), 'unknown flag: --bogus')
  })

  it('rejects an unknown shorthand with Docker\'s message', () => {
    usageError(() => split(['-x', 'img']), "unknown shorthand flag: 'x' in -x")
    usageError(() => split(['-itx', 'img']), "unknown shorthand flag: 'x' in -itx")
  })

  it('rejects a missing value with Docker\'s message', () => {
    usageError(() => split(['--name']), 'flag needs an argument: --name')
    usageError(() => split(['-e']), "flag needs an argument: 'e' in -e")
    usageError(() => split(['-it', '-w']), "flag needs an argument: 'w' in -w")
  })

  it('validates flags that have a fixed set of values', () => {
    usageError(() => split(['--pull=bogus', 'img']), 'invalid pull option: \'bogus\': must be one of "missing", "never" or "always"')
    usageError(() => split(['--pull', 'sometimes', 'img']), /invalid pull option: 'sometimes'/)
    expect(split(['--pull', 'never', 'img']).flags.pull).to.equal('never')
  })

  it('honours maxLeading: flags between the first positionals are parsed', () => {
    const table: FlagSpec[] = [{name: 'force', char: 'f', kind: 'boolean', description: ''}]
    expect(splitArgv(['a', '-f', 'b', '-f', 'c'], table, 2)).to.deep.equal({flags: {force: true}, positionals: ['a', 'b', '-f', 'c']})
  })

  describe('pflag parity', () => {
    // pflag accepts `-d=false` / `-t=false` (and `-it=false`); ncx reports
    // "unknown shorthand flag: '=' in -t=false".
    it('accepts -t=false for a boolean shorthand', () => {
      expect(split(['-t=false', 'img']).flags.tty).to.equal(false)
    })
    // pflag parses booleans with strconv.ParseBool: 1, t, T, TRUE, True, 0, f, F, FALSE, False.
    it('accepts --rm=1 and --rm=0 (strconv.ParseBool)', () => {
      expect(split(['--rm=1', 'img']).flags.rm).to.equal(true)
      expect(split(['--rm=0', 'img']).flags.rm).to.equal(false)
    })
  })
})
