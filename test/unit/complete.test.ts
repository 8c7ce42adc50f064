import {expect} from 'chai'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'yaml'

import {CompletionSource, CompletionTable, complete, formatCandidates, tableFromManifest} from '../../src/cli/complete.js'
import {StoreCompletionSource} from '../../src/cli/complete-store.js'
import {rootFromWords} from '../../src/cli/complete-main.js'
import {storePaths} from '../../src/engine/store/paths.js'

const flag = (name: string, takesValue: boolean, extra: Record<string, unknown> = {}) => ({name, takesValue, ...extra})

/** A manifest shaped like oclif's, with the commands the cases below need. */
const manifest = {
  commands: {
    'container:stop': {id: 'container:stop', aliases: ['stop'], summary: 'Stop one or more running containers', flags: {time: {name: 'time', char: 't', type: 'option' as const}, root: {name: 'root', type: 'option' as const}}},
    'container:start': {id: 'container:start', aliases: ['start'], summary: 'Start containers', flags: {}},
    'container:logs': {id: 'container:logs', aliases: ['logs'], summary: 'Fetch the logs of a container', flags: {follow: {name: 'follow', char: 'f', type: 'boolean' as const}}},
    'container:rm': {id: 'container:rm', aliases: ['rm', 'container:remove'], summary: 'Remove containers', flags: {force: {name: 'force', char: 'f', type: 'boolean' as const}}},
    'container:exec': {id: 'container:exec', aliases: ['exec'], summary: 'Execute', parsesOwnArgv: true, flags: {interactive: {name: 'interactive', char: 'i', type: 'boolean' as const}, tty: {name: 'tty', char: 't', type: 'boolean' as const}, user: {name: 'user', char: 'u', type: 'option' as const}}},
    'container:ls': {id: 'container:ls', aliases: ['ps'], summary: 'List containers', flags: {format: {name: 'format', type: 'option' as const}, all: {name: 'all', char: 'a', type: 'boolean' as const}}},
    run: {
      id: 'run',
      aliases: ['container:run'],
      summary: 'Run',
      parsesOwnArgv: true,
      flags: {
        restart: {name: 'restart', type: 'option' as const},
        network: {name: 'network', aliases: ['net'], type: 'option' as const},
        pull: {name: 'pull', type: 'option' as const, options: ['missing', 'never', 'always']},
        volume: {name: 'volume', char: 'v', type: 'option' as const},
        platform: {name: 'platform', type: 'option' as const},
        'log-driver': {name: 'log-driver', type: 'option' as const},
        'env-file': {name: 'env-file', type: 'option' as const},
        detach: {name: 'detach', char: 'd', type: 'boolean' as const},
        attach: {name: 'attach', char: 'a', type: 'option' as const},
        runtime: {name: 'runtime', type: 'option' as const},
        link: {name: 'link', type: 'option' as const},
      },
    },
    'image:rm': {id: 'image:rm', aliases: ['rmi'], summary: 'Remove images', flags: {}},
    'network:inspect': {id: 'network:inspect', aliases: [], summary: 'Inspect networks', flags: {}},
    'network:connect': {id: 'network:connect', aliases: [], summary: 'Connect', flags: {}},
    'volume:rm': {id: 'volume:rm', aliases: [], summary: 'Remove volumes', flags: {}},
    'compose:up': {id: 'compose:up', aliases: [], summary: 'Create and start', flags: {file: {name: 'file', char: 'f', type: 'option' as const}, 'project-directory': {name: 'project-directory', type: 'option' as const}, detach: {name: 'detach', char: 'd', type: 'boolean' as const}}},
    'system:secret': {id: 'system:secret', hidden: true, aliases: [], flags: {}},
  },
}

const table: CompletionTable = tableFromManifest(manifest, {container: {description: 'Manage containers'}, image: {description: 'Manage images'}})

const source: CompletionSource = {
  containers: () => [
    {id: 'a1'.padEnd(64, '0'), name: 'web', state: 'running'},
    {id: 'b2'.padEnd(64, '0'), name: 'db', state: 'running'},
    {id: 'c3'.padEnd(64, '0'), name: 'old', state: 'exited'},
    {id: 'd4'.padEnd(64, '0'), name: 'fresh', state: 'created'},
    {id: 'e5'.padEnd(64, '0'), name: 'napping', state: 'paused'},
  ],
  images: () => [
    {id: 'sha256:' + 'f'.repeat(64), names: ['busybox:latest', 'localhost:5000/app:v1']},
  ],
  networks: () => ['bridge', 'backend'],
  volumes: () => ['data', 'cache'],
  composeServices: (file, dir) => (file === 'other.yaml' ? ['worker'] : dir === 'sub' ? ['in-sub'] : ['frontend', 'database']),
}

