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

  it('refuses a field the document does not have, as Docker\'s Go structs do', () => {
    expect(() => render('{{.Nope}}')).to.throw(UsageError, "can't evaluate field Nope")
    expect(() => render('{{.Nested.Nope}}')).to.throw(UsageError, /at <\.Nested\.Nope>: can't evaluate field Nope/)
  })

  it('prints <no value> for a missing key of a map (labels, options …), like Go', () => {
    expect(render('{{.Labels.nokey}}')).to.equal('<no value>')
    expect(render('{{.HostConfig.LogConfig.Config.nokey}}', {HostConfig: {LogConfig: {Config: {}}}})).to.equal('<no value>')
    expect(() => render('{{.Config.Nope}}', {Config: {}})).to.throw(UsageError, "can't evaluate field Nope")
  })

  it('prints <no value> for any missing field when not strict', () => {
    expect(compileTemplate('{{.Nope}}', {}, {strict: false}).render(image)).to.equal('<no value>')
    expect(compileTemplate('{{.Nope.Deeper}}', {}, {strict: false}).render(image)).to.equal('<no value>')
  })

  it('calls a method of the row with its arguments ({{.Label "k"}})', () => {
    const row = {Label: (k: string) => ({a: '1'})[k] ?? ''}
    expect(render('{{.Label "a"}}|{{.Label "b"}}', row)).to.equal('1|')
    expect(() => render('{{.Label}}', row)).to.throw(UsageError, 'wrong number of args')
  })

  it('renders {{json .}} and {{json .Field}} as JSON', () => {
    expect(JSON.parse(render('{{json .}}'))).to.deep.equal(image)
    expect(render('{{json .Labels}}')).to.equal('{"maintainer":"me","org.example.k":"v"}')
    expect(render('{{json .Tag}}')).to.equal('"latest"')
    expect(render('{{json .Labels.nope}}')).to.equal('null')
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

  // Cases from Docker's documentation (docs.docker.com/engine/cli/formatting/ and the
  // inspect / ps / images references): format, data, expected output.
  const container = {
    Name: '/Web_Server',
    Args: ['-g', 'daemon off;'],
    Image: 'docker.io/library/nginx:latest',
    Mounts: [{Type: 'volume', Source: '/var/lib/ncx/volumes/data/_data', Destination: '/data'}],
    Config: {Image: 'nginx', Labels: {'com.example.vendor': 'ACME'}},
    State: {Status: 'running', Running: true, ExitCode: 0},
    NetworkSettings: {
      Networks: {bridge: {IPAddress: '10.88.0.2'}, backend: {IPAddress: '10.89.0.3'}},
      Ports: {'22/tcp': [{HostIp: '0.0.0.0', HostPort: '8022'}], '80/tcp': [{HostIp: '0.0.0.0', HostPort: '8080'}]},
    },
    LogPath: '/x/abc-json.log',
  }
  const docs: Array<[string, unknown, string]> = [
    ['{{join .Args " , "}}', container, '-g , daemon off;'],
    ['{{json .Mounts}}', container, '[{"Type":"volume","Source":"/var/lib/ncx/volumes/data/_data","Destination":"/data"}]'],
    ['{{lower .Name}}', container, '/web_server'],
    ['{{split .Image ":"}}', container, '[docker.io/library/nginx latest]'],
    ['{{title .Name}}', {Name: 'my container name'}, 'My Container Name'],
    ['{{upper .Name}}', container, '/WEB_SERVER'],
    ['{{range .NetworkSettings.Networks}}{{println .IPAddress}}{{end}}', container, '10.89.0.3\n10.88.0.2\n'],
    ['{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container, '10.89.0.310.88.0.2'],
    ['{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}', container, ' 22/tcp -> 8022  80/tcp -> 8080 '],
    ['{{.LogPath}}', container, '/x/abc-json.log'],
    ['{{.Config.Image}}', container, 'nginx'],
    ['{{index .Config.Labels "com.example.vendor"}}', container, 'ACME'],
    ['{{json .Config}}', container, '{"Image":"nginx","Labels":{"com.example.vendor":"ACME"}}'],
    ['{{if .State.Running}}up{{else}}down{{end}}', container, 'up'],
    ['{{if eq .State.Status "exited"}}gone{{else if eq .State.Status "running"}}here{{end}}', container, 'here'],
    ['{{if not .State.ExitCode}}clean{{end}}', container, 'clean'],
    ['{{.ID}}: {{.Command}}', {ID: 'a87ecb4f327c', Command: '"/bin/sh -c #(nop) MA"'}, 'a87ecb4f327c: "/bin/sh -c #(nop) MA"'],
    ['{{.ID}}: {{.Repository}}', {ID: '77af4d6b9913', Repository: '<none>'}, '77af4d6b9913: <none>'],
    ['{{.Names | upper}}', {Names: 'web'}, 'WEB'],
    ['{{pad .Name 2 3}}|', {Name: 'x'}, '  x   |'],
    ['{{truncate .ID 12}}', {ID: 'sha256:0123456789abcdef'}, 'sha256:01234'],
    ['{{truncate .ID 99}}', {ID: 'short'}, 'short'],
    ['{{range .List}}[{{.}}]{{else}}empty{{end}}', {List: []}, 'empty'],
    ['{{with .State}}{{.Status}}{{end}}', container, 'running'],
    ['{{with .Labels.nope}}x{{else}}none{{end}}', {Labels: {}}, 'none'],
    ['{{- " a " -}}  {{- .Name -}} ', {Name: 'n'}, ' a n'],
    ['{{$n := .Name}}{{range .Args}}{{$n}}:{{.}} {{end}}', container, '/Web_Server:-g /Web_Server:daemon off; '],
    ['{{len .Args}} {{index .Args 1}}', container, '2 daemon off;'],
    ['{{printf "%s=%d" .K .V}}', {K: 'n', V: 3}, 'n=3'],
    ['{{printf "%-6s|" .K}}', {K: 'ab'}, 'ab    |'],
    ['{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}', {Labels: {b: '2', a: '1'}}, 'a=1;b=2;'],
    ['{{json .}}', {A: '<b>&'}, '{"A":"<b>&"}'],
  ]
  for (const [format, data, expected] of docs) {
    it(`renders ${format}`, () => {
      expect(compileTemplate(format).render(data)).to.equal(expected)
    })
  }

  it('reports template mistakes as usage errors', () => {
    expect(() => compileTemplate('{{if .X}}open')).to.throw(UsageError, /missing \{\{end\}\}/)
    expect(() => compileTemplate('{{end}}')).to.throw(UsageError, /unexpected \{\{end\}\}/)
    expect(() => compileTemplate('{{.A | nosuch}}')).to.throw(UsageError, 'template: function "nosuch" not defined')
    expect(() => compileTemplate('{{$x}}').render({})).to.throw(UsageError, 'template: undefined variable: $x')
  })

  it('table headers follow the fields through pipelines and functions', () => {
    expect(compileTemplate('table {{.Names | upper}}\\t{{truncate .ID 4}}').header).to.equal('NAMES\tIMAGE ID')
  })
})
