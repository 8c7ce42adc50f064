import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {expect} from 'chai'

import {canonicalModel, renderModel} from '../../src/engine/compose/canonical.js'
import {configHash, replicaOptions, serviceHashes} from '../../src/engine/compose/containers.js'
import {parseDotenv} from '../../src/engine/compose/dotenv.js'
import {ComposeError} from '../../src/engine/compose/errors.js'
import {collectVariables, interpolate, variablesIn} from '../../src/engine/compose/interpolate.js'
import {LoadOptions, loadProject, normalizeProjectName} from '../../src/engine/compose/loader.js'
import {dependenciesOf, selectServices} from '../../src/engine/compose/up.js'
import {hostOptions} from '../../src/cli/compose-host.js'
import {Engine} from '../../src/engine/engine.js'

describe('compose (src/engine/compose)', () => {
  let dir: string
  let n = 0
  /** A fresh project directory with the given files. */
  const project = (files: Record<string, string>): string => {
    const d = join(dir, `p${n++}`)
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(d, name, '..'), {recursive: true})
      writeFileSync(join(d, name), text)
    }
    return d
  }
  const load = (d: string, o: LoadOptions = {}) => loadProject({cwd: d, env: {}, ...o})
  const config = (d: string, o: LoadOptions = {}) => renderModel(canonicalModel(load(d, o)), 'yaml')
  const loadError = (d: string, o: LoadOptions = {}): ComposeError => {
    try {
      load(d, o)
    } catch (error) {
      expect(error).to.be.instanceOf(ComposeError)
      return error as ComposeError
    }
    throw new Error('expected the project to be refused')
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-unit-compose-'))
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  describe('interpolation', () => {
    const env: Record<string, string> = {A: 'a', EMPTY: '', N: '3'}
    const cases: Array<[string, string]> = [
      ['$A', 'a'],
      ['${A}', 'a'],
      ['x${A}y', 'xay'],
      ['$A$A', 'aa'],
      ['${UNSET}', ''],
      ['${UNSET:-d}', 'd'],
      ['${EMPTY:-d}', 'd'],
      ['${EMPTY-d}', ''],
      ['${UNSET-d}', 'd'],
      ['${A:-d}', 'a'],
      ['${A:+alt}', 'alt'],
      ['${EMPTY:+alt}', ''],
      ['${EMPTY+alt}', 'alt'],
      ['${UNSET+alt}', ''],
      ['$$A', '$A'],
      ['$${A}', '${A}'],
      ['cost: $$5', 'cost: $5'],
      ['${UNSET:-${A}}', 'a'],
      ['${UNSET:-${ALSO_UNSET:-deep}}', 'deep'],
      ['${UNSET:-a b c}', 'a b c'],
      ['${A?boom}', 'a'],
      ['${EMPTY?boom}', ''],
    ]
    for (const [input, want] of cases) {
      it(`${input} → ${JSON.stringify(want)}`, () => {
        expect(interpolate(input, (k) => env[k])).to.equal(want)
      })
    }
    const errors: Array<[string, RegExp]> = [
      ['${UNSET:?must be set}', /required variable UNSET is missing a value: must be set/],
      ['${EMPTY:?}', /required variable EMPTY is missing a value$/],
      ['${UNSET?no}', /required variable UNSET is missing a value: no/],
      ['${}', /invalid interpolation format/],
      ['${A', /invalid interpolation format/],
      ['cost $5', /invalid interpolation format/],
      ['${A:x}', /invalid interpolation format/],
    ]
    for (const [input, re] of errors) {
      it(`${input} is refused`, () => {
        expect(() => interpolate(input, (k) => env[k])).to.throw(re)
      })
    }
    it('reports unset variables', () => {
      const unset: string[] = []
      interpolate('$X ${Y} ${Z:-z}', () => undefined, (v) => unset.push(v))
      expect(unset).to.deep.equal(['X', 'Y'])
    })
  })

  describe('config --variables, --hash, --no-interpolate, --no-env-resolution, --no-consistency', () => {
    it('finds every variable of a string with its default, alternative and requirement (compose-go)', () => {
      const v = (name: string, d = '', p = '', r = false) => ({Name: name, DefaultValue: d, PresenceValue: p, Required: r})
      expect(variablesIn('$A ${B} ${C:-x} ${D-y} ${E:?err} ${F?} ${G:+on} ${H+alt}')).to.deep.equal([v('A'), v('B'), v('C', 'x'), v('D', 'y'), v('E', '', '', true), v('F', '', '', true), v('G', '', 'on'), v('H', '', 'alt')])
      // Nested references in defaults and messages count; $$ is a literal, a lone $ nothing.
      expect(variablesIn('${A:-${B:-x}} $$NOT ${C:?need $D} cost: 5$')).to.deep.equal([v('A', '${B:-x}'), v('B', 'x'), v('C', '', '', true), v('D')])
      expect(variablesIn('plain')).to.deep.equal([])
    })

    it('merges uses across a model: required if any use is, the first default kept', () => {
      const found = collectVariables({a: '${X}', b: ['${X:?set X}', {c: '${X:-d}'}], n: 3, m: null})
      expect([...found.values()]).to.deep.equal([{Name: 'X', DefaultValue: 'd', PresenceValue: '', Required: true}])
    })

    it('--no-interpolate keeps a value that only parses once interpolated, as written, and merges it by identity', () => {
      const d = project({
        'compose.yaml': 'services:\n  web:\n    image: busybox:${TAG}\n    ports: ["${PORT:?set PORT}:80"]\n',
        'compose.override.yaml': 'services:\n  web:\n    ports: ["${PORT:?set PORT}:80", "9000:90"]\n',
      })
      const raw = canonicalModel(load(d, {interpolate: false})) as {services: {web: {ports: unknown[]; image: string}}}
      expect(raw.services.web.image).to.equal('busybox:${TAG}')
      expect(raw.services.web.ports).to.deep.equal(['${PORT:?set PORT}:80', '9000:90'])
      expect(loadError(d).message).to.include('required variable PORT is missing a value: set PORT')
      // A value that is wrong whatever the variables hold is still refused.
      const bad = project({'compose.yaml': 'services:\n  web:\n    image: busybox\n    ports: ["80:eighty"]\n'})
      expect(loadError(bad, {interpolate: false}).message).to.include('invalid port "80:eighty"')
    })

    it('--no-env-resolution keeps env_file and bare keys; --no-consistency allows undefined references', () => {
      const d = project({
        'compose.yaml': 'services:\n  web:\n    image: busybox\n    env_file: web.env\n    environment: [FROM_HOST]\n    networks: [back]\n    depends_on: [ghost]\n',
        'web.env': 'A=1\n',
      })
      expect(loadError(d).message).to.include('service "web" depends on undefined service "ghost": invalid compose project')
      const p = load(d, {consistency: false, resolveEnvironment: false, env: {FROM_HOST: 'h'}})
      expect(p.services.web.env_file).to.deep.equal([{path: join(d, 'web.env'), required: true}])
      expect(p.services.web.environment).to.deep.equal({FROM_HOST: null})
      expect(Object.keys(p.services.web.networks ?? {})).to.deep.equal(['back'])
      const resolved = load(d, {consistency: false, env: {FROM_HOST: 'h'}})
      expect(resolved.services.web.environment).to.deep.equal({A: '1', FROM_HOST: 'h'})
      expect(resolved.services.web.env_file).to.equal(undefined)
    })

    it('--hash prints SERVICE HASH sorted, the hash up labels containers with; an unknown service is an error', () => {
      const d = project({'compose.yaml': 'services:\n  web:\n    image: busybox\n  api:\n    image: busybox\n    environment: [A=1]\n'})
      const p = load(d)
      expect(serviceHashes(p, '*')).to.deep.equal([`api ${configHash(p.services.api)}`, `web ${configHash(p.services.web)}`])
      expect(serviceHashes(p, 'web')).to.deep.equal([`web ${configHash(p.services.web)}`])
      expect(configHash(p.services.api)).to.not.equal(configHash(p.services.web))
      expect(() => serviceHashes(p, 'web,nope')).to.throw('no such service: nope')
    })
  })

  describe('.env files', () => {
    it('parses quotes, export, comments and references', () => {
      const m = parseDotenv(['# c', 'export A=1', 'B="two words"', "C='lit $A'", 'D=$A-x # comment', 'E', 'F="multi', 'line"', 'G: yaml'].join('\n'), 'f', (k) => (k === 'E' ? 'from-env' : undefined))
      expect(Object.fromEntries(m)).to.deep.equal({A: '1', B: 'two words', C: 'lit $A', D: '1-x', E: 'from-env', F: 'multi\nline', G: 'yaml'})
    })
    it('names the line of a bad entry', () => {
      expect(() => parseDotenv('A=1\nbad name=2\n', '/x/.env')).to.throw(/\/x\/.env:2/)
    })
  })

  describe('config output (canonical form)', () => {
    it('normalises short syntaxes as Docker Compose prints them', () => {
      const d = project({
        'compose.yaml': `
services:
  web:
    image: busybox:\${TAG:-1.36}
    command: sh -c 'echo "$$HOME"'
    ports:
      - "8080:80"
      - 127.0.0.1:9000-9001:90-91/udp
      - 3000
    environment:
      - A=1
      - FROM_ENV
    depends_on: [db]
    healthcheck:
      test: wget -q localhost
      interval: 90s
  db:
    image: busybox
`,
      })
      expect(config(d, {env: {FROM_ENV: 'x'}})).to.equal(`name: ${d.split('/').pop()}
services:
  db:
    image: busybox
    networks:
      default: null
  web:
    command:
      - sh
      - -c
      - echo "$$HOME"
    depends_on:
      db:
        condition: service_started
        required: true
    environment:
      A: "1"
      FROM_ENV: x
    healthcheck:
      test:
        - CMD-SHELL
        - wget -q localhost
      interval: 1m30s
    image: busybox:1.36
    networks:
      default: null
    ports:
      - mode: ingress
        target: 80
        published: "8080"
        protocol: tcp
      - mode: ingress
        host_ip: 127.0.0.1
        target: 90
        published: "9000"
        protocol: udp
      - mode: ingress
        host_ip: 127.0.0.1
        target: 91
        published: "9001"
        protocol: udp
      - mode: ingress
        target: 3000
        protocol: tcp
networks:
  default:
    name: ${d.split('/').pop()}_default
`)
    })

    it('the rendered model loads again to the same model ($ doubled, as Compose renders it)', () => {
      const d = project({'compose.yaml': 'name: rt\nservices:\n  a:\n    image: busybox\n    command: echo "$$HOME costs $$5"\n    environment: [P=a$$b]\n    ports: ["8080:80"]\n    volumes: [./x:/x:ro]\n    healthcheck: {test: "true", interval: 1m30s}\n'})
      const once = config(d)
      expect(once).to.include('- $$HOME costs $$5').and.include('P: a$$b')
      const again = renderModel(canonicalModel(loadProject({cwd: d, env: {}, files: ['-'], readStdin: () => once})), 'yaml')
      expect(again).to.equal(once)
    })

    it('--no-interpolate keeps variable references and $$ as written', () => {
      const d = project({'compose.yaml': 'name: raw\nservices:\n  a:\n    image: busybox:${TAG:-1}\n    command: echo ${GREETING} $$HOME\n    environment: {X: "${X:?x is required}"}\n'})
      const out = renderModel(canonicalModel(load(d, {interpolate: false, env: {TAG: '2'}})), 'yaml', false)
      expect(out).to.contain('      - ${GREETING}\n      - $$HOME\n').and.contain('      X: ${X:?x is required}\n').and.contain('    image: busybox:${TAG:-1}\n')
      // Interpolating, the same file needs X (and prints $$ for a literal $).
      expect(() => load(d)).to.throw(/x is required/)
    })

    it('renders JSON with the same model', () => {
      const d = project({'compose.yaml': 'name: demo\nservices:\n  a:\n    image: busybox\n'})
      expect(JSON.parse(renderModel(canonicalModel(load(d)), 'json'))).to.deep.equal({name: 'demo', services: {a: {image: 'busybox', networks: {default: null}}}, networks: {default: {name: 'demo_default'}}})
    })

    it('resolves volumes: named, bind (relative to the project), anonymous', () => {
      const d = project({'compose.yaml': 'name: v\nservices:\n  a:\n    image: busybox\n    volumes: [data:/data, ./conf:/etc/conf:ro, /cache]\nvolumes:\n  data:\n  ext:\n    external: true\n'})
      const p = load(d)
      expect(p.services.a.volumes).to.deep.equal([
        {type: 'volume', source: 'data', target: '/data', volume: {}},
        {type: 'bind', source: join(d, 'conf'), target: '/etc/conf', read_only: true, bind: {create_host_path: true}},
        {type: 'volume', target: '/cache', volume: {}},
      ])
      expect(p.volumes).to.deep.equal({data: {name: 'v_data'}, ext: {name: 'ext', external: true}})
    })
  })

  describe('project name and files', () => {
    const cases: Array<[string, LoadOptions, Record<string, string>, string]> = [
      ['-p wins', {projectName: 'cli'}, {COMPOSE_PROJECT_NAME: 'env'}, 'cli'],
      ['COMPOSE_PROJECT_NAME over name:', {}, {COMPOSE_PROJECT_NAME: 'env'}, 'env'],
      ['name: over the directory', {}, {}, 'fromfile'],
    ]
    for (const [what, o, env, want] of cases) {
      it(what, () => {
        const d = project({'compose.yaml': 'name: fromfile\nservices:\n  a:\n    image: busybox\n'})
        expect(load(d, {...o, env}).name).to.equal(want)
      })
    }
    it('normalises a directory name as Compose does', () => {
      expect(normalizeProjectName('My App.v2')).to.equal('myappv2')
      expect(normalizeProjectName('_-x')).to.equal('x')
    })
    it('refuses an invalid explicit name', () => {
      const d = project({'compose.yaml': 'services:\n  a:\n    image: busybox\n'})
      expect(loadError(d, {projectName: 'Bad Name'}).message).to.match(/invalid project name "Bad Name"/)
    })
    it('finds compose.yaml in a parent directory, with its override file', () => {
      const d = project({'compose.yaml': 'name: up\nservices:\n  a:\n    image: busybox\n', 'compose.override.yaml': 'services:\n  a:\n    image: other\n', 'sub/dir/.keep': ''})
      const p = load(join(d, 'sub', 'dir'))
      expect(p.configFiles).to.deep.equal([join(d, 'compose.yaml'), join(d, 'compose.override.yaml')])
      expect(p.services.a.image).to.equal('other')
    })
    it('says when there is no file', () => {
      const d = project({'empty/.keep': ''})
      const e = loadError(join(d, 'empty'))
      expect(e.message).to.equal('no configuration file provided: not found')
      expect(e.exitCode).to.equal(14)
    })
    it('reads .env for interpolation (process env wins) and COMPOSE_FILE', () => {
      const d = project({'.env': 'TAG=fromdotenv\nOTHER=dot\nCOMPOSE_FILE=custom.yml\n', 'custom.yml': 'services:\n  a:\n    image: busybox:${TAG}\n    environment:\n      - X=${OTHER}\n'})
      const p = load(d, {env: {TAG: 'fromenv'}})
      expect(p.services.a.image).to.equal('busybox:fromenv')
      expect(p.services.a.environment).to.deep.equal({X: 'dot'})
    })
    it('--env-file replaces .env', () => {
      const d = project({'.env': 'TAG=a\n', 'ci.env': 'TAG=b\n', 'compose.yaml': 'services:\n  a:\n    image: busybox:${TAG}\n'})
      expect(load(d, {envFiles: [join(d, 'ci.env')]}).services.a.image).to.equal('busybox:b')
    })
    it('reads a file from stdin with -f -', () => {
      const d = project({'x/.keep': ''})
      expect(load(d, {files: ['-'], readStdin: () => 'name: s\nservices:\n  a:\n    image: busybox\n'}).services.a.image).to.equal('busybox')
    })
  })

  describe('merging, extends, include, profiles', () => {
    it('merges files with the specification rules', () => {
      const d = project({
        'a.yml': 'services:\n  web:\n    image: busybox\n    command: [a, b]\n    ports: ["80:80"]\n    environment: {A: "1", B: "2"}\n    dns: [1.1.1.1]\n    labels: [x=1]\n',
        'b.yml': 'services:\n  web:\n    command: [c]\n    ports: ["81:81", "80:80"]\n    environment: [B=3]\n    dns: 8.8.8.8\n    labels: {y: "2"}\n',
      })
      const web = load(d, {files: ['a.yml', 'b.yml']}).services.web
      expect(web.command).to.deep.equal(['c'])
      expect(web.ports!.map((p) => p.published)).to.deep.equal(['80', '81'])
      expect(web.environment).to.deep.equal({A: '1', B: '3'})
      expect(web.dns).to.deep.equal(['1.1.1.1', '8.8.8.8'])
      expect(web.labels).to.deep.equal({x: '1', y: '2'})
    })
    it('honours !reset and !override', () => {
      const d = project({
        'compose.yaml': 'services:\n  web:\n    image: busybox\n    ports: ["80:80"]\n    environment: {A: "1", B: "2"}\n',
        'compose.override.yaml': 'services:\n  web:\n    ports: !reset []\n    environment: !override {C: "3"}\n',
      })
      const web = load(d).services.web
      expect(web.ports).to.equal(undefined)
      expect(web.environment).to.deep.equal({C: '3'})
    })
    it('resolves extends in the same file and in another file (paths relative to that file)', () => {
      const d = project({
        'compose.yaml': 'services:\n  base:\n    image: busybox\n    environment: {A: "1"}\n  web:\n    extends: base\n    environment: {B: "2"}\n  other:\n    extends:\n      file: lib/common.yml\n      service: tmpl\n',
        'lib/common.yml': 'services:\n  tmpl:\n    image: alpine\n    env_file: vars.env\n',
        'lib/vars.env': 'FROM_FILE=yes\n',
      })
      const p = load(d)
      expect(p.services.web).to.include({image: 'busybox'})
      expect(p.services.web.environment).to.deep.equal({A: '1', B: '2'})
      expect(p.services.other.environment).to.deep.equal({FROM_FILE: 'yes'})
    })
    it('refuses circular extends', () => {
      const d = project({'compose.yaml': 'services:\n  a:\n    image: x\n    extends: b\n  b:\n    image: x\n    extends: a\n'})
      expect(loadError(d).message).to.match(/circular reference with extends/)
    })
    it('includes another project', () => {
      const d = project({'compose.yaml': 'include:\n  - sub/compose.yaml\nservices:\n  web:\n    image: busybox\n    depends_on: [db]\n', 'sub/compose.yaml': 'services:\n  db:\n    image: busybox:${DBTAG}\n', 'sub/.env': 'DBTAG=1.0\n'})
      expect(load(d).services.db.image).to.equal('busybox:1.0')
    })
    it('YAML anchors and merge keys', () => {
      const d = project({'compose.yaml': 'x-base: &base\n  image: busybox\n  restart: always\nservices:\n  a:\n    <<: *base\n  b:\n    <<: *base\n    restart: "no"\n'})
      const p = load(d)
      expect(p.services.a.restart).to.equal('always')
      expect(p.services.b.restart).to.equal('no')
    })
    it('enables services by profile (--profile, COMPOSE_PROFILES)', () => {
      const d = project({'compose.yaml': 'services:\n  a:\n    image: x\n  dbg:\n    image: x\n    profiles: [debug]\n'})
      expect(Object.keys(load(d).services)).to.deep.equal(['a'])
      expect(Object.keys(load(d, {profiles: ['debug']}).services)).to.deep.equal(['a', 'dbg'])
      expect(Object.keys(load(d, {env: {COMPOSE_PROFILES: 'debug'}}).services)).to.deep.equal(['a', 'dbg'])
      // A service named on the command line is enabled whatever its profiles.
      expect(Object.keys(load(d, {enable: ['dbg']}).services)).to.deep.equal(['a', 'dbg'])
    })
    it('env_file with required: false may be missing; a required one may not', () => {
      const d = project({'compose.yaml': 'services:\n  a:\n    image: x\n    env_file:\n      - path: missing.env\n        required: false\n'})
      expect(load(d).services.a.environment).to.deep.equal({})
      const e = project({'compose.yaml': 'services:\n  a:\n    image: x\n    env_file: missing.env\n'})
      expect(loadError(e).message).to.match(/env file .*missing.env not found/)
    })
  })

  describe('invalid files', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['unknown service key', 'services:\n  web:\n    image: x\n    imagee: y\n', /compose.yaml:4: services.web.imagee: additional property "imagee" is not allowed/],
      ['bad port', 'services:\n  web:\n    image: x\n    ports:\n      - "80:80"\n      - "eighty"\n', /compose.yaml:6: services.web.ports\[1\]: invalid port "eighty"/],
      ['bad port mapping type', 'services:\n  web:\n    image: x\n    ports:\n      - [1]\n', /compose.yaml:5: services.web.ports\[0\]: must be a string, a number or a mapping/],
      ['unknown top-level key', 'services: {}\nservice:\n  a: 1\n', /compose.yaml:2: service: additional property "service" is not allowed/],
      ['bad condition', 'services:\n  a:\n    image: x\n    depends_on:\n      b:\n        condition: service_ready\n  b:\n    image: x\n', /compose.yaml:6: services.a.depends_on.b.condition: must be service_started, service_healthy or service_completed_successfully/],
      ['undefined dependency', 'services:\n  a:\n    image: x\n    depends_on: [nope]\n', /service "a" depends on undefined service "nope": invalid compose project/],
      ['no image', 'services:\n  a:\n    command: ls\n', /service "a" has neither an image nor a build context specified/],
      ['bad duration', 'services:\n  a:\n    image: x\n    healthcheck:\n      interval: soon\n', /compose.yaml:5: services.a.healthcheck.interval: invalid duration "soon"/],
      ['dependency cycle', 'services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n', /dependency cycle detected: a -> b -> a/],
      ['bad YAML', 'services:\n  a:\n    image: x\n   bad: indent\n', /compose.yaml:4: invalid YAML/],
      ['required variable', 'services:\n  a:\n    image: ${IMG:?set IMG}\n', /compose.yaml:3: services.a.image: required variable IMG is missing a value: set IMG/],
      ['undefined network', 'services:\n  a:\n    image: x\n    networks: [front]\n', /service "a" refers to undefined network front/],
      ['undefined volume', 'services:\n  a:\n    image: x\n    volumes: [data:/data]\n', /service "a" refers to undefined volume data/],
      ['extra key in long port', 'services:\n  a:\n    image: x\n    ports:\n      - target: 80\n        publish: 80\n', /compose.yaml:6: services.a.ports\[0\].publish: additional property "publish" is not allowed/],
      ['undefined secret', 'services:\n  a:\n    image: x\n    secrets: [token]\n', /service "a" refers to undefined secret token/],
      ['secret without a source', 'services:\n  a:\n    image: x\nsecrets:\n  token:\n    labels: {a: b}\n', /compose.yaml:5: secrets.token: needs one of file, environment, content or external/],
      ['boolean expected', 'services:\n  a:\n    image: x\n    tty: maybe\n', /compose.yaml:4: services.a.tty: must be a boolean/],
    ]
    for (const [what, text, re] of cases) {
      it(what, () => {
        const d = project({'compose.yaml': text})
        const e = loadError(d)
        expect(e.message).to.match(re)
        expect(e.exitCode).to.equal(15)
      })
    }
    it('x- extensions are allowed in services', () => {
      const d = project({'compose.yaml': 'services:\n  a:\n    image: x\n    x-note: hi\n'})
      expect(load(d).services.a['x-note']).to.equal('hi')
    })
    it('lists known but unsupported keys instead of dropping them silently', () => {
      const d = project({'compose.yaml': 'services:\n  a:\n    image: x\n    cpu_count: 2\n    cpu_percent: 50\n'})
      expect(load(d).unsupported).to.deep.equal(['services.a.cpu_count', 'services.a.cpu_percent'])
      const e = project({'compose.yaml': 'services:\n  a:\n    image: x\n    deploy:\n      replicas: 2\n      resources:\n        limits: {memory: 64m}\n      restart_policy: {delay: 5s}\n    healthcheck:\n      test: "true"\n      start_interval: 1s\n'})
      expect(load(e).unsupported).to.deep.equal(['services.a.deploy.restart_policy.delay'])
    })
    it('warns once about `version` and unset variables', () => {
      const d = project({'compose.yaml': 'version: "3.8"\nservices:\n  a:\n    image: busybox:${T}\n    command: echo ${T}\n'})
      const warnings: string[] = []
      load(d, {onWarning: (m) => warnings.push(m)})
      expect(warnings.filter((w) => w.includes('"T" variable is not set'))).to.have.length(1)
      expect(warnings.some((w) => w.includes('`version` is obsolete'))).to.equal(true)
    })
  })

  describe('containers of a service', () => {
    const engine = new Engine({dataRoot: join(tmpdir(), 'ncx-unit-compose-engine')})
    it('labels, aliases, ports, restart policy and health check', () => {
      const d = project({'compose.yaml': 'name: shop\nservices:\n  web:\n    image: busybox\n    entrypoint: [sh, -c]\n    command: [echo hi]\n    ports: ["8080:80"]\n    deploy:\n      restart_policy:\n        condition: on-failure\n        max_attempts: 3\n    healthcheck:\n      test: [CMD, "true"]\n      interval: 2s\n      start_interval: 500ms\n    depends_on:\n      db: {condition: service_healthy, restart: true}\n  db:\n    image: busybox\n'})
      const p = load(d)
      const o = replicaOptions(engine, p, 'web', p.services.web, {number: 2})
      expect(o.name).to.equal('shop-web-2')
      expect(o.entrypoint).to.equal('sh')
      expect(o.command).to.deep.equal(['-c', 'echo hi'])
      expect(o.network).to.equal('shop_default')
      expect(o.networkAliases).to.deep.equal(['web'])
      expect(o.publish).to.deep.equal([{proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80}])
      expect(o.restart).to.equal('on-failure:3')
      expect(o.health).to.deep.equal({test: ['CMD', 'true'], interval: 2e9, startInterval: 5e8})
      expect(o.labels).to.include({
        'com.docker.compose.project': 'shop',
        'com.docker.compose.service': 'web',
        'com.docker.compose.container-number': '2',
        'com.docker.compose.oneoff': 'False',
        'com.docker.compose.project.working_dir': d,
        'com.docker.compose.depends_on': 'db:service_healthy:true',
      })
    })
    it('limits and security keys become the options run gives them (deploy.resources as fallback)', () => {
      const d = project({'compose.yaml': 'services:\n  a:\n    image: x\n    cap_drop: [ALL]\n    cap_add: [NET_BIND_SERVICE]\n    security_opt: [no-new-privileges:true]\n    sysctls: {net.core.somaxconn: "1024"}\n    ulimits:\n      nproc: 512\n      nofile: {soft: 100, hard: 200}\n    init: true\n    mem_limit: 64m\n    deploy:\n      resources:\n        limits: {cpus: "0.5", pids: 50}\n'})
      const a = load(d).services.a
      expect(load(d).unsupported).to.deep.equal([])
      expect(hostOptions('a', a, 'x_default')).to.deep.equal({
        security: {capAdd: ['NET_BIND_SERVICE'], capDrop: ['ALL'], noNewPrivileges: true, sysctls: {'net.core.somaxconn': '1024'}, ulimits: [{name: 'nproc', soft: 512, hard: 512}, {name: 'nofile', soft: 100, hard: 200}], init: true},
        resources: {memory: 64 * 1024 ** 2, nanoCpus: 0.5e9, pidsLimit: 50},
      })
      const bad = project({'compose.yaml': 'services:\n  web:\n    image: x\n    cap_add: [CAP_NOPE]\n'})
      expect(() => hostOptions('web', load(bad).services.web, 'n')).to.throw(/service "web": unknown capability: "CAP_NOPE"/)
    })

    it('namespace and metadata keys map onto run options; label_file, links and volumes_from too', () => {
      const d = project({
        'labels.txt': '# labels\nteam=file\nfrom.file=yes\n',
        'compose.yaml': 'name: ns\nservices:\n  web:\n    image: x\n    annotations: {org.k: v}\n    domainname: example.org\n    shm_size: 128m\n    platform: linux/amd64\n    pid: host\n    ipc: container:other\n    uts: host\n    mac_address: 92:d0:c6:0a:29:33\n    cgroup_parent: grp\n    cgroup: host\n    label_file: labels.txt\n    labels: {team: web}\n    links: [db:database, cache]\n    volumes_from: [container:keeper:ro]\n    expose: ["80", 9000-9001/udp]\n  db:\n    image: x\n    ipc: service:cache\n  cache:\n    image: x\n  data:\n    image: x\n    volumes_from: [db]\n',
      })
      const p = load(d)
      expect(p.unsupported).to.deep.equal([])
      expect(p.services.web.labels).to.deep.equal({team: 'web', 'from.file': 'yes'})
      expect(p.services.web.label_file).to.equal(undefined)
      const o = replicaOptions(engine, p, 'web', p.services.web, {number: 1})
      expect(o).to.include({domainname: 'example.org', shmSize: 128 * 1024 ** 2, platform: 'linux/amd64', pid: 'host', ipc: 'container:other', uts: 'host', macAddress: '92:d0:c6:0a:29:33'})
      expect(o.annotations).to.deep.equal({'org.k': 'v'})
      expect(o.cgroup).to.deep.equal({parent: 'grp', namespace: 'host'})
      expect(o.volumesFrom).to.deep.equal(['keeper:ro'])
      expect(o.expose).to.deep.equal(['80/tcp', '9000/udp', '9001/udp'])
      expect(o.labels).to.include({team: 'web', 'from.file': 'yes'})
      // links: the linked services answer to their aliases on the project network.
      expect(replicaOptions(engine, p, 'cache', p.services.cache, {number: 1}).networkAliases).to.deep.equal(['cache'])
      expect(replicaOptions(engine, p, 'db', {...p.services.db, ipc: 'private'}, {number: 1}).networkAliases).to.deep.equal(['db', 'database'])
      // service: references are dependencies (created first), and need a container of that service.
      expect(dependenciesOf(p.services.web).map(([n]) => n)).to.deep.equal(['db', 'cache'])
      expect(dependenciesOf(p.services.db).map(([n]) => n)).to.deep.equal(['cache'])
      expect(dependenciesOf(p.services.data).map(([n]) => n)).to.deep.equal(['db'])
      expect(() => replicaOptions(engine, p, 'db', p.services.db, {number: 1})).to.throw('service "db" uses service "cache" in ipc, which has no container')
      expect(config(d)).to.contain('    volumes_from:\n      - container:keeper:ro\n').and.contain('    links:\n      - db:database\n      - cache\n').and.contain('    shm_size: 128m\n')
    })
    it('refuses references to undefined services, bad modes and cycles through implicit dependencies', () => {
      const undef = project({'compose.yaml': 'services:\n  a:\n    image: x\n    volumes_from: [nope]\n'})
      expect(loadError(undef).message).to.contain('service "a" refers to undefined service "nope" in volumes_from: invalid compose project')
      const cycle = project({'compose.yaml': 'services:\n  a:\n    image: x\n    links: [b]\n  b:\n    image: x\n    depends_on: [a]\n'})
      expect(loadError(cycle).message).to.match(/dependency cycle detected: (a -> b -> a|b -> a -> b)/)
      const bad = project({'compose.yaml': 'services:\n  a:\n    image: x\n    pid: private\n'})
      const p = load(bad)
      expect(() => replicaOptions(engine, p, 'a', p.services.a, {number: 1})).to.throw('service "a": pid: invalid PID mode: private')
      const nolabels = project({'compose.yaml': 'services:\n  a:\n    image: x\n    label_file: missing.txt\n'})
      expect(loadError(nolabels).message).to.match(/label file .*missing.txt not found/)
    })
    it('the config hash changes with the configuration, not with the scale', () => {
      const d = project({'compose.yaml': 'services:\n  a:\n    image: x\n    environment: {A: "1"}\n'})
      const a = load(d).services.a
      expect(configHash({...a, scale: 3})).to.equal(configHash(a))
      expect(configHash({...a, environment: {A: '2'}})).to.not.equal(configHash(a))
    })
    it('selects named services with their dependencies', () => {
      const d = project({'compose.yaml': 'services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n  d:\n    image: x\n'})
      const p = load(d)
      expect(selectServices(p, ['a']).sort()).to.deep.equal(['a', 'b', 'c'])
      expect(selectServices(p, ['a'], true)).to.deep.equal(['a'])
      expect(() => selectServices(p, ['zz'])).to.throw(/no such service: zz/)
    })
  })
})