const values = (words: string[]) => {
  const r = complete(words, table, source)
  return r === 'files' ? r : r.map((c) => c.value)
}

describe('completion logic', () => {
  it('completes command names and topics', () => {
    expect(values(['sto'])).to.deep.equal(['stop'])
    expect(values(['con'])).to.deep.equal(['container'])
    expect(values(['container', ''])).to.deep.equal(['exec', 'logs', 'ls', 'remove', 'rm', 'run', 'start', 'stop'])
    expect(values(['network', 'i'])).to.deep.equal(['inspect'])
  })

  it('never offers hidden commands', () => {
    expect(values(['system', ''])).to.deep.equal([])
  })

  it('offers running containers to stop, stopped ones to start, all to rm', () => {
    expect(values(['stop', ''])).to.deep.equal(['web', 'db'])
    expect(values(['container', 'stop', ''])).to.deep.equal(['web', 'db'])
    expect(values(['start', ''])).to.deep.equal(['old', 'fresh'])
    expect(values(['rm', '-f', ''])).to.deep.equal(['web', 'db', 'old', 'fresh', 'napping'])
    expect(values(['logs', '-f', ''])).to.deep.equal(['web', 'db'])
    expect(values(['stop', 'web', ''])).to.deep.equal(['web', 'db'])
  })

  it('offers container IDs once the user types hex', () => {
    expect(values(['stop', 'a'])).to.deep.equal(['a10000000000'])
  })

  it('skips the values of flags when looking for positionals', () => {
    expect(values(['stop', '-t', '5', ''])).to.deep.equal(['web', 'db'])
    expect(values(['--root', '/x', 'stop', ''])).to.deep.equal(['web', 'db'])
  })

  it('completes exec containers, then leaves the container command line alone', () => {
    expect(values(['exec', '-it', ''])).to.deep.equal(['web', 'db'])
    expect(values(['exec', '-u', 'root', 'w'])).to.deep.equal(['web'])
    expect(values(['exec', 'web', ''])).to.deep.equal([])
    expect(values(['run', 'busybox', '--res'])).to.deep.equal([])
  })

  it('completes images for run and rmi, with registry ports intact', () => {
    expect(values(['run', '-d', ''])).to.deep.equal(['busybox:latest', 'localhost:5000/app:v1'])
    expect(values(['rmi', 'local'])).to.deep.equal(['localhost:5000/app:v1'])
  })

  it('completes flags of the command and the global ones', () => {
    expect(values(['ps', '--f'])).to.deep.equal(['--format'])
    expect(values(['ps', '-'])).to.include.members(['--all', '-a', '--root', '--debug'])
    expect(values(['run', '--ne'])).to.deep.equal(['--network'])
    expect(values(['run', '--net'])).to.deep.equal(['--network'])
    expect(values(['ps', '--data'])).to.deep.equal(['--data-root'])
  })

  it('completes fixed flag values', () => {
    expect(values(['run', '--restart', 'un'])).to.deep.equal(['unless-stopped'])
    expect(values(['run', '--pull', ''])).to.deep.equal(['missing', 'never', 'always'])
    expect(values(['run', '--platform', 'linux/arm'])).to.deep.equal(['linux/arm64', 'linux/arm/v7', 'linux/arm/v6'])
    expect(values(['run', '--log-driver', ''])).to.deep.equal(['json-file', 'none'])
    expect(values(['ps', '--format', ''])).to.deep.equal(['table', 'json', '{{json .}}'])
    expect(values(['run', '-a', ''])).to.deep.equal(['STDIN', 'STDOUT', 'STDERR'])
    expect(values(['run', '--runtime', ''])).to.deep.equal(['ncx-runtime'])
    expect(values(['run', '--link', ''])).to.deep.equal(['web', 'db'])
  })

  it('completes network modes, network names and container: for --network (also --flag=value)', () => {
    expect(values(['run', '--network', ''])).to.deep.equal(['bridge', 'host', 'none', 'slirp4netns', 'backend', 'container:web', 'container:db'])
    expect(values(['run', '--net=b'])).to.deep.equal(['--net=bridge', '--net=backend'])
    expect(values(['network', 'inspect', ''])).to.deep.equal(['bridge', 'backend'])
    expect(values(['network', 'connect', 'backend', ''])).to.deep.equal(['web', 'db', 'old', 'fresh', 'napping'])
  })

  it('completes volumes for volume rm and -v (without a trailing space: a path follows)', () => {
    expect(values(['volume', 'rm', ''])).to.deep.equal(['data', 'cache'])
    expect(values(['run', '-v', 'd'])).to.deep.equal(['data:'])
  })

  it('leaves file flags to the shell', () => {
    expect(values(['run', '--env-file', ''])).to.equal('files')
    expect(values(['--root', ''])).to.equal('files')
  })

  it('completes compose services, from -f when given', () => {
    expect(values(['compose', 'up', ''])).to.deep.equal(['frontend', 'database'])
    expect(values(['compose', 'up', '-f', 'other.yaml', ''])).to.deep.equal(['worker'])
    expect(values(['compose', 'up', '--file=other.yaml', 'w'])).to.deep.equal(['worker'])
    expect(values(['compose', 'up', '--project-directory', 'sub', ''])).to.deep.equal(['in-sub'])
  })

  it('prints value<TAB>description lines', () => {
    expect(formatCandidates([{value: 'a', description: 'first\nsecond'}, {value: 'b'}])).to.equal('a\tfirst\nb\n')
  })

  it('finds --root among the typed words', () => {
    expect(rootFromWords(['--root', '/r', 'stop', ''])).to.equal('/r')
    expect(rootFromWords(['--data-root=/d', 'ps', ''])).to.equal('/d')
    expect(rootFromWords(['--root'])).to.equal(undefined)
  })
})

