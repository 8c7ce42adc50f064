import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {Sandbox, asRoot, user, userDir} from './harness.js'

interface Problem {
  kind: string
  object: string
  ref: string
  repaired?: boolean
  error?: string
}

interface Report {
  problems: Problem[]
  skipped: string[]
}

/** The build cache against `system check` and garbage collection: what a build keeps is not garbage; what a killed one leaves is found and repaired. */
describe('e2e: ncx build and system check', function () {
  this.timeout(300_000)
  const box = new Sandbox()
  let n = 0

  const context = (files: Record<string, string>): string => {
    const dir = userDir(`ncx-e2e-bcheck-${n++}-`)
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), {recursive: true})
      writeFileSync(join(dir, name), content)
    }
    if (asRoot) execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir])
    return dir
  }
  const build = (dir: string, ...args: string[]) => {
    const r = box.ncx(['build', '--progress', 'plain', ...args, dir], {timeout: 120_000})
    expect(r.code, r.stderr).to.equal(0)
    return r.stderr
  }
  const check = (...extra: string[]): {code: number; report: Report} => {
    const r = box.ncx(['system', 'check', '--format', 'json', ...extra])
    return {code: r.code, report: JSON.parse(r.stdout) as Report}
  }
  /** Steps that make a layer (RUN, COPY, WORKDIR), by whether the plain progress says CACHED. */
  const steps = (log: string) => {
    const ids = [...log.matchAll(/^#(\d+) \[[^\]]+\] (?:RUN|COPY|WORKDIR)/gm)].map((m) => m[1])
    const cached = ids.filter((id) => new RegExp(`^#${id} CACHED$`, 'm').test(log)).length
    return {cached, ran: ids.length - cached}
  }
  const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir) : [])

  before(() => box.load('busybox.oci.tar'))
  after(() => box.destroy())

  // A stage whose layers are in no image (only the cache holds them), a cache mount, WORKDIR, COPY.
  const multi = () =>
    context({
      Dockerfile: [
        'FROM busybox AS deps',
        `RUN echo ${randomBytes(4).toString('hex')} > /deps && mkdir /out && echo dep > /out/dep`,
        'RUN --mount=type=cache,target=/cache echo hit >> /cache/log && cp /cache/log /out/cachelog',
        'FROM busybox',
        'WORKDIR /app',
        'COPY a.txt ./',
        'COPY --from=deps /out/ ./',
        'RUN cat dep a.txt > both',
        '',
      ].join('\n'),
      'a.txt': 'a\n',
    })

  it('the build cache is not garbage: system check finds nothing, --repair and GC keep it, and the rebuild is all CACHED', () => {
    const dir = multi()
    const first = build(dir, '-t', 'kept:1')
    expect(steps(first).cached).to.equal(0)
    const {code, report} = check()
    expect(report.problems, JSON.stringify(report.problems)).to.deep.equal([])
    expect(code).to.equal(0)
    // --repair has nothing to do, and removes nothing of the cache.
    const repaired = check('--repair')
    expect(repaired.report.problems, JSON.stringify(repaired.report.problems)).to.deep.equal([])
    expect(repaired.code).to.equal(0)
    // Garbage collection (rmi of another image, image prune) keeps the cache's layers too.
    box.ok(['tag', 'busybox', 'other:1'])
    box.ok(['rmi', 'other:1'])
    box.ok(['image', 'prune', '-f'])
    const again = build(dir, '-t', 'kept:1')
    expect(steps(again), again).to.deep.equal({cached: 6, ran: 0})
    // With the image gone, the cache alone keeps the layers: still not garbage, still hit.
    box.ok(['rmi', 'kept:1'])
    box.ok(['image', 'prune', '-f'])
    expect(check('--repair').report.problems).to.deep.equal([])
    const third = build(dir, '-t', 'kept:1')
    expect(steps(third), third).to.deep.equal({cached: 6, ran: 0})
    box.ok(['run', '--rm', '--network', 'none', 'kept:1', 'cat', '/app/both'])
  })

  it('a build killed mid-RUN: system check reports its work areas, --repair removes them, and the next build is clean', async () => {
    const dir = context({Dockerfile: `FROM busybox\nRUN echo one > /one\nRUN echo ${randomBytes(4).toString('hex')} && sleep 30\n`})
    const runs = join(box.root, 'build', 'runs')
    const records = () => listing(join(box.root, 'build', 'cache')).length
    const before = records()
    // Killed once the first step is recorded and the second one runs.
    const running = () => records() > before && listing(runs).length > 0 && listing(join(box.root, 'snapshots')).some((s) => /^\.tmp-.*b$/.test(s))
    expect(await box.killWhen(['build', '--progress', 'plain', '-t', 'killed:1', dir], running), 'the build ended before the kill').to.equal(true)
    const found = check()
    const kinds = found.report.problems.map((p) => p.kind)
    expect(kinds, JSON.stringify(found.report)).to.include('build-leftover')
    expect(kinds).to.include('layer-temporary')
    expect(kinds).to.include('lock-stale') // the killed step's lock: no record holds it
    expect(found.code).to.equal(1)
    const repaired = check('--repair')
    expect(repaired.report.problems.every((p) => p.repaired), JSON.stringify(repaired.report)).to.equal(true)
    expect(repaired.code).to.equal(0)
    expect(listing(runs)).to.deep.equal([])
    expect(listing(join(box.root, 'build', 'tmp'))).to.deep.equal([])
    expect(listing(join(box.root, 'snapshots')).filter((s) => s.startsWith('.tmp-'))).to.deep.equal([])
    expect(check().report.problems).to.deep.equal([])
    // The step before the killed one was recorded whole and is reused.
    const done = build(context({Dockerfile: 'FROM busybox\nRUN echo one > /one\n'}), '-t', 'after:1')
    expect(steps(done)).to.deep.equal({cached: 1, ran: 0})
  })

  it('a build killed while a RUN holds a secret: the next build reaps the secret file and works', async () => {
    const secret = join(userDir('ncx-e2e-bcheck-secret-'), 'tok')
    writeFileSync(secret, 'value\n')
    if (asRoot) execFileSync('chown', [`${user.uid}:${user.gid}`, secret])
    const dir = context({Dockerfile: `FROM busybox\nRUN --mount=type=secret,id=tok echo ${randomBytes(4).toString('hex')} && sleep 30\n`})
    const secrets = join(box.xdg, 'ncx', 'build-secrets')
    const holding = () => listing(secrets).length > 0 && listing(join(box.root, 'build', 'runs')).length > 0
    expect(await box.killWhen(['build', '--progress', 'plain', '--secret', `id=tok,src=${secret}`, dir], holding), 'the build ended before the kill').to.equal(true)
    expect(check().report.problems.filter((p) => p.kind === 'build-leftover').map((p) => p.ref)).to.include(join(secrets, listing(secrets)[0]))
    const next = box.ncx(['build', '--progress', 'plain', '-t', 'after-secret:1', context({Dockerfile: 'FROM busybox\nRUN true\n'})], {timeout: 120_000})
    expect(next.code, next.stderr).to.equal(0)
    expect(listing(secrets)).to.deep.equal([])
    expect(check('--repair').code).to.equal(0)
  })

  it('a cache record whose layer is gone is reported and dropped by --repair; the step runs again', () => {
    const tag = randomBytes(4).toString('hex')
    const dir = context({Dockerfile: `FROM busybox\nRUN echo ${tag} > /r\n`})
    build(dir, '-t', 'broken:1')
    box.ok(['rmi', 'broken:1'])
    const records = join(box.root, 'build', 'cache')
    const before = new Set(listing(records))
    // Take the layer's unpacked tree away behind ncx's back (as a disk error or a hand would).
    const rec = [...before].map((f) => JSON.parse(execFileSync('cat', [join(records, f)], {encoding: 'utf8'})) as {key: string; description: string; layer: {diffId: string}}).find((r) => r.description.includes(tag))!
    execFileSync('rm', ['-rf', join(box.root, 'snapshots', rec.layer.diffId.slice(7))])
    const found = check()
    expect(found.report.problems.map((p) => p.kind), JSON.stringify(found.report)).to.include('build-cache-broken')
    expect(found.code).to.equal(1)
    const repaired = check('--repair')
    expect(repaired.report.problems.every((p) => p.repaired), JSON.stringify(repaired.report)).to.equal(true)
    expect(existsSync(join(records, `${rec.key}.json`))).to.equal(false)
    expect(check().report.problems).to.deep.equal([])
    expect(steps(build(dir, '-t', 'broken:1'))).to.deep.equal({cached: 0, ran: 1})
  })

  it('builder prune -a removes the records, their layers and their step locks: system check finds nothing of the build', () => {
    expect(listing(join(box.root, 'build', 'cache')).length).to.be.greaterThan(0)
    box.ok(['builder', 'prune', '-a', '-f'])
    expect(listing(join(box.root, 'build', 'cache'))).to.deep.equal([])
    expect(listing(join(box.root, 'locks')).filter((f) => f.startsWith('build-'))).to.deep.equal([])
    // (garbage collection leaves the snapshot locks of the layers it removed: system check's lock-stale, as after rmi)
    const {report} = check()
    expect(report.problems.filter((p) => !(p.kind === 'lock-stale' && p.object.startsWith('snapshot-'))), JSON.stringify(report.problems)).to.deep.equal([])
    expect(check('--repair').code).to.equal(0)
  })
})
