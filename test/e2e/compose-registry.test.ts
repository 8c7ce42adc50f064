/**
 * `ncx compose push` / `pull`, pull_policy and `config --resolve-image-digests` against a
 * real registry (CNCF distribution on 127.0.0.1, test/registry/harness.ts), as the test user.
 */
import {expect} from 'chai'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {Registry, fixture, inspectImage, pushImage, startRegistry} from '../registry/harness.js'
import {Sandbox, userDir} from './harness.js'

describe('e2e: compose push, pull and pull_policy against a registry', function () {
  this.timeout(180_000)
  let registry: Registry
  let box: Sandbox
  let env: Record<string, string>

  before(async () => {
    registry = await startRegistry({auth: 'none'})
    await pushImage(registry, fixture('busybox'), 'library/busybox:latest')
    box = new Sandbox()
    env = {DOCKER_CONFIG: userDir('ncx-e2e-docker-config-'), NCX_CONFIG_ROOT: userDir('ncx-e2e-config-')}
  })
  after(async () => {
    box.destroy()
    await registry.stop()
  })

  const projectDir = (yaml: string): string => {
    const dir = userDir('ncx-e2e-compose-reg-')
    writeFileSync(join(dir, 'compose.yaml'), yaml, {mode: 0o644})
    return dir
  }
  const compose = (dir: string, args: string[]) => box.ncx(['compose', '--project-directory', dir, '-p', 'reg', ...args], {env, timeout: 120_000})
  const composeOk = (dir: string, args: string[]) => {
    const r = compose(dir, args)
    if (r.code !== 0) throw new Error(`compose ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`)
    return r
  }
  const present = (ref: string) => box.ncx(['image', 'inspect', ref], {env}).code === 0

  it('push sends a service image to the registry, pull brings it back, config pins its digest', async () => {
    const app = `${registry.host}/compose/app:1`
    box.ok(['pull', `${registry.host}/library/busybox`], {env})
    box.ok(['tag', `${registry.host}/library/busybox`, app], {env})
    const dir = projectDir(`services:\n  app:\n    image: ${app}\n    command: echo from-registry\n  other:\n    image: ${app}\n    command: "true"\n`)
    const pushed = composeOk(dir, ['push'])
    const digest = new RegExp(`Image ${app.replace(/[.]/g, '\\.')}  Pushed \\(1: digest: (sha256:[a-f0-9]{64}) size: \\d+\\)`).exec(pushed.stderr)?.[1]
    expect(digest, pushed.stderr).to.be.a('string')
    const inspected = await inspectImage(registry, 'compose/app:1')
    expect(inspected.code, inspected.stderr).to.equal(0)
    expect((JSON.parse(inspected.stdout) as {Digest: string}).Digest).to.equal(digest)

    box.ok(['rmi', app], {env})
    expect(present(app)).to.equal(false)
    composeOk(dir, ['pull', 'app'])
    expect(present(app)).to.equal(true)
    expect(composeOk(dir, ['config', '--resolve-image-digests']).stdout).to.contain(`    image: ${app}@${digest}\n`)
    expect(composeOk(dir, ['up', 'app']).stdout).to.contain('from-registry')
    composeOk(dir, ['down'])
  })

  it('pull_policy: never refuses a missing image, missing pulls it once, always pulls again', () => {
    const img = `${registry.host}/library/busybox:latest`
    box.ncx(['rmi', '-f', img], {env})
    const never = projectDir(`services:\n  a:\n    image: ${img}\n    command: "true"\n    pull_policy: never\n`)
    const refused = compose(never, ['up', '-d'])
    expect(refused.code).to.not.equal(0)
    expect(refused.stderr).to.contain(`image ${img} not found locally and pull_policy is never`)
    expect(present(img)).to.equal(false)

    const missing = projectDir(`services:\n  a:\n    image: ${img}\n    command: "true"\n    pull_policy: missing\n`)
    const pulled = composeOk(missing, ['up', '-d']).stderr
    expect(pulled, pulled).to.match(/^Unable to find image '.*' locally\n[^]*Digest: sha256:[a-f0-9]{64}\nStatus: /)
    expect(present(img)).to.equal(true)
    expect(composeOk(missing, ['up', '-d']).stderr).to.not.contain('Digest:')
    composeOk(missing, ['down'])

    const always = projectDir(`services:\n  a:\n    image: ${img}\n    command: "true"\n    pull_policy: always\n`)
    expect(composeOk(always, ['up', '-d']).stderr).to.contain(`Status: Image is up to date for ${img}`)
    composeOk(always, ['down'])
  })
})
