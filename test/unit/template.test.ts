import {expect} from 'chai'

import {compileTemplate} from '../../src/cli/template.js'
import {UsageError} from '../../src/engine/errors.js'

const image = {
  ID: 'sha256:abc',
  Repository: 'busybox',
  Tag: 'latest',
  Size: '4.26MB',
  Name: 'MiXeD',
  Labels: {maintainer: 'me', 'org.example.k': 'v'},
  List: ['a', 'b', 'c'],
  Nested: {Inner: {Deep: 42}},
}

const render = (format: string, data: unknown = image) => compileTemplate(format).render(data)

describe('--format templates (src/cli/template.ts)', () => {
  it('substitutes fields and keeps literal text', () => {
    expect(render('{{.Repository}}:{{.Tag}}')).to.equal('busybox:latest')
    expect(render('id={{ .ID }} size={{.Size}}')).to.equal('id=sha256:abc size=4.26MB')
  })

  it('follows nested fields', () => {
    expect(render('{{.Nested.Inner.Deep}}')).to.equal('42')
  })

  it('prints <no value> for a missing field, like Go on a map', () => {
    expect(render('{{.Nope}}')).to.equal('<no value>')
    expect(render('{{.Nope.Deeper}}')).to.equal('<no value>')
  })

  it('renders {{json .}} and {{json .Field}} as JSON', () => {
    expect(JSON.parse(render('{{json .}}'))).to.deep.equal(image)
    expect(render('{{json .Labels}}')).to.equal('{"maintainer":"me","org.example.k":"v"}')
    expect(render('{{json .Tag}}')).to.equal('"latest"')
    expect(render('{{json .Nope}}')).to.equal('null')
  })

  it('does not HTML-escape JSON (Docker disables it)', () => {
    expect(render('{{json .X}}', {X: '<a&b>'})).to.equal('"<a&b>"')
  })

  it('applies lower, upper and title', () => {
    expect(render('{{lower .Name}}')).to.equal('mixed')
    expect(render('{{upper .Name}}')).to.equal('MIXED')
    expect(render('{{title .X}}', {X: 'hello world'})).to.equal('Hello World')
  })

  it('indexes a map with a quoted key, including keys with dots and spaces', () => {
    expect(render('{{index .Labels "maintainer"}}')).to.equal('me')
    expect(render('{{index .Labels "org.example.k"}}')).to.equal('v')
    expect(render('{{index .M "a b"}}', {M: {'a b': 'spaced'}})).to.equal('spaced')
    expect(render('{{index .Labels "missing"}}')).to.equal('<no value>')
  })

  it('joins a list with a separator', () => {
    expect(render('{{join .List ","}}')).to.equal('a,b,c')
    expect(render('{{join .List ", "}}')).to.equal('a, b, c')
  })

  // `truncate` is listed as supported (and Docker's is called as {{truncate .ID 12}}), but
  // evalArg only accepts "strings" and .fields: a number argument throws
  // 'template: unexpected "6"', so truncate cannot be used at all.
  it('truncate takes a numeric length: {{truncate .ID 6}}', () => {
    expect(render('{{truncate .ID 6}}')).to.equal('sha256')
  })

  it('prints lists like Go', () => {
    expect(render('{{.List}}')).to.equal('[a b c]')
  })

  it('rejects an unknown function with a UsageError', () => {
    expect(() => render('{{bogus .ID}}')).to.throw(UsageError, 'template: function "bogus" not defined')
  })

  it('rejects an unclosed action', () => {
    expect(() => compileTemplate('{{.ID')).to.throw(UsageError, /unclosed action/)
    expect(() => compileTemplate('x {{.ID}} {{.Tag')).to.throw(UsageError, /unclosed action/)
  })

  it('turns \\t and \\n escapes into tabs and newlines', () => {
    expect(render('{{.Repository}}\\t{{.Tag}}\\n')).to.equal('busybox\tlatest\n')
  })

  it('is not a table without the table prefix', () => {
    const tpl = compileTemplate('{{.ID}}')
    expect(tpl.table).to.equal(false)
  })

  it('derives Docker\'s header from a table format', () => {
    const tpl = compileTemplate('table {{.ID}}\\t{{.Size}}')
    expect(tpl.table).to.equal(true)
    expect(tpl.header).to.equal('IMAGE ID\tSIZE')
    expect(tpl.render(image)).to.equal('sha256:abc\t4.26MB')
  })

  it('derives headers for Docker\'s image fields and splits other CamelCase names', () => {
    expect(compileTemplate('table {{.Repository}}\\t{{.Tag}}\\t{{.Digest}}\\t{{.CreatedSince}}\\t{{.CreatedAt}}').header).to.equal('REPOSITORY\tTAG\tDIGEST\tCREATED\tCREATED AT')
    expect(compileTemplate('table {{.RunningFor}}\\t{{lower .Name}}').header).to.equal('RUNNING FOR\tNAME')
  })

  it('keeps literal text in the header', () => {
    expect(compileTemplate('table {{.Repository}}:{{.Tag}}').header).to.equal('REPOSITORY:TAG')
  })

  // Go's text/template prints maps with sorted keys: map[a:1 b:2].
  it('prints maps with keys sorted, like Go', () => {
    expect(render('{{.M}}', {M: {b: '2', a: '1'}})).to.equal('map[a:1 b:2]')
  })
})
