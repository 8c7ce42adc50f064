import {expect} from 'chai'
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {parseConfig, defaultRuntime} from '../../src/engine/config.js'
import {NcxError} from '../../src/engine/errors.js'
import {containerRuntime, externalRuntimeArgs, findRuntime, joinsNamespaces, resolveRuntime, runtimeVersion} from '../../src/engine/runtimes.js'

describe('OCI runtimes (src/engine/runtimes)', () => {
  let dir: string
  let fake: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-runtimes-'))
    fake = join(dir, 'fakerun')
    writeFileSync(fake, '#!/bin/sh\necho "fakerun version 9.8.7"\necho "commit: x"\n')
    chmodSync(fake, 0o755)
    writeFileSync(join(dir, 'notexec'), '')
  })
  after(() => rmSync(dir, {recursive: true, force: true}))
  const env = () => ({PATH: `${dir}:/nonexistent`})

  it('finds a name on PATH, an absolute path, and nothing that is not an executable file', () => {
    expect(findRuntime('fakerun', env())).to.equal(fake)
    expect(findRuntime(fake, env())).to.equal(fake)
    expect(findRuntime('notexec', env())).to.equal(undefined)
    expect(findRuntime('sub/fakerun', env())).to.equal(undefined)
    expect(findRuntime(dir, env())).to.equal(undefined)
  })

  it('--runtime: ncx-runtime is ncx\'s own; an unknown name is Docker\'s error, exit 125', () => {
    expect(resolveRuntime('ncx-runtime', {}, env())).to.equal(undefined)
    expect(resolveRuntime(undefined, {}, env())).to.equal(undefined)
    expect(resolveRuntime('fakerun', {}, env())).to.deep.equal({name: 'fakerun', path: fake})
    let error: unknown
    try {
      resolveRuntime('no-such-runtime', {}, env())
    } catch (e) {
      error = e
    }
    expect(error).to.be.instanceOf(NcxError)
    expect((error as NcxError).message).to.equal('unknown or invalid runtime name: no-such-runtime')
    expect((error as NcxError).exitCode).to.equal(125)
  })

  it('the default comes from NCX_RUNTIME, else ncx.toml, else ncx-runtime', () => {
    const file = parseConfig('runtime = "fakerun"\n', 'ncx.toml')
    expect(file.runtime).to.equal('fakerun')
    expect(defaultRuntime({}, {}).value).to.equal('ncx-runtime')
    expect(defaultRuntime(file, {}).value).to.equal('fakerun')
    expect(defaultRuntime(file, {NCX_RUNTIME: 'crun'})).to.deep.equal({value: 'crun', source: 'env', variable: 'NCX_RUNTIME'})
    expect(resolveRuntime(undefined, file, env())).to.deep.equal({name: 'fakerun', path: fake})
    expect(() => resolveRuntime(undefined, {runtime: 'gone'}, env())).to.throw('unknown or invalid runtime name: gone (the default runtime, from ncx.toml)')
  })

  it('hands an external runtime to ncx-runtime with a state root of its own', () => {
    expect(externalRuntimeArgs('/run/u/ncx', undefined)).to.deep.equal([])
    expect(externalRuntimeArgs('/run/u/ncx', {name: '/opt/bin/runsc', path: '/opt/bin/runsc'})).to.deep.equal(['--oci-runtime', '/opt/bin/runsc', '--oci-runtime-name', '/opt/bin/runsc', '--oci-root', '/run/u/ncx/oci/_opt_bin_runsc'])
    expect(containerRuntime({runtime: 'fakerun'}, env())).to.deep.equal({name: 'fakerun', path: fake})
    expect(containerRuntime({}, env())).to.equal(undefined)
    expect(() => containerRuntime({runtime: 'gone'}, env())).to.throw('unknown or invalid runtime name: gone')
  })

  it('exec may join the namespaces of runc/crun/youki containers, not a sandbox\'s', () => {
    for (const r of ['ncx-runtime', 'runc', 'crun', 'youki', '/opt/bin/runc']) expect(joinsNamespaces(r), r).to.equal(true)
    for (const r of ['runsc', 'kata-runtime', '/opt/bin/runsc', '/opt/x']) expect(joinsNamespaces(r), r).to.equal(false)
  })

  it('reads the version from `RUNTIME --version`', () => {
    expect(runtimeVersion(fake)).to.equal('9.8.7')
    expect(runtimeVersion(join(dir, 'notexec'))).to.equal('')
    // youki's first line: "youki version: 0.7.0"
    const youki = join(dir, 'youki')
    writeFileSync(youki, '#!/bin/sh\necho "youki version: 0.7.0"\necho "commit: 0.7.0-x"\n')
    chmodSync(youki, 0o755)
    expect(runtimeVersion(youki)).to.equal('0.7.0')
  })
})
