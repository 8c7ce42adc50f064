import {expect} from 'chai'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {cgroupManager, loadConfig, parseConfig, portBypass} from '../../src/engine/config.js'
import {registrySettings} from '../../src/engine/registry/config.js'
import {storePaths} from '../../src/engine/store/paths.js'

describe('ncx.toml', () => {
  let home: string
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'ncx-config-'))
    mkdirSync(join(home, '.config', 'ncx'), {recursive: true})
  })
  afterEach(() => rmSync(home, {recursive: true, force: true}))
  const write = (text: string) => writeFileSync(join(home, '.config', 'ncx', 'ncx.toml'), text)

  it('parses every key, expanding ~/', () => {
    const c = parseConfig('data_root = "~/ctr"\nrun_root = "/run/x"\ndefault_network = "none"\ncgroup_manager = "none"\n[registries]\nmirrors = ["https://m"]\ninsecure = ["h:5000"]\n', 'f.toml', '/home/u')
    expect(c).to.deep.equal({dataRoot: '/home/u/ctr', runRoot: '/run/x', defaultNetwork: 'none', cgroupManager: 'none', registryMirrors: ['https://m'], insecureRegistries: ['h:5000']})
  })

  it('refuses mistakes with one message naming the file and the key', () => {
    expect(() => parseConfig('dataroot = "/x"', 'f.toml')).to.throw('f.toml: unknown key "dataroot"')
    expect(() => parseConfig('data_root = 3', 'f.toml')).to.throw('f.toml: data_root must be a non-empty string')
    expect(() => parseConfig('data_root = "rel/dir"', 'f.toml')).to.throw('f.toml: data_root must be an absolute path (or start with ~/), got "rel/dir"')
    expect(() => parseConfig('cgroup_manager = "cgroupv3"', 'f.toml')).to.throw(/cgroup_manager must be one of cgroupfs, none/)
    expect(() => parseConfig('[registries]\nmirror = []', 'f.toml')).to.throw('f.toml: unknown key "registries.mirror"')
    expect(() => parseConfig('[registries]\ninsecure = "h"', 'f.toml')).to.throw('registries.insecure must be a list of strings')
    expect(() => parseConfig('data_root = ', 'f.toml')).to.throw(/f.toml: invalid TOML \(line 1, column \d+\)/)
  })

  it('flag > environment > file > default for the data root, and says which', () => {
    const env = {HOME: home}
    expect(storePaths({env, uid: 1000}).settings).to.include({loaded: false, data: 'default'})
    write('data_root = "/from/file"\n')
    expect(storePaths({env, uid: 1000})).to.deep.include({data: '/from/file'})
    expect(storePaths({env, uid: 1000}).settings).to.include({loaded: true, data: 'config file', file: join(home, '.config', 'ncx', 'ncx.toml')})
    expect(storePaths({env: {...env, NCX_ROOT: '/from/env'}, uid: 1000})).to.deep.include({data: '/from/env'})
    expect(storePaths({env: {...env, NCX_ROOT: '/from/env'}, uid: 1000, dataRoot: '/from/flag'}).settings?.data).to.equal('flag')
  })

  it('NCX_CONFIG names another file, which must exist', () => {
    writeFileSync(join(home, 'other.toml'), 'default_network = "none"\n')
    expect(loadConfig('/nonexistent', {NCX_CONFIG: join(home, 'other.toml')}).config).to.deep.equal({defaultNetwork: 'none'})
    expect(() => loadConfig('/nonexistent', {NCX_CONFIG: join(home, 'missing.toml')})).to.throw(/does not exist/)
  })

  it('merges [registries] with registries.json; the environment overrides', () => {
    write('[registries]\nmirrors = ["https://toml-mirror"]\ninsecure = ["toml:5000"]\n')
    writeFileSync(join(home, '.config', 'ncx', 'registries.json'), JSON.stringify({'insecure-registries': ['json:5000'], 'registry-mirrors': ['https://json-mirror']}))
    const paths = storePaths({env: {HOME: home}, uid: 1000})
    expect(registrySettings(paths, {HOME: home})).to.deep.equal({insecure: ['json:5000', 'toml:5000'], mirrors: ['https://json-mirror', 'https://toml-mirror'], timeoutMs: 30_000})
    expect(registrySettings(paths, {HOME: home, NCX_REGISTRY_MIRRORS: 'https://env', NCX_INSECURE_REGISTRIES: 'env:1'})).to.deep.equal({insecure: ['json:5000', 'toml:5000', 'env:1'], mirrors: ['https://env'], timeoutMs: 30_000})
  })

  it('registry timeout: NCX_REGISTRY_TIMEOUT over [registries] timeout, 30 s by default', () => {
    write('[registries]\ntimeout = 12.5\n')
    const paths = storePaths({env: {HOME: home}, uid: 1000})
    expect(registrySettings(paths, {HOME: home}).timeoutMs).to.equal(12_500)
    expect(registrySettings(paths, {HOME: home, NCX_REGISTRY_TIMEOUT: '3'}).timeoutMs).to.equal(3000)
    expect(() => registrySettings(paths, {HOME: home, NCX_REGISTRY_TIMEOUT: 'soon'})).to.throw('NCX_REGISTRY_TIMEOUT=soon is not a number of seconds above 0')
    expect(() => parseConfig('[registries]\ntimeout = 0\n', 'f.toml')).to.throw('registries.timeout must be a number of seconds above 0')
    write('')
    expect(registrySettings(storePaths({env: {HOME: home}, uid: 1000}), {HOME: home}).timeoutMs).to.equal(30_000)
  })

  it('cgroup manager: environment, file, default', () => {
    const loaded = {file: 'f', loaded: true, config: {cgroupManager: 'none' as const}}
    expect(cgroupManager(loaded, {})).to.deep.equal({value: 'none', source: 'config file'})
    expect(cgroupManager(loaded, {NCX_CGROUP_MANAGER: 'cgroupfs'})).to.deep.equal({value: 'cgroupfs', source: 'env', variable: 'NCX_CGROUP_MANAGER'})
    expect(cgroupManager({file: 'f', loaded: false, config: {}}, {})).to.deep.equal({value: 'cgroupfs', source: 'default'})
    expect(() => cgroupManager(loaded, {NCX_CGROUP_MANAGER: 'x'})).to.throw(/NCX_CGROUP_MANAGER=x/)
  })

  it('port bypass: [network] port_bypass, NCX_PORT_BYPASS over it, off by default', () => {
    const file = parseConfig('[network]\nport_bypass = true\n', 'f.toml')
    expect(file).to.deep.equal({portBypass: true})
    expect(portBypass(file, {})).to.deep.equal({value: true, source: 'config file'})
    expect(portBypass(file, {NCX_PORT_BYPASS: '0'})).to.deep.equal({value: false, source: 'env', variable: 'NCX_PORT_BYPASS'})
    expect(portBypass({}, {NCX_PORT_BYPASS: 'true'}).value).to.equal(true)
    expect(portBypass({}, {})).to.deep.equal({value: false, source: 'default'})
    expect(() => portBypass({}, {NCX_PORT_BYPASS: 'yes'})).to.throw('NCX_PORT_BYPASS=yes: must be 1, true, 0 or false')
    expect(() => parseConfig('[network]\nport_bypass = "yes"\n', 'f.toml')).to.throw('f.toml: network.port_bypass must be true or false')
    expect(() => parseConfig('[network]\nbypass = true\n', 'f.toml')).to.throw('f.toml: unknown key "network.bypass"')
    expect(() => parseConfig('network = 1\n', 'f.toml')).to.throw('f.toml: network must be a table ([network])')
  })
})
