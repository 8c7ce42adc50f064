import {expect} from 'chai'

import {ShellLex, envLookup} from '../../src/engine/build/dockerfile/shell.js'
import {DockerfileSyntaxError, parseDockerfile, parseWords} from '../../src/engine/build/dockerfile/parser.js'
import {parseGoDuration, readDockerfile} from '../../src/engine/build/dockerfile/instructions.js'

/** `word | expected` rows; `error` means processing must fail. */
function table(rows: string): Array<[string, string]> {
  return rows
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('//'))
    .map((l) => {
      const i = l.lastIndexOf('|')
      return [l.slice(0, i).trim(), l.slice(i + 1).trim()]
    })
}

describe('Dockerfile shell lexer (src/engine/build/dockerfile/shell.ts)', () => {
  const env = envLookup(['PWD=/home', 'SHELL=bash', 'KOREAN=한국어', 'NULL='])
  const lex = new ShellLex('\\')

  // Docker's substitution rules (the cases BuildKit's frontend/dockerfile/shell tests pin down).
  const cases = table(`
    hello | hello
    he'll'o | hello
    he'llo | error
    he\\'llo | he'llo
    he\\\\'llo | error
    abc\\tdef | abctdef
    "abc\\tdef" | abc\\tdef
    "abc\\\\tdef" | abc\\tdef
    'abc\\tdef' | abc\\tdef
    hello\\ | hello
    hello\\\\ | hello\\
    "hello | error
    "hello\\" | error
    "hel'lo" | hel'lo
    'hello | error
    'hello\\' | hello\\
    "''" | ''
    $. | $.
    he$1x | hex
    he$.x | he$.x
    he$pwd. | he.
    he$PWD | he/home
    he\\$PWD | he$PWD
    he\\\\$PWD | he\\/home
    "he\\$PWD" | he$PWD
    "he\\\\$PWD" | he\\/home
    \\\${} | \${}
    \\\${}aaa | \${}aaa
    \${} | error
    he\${}xx | error
    he\${hi}xx | hexx
    he\${PWD} | he/home
    he\${.} | error
    he\${XXX:-000}xx | he000xx
    he\${PWD:-000}xx | he/homexx
    he\${XXX:-$PWD}xx | he/homexx
    he\${XXX:-\${PWD:-yyy}}xx | he/homexx
    he\${XXX:-\${YYY:-yyy}}xx | heyyyxx
    he\${XXX:YYY} | error
    he\${XXX?} | error
    he\${XXX:?} | error
    he\${PWD?} | he/home
    he\${NULL?} | he
    he\${NULL:?} | error
    he\${XXX:+\${PWD}}xx | hexx
    he\${PWD:+\${SHELL}}xx | hebashxx
    he\${XXX:+000}xx | hexx
    he\${PWD:+000}xx | he000xx
    'he\${XX}' | he\${XX}
    "he\${PWD}" | he/home
    "he'$PWD'" | he'/home'
    '$PWD' | $PWD
    he\${PWD | error
    he\${PWD:=000}xx | error
    he\${PWD:+\${PWD}:}xx | he/home:xx
    he\${XXX:-\\$PWD:}xx | he$PWD:xx
    he\${XXX:-\\\${PWD}z}xx | he\${PWDz}xx
    안녕$KOREAN | 안녕한국어
    \${aaa}} | }
    \${aaa:-bbb}} | bbb}
    \${aaa:-bbb {foo} | bbb {foo
    \${:-bbb} | error
    $1 |
    \${1:-bbb} | bbb
    $999aaa | aaa
    $@aaa | aaa
    \${#:-bbb} | bbb
    $$ |
    \${NULL-x} |
    \${NULL:-x} | x
    \${XXX-x} | x
    \${NULL+x} | x
    \${NULL:+x} |
  `)
  for (const [word, expected] of cases) {
    it(`${word} → ${expected === 'error' ? 'an error' : JSON.stringify(expected)}`, () => {
      if (expected === 'error') expect(() => lex.processWord(word, env)).to.throw()
      else expect(lex.processWord(word, env)).to.equal(expected)
    })
  }

  it('prefix, suffix and replacement modifiers', () => {
    const e = envLookup(['F=archive.tar.gz', 'P=/usr/local/bin'])
    expect(lex.processWord('${F%.*}', e)).to.equal('archive.tar')
    expect(lex.processWord('${F%%.*}', e)).to.equal('archive')
    expect(lex.processWord('${F#*.}', e)).to.equal('tar.gz')
    expect(lex.processWord('${F##*.}', e)).to.equal('gz')
    expect(lex.processWord('${P/local/opt}', e)).to.equal('/usr/opt/bin')
    expect(lex.processWord('${P//\\//:}', e)).to.equal(':usr:local:bin')
  })

  it('splits words only on whitespace that is not quoted, after substitution', () => {
    const e = envLookup(['space=abc  def', 'leading=  ab c', 'trailing=ab c   '])
    expect(lex.processWords('hello${space}bye', e)).to.deep.equal(['helloabc', 'defbye'])
    expect(lex.processWords('hello"${space}"bye', e)).to.deep.equal(['helloabc  defbye'])
    expect(lex.processWords('hello"${leading}" def', e)).to.deep.equal(['hello  ab c', 'def'])
    expect(lex.processWords('hello${trailing}d', e)).to.deep.equal(['helloab', 'c', 'd'])
    expect(lex.processWords('hello\\ there', e)).to.deep.equal(['hello there'])
    expect(lex.processWords('hello\\" there', e)).to.deep.equal(['hello"', 'there'])
    expect(() => lex.processWords('hello" there', e)).to.throw()
  })

  it('keeps unset references as written with skipUnsetEnv', () => {
    const l = lex.with({skipUnsetEnv: true})
    expect(l.processWord('a $X ${Y} ${Z:-d} $PWD', env)).to.equal('a $X ${Y} ${Z:-d} /home')
  })

  it('honours a backtick escape token', () => {
    const l = new ShellLex('`')
    expect(l.processWord('a`$PWD\\x', env)).to.equal('a$PWD\\x')
  })
})