describe('completion values from the store files', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-complete-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('reads containers (live monitor = running), images, networks, volumes and compose services', () => {
    const paths = storePaths({dataRoot: join(dir, 'data'), env: {HOME: dir}, uid: 1000})
    const c = (id: string, name: string, state?: object, status = 'created') => {
      mkdirSync(join(paths.data, 'containers', id), {recursive: true})
      writeFileSync(join(paths.data, 'containers', id, 'container.json'), JSON.stringify({id, name, state: {status}}))
      if (state) writeFileSync(join(paths.data, 'containers', id, 'state.json'), JSON.stringify(state))
    }
    // This test process is a live "monitor": its pid and start time make the container running.
    const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8')
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
    c('1'.repeat(64), 'live', {status: 'running', monitorPid: process.pid, monitorStart: start})
    c('2'.repeat(64), 'ghost', {status: 'running', monitorPid: process.pid, monitorStart: start + 1})
    c('3'.repeat(64), 'made')
    c('4'.repeat(64), 'done', {status: 'exited', monitorPid: 0, monitorStart: 0})
    writeFileSync(join(paths.data, 'images.json'), JSON.stringify({version: 1, images: [{id: 'sha256:ab', names: ['docker.io/library/busybox:latest', 'docker.io/team/app:1', 'docker.io/library/busybox@sha256:' + 'c'.repeat(64)]}]}))
    writeFileSync(join(paths.data, 'networks.json'), JSON.stringify({networks: {x: {name: 'backend'}}}))
    mkdirSync(join(paths.data, 'volumes', 'pgdata', '_data'), {recursive: true})
    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  api: {image: busybox}\n  worker: {image: busybox}\n')
    const s = new StoreCompletionSource(paths, dir, parse)
    expect(s.containers().map((x) => `${x.name}:${x.state}`)).to.deep.equal(['done:exited', 'ghost:exited', 'live:running', 'made:created'])
    expect(s.images()).to.deep.equal([{id: 'sha256:ab', names: ['busybox:latest', 'team/app:1']}])
    expect(s.networks()).to.deep.equal(['backend', 'bridge'])
    expect(s.volumes()).to.deep.equal(['pgdata'])
    expect(s.composeServices()).to.deep.equal(['api', 'worker'])
    expect(s.composeServices('missing.yaml')).to.deep.equal([])
    mkdirSync(join(dir, 'proj'))
    writeFileSync(join(dir, 'proj', 'docker-compose.yml'), 'services:\n  cache: {image: redis}\n')
    expect(s.composeServices(undefined, 'proj')).to.deep.equal(['cache'])
  })

  it('answers with nothing (not an error) for an empty store', () => {
    const s = new StoreCompletionSource(storePaths({dataRoot: join(dir, 'none'), env: {HOME: dir}, uid: 1000}), dir, parse)
    expect(s.containers()).to.deep.equal([])
    expect(s.images()).to.deep.equal([])
    expect(s.networks()).to.deep.equal(['bridge'])
    expect(s.volumes()).to.deep.equal([])
    expect(s.composeServices()).to.deep.equal([])
  })
})
