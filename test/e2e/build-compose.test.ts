import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {Sandbox, asRoot, user, userDir} from './harness.js'
import {fetchText, freePort, sleep} from './net-helpers.js'

/** compose `build:`: up --build, compose build, pull_policy: build, the <project>-<service> image. */
describe('e2e: compose build', function () {
  this.timeout(240_000)
  const box = new Sandbox()

  const projectDir = (files: Record<string, string>): string => {
    const dir = userDir('ncx-e2e-cbuild-')
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), {recursive: true})
      writeFileSync(join(dir, name), text)
    }
    if (asRoot) execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir])
    return dir
  }
  const compose = (dir: string, args: string[]) => box.ncx(['compose', '--project-directory', dir, '-p', 'shop', ...args], {timeout: 180_000})
  const composeOk = (dir: string, args: string[]) => {
    const r = compose(dir, args)
    if (r.code !== 0) throw new Error(`compose ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`)
    return r
  }

  before(() => box.load('busybox.oci.tar'))
  after(() => box.destroy())

  it('up -d --build builds a service, names the image <project>-<service>, and a second service reaches it', async () => {
    const port = await freePort()
    const dir = projectDir({
      'web/Dockerfile': 'FROM busybox\nARG GREETING=default\nRUN mkdir /www && echo "$GREETING" > /www/index.html\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n',
      'compose.yaml': `
services:
  web:
    build:
      context: ./web
      args:
        GREETING: hello-from-build
    ports: ["${port}:80"]
  probe:
    image: busybox
    command: sh -c 'sleep 1; wget -qO- http://web/index.html'
    depends_on: [web]
`,
    })
    const r = composeOk(dir, ['up', '-d', '--build'])
    expect(r.stderr).to.match(/RUN mkdir \/www && echo "hello-from-build" > \/www\/index.html/)
    expect(box.ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).to.contain('shop-web:latest')
    expect(await fetchText(port, '/index.html')).to.equal('hello-from-build\n')
    for (let i = 0; i < 50; i++) {
      if (box.ok(['logs', 'shop-probe-1']).includes('hello-from-build')) break
      await sleep(200)
    }
    expect(box.ok(['logs', 'shop-probe-1'])).to.contain('hello-from-build')
    // up again: the image is there, nothing is built.
    const again = composeOk(dir, ['up', '-d'])
    expect(again.stderr).to.not.contain('RUN mkdir')
    composeOk(dir, ['down'])
  })

  it('compose build [SERVICE], --no-cache, --build-arg; pull_policy: build; --no-build', () => {
    const dir = projectDir({
      'api/Dockerfile': 'FROM busybox\nARG V=1\nRUN echo "$V" > /v\n',
      'compose.yaml': `
services:
  api:
    build: ./api
    image: custom/api:2
    pull_policy: build
    command: cat /v
  tool:
    build:
      context: .
      dockerfile_inline: |
        FROM busybox
        RUN echo inline > /i
    command: cat /i
`,
    })
    const r = composeOk(dir, ['build', 'api', '--build-arg', 'V=7'])
    expect(r.stderr).to.contain('RUN echo "7" > /v')
    expect(box.ok(['run', '--rm', '--network', 'none', 'custom/api:2', 'cat', '/v'])).to.equal('7\n')
    expect(box.ncx(['image', 'inspect', 'shop-tool']).code).to.equal(1) // only the named service was built
    const all = composeOk(dir, ['build', '--no-cache'])
    expect(all.stderr).to.not.contain('CACHED')
    expect(box.ok(['run', '--rm', '--network', 'none', 'shop-tool', 'cat', '/i'])).to.equal('inline\n')
    // pull_policy: build rebuilds on every up (from the cache here).
    const up = composeOk(dir, ['up', '--no-start'])
    expect(up.stderr).to.match(/CACHED/)
    composeOk(dir, ['down'])
    box.ok(['rmi', 'shop-tool'])
    const nobuild = compose(dir, ['up', '--no-start', '--no-build', 'tool'])
    expect(nobuild.code).to.not.equal(0)
    composeOk(dir, ['down', '--rmi', 'local'])
  })

  it('build.additional_contexts: a directory, docker-image://, and service:NAME (that service built first)', () => {
    const dir = projectDir({
      'shared/conf.txt': 'shared-conf\n',
      'base/Dockerfile': 'FROM busybox\nRUN echo from-base > /base.txt\n',
      'app/Dockerfile': 'FROM basesvc\nCOPY --from=shared conf.txt /conf.txt\nCOPY --from=bb /bin/busybox /bb\nCMD ["cat", "/base.txt", "/conf.txt"]\n',
      'compose.yaml': `
services:
  app:
    build:
      context: ./app
      additional_contexts:
        shared: ./shared
        bb: docker-image://busybox
        basesvc: service:base
  base:
    build: ./base
`,
    })
    const r = composeOk(dir, ['build', 'app'])
    // base was built (its image was missing), before app.
    expect(r.stderr.indexOf('RUN echo from-base')).to.be.greaterThan(-1)
    expect(r.stderr.indexOf('RUN echo from-base')).to.be.lessThan(r.stderr.indexOf('COPY --from=shared'))
    expect(box.ok(['run', '--rm', '--network', 'none', 'shop-app'])).to.equal('from-base\nshared-conf\n')
    const bad = projectDir({'compose.yaml': 'services:\n  app:\n    build:\n      context: .\n      dockerfile_inline: FROM busybox\n      additional_contexts:\n        x: service:nope\n'})
    const b = compose(bad, ['build'])
    expect(b.code).to.equal(1)
    expect(b.stderr).to.contain('refers to undefined service nope')
    composeOk(dir, ['down', '--rmi', 'local'])
  })
})