describe('Dockerfile parser (src/engine/build/dockerfile/parser.ts)', () => {
  it('reads instructions with their lines, joining continuations and skipping comments inside', () => {
    const r = parseDockerfile('FROM busybox\n# a comment\nRUN echo a \\\n  # skipped\n  && echo b\n\nCMD ["sh"]\n')
    expect(r.nodes.map((n) => [n.command, n.startLine, n.endLine])).to.deep.equal([
      ['FROM', 1, 1],
      ['RUN', 3, 5],
      ['CMD', 7, 7],
    ])
    expect(r.nodes[1].args).to.deep.equal(['echo a   && echo b'])
    expect(r.nodes[2].json).to.equal(true)
    expect(r.nodes[2].args).to.deep.equal(['sh'])
  })

  it('warns about empty continuation lines', () => {
    const r = parseDockerfile('FROM x\nRUN a \\\n\n  b\n')
    expect(r.warnings).to.have.length(1)
    expect(r.nodes[1].args).to.deep.equal(['a   b'])
  })

  it('reads parser directives only at the top, and honours # escape=`', () => {
    const r = parseDockerfile('# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN a `\n b\n')
    expect(r.escapeToken).to.equal('`')
    expect(r.directives.map((d) => d.name)).to.deep.equal(['syntax', 'escape'])
    expect(r.nodes[1].args).to.deep.equal(['a  b'])
    // After an instruction, a directive-looking line is a comment.
    const late = parseDockerfile('FROM x\n# escape=`\nRUN a \\\n b\n')
    expect(late.escapeToken).to.equal('\\')
    expect(late.nodes[1].args).to.deep.equal(['a  b'])
    // An empty line ends the directive section.
    expect(parseDockerfile('\n# escape=`\nFROM x\n').escapeToken).to.equal('\\')
    expect(() => parseDockerfile('# escape=\\\n# escape=`\nFROM x\n')).to.throw('only one escape parser directive can be used')
    expect(() => parseDockerfile('# escape=x\nFROM x\n')).to.throw('invalid escape token')
  })

  it('keeps a backslash that escapes the escape token at the end of a line', () => {
    const r = parseDockerfile('FROM x\nRUN echo \\\\\nRUN b\n')
    expect(r.nodes[1].args).to.deep.equal(['echo \\\\'])
    expect(r.nodes).to.have.length(3)
  })

  it('extracts flags with quotes, stopping at the first non-flag word or --', () => {
    const r = parseDockerfile('FROM x\nCOPY --chown="a b" --from=build src /dst\nRUN --mount=type=cache,target=/c -- --not-a-flag\n')
    expect(r.nodes[1].flags).to.deep.equal(['--chown=a b', '--from=build'])
    expect(r.nodes[1].args).to.deep.equal(['src', '/dst'])
    expect(r.nodes[2].flags).to.deep.equal(['--mount=type=cache,target=/c'])
    expect(r.nodes[2].args).to.deep.equal(['--not-a-flag'])
  })

  it('parses ENV and LABEL pairs, keeping quotes for the lexer, and the legacy form', () => {
    const r = parseDockerfile('FROM x\nENV A=1 B="two words" C=\\ x\nENV LEGACY value with spaces\nLABEL "com.x"="y"\n')
    expect(r.nodes[1].args).to.deep.equal(['A', '1', '=', 'B', '"two words"', '=', 'C', '\\ x', '='])
    expect(r.nodes[2].args).to.deep.equal(['LEGACY', 'value with spaces', ''])
    expect(r.nodes[3].args).to.deep.equal(['"com.x"', '"y"', '='])
    expect(() => parseDockerfile('FROM x\nENV A=1 B\n')).to.throw("can't find = in \"B\"")
    expect(() => parseDockerfile('FROM x\nENV A\n')).to.throw('ENV must have two arguments')
  })

  it('reads words like Docker does for ARG', () => {
    expect(parseWords('A="x y" B', '\\')).to.deep.equal(['A="x y"', 'B'])
    expect(parseWords("A='it\\'s'", '\\')).to.deep.equal(["A='it\\'s'"])
  })

  it('reads heredocs: several per instruction, quoted delimiters, <<- tab stripping', () => {
    const text = 'FROM x\nRUN <<EOF\necho $HOME\nEOF\nCOPY <<-"A" <<B /dst/\n\tkept $X\n\tA\nsecond\nB\nRUN ["echo", "<<NOT"]\n'
    const r = parseDockerfile(text)
    expect(r.nodes[1].heredocs).to.deep.equal([{name: 'EOF', fileDescriptor: 0, expand: true, chomp: false, content: 'echo $HOME\n'}])
    expect(r.nodes[1].endLine).to.equal(4)
    expect(r.nodes[2].heredocs.map((h) => [h.name, h.expand, h.chomp, h.content])).to.deep.equal([
      ['A', false, true, '\tkept $X\n'],
      ['B', true, false, 'second\n'],
    ])
    expect(r.nodes[3].heredocs).to.deep.equal([])
    expect(() => parseDockerfile('FROM x\nRUN <<EOF\nno end\n')).to.throw('unterminated heredoc')
  })

  it('reports the line of syntax errors', () => {
    try {
      readDockerfile('FROM x\n\nRUNN echo\n')
      expect.fail('no error')
    } catch (error) {
      expect(error).to.be.instanceOf(DockerfileSyntaxError)
      expect((error as DockerfileSyntaxError).line).to.equal(3)
      expect((error as Error).message).to.equal('dockerfile parse error on line 3: unknown instruction: RUNN (did you mean RUN?)')
    }
    expect(() => parseDockerfile('\n# only a comment\n')).to.throw('file with no instructions')
    expect(() => readDockerfile('RUN x\n')).to.throw('no build stage in current context')
  })
})

