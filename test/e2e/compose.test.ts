import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {Sandbox, userDir} from './harness.js'
import {fetchText, freePort, sleep} from './net-helpers.js'

interface Inspect {
  Id: string
  Name: string
  State: {Status: string; ExitCode: number; StartedAt: string; FinishedAt: string; Health?: {Status: string; Log: Array<{Start: string; ExitCode: number}>}}
  Config: {Env: string[]; Labels: Record<string, string>}
}

describe('ncx compose (e2e)', function () {
  this.timeout(180_000)
  let box: Sandbox

  before(() => {
    box = new Sandbox()
    box.load('busybox.oci.tar')
  })
  after(() => box.destroy())

  /** A project directory the test user owns, with these files. */
  const projectDir = (files: Record<string, string>): string => {
    const dir = userDir('ncx-e2e-compose-')
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, {mode: 0o644})
    return dir
  }
  const compose = (dir: string, project: string, args: string[], env: Record<string, string> = {}) => box.ncx(['compose', '--project-directory', dir, '-p', project, ...args], {env, timeout: 120_000})
  const composeOk = (dir: string, project: string, args: string[], env: Record<string, string> = {}) => {
    const r = compose(dir, project, args, env)
    if (r.code !== 0) throw new Error(`compose ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`)
    return r
  }
  const inspect = (name: string): Inspect => (JSON.parse(box.ok(['inspect', name])) as Inspect[])[0]

  it('web + key-value store + one-shot migration: dependency order and conditions honoured', async () => {
    const port = await freePort()
    const dir = projectDir({
      'compose.yaml': `
services:
  web:
    image: busybox
    command: sh -c 'mkdir -p /www && echo "hello from web" > /www/index.html && exec httpd -f -p 80 -h /www'
    ports: ["${port}:80"]
    depends_on:
      kv:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
  kv:
    image: busybox
    command: sh -c 'sleep 2; touch /tmp/ready; while true; do echo PONG | nc -l -p 6379; done'
    volumes:
      - kvdata:/data
      - /scratch
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 300ms
      retries: 30
  migrate:
    image: busybox
    command: sh -c 'echo migrating; echo schema-v1 > /data/schema; sleep 1; echo migrated'
    volumes: [kvdata:/data]
volumes:
  kvdata:
`,
    })
    const r = composeOk(dir, 'stack', ['up', '-d'])
    expect(r.stderr).to.include('Container stack-kv-1  Healthy')
    const web = inspect('stack-web-1')
    const kv = inspect('stack-kv-1')
    const migrate = inspect('stack-migrate-1')
    expect(migrate.State).to.include({Status: 'exited', ExitCode: 0})
    expect(kv.State.Health?.Status).to.equal('healthy')
    // web started only after the migration finished and kv was healthy (kv needs >= 2 s).
    expect(Date.parse(web.State.StartedAt)).to.be.at.least(Date.parse(migrate.State.FinishedAt))
    expect(Date.parse(web.State.StartedAt) - Date.parse(kv.State.StartedAt)).to.be.at.least(1900)
    expect(web.Config.Labels).to.include({
      'com.docker.compose.project': 'stack',
      'com.docker.compose.service': 'web',
      'com.docker.compose.container-number': '1',
      'com.docker.compose.oneoff': 'False',
      'com.docker.compose.project.working_dir': dir,
    })
    expect(await fetchText(port)).to.equal('hello from web\n')
    // Service names resolve between services on the project network.
    expect(composeOk(dir, 'stack', ['exec', '-T', 'web', 'nc', 'kv', '6379']).stdout).to.equal('PONG\n')
    const ps = composeOk(dir, 'stack', ['ps', '--format', '{{.Service}} {{.State}}']).stdout
    expect(ps.trim().split('\n').sort()).to.deep.equal(['kv running', 'web running'])
    expect(composeOk(dir, 'stack', ['ps', '-a', '--services']).stdout.trim().split('\n').sort()).to.deep.equal(['kv', 'migrate', 'web'])
    const logs = composeOk(dir, 'stack', ['logs', 'migrate']).stdout
    expect(logs).to.equal('migrate-1  | migrating\nmigrate-1  | migrated\n')
    expect(composeOk(dir, 'stack', ['logs', '--no-log-prefix', 'migrate']).stdout).to.equal('migrating\nmigrated\n')
    const run = composeOk(dir, 'stack', ['run', '--rm', '--no-deps', '-e', 'EXTRA=1', 'migrate', 'sh', '-c', 'echo $EXTRA; nc kv 6379'])
    expect(run.stdout).to.equal('1\nPONG\n')
    expect(composeOk(dir, 'stack', ['ls']).stdout).to.match(/^stack\s+running\(2\), exited\(1\)|^stack\s+exited\(1\), running\(2\)/m)
    // The named volume is shared: what the migration wrote, kv reads.
    expect(composeOk(dir, 'stack', ['exec', '-T', 'kv', 'cat', '/data/schema']).stdout).to.equal('schema-v1\n')
    expect(box.ok(['volume', 'ls', '--format', '{{.Name}}'])).to.include('stack_kvdata')
    const down = composeOk(dir, 'stack', ['down', '-v', '-t', '1'])
    expect(down.stderr).to.include('Network stack_default  Removed')
    expect(down.stderr).to.include('Volume stack_kvdata  Removed')
    expect(box.ok(['volume', 'ls', '-q']).trim()).to.equal('')
    expect(box.ok(['ps', '-a', '--format', '{{.Names}}']).trim()).to.equal('')
    expect(box.ok(['network', 'ls', '--format', '{{.Name}}'])).to.not.include('stack_default')
  })

  it('scale 3, recreation only of the changed service, override files and profiles', () => {
    const dir = projectDir({
      'compose.yaml': `
services:
  app:
    image: busybox
    command: sleep 600
    environment:
      COLOR: \${COLOR:-blue}
  side:
    image: busybox
    command: sleep 600
  debug:
    image: busybox
    command: sleep 600
    profiles: [debug]
`,
      'compose.override.yaml': 'services:\n  side:\n    environment:\n      FROM_OVERRIDE: "yes"\n',
    })
    composeOk(dir, 'scaled', ['up', '-d', '-t', '1', '--scale', 'app=3'])
    const names = composeOk(dir, 'scaled', ['ps', '--format', '{{.Name}}']).stdout.trim().split('\n').sort()
    expect(names).to.deep.equal(['scaled-app-1', 'scaled-app-2', 'scaled-app-3', 'scaled-side-1'])
    expect(inspect('scaled-side-1').Config.Env).to.include('FROM_OVERRIDE=yes')
    const before = Object.fromEntries(names.map((n) => [n, inspect(n).Id]))
    // Same model: nothing is recreated.
    composeOk(dir, 'scaled', ['up', '-d', '-t', '1', '--scale', 'app=3'])
    for (const n of names) expect(inspect(n).Id).to.equal(before[n])
    // Change one service's environment: only its containers are recreated.
    const r = composeOk(dir, 'scaled', ['up', '-d', '-t', '1', '--scale', 'app=3'], {COLOR: 'red'})
    expect(r.stderr).to.include('Container scaled-app-1  Recreate')
    expect(inspect('scaled-side-1').Id).to.equal(before['scaled-side-1'])
    for (const n of ['scaled-app-1', 'scaled-app-2', 'scaled-app-3']) {
      expect(inspect(n).Id).to.not.equal(before[n])
      expect(inspect(n).Config.Env).to.include('COLOR=red')
    }
    // Scale down removes the highest numbers.
    composeOk(dir, 'scaled', ['up', '-d', '-t', '1', '--scale', 'app=1'], {COLOR: 'red'})
    expect(composeOk(dir, 'scaled', ['ps', '-q']).stdout.trim().split('\n')).to.have.length(2)
    // Profiles: debug only with --profile.
    expect(composeOk(dir, 'scaled', ['ps', '--services']).stdout).to.not.include('debug')
    // A service named on the command line runs whatever its profiles (Compose's rule).
    composeOk(dir, 'scaled', ['up', '-d', 'debug'], {COLOR: 'red'})
    expect(composeOk(dir, 'scaled', ['ps', '--services']).stdout).to.include('debug')
    composeOk(dir, 'scaled', ['--profile', 'debug', 'down', '-t', '0'])
    expect(box.ok(['ps', '-a', '--format', '{{.Names}}']).trim()).to.equal('')
  })

  it('attached up streams prefixed logs; --abort-on-container-exit --exit-code-from returns the tests\' code', () => {
    const dir = projectDir({
      'compose.yaml': `
services:
  app:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; echo app up; sleep 600 & wait"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 200ms
  tests:
    image: busybox
    command: sh -c 'echo running tests; exit 3'
    depends_on:
      app:
        condition: service_healthy
`,
    })
    const r = compose(dir, 'att', ['up', '--abort-on-container-exit', '--exit-code-from', 'tests'])
    expect(r.code, r.stderr).to.equal(3)
    expect(r.stdout).to.match(/^app-1\s+\| app up$/m)
    expect(r.stdout).to.match(/^tests-1\s+\| running tests$/m)
    expect(r.stdout).to.include('tests-1 exited with code 3')
    // Everything was stopped, nothing removed.
    expect(composeOk(dir, 'att', ['ps', '-a', '--format', '{{.Name}} {{.State}}']).stdout.trim().split('\n').sort()).to.deep.equal(['att-app-1 exited', 'att-tests-1 exited'])
    // --wait returns once the health check passes.
    composeOk(dir, 'att', ['up', '-d', '--wait', 'app'])
    expect(inspect('att-app-1').State.Health?.Status).to.equal('healthy')
    composeOk(dir, 'att', ['down', '-t', '1'])
  })

  it('network_mode service:, extends, and a one-off run with the service\'s dependencies', () => {
    const dir = projectDir({
      'compose.yaml': `
x-sleeper: &sleeper
  image: busybox
  command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
services:
  web:
    extends:
      file: base.yml
      service: httpd
  sidecar:
    <<: *sleeper
    network_mode: service:web
  client:
    <<: *sleeper
    depends_on: [web]
`,
      'base.yml': 'services:\n  httpd:\n    image: busybox\n    command: sh -c \'mkdir -p /www && echo base > /www/index.html && exec httpd -f -p 80 -h /www\'\n',
    })
    // sidecar shares web's network stack, so web starts first even without depends_on.
    composeOk(dir, 'nm', ['up', '-d', 'sidecar'])
    expect(composeOk(dir, 'nm', ['ps', '--services']).stdout.trim().split('\n').sort()).to.deep.equal(['sidecar', 'web'])
    expect(composeOk(dir, 'nm', ['exec', '-T', 'sidecar', 'wget', '-qO-', 'http://localhost/']).stdout).to.equal('base\n')
    // run starts the dependencies it lacks and reaches them by service name.
    expect(composeOk(dir, 'nm', ['run', '--rm', 'client', 'wget', '-qO-', 'http://web/']).stdout).to.equal('base\n')
    composeOk(dir, 'nm', ['down', '-t', '1'])
    expect(box.ok(['ps', '-a', '--format', '{{.Names}}']).trim()).to.equal('')
  })

  it('a recreated container keeps its anonymous volume; down -v removes it', () => {
    const dir = projectDir({
      'compose.yaml': `
services:
  db:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    environment:
      GEN: \${GEN:-1}
    volumes: [/data]
`,
    })
    composeOk(dir, 'anon', ['up', '-d'])
    composeOk(dir, 'anon', ['exec', '-T', 'db', 'sh', '-c', 'echo kept > /data/file'])
    const first = inspect('anon-db-1').Id
    composeOk(dir, 'anon', ['up', '-d', '-t', '1'], {GEN: '2'})
    expect(inspect('anon-db-1').Id).to.not.equal(first)
    expect(composeOk(dir, 'anon', ['exec', '-T', 'db', 'cat', '/data/file']).stdout).to.equal('kept\n')
    expect(box.ok(['volume', 'ls', '-q']).trim().split('\n')).to.have.length(1)
    composeOk(dir, 'anon', ['down', '-v', '-t', '1'])
    expect(box.ok(['volume', 'ls', '-q']).trim()).to.equal('')
  })

  it('security options and init reach the containers', () => {
    const dir = projectDir({
      'compose.yaml': `
services:
  locked:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    cap_drop: [ALL]
    security_opt: [no-new-privileges]
    init: true
    read_only: true
`,
    })
    composeOk(dir, 'sec', ['up', '-d'])
    const status = composeOk(dir, 'sec', ['exec', '-T', 'locked', 'cat', '/proc/self/status']).stdout
    expect(status).to.match(/^CapEff:\s+0000000000000000$/m)
    expect(status).to.match(/^NoNewPrivs:\s+1$/m)
    expect(composeOk(dir, 'sec', ['exec', '-T', 'locked', 'cat', '/proc/1/cmdline']).stdout).to.include('ncx-init')
    const ro = compose(dir, 'sec', ['exec', '-T', 'locked', 'touch', '/x'])
    expect(ro.code).to.not.equal(0)
    composeOk(dir, 'sec', ['down', '-t', '1'])
  })

  it('namespace and metadata keys: pid/ipc service:, volumes_from, links, shm_size, domainname, annotations, label_file', () => {
    const sleeper = `    image: busybox\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]\n`
    const dir = projectDir({
      'labels.env': 'tier=backend\n',
      'compose.yaml': `services:\n  app:\n${sleeper}    pid: service:store\n    ipc: service:store\n    volumes_from: ["store:ro"]\n    links: ["store:database"]\n    domainname: example.org\n    annotations: {org.example.role: app}\n    label_file: labels.env\n  store:\n${sleeper}    ipc: shareable\n    shm_size: 32m\n    volumes: [/data]\n`,
    })
    const up = composeOk(dir, 'nsk', ['up', '-d'])
    // store is created and started before app (volumes_from, pid, ipc and links are dependencies).
    expect(up.stderr.indexOf('nsk-store-1  Started')).to.be.greaterThan(-1).and.lessThan(up.stderr.indexOf('nsk-app-1  Started'))
    expect(up.stderr).to.not.contain('not support')
    const inApp = (cmd: string) => composeOk(dir, 'nsk', ['exec', '-T', 'app', 'sh', '-c', cmd]).stdout.trim()
    const inStore = (cmd: string) => composeOk(dir, 'nsk', ['exec', '-T', 'store', 'sh', '-c', cmd]).stdout.trim()
    expect(inApp('readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc')).to.equal(inStore('readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc'))
    // app sees store's processes; store's volume is app's, read-only.
    expect(inApp('ps -o comm | grep -c sleep')).to.equal('2')
    inStore('echo from-store > /data/f')
    expect(inApp('cat /data/f; touch /data/g 2>/dev/null; echo rc=$?')).to.equal('from-store\nrc=1')
    // ipc: service:store shares store's /dev/shm (its shm_size, its files), as with Docker.
    inStore('echo shared > /dev/shm/s')
    expect(inApp('df -k /dev/shm | tail -1 | awk \'{print $2}\'; cat /dev/shm/s /proc/sys/kernel/domainname')).to.equal('32768\nshared\nexample.org')
    expect(inApp('ping -c 1 -W 2 database >/dev/null; echo rc=$?')).to.equal('rc=0')
    const app = (JSON.parse(box.ok(['inspect', 'nsk-app-1'])) as Array<{Config: {Labels: Record<string, string>}; HostConfig: {Annotations: Record<string, string>; PidMode: string; IpcMode: string}}>)[0]
    expect(app.Config.Labels).to.include({tier: 'backend', 'com.docker.compose.service': 'app'})
    expect(app.HostConfig).to.deep.include({Annotations: {'org.example.role': 'app'}, PidMode: 'container:nsk-store-1', IpcMode: 'container:nsk-store-1'})
    const cfg = composeOk(dir, 'nsk', ['config']).stdout
    expect(cfg).to.contain('    pid: service:store\n').and.contain('    volumes_from:\n      - store:ro\n').and.contain('      tier: backend\n')
    composeOk(dir, 'nsk', ['down', '-t', '1', '-v'])
  })

  it('services on several networks reach exactly the services they share a network with', () => {
    const sleeper = `    image: busybox\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]\n`
    const dir = projectDir({
      'compose.yaml': `services:\n  web:\n${sleeper}    networks: [front]\n  api:\n${sleeper}    networks:\n      front:\n      back:\n        aliases: [backend]\n  db:\n${sleeper}    networks: [back]\nnetworks:\n  front:\n  back:\n    labels: {tier: data}\n`,
    })
    composeOk(dir, 'mn', ['up', '-d'])
    const reach = (from: string, to: string) => compose(dir, 'mn', ['exec', '-T', from, 'ping', '-c', '1', '-W', '2', to]).code === 0
    expect(reach('api', 'web'), 'api → web').to.equal(true)
    expect(reach('api', 'db'), 'api → db').to.equal(true)
    expect(reach('db', 'backend'), 'db → backend (alias of api)').to.equal(true)
    expect(reach('web', 'db'), 'web → db').to.equal(false)
    const nets = box.ok(['network', 'ls', '--format', '{{.Name}}'])
    expect(nets).to.include('mn_front').and.include('mn_back')
    composeOk(dir, 'mn', ['down', '-t', '1'])
    expect(box.ok(['network', 'ls', '--format', '{{.Name}}'])).to.not.include('mn_')
  })

  it('attached up stops everything on Ctrl-C', async () => {
    const dir = projectDir({
      'compose.yaml': `
services:
  ticker:
    image: busybox
    command: ["sh", "-c", "trap 'echo got TERM; exit 0' TERM; while :; do echo tick; sleep 0.2; done"]
  idle:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
`,
    })
    // Its own process group, so that SIGINT reaches ncx as a terminal's Ctrl-C would.
    const child = box.spawn(['compose', '--project-directory', dir, '-p', 'ctrlc', 'up'], {detached: true, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d))
    const closed = new Promise<number>((r) => child.on('close', (c) => r(c ?? 137)))
    for (let i = 0; i < 200 && !out.includes('ticker-1  | tick\nticker-1  | tick'); i++) await sleep(100)
    expect(out).to.include('ticker-1  | tick')
    process.kill(-child.pid!, 'SIGINT')
    const code = await closed
    expect(code).to.equal(130)
    expect(out).to.include('Gracefully stopping...')
    expect(out).to.include('ticker-1  | got TERM')
    const states = composeOk(dir, 'ctrlc', ['ps', '-a', '--format', '{{.Name}} {{.State}}']).stdout.trim().split('\n').sort()
    expect(states).to.deep.equal(['ctrlc-idle-1 exited', 'ctrlc-ticker-1 exited'])
    composeOk(dir, 'ctrlc', ['down'])
  })

  it('secrets and configs; start, stop, restart, kill, rm, port, top, images, ls, version', () => {
    const dir = projectDir({
      'compose.yaml': `
services:
  app:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    ports: ["80"]
    secrets: [token]
    configs:
      - source: conf
        target: /etc/app.conf
secrets:
  token:
    environment: TOKEN
configs:
  conf:
    content: key=value
`,
    })
    // create, then start: nothing runs before start.
    composeOk(dir, 'misc', ['create'], {TOKEN: 's3cret'})
    expect(inspect('misc-app-1').State.Status).to.equal('created')
    composeOk(dir, 'misc', ['start'], {TOKEN: 's3cret'})
    expect(composeOk(dir, 'misc', ['exec', '-T', 'app', 'cat', '/run/secrets/token']).stdout).to.equal('s3cret')
    expect(composeOk(dir, 'misc', ['exec', '-T', 'app', 'cat', '/etc/app.conf']).stdout).to.equal('key=value')
    expect(composeOk(dir, 'misc', ['port', 'app', '80']).stdout).to.match(/^0\.0\.0\.0:\d+\n$/)
    expect(composeOk(dir, 'misc', ['top']).stdout).to.include('sleep 600')
    composeOk(dir, 'misc', ['cp', 'app:/etc/app.conf', join(dir, 'copied.conf')])
    expect(readFileSync(join(dir, 'copied.conf'), 'utf8')).to.equal('key=value')
    expect(composeOk(dir, 'misc', ['images']).stdout).to.match(/misc-app-1\s+busybox\s+latest/)
    const state = () => inspect('misc-app-1').State.Status
    composeOk(dir, 'misc', ['stop', '-t', '2'])
    expect(state()).to.equal('exited')
    composeOk(dir, 'misc', ['start'], {TOKEN: 's3cret'})
    expect(state()).to.equal('running')
    const id = inspect('misc-app-1').Id
    composeOk(dir, 'misc', ['restart', '-t', '2'])
    expect(state()).to.equal('running')
    expect(inspect('misc-app-1').Id).to.equal(id)
    composeOk(dir, 'misc', ['kill'])
    expect(inspect('misc-app-1').State.ExitCode).to.equal(137)
    expect(composeOk(dir, 'misc', ['ls', '-a']).stdout).to.match(/^misc\s+exited\(1\)/m)
    // pause uses the cgroup freezer: on a host without delegation (this one) the engine says so.
    composeOk(dir, 'misc', ['start'], {TOKEN: 's3cret'})
    const pause = compose(dir, 'misc', ['pause'])
    expect(pause.code, pause.stderr).to.not.equal(0)
    expect(pause.stderr).to.include('cannot pause container misc-app-1: it has no cgroup of its own')
    composeOk(dir, 'misc', ['rm', '-sf'])
    expect(box.ok(['ps', '-a', '--format', '{{.Names}}']).trim()).to.equal('')
    expect(composeOk(dir, 'misc', ['version', '--short']).stdout).to.match(/^\d+\.\d+\.\d+\n$/)
    composeOk(dir, 'misc', ['down'])
  })

  it('config prints the interpolated, merged, canonical model', () => {
    const dir = projectDir({
      'compose.yaml': 'services:\n  web:\n    image: busybox:${TAG:-1.36}\n    command: echo "$$HOME ${GREETING:?set GREETING}"\n    ports: ["8080:80"]\n',
      '.env': 'GREETING=hi\n',
    })
    const out = composeOk(dir, 'cfg', ['config']).stdout
    expect(out).to.equal(`name: cfg
services:
  web:
    command:
      - echo
      - $$HOME hi
    image: busybox:1.36
    networks:
      default: null
    ports:
      - mode: ingress
        target: 80
        published: "8080"
        protocol: tcp
networks:
  default:
    name: cfg_default
`)
    expect(JSON.parse(composeOk(dir, 'cfg', ['config', '--format', 'json']).stdout).services.web.image).to.equal('busybox:1.36')
    expect(composeOk(dir, 'cfg', ['config', '--services']).stdout).to.equal('web\n')
    // Docker Compose's --variables table, read from the files before interpolation.
    expect(composeOk(dir, 'cfg', ['config', '--variables']).stdout).to.equal(
      'NAME       REQUIRED   DEFAULT VALUE   ALTERNATE VALUE\nGREETING   true\nTAG        false      1.36\n',
    )
    expect(composeOk(dir, 'cfg', ['config', '--hash', '*']).stdout).to.match(/^web [0-9a-f]{64}\n$/)
    expect(composeOk(dir, 'cfg', ['config', '--environment']).stdout.split('\n')).to.include('GREETING=hi')
    const bad = compose(dir, 'cfg', ['config'], {GREETING: ''})
    expect(bad.code).to.equal(15)
    expect(bad.stderr).to.include('compose.yaml:4: services.web.command: required variable GREETING is missing a value: set GREETING')
  })

  it('invalid files are refused with the file, the path and the line', () => {
    const dir = projectDir({'compose.yaml': 'services:\n  web:\n    image: busybox\n    ports:\n      - "80:80"\n      - "80:eighty"\n    restrat: always\n'})
    const r = compose(dir, 'bad', ['up', '-d'])
    expect(r.code).to.equal(15)
    expect(r.stderr).to.include(`${join(dir, 'compose.yaml')}:6: services.web.ports[1]: invalid port "80:eighty"`)
    const unknown = projectDir({'compose.yaml': 'services:\n  web:\n    image: busybox\n    restrat: always\n'})
    const u = compose(unknown, 'bad', ['config'])
    expect(u.code).to.equal(15)
    expect(u.stderr).to.include('compose.yaml:4: services.web.restrat: additional property "restrat" is not allowed')
    // build: is built now (test/e2e/build-compose.test.ts); a missing Dockerfile fails the build.
    const build = projectDir({'compose.yaml': 'services:\n  app:\n    build: .\n'})
    const b = compose(build, 'bad', ['up', '-d'])
    expect(b.code).to.equal(1)
    expect(b.stderr).to.include('failed to read dockerfile: open Dockerfile: no such file or directory')
    expect(b.stderr).to.include('failed to build service "app"')
  })
})
