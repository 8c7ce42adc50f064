import {expect} from 'chai'
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {AppArmorHost, apparmorProfile, runtimeProfileState} from '../../src/engine/rootless/apparmor.js'
import {usernsBlocker} from '../../src/engine/rootless/session.js'

describe("AppArmor's user-namespace restriction", () => {
  let dir: string
  let host: AppArmorHost
  const runtime = '/opt/ncx/lib/node_modules/ncx/node_modules/@ncx/native-linux-x64-gnu/ncx-runtime'

  /** A loaded profile as securityfs lists it: policy/profiles/<name>.<n>/{name,mode,attach}. */
  const loadProfile = (name: string, attach: string, mode = 'unconfined', n = 7) => {
    const d = join(dir, 'security', 'apparmor', 'policy', 'profiles', `${name}.${n}`)
    mkdirSync(d, {recursive: true})
    writeFileSync(join(d, 'name'), `${name}\n`)
    writeFileSync(join(d, 'mode'), `${mode}\n`)
    writeFileSync(join(d, 'attach'), `${attach}\n`)
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-apparmor-'))
    mkdirSync(join(dir, 'etc'))
    host = {securityfs: join(dir, 'security'), profileDir: join(dir, 'etc')}
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('finds the loaded profile that attaches to the runtime, among others', () => {
    loadProfile('podman', '/usr/bin/podman', 'unconfined', 3)
    loadProfile('ncx-runtime', runtime)
    expect(runtimeProfileState(runtime, host)).to.deep.equal({state: 'loaded', name: 'ncx-runtime', mode: 'unconfined'})
  })

  it('accepts an attachment glob that covers the path', () => {
    loadProfile('ncx-any', '/opt/ncx/**/ncx-runtime')
    expect(runtimeProfileState(runtime, host)).to.include({state: 'loaded', name: 'ncx-any'})
  })

  it('says when the loaded profile is for another path (ncx moved)', () => {
    loadProfile('podman', '/usr/bin/podman')
    loadProfile('ncx-runtime', '/usr/lib/old/ncx-runtime')
    const s = runtimeProfileState(runtime, host)
    expect(s.state).to.equal('missing')
    expect(s.state === 'missing' && s.detail).to.equal(`the loaded profile ncx-runtime is for /usr/lib/old/ncx-runtime, not for ${runtime} (ncx moved or was reinstalled)`)
  })

  it('says when no loaded profile attaches to the runtime', () => {
    loadProfile('podman', '/usr/bin/podman')
    expect(runtimeProfileState(runtime, host)).to.deep.equal({state: 'missing', detail: `no loaded AppArmor profile attaches to ${runtime}`})
  })

  it('falls back to the profile file when the loaded profiles cannot be read', () => {
    expect(runtimeProfileState(runtime, host).state).to.equal('missing')
    writeFileSync(join(dir, 'etc', 'ncx-runtime'), apparmorProfile(runtime))
    expect(runtimeProfileState(runtime, host)).to.deep.equal({state: 'installed', file: join(dir, 'etc', 'ncx-runtime')})
    writeFileSync(join(dir, 'etc', 'ncx-runtime'), apparmorProfile('/elsewhere/ncx-runtime'))
    expect(runtimeProfileState(runtime, host).state).to.equal('missing')
  })

  it('writes the profile for the resolved path, quoted when it needs to be', () => {
    const real = join(dir, 'real dir')
    mkdirSync(real)
    writeFileSync(join(real, 'ncx-runtime'), '')
    symlinkSync(join(real, 'ncx-runtime'), join(dir, 'link'))
    expect(apparmorProfile(join(dir, 'link'))).to.contain(`profile ncx-runtime "${join(real, 'ncx-runtime')}" flags=(unconfined) {\n  userns,\n`)
    expect(apparmorProfile(runtime)).to.contain(`profile ncx-runtime ${runtime} flags=(unconfined) {`)
  })

  describe('the gate before a user namespace is made (usernsBlocker)', () => {
    const sysctls = (restrict: string | undefined) => (path: string) => (path === '/proc/sys/kernel/apparmor_restrict_unprivileged_userns' ? restrict : undefined)

    it('goes on under the restriction when the profile for ncx-runtime is loaded', () => {
      loadProfile('ncx-runtime', runtime)
      expect(usernsBlocker(sysctls('1'), () => runtimeProfileState(runtime, host))).to.equal(undefined)
    })

    it('goes on when only the installed profile file can be seen', () => {
      writeFileSync(join(dir, 'etc', 'ncx-runtime'), apparmorProfile(runtime))
      expect(usernsBlocker(sysctls('1'), () => runtimeProfileState(runtime, host))).to.equal(undefined)
    })

    it('stops under the restriction without the profile, saying why and how to install it', () => {
      loadProfile('podman', '/usr/bin/podman')
      const e = usernsBlocker(sysctls('1'), () => runtimeProfileState(runtime, host))
      expect(e?.message).to.equal(`AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1) and no loaded AppArmor profile attaches to ${runtime}`)
      expect(e?.hint).to.contain('ncx system doctor --apparmor-profile | sudo tee /etc/apparmor.d/ncx-runtime && sudo apparmor_parser -r /etc/apparmor.d/ncx-runtime')
    })

    it('does not look for a profile when the restriction is off', () => {
      const never = () => {
        throw new Error('asked for the profile')
      }
      expect(usernsBlocker(sysctls('0'), never)).to.equal(undefined)
      expect(usernsBlocker(sysctls(undefined), never)).to.equal(undefined)
    })
  })
})
