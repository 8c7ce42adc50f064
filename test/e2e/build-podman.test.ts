import {expect} from 'chai'
import {execFileSync, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {Readable} from 'node:stream'
import {extract} from 'tar-stream'

import {Sandbox, asRoot, images, user, userDir} from './harness.js'

/**
 * Differential test: the same Dockerfiles built by ncx and by `podman build` (buildah) must
 * give the same files (paths, types, owners, modes, contents) in an export of the image and
 * the same image config. Runs only where podman is installed (CI installs it; skipped, not
 * passed, elsewhere). Rootless podman here needs runc (crun refuses hybrid cgroups).
 */
const PODMAN = ['/usr/bin/podman', '/usr/local/bin/podman'].find((p) => existsSync(p))
const RUNC = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => existsSync(p))

interface FileEntry {
  type: string
  mode: string
  owner: string
  size: number
  link?: string
  sha?: string
}

/** Paths the runtimes themselves put into an export (mount points), not the build's doing. */
const RUNTIME_PATHS = /^(dev|proc|sys|run|etc\/hosts|etc\/hostname|etc\/resolv\.conf|etc\/mtab|\.dockerenv|\.containerenv)(\/|$)/

async function tarEntries(data: Buffer): Promise<Map<string, FileEntry>> {
  const out = new Map<string, FileEntry>()
  const tar = extract()
  const done = (async () => {
    for await (const e of tar) {
      const h = e.header
      const name = h.name.replace(/^\.?\/+/, '').replace(/\/+$/, '')
      const chunks: Buffer[] = []
      for await (const c of e) chunks.push(c as Buffer)
      if (name === '' || RUNTIME_PATHS.test(name)) continue
      const body = Buffer.concat(chunks)
      out.set(name, {
        type: h.type,
        mode: ((h.mode ?? 0) & 0o7777).toString(8),
        owner: `${h.uid}:${h.gid}`,
        size: h.type === 'file' ? body.length : 0,
        ...(h.linkname ? {link: h.linkname} : {}),
        ...(h.type === 'file' ? {sha: createHash('sha256').update(body).digest('hex').slice(0, 16)} : {}),
      })
    }
  })()
  Readable.from([data]).pipe(tar)
  await done
  return out
}