describe('Dockerfile instructions (src/engine/build/dockerfile/instructions.ts)', () => {
  it('groups stages, meta ARGs and typed instructions', () => {
    const df = readDockerfile(
      [
        'ARG BASE=busybox',
        'FROM ${BASE} AS Build',
        'WORKDIR /src',
        'COPY --chown=1:2 --chmod=0640 --link a b* /out/',
        'RUN --mount=type=cache,target=/c --network=none make',
        'FROM scratch',
        'COPY --from=build /out /',
        'ENTRYPOINT ["/app"]',
        'CMD serve --port 80',
        'HEALTHCHECK --interval=30s --retries=3 CMD wget -q localhost',
        'EXPOSE 80/tcp 443',
        'SHELL ["/bin/bash", "-c"]',
        'ONBUILD RUN echo triggered',
        'ARG A B=2',
        'STOPSIGNAL SIGINT',
        'VOLUME ["/data", "/logs"]',
        'USER app:app',
      ].join('\n'),
    )
    expect(df.metaArgs[0].args).to.deep.equal([{key: 'BASE', value: 'busybox'}])
    expect(df.stages.map((s) => [s.name, s.baseName, s.commands.length])).to.deep.equal([
      ['build', '${BASE}', 3],
      ['', 'scratch', 11],
    ])
    const copy = df.stages[0].commands[1]
    expect(copy).to.include({kind: 'copy', chown: '1:2', chmod: '0640', link: true, dest: '/out/'})
    expect(copy.kind === 'copy' && copy.sources).to.deep.equal(['a', 'b*'])
    const run = df.stages[0].commands[2]
    expect(run).to.include({kind: 'run', network: 'none', prependShell: true})
    expect(run.kind === 'run' && run.mounts).to.deep.equal(['type=cache,target=/c'])
    const [cp, ep, cmd, hc] = df.stages[1].commands
    expect(cp).to.include({kind: 'copy', from: 'build'})
    expect(ep).to.deep.include({kind: 'entrypoint', cmdLine: ['/app'], prependShell: false})
    expect(cmd).to.deep.include({kind: 'cmd', cmdLine: ['serve --port 80'], prependShell: true})
    expect(hc).to.deep.include({kind: 'healthcheck', health: {Test: ['CMD-SHELL', 'wget -q localhost'], Interval: 30e9, Retries: 3}})
    expect(df.stages[1].commands[6]).to.deep.include({kind: 'onbuild', expression: 'RUN echo triggered'})
  })

  it('refuses bad flags and arguments with BuildKit\'s messages', () => {
    const err = (text: string) => {
      try {
        readDockerfile(`FROM x\n${text}\n`)
      } catch (error) {
        return (error as Error).message.replace(/^dockerfile parse error on line \d+: /, '')
      }
      return 'no error'
    }
    expect(err('COPY a')).to.equal('COPY requires at least two arguments, but only one was provided. Destination could not be determined')
    expect(err('COPY --boo=1 a b')).to.equal('unknown flag: --boo')
    expect(err('COPY --chwn=1 a b')).to.equal('unknown flag: --chwn (did you mean --chown?)')
    expect(err('COPY --from a b')).to.equal('missing a value on flag: --from')
    expect(err('COPY --link=yes a b')).to.equal('expecting boolean value for flag --link, not: yes')
    expect(err('COPY --from=a --from=b a b')).to.equal('duplicate flag specified: --from')
    expect(err('ADD --from=a a b')).to.equal('unknown flag: --from')
    expect(err('COPY a <<EOF\nx\nEOF')).to.equal('COPY cannot accept a heredoc as a destination')
    expect(err('RUN --network=bridge x')).to.equal('invalid network mode "bridge"')
    expect(err('ONBUILD ONBUILD RUN x')).to.equal('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed')
    expect(err('ONBUILD FROM x')).to.equal("FROM isn't allowed as an ONBUILD trigger")
    expect(err('WORKDIR')).to.equal('WORKDIR requires exactly one argument')
    expect(err('SHELL /bin/sh -c')).to.equal('SHELL requires the arguments to be in JSON form')
    expect(err('HEALTHCHECK NONE x')).to.equal('HEALTHCHECK NONE takes no arguments')
    expect(err('HEALTHCHECK FOO x')).to.equal('Unknown type "FOO" in HEALTHCHECK (try CMD)')
    expect(err('HEALTHCHECK --interval=1us CMD x')).to.equal('Interval "interval" cannot be less than 1ms')
    expect(err('CMD ["a", 1]')).to.equal('when using JSON array syntax, arrays must be comprised of strings only')
    expect(err('RUN --mount=type=bind,from=$X x')).to.equal("'from' doesn't support variable expansion, define alias stage instead")
    expect(err('ARG =x')).to.equal('ARG names can not be blank')
    expect(() => readDockerfile('FROM a AS 1x\n')).to.throw('invalid name for build stage: "1x"')
    expect(() => readDockerfile('FROM a b\n')).to.throw('FROM requires either one or three arguments')
  })

  it('treats a malformed JSON array as the shell form, as Docker does', () => {
    const df = readDockerfile('FROM x\nCMD [ "a", ]\n')
    expect(df.stages[0].commands[0]).to.deep.include({cmdLine: ['[ "a", ]'], prependShell: true})
  })

  it('parses Go durations', () => {
    expect(parseGoDuration('1m30s')).to.equal(90e9)
    expect(parseGoDuration('1.5h')).to.equal(5400e9)
    expect(parseGoDuration('250ms')).to.equal(250e6)
    expect(() => parseGoDuration('10')).to.throw('missing unit')
  })
})