/** The `config` section of the image in a docker-archive. */
async function imageConfig(file: string): Promise<Record<string, unknown>> {
  const files = new Map<string, Buffer>()
  const tar = extract()
  const done = (async () => {
    for await (const e of tar) {
      const chunks: Buffer[] = []
      for await (const c of e) chunks.push(c as Buffer)
      if (e.header.name.endsWith('.json')) files.set(e.header.name.replace(/^\.\//, ''), Buffer.concat(chunks))
    }
  })()
  Readable.from([readFileSync(file)]).pipe(tar)
  await done
  const manifest = JSON.parse(files.get('manifest.json')!.toString()) as Array<{Config: string}>
  return (JSON.parse(files.get(manifest[0].Config)!.toString()) as {config: Record<string, unknown>}).config
}

/** The config fields both builders write. */
function configView(c: Record<string, unknown>): Record<string, unknown> {
  const labels = {...((c.Labels as Record<string, string> | null) ?? {})}
  delete labels['io.buildah.version']
  const empty = (v: unknown) => v === null || v === undefined || v === '' || (typeof v === 'object' && Object.keys(v as object).length === 0)
  const pick = (k: string) => (empty(c[k]) ? undefined : c[k])
  return {
    User: pick('User'),
    // Sorted: BuildKit replaces a variable where it is, buildah moves it to the end.
    Env: Array.isArray(c.Env) ? [...(c.Env as string[])].sort() : undefined,
    Entrypoint: pick('Entrypoint'),
    Cmd: pick('Cmd'),
    WorkingDir: pick('WorkingDir'),
    ExposedPorts: pick('ExposedPorts'),
    Volumes: pick('Volumes'),
    Labels: Object.keys(labels).length > 0 ? labels : undefined,
    StopSignal: pick('StopSignal'),
    Healthcheck: pick('Healthcheck'),
    OnBuild: pick('OnBuild'),
    Shell: pick('Shell'),
  }
}

const CASES: Record<string, Record<string, string>> = {
  'multi-stage, COPY --from with owners': {
    Dockerfile: [
      'FROM busybox AS build',
      'RUN mkdir -p /out/sub && echo one > /out/a && echo two > /out/sub/b && chown -R 1000:1000 /out/sub && chmod 0700 /out/sub',
      'RUN ln -s a /out/link',
      'FROM busybox',
      'COPY --from=build /out /app/',
      'COPY --from=build /out/a /single',
      'CMD ["/bin/sh"]',
      '',
    ].join('\n'),
  },
  'COPY from the context: directories, files, wildcards, owners, modes, .dockerignore': {
    Dockerfile: [
      'FROM busybox',
      'WORKDIR /srv',
      'COPY dir ./dir/',
      'COPY dir/ /contents/',
      'COPY *.txt /texts/',
      'COPY one.txt /renamed',
      'COPY --chown=12:34 one.txt /chowned',
      'COPY --chmod=0751 run.sh /bin/',
      'COPY link /copied-link-target',
      'COPY . /all/',
      '',
    ].join('\n'),
    '.dockerignore': 'ignored\n*.log\n!keep.log\n',
    'dir/x': 'x\n',
    'dir/nested/y': 'y\n',
    'one.txt': '1\n',
    'two.txt': '2\n',
    'run.sh': '#!/bin/sh\necho run\n',
    'ignored/z': 'z\n',
    'drop.log': 'l\n',
    'keep.log': 'k\n',
    target: 'target\n',
    '@link': 'target',
  },
  'RUN changes: deletions, replaced directories, special modes, ENV and ARG': {
    Dockerfile: [
      'FROM busybox',
      'ARG VERSION=1.2.3',
      'ENV APP_HOME=/opt/app PATH=/opt/app/bin:$PATH',
      'RUN rm -f /bin/vi && mkdir -p $APP_HOME/bin && echo $VERSION > $APP_HOME/version',
      'RUN mkdir -p /dir/sub && echo a > /dir/sub/a && echo keep > /dir/keep',
      'RUN rm -rf /dir && mkdir /dir && echo replaced > /dir/only',
      'RUN mkdir -m 1777 /scratch && touch /setuid && chmod 4755 /setuid',
      'USER 1000:1000',
      // (buildah makes a WORKDIR only when a later step needs it; BuildKit at once.)
      'WORKDIR /home/user',
      'RUN touch mine',
      '',
    ].join('\n'),
  },
  'the image config: every field': {
    Dockerfile: [
      'FROM busybox',
      'LABEL org.opencontainers.image.title=demo version="1 2"',
      'EXPOSE 8080 53/udp',
      'VOLUME ["/data"]',
      'STOPSIGNAL SIGQUIT',
      'HEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD wget -q -O- localhost:8080',
      'SHELL ["/bin/sh", "-ec"]',
      'ONBUILD RUN echo child',
      'ENTRYPOINT ["/bin/echo"]',
      'CMD ["hello"]',
      '',
    ].join('\n'),
  },
  'ADD of a local tar archive': {
    Dockerfile: 'FROM busybox\nADD payload.tar.gz /opt/\nADD payload.tar.gz /opt/again\n',
    '@tar': 'payload.tar.gz',
  },
}

describe('e2e: ncx build against podman build (differential)', function () {
  this.timeout(600_000)
  const box = new Sandbox()
  let podHome = ''

  const podman = (args: string[]): {code: number; stdout: Buffer; stderr: string} => {
    const env = [`PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin`, `HOME=${podHome}`, `XDG_RUNTIME_DIR=${podHome}/run`, `XDG_CONFIG_HOME=${podHome}/config`, `XDG_DATA_HOME=${podHome}/data`]
    const cmd = asRoot ? 'runuser' : 'env'
    const pre = asRoot ? ['-u', user.name, '--', 'env', '-i', ...env] : ['-i', ...env]
    const r = spawnSync(cmd, [...pre, PODMAN!, '--runtime', RUNC!, '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', ...args], {maxBuffer: 1 << 28, timeout: 300_000})
    return {code: r.status ?? 137, stdout: r.stdout, stderr: r.stderr.toString()}
  }

  const context = (files: Record<string, string>): string => {
    const dir = userDir('ncx-e2e-diff-')
    for (const [name, content] of Object.entries(files)) {
      if (name === '@link') symlinkSync(content, join(dir, 'link'))
      else if (name === '@tar') {
        mkdirSync(join(dir, 'payload', 'bin'), {recursive: true})
        writeFileSync(join(dir, 'payload', 'bin', 'tool'), 'tool\n')
        chmodSync(join(dir, 'payload', 'bin', 'tool'), 0o755)
        writeFileSync(join(dir, 'payload', 'README'), 'readme\n')
        execFileSync('tar', ['czf', join(dir, content), '--owner=7', '--group=8', '-C', dir, 'payload'])
      } else {
        mkdirSync(dirname(join(dir, name)), {recursive: true})
        writeFileSync(join(dir, name), content)
        if (name.endsWith('.sh')) chmodSync(join(dir, name), 0o755)
      }
    }
    if (asRoot) execFileSync('chown', ['-hR', `${user.uid}:${user.gid}`, dir])
    return dir
  }

  before(function () {
    if (!PODMAN || !RUNC) {
      this.skip()
      return
    }
    podHome = userDir('ncx-e2e-podman-')
    mkdirSync(join(podHome, 'run'), {recursive: true, mode: 0o700})
    if (asRoot) execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, podHome])
    box.load('busybox.oci.tar')
    const loaded = podman(['load', '-i', join(images(), 'busybox.oci.tar')])
    if (loaded.code !== 0) throw new Error(`podman load: ${loaded.stderr}`)
  })
  after(() => {
    if (podHome) podman(['system', 'reset', '--force'])
    box.destroy()
  })

  for (const [title, files] of Object.entries(CASES)) {
    it(title, async () => {
      const dir = context(files)
      const tag = `diff${createHash('sha256').update(title).digest('hex').slice(0, 8)}`
      box.ok(['build', '-q', '-t', tag, dir])
      const pb = podman(['build', '--format', 'docker', '--layers', '-q', '-t', tag, dir])
      if (pb.code !== 0) throw new Error(`podman build: ${pb.stderr}`)
      // Files: an export of a container of each image.
      const cid = box.ok(['create', tag, 'true']).trim()
      const [cmd, ...rest] = box.commandLine(['export', cid])
      const exported = spawnSync(cmd, rest, {maxBuffer: 1 << 28})
      if (exported.status !== 0) throw new Error(`ncx export: ${exported.stderr.toString()}`)
      const ours = await tarEntries(exported.stdout)
      // (`podman export` of a created container hangs rootless here: read the image mounted.)
      const mounted = podman(['unshare', 'sh', '-c', `m=$(podman image mount ${tag}) && tar -C "$m" --numeric-owner -cf - . ; podman image unmount ${tag} >/dev/null`])
      if (mounted.code !== 0) throw new Error(`podman image mount: ${mounted.stderr}`)
      const theirs = await tarEntries(mounted.stdout)
      const diff: string[] = []
      for (const [p, e] of theirs) {
        const o = ours.get(p)
        if (!o) diff.push(`only podman: ${p} ${JSON.stringify(e)}`)
        else if (JSON.stringify(o) !== JSON.stringify(e)) diff.push(`differs: ${p} ncx=${JSON.stringify(o)} podman=${JSON.stringify(e)}`)
      }
      for (const p of ours.keys()) if (!theirs.has(p)) diff.push(`only ncx: ${p} ${JSON.stringify(ours.get(p))}`)
      expect(diff, diff.join('\n')).to.deep.equal([])
      // Config: the image config documents, read from docker-archive saves of both.
      const out = userDir('ncx-e2e-diff-save-')
      box.ok(['save', '-o', join(out, 'ncx.tar'), tag])
      const ps = podman(['save', '--format', 'docker-archive', '-o', join(out, 'podman.tar'), tag])
      if (ps.code !== 0) throw new Error(`podman save: ${ps.stderr}`)
      expect(configView(await imageConfig(join(out, 'ncx.tar')))).to.deep.equal(configView(await imageConfig(join(out, 'podman.tar'))))
    })
  }
})
