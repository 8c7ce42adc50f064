import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {asRoot, Sandbox, userDir} from './harness.js'
import {fetchText, freePort, sleep} from './net-helpers.js'

/**
 * `--runtime runc|crun`: the same bundle run by an external OCI runtime inside ncx's held
 * user namespace, with ncx's monitor, logs, networking and volumes around it
 * (crates/ncx-runtime/src/external.rs). Debian's runc and crun must be installed: a missing
 * one fails here (never a silent pass). crun runs with its cgroup manager disabled and the
 * host's cgroup v2 mount hidden from it (it refuses this hybrid layout otherwise); no case
 * below sets resource limits, which need delegated cgroups this host does not have.
 * youki is no Debian package: its cases run with the binary in NCX_E2E_YOUKI (.ci/run builds it
 * from crates.io beside the tests: `cargo install youki --no-default-features --features
 * v1,v2,seccomp`) or a youki in the sbin/bin directories, given by path; without one they are
 * pending, never passing.
 */
const findBinary = (name: string) => ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin'].map((d) => join(d, name)).find((p) => existsSync(p))
const YOUKI = [process.env.NCX_E2E_YOUKI, findBinary('youki')].find((p): p is string => !!p && existsSync(p))
interface Runtime {
  /** The runtime's name (in volume names, messages). */
  name: string
  /** What `--runtime` is given: the name, or the binary's path. */
  arg: string
  /** The binary (undefined: not installed). */
  bin?: string
  /** Not installed: the cases are pending (runc and crun must be installed). */
  optional?: boolean
}
const RUNTIMES: Runtime[] = [
  {name: 'runc', arg: 'runc', bin: findBinary('runc')},
  {name: 'crun', arg: 'crun', bin: findBinary('crun')},
  {name: 'youki', arg: YOUKI ?? 'youki', bin: YOUKI, optional: true},
]

describe('e2e: --runtime with external OCI runtimes (runc, crun, youki)', function () {
  this.timeout(120_000)
  const box = new Sandbox()
  const stateOf = (id: string) => JSON.parse(readFileSync(join(box.root, 'containers', id, 'state.json'), 'utf8')) as {pid: number; monitorPid: number; status: string}
  const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  const ppid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1])
  // ncx keeps each runtime's state in a directory named after what --runtime was given.
  const ociRoot = (arg: string) => join(box.xdg, 'ncx', 'oci', arg.replace(/[^A-Za-z0-9._-]/g, '_'))

  before(() => {
    for (const r of RUNTIMES.filter((r) => !r.optional)) expect(r.bin, `${r.name} must be installed (apt-get install ${r.name})`).to.be.a('string')
    box.load('busybox.oci.tar')
  })
  after(() => box.destroy())

  for (const {name, arg: runtime, bin} of RUNTIMES) {
    describe(name, () => {
      before(function () {
        if (!bin) this.skip()
      })

      it('run --rm: the output and the exit code; inspect names the runtime; nothing is left in its state root', () => {
        const r = box.ncx(['run', '--rm', '--runtime', runtime, 'busybox', 'sh', '-c', 'echo out; echo err >&2; cat /proc/1/comm; exit 7'])
        expect(r.stdout).to.equal('out\nsh\n')
        expect(r.stderr).to.contain('err\n')
        expect(r.code).to.equal(7)
        const named = box.ok(['create', '--runtime', runtime, '--name', `made-${name}`, 'busybox', 'true']).trim()
        expect(box.ok(['inspect', '-f', '{{.HostConfig.Runtime}}', named])).to.equal(`${runtime}\n`)
        box.ok(['start', '-a', named])
        box.ok(['rm', named])
        expect(readdirSync(ociRoot(runtime))).to.deep.equal([])
      })

      it('a command that cannot start: Docker\'s exit codes 127 and 126', () => {
        const missing = box.ncx(['run', '--rm', '--runtime', runtime, 'busybox', 'no-such-command'])
        expect(missing.code, missing.stderr).to.equal(127)
        expect(missing.stderr).to.match(/no-such-command/)
        const denied = box.ncx(['run', '--rm', '--runtime', runtime, 'busybox', '/etc/passwd'])
        expect(denied.code, denied.stderr).to.equal(126)
        expect(readdirSync(ociRoot(runtime))).to.deep.equal([])
      })

      it('run -d: the container is a child of ncx\'s monitor; logs, exec, stop', async () => {
        const id = box.ok(['run', '-d', '--runtime', runtime, 'busybox', 'sh', '-c', 'trap "echo bye; exit 0" TERM; echo hello; while :; do sleep 0.1; done']).trim()
        const st = stateOf(id)
        expect(st.status).to.equal('running')
        expect(comm(st.monitorPid)).to.equal('ncx-monitor')
        expect(ppid(st.pid), 'reparented to the monitor when the runtime\'s create exited').to.equal(st.monitorPid)
        expect(readdirSync(ociRoot(runtime)), 'the runtime keeps its state while the container runs').to.deep.equal([id])
        // The runtime's own `state` agrees (run as the user, outside the namespace: it only reads).
        const asUser = asRoot ? ['runuser', '-u', box.owner.name, '--'] : []
        const state = JSON.parse(execFileSync(asUser[0] ?? bin!, [...asUser.slice(1), ...(asRoot ? [bin!] : []), '--root', ociRoot(runtime), 'state', id], {encoding: 'utf8'})) as {status: string; pid: number}
        expect(state.status).to.equal('running')
        expect(state.pid).to.equal(st.pid)
        let logs = ''
        for (let i = 0; i < 50 && !logs.includes('hello'); i++, await sleep(100)) logs = box.ok(['logs', id])
        expect(logs).to.equal('hello\n')
        expect(box.ok(['exec', id, 'sh', '-c', 'echo in $(hostname); cat /proc/1/comm'])).to.equal(`in ${id.slice(0, 12)}\nsh\n`)
        const e = box.ncx(['exec', id, 'sh', '-c', 'exit 3'])
        expect(e.code).to.equal(3)
        box.ok(['stop', id])
        expect(box.ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id])).to.equal('exited 0\n')
        expect(box.ok(['logs', id])).to.equal('hello\nbye\n')
        expect(readdirSync(ociRoot(runtime)), 'deleted from the runtime after it exited').to.deep.equal([])
        box.ok(['rm', id])
      })

      it('-p: a published port reaches the container on ncx\'s network', async () => {
        const port = await freePort()
        const id = box.ok(['run', '-d', '--runtime', runtime, '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c', `mkdir /www && echo "served by ${name}" > /www/index.html && exec httpd -f -p 80 -h /www`]).trim()
        try {
          expect(await fetchText(port)).to.equal(`served by ${name}\n`)
        } finally {
          box.ok(['rm', '-f', id])
        }
      })

      it('a named volume and a bind mount', () => {
        const dir = userDir('ncx-e2e-rtflag-bind-')
        writeFileSync(join(dir, 'in.txt'), 'from the host\n', {mode: 0o644})
        box.ok(['run', '--rm', '--runtime', runtime, '-v', `data-${name}:/data`, 'busybox', 'sh', '-c', 'echo kept > /data/f'])
        const out = box.ok(['run', '--rm', '--runtime', runtime, '-v', `data-${name}:/data`, '-v', `${dir}:/host:ro`, 'busybox', 'sh', '-c', 'cat /data/f /host/in.txt; touch /host/x 2>/dev/null || echo read-only'])
        expect(out).to.equal('kept\nfrom the host\nread-only\n')
      })

      it('-t: the terminal comes over the console socket', () => {
        const out = box.ok(['run', '--rm', '-t', '--runtime', runtime, 'busybox', 'sh', '-c', 'tty; stty size >/dev/null && echo sized'])
        expect(out.replace(/\r/g, '')).to.match(/^\/dev\/pts\/\d+\n/)
      })
    })
  }

  it('youki by name on PATH; info lists it with its version (pending without youki)', function () {
    if (!YOUKI) this.skip()
    const env = {PATH: `${dirname(YOUKI)}:/usr/local/bin:/usr/bin:/bin`}
    expect(box.ok(['run', '--rm', '--runtime', 'youki', 'busybox', 'echo', 'by name'], {env})).to.equal('by name\n')
    const runtimes = JSON.parse(box.ok(['info', '--format', '{{json .Runtimes}}'], {env})) as Record<string, {path: string; version: string}>
    expect(runtimes.youki).to.deep.equal({path: YOUKI, version: '0.7.0'})
  })

  it('compose: a service with runtime:', () => {
    const dir = userDir('ncx-e2e-rtflag-compose-')
    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  web:\n    image: busybox\n    runtime: crun\n    command: ["sh", "-c", "echo composed; sleep 100"]\n  plain:\n    image: busybox\n    command: ["sleep", "100"]\n', {mode: 0o644})
    const compose = (args: string[]) => box.ok(['compose', '--project-directory', dir, '-p', 'rt', ...args])
    compose(['up', '-d'])
    try {
      expect(box.ok(['inspect', '-f', '{{.HostConfig.Runtime}}', 'rt-web-1'])).to.equal('crun\n')
      expect(box.ok(['inspect', '-f', '{{.HostConfig.Runtime}}', 'rt-plain-1'])).to.equal('ncx-runtime\n')
      expect(box.ok(['exec', 'rt-web-1', 'cat', '/proc/1/comm'])).to.equal('sleep\n')
      expect(box.ok(['logs', 'rt-web-1'])).to.equal('composed\n')
    } finally {
      compose(['down', '-t', '1'])
    }
  })

  it('a sandboxing runtime (runsc, Kata): exec and health probes are refused, not run outside its sandbox', () => {
    // A stand-in named runsc (runc underneath): what matters is what ncx does for that name.
    const dir = userDir('ncx-e2e-rtflag-runsc-')
    writeFileSync(join(dir, 'runsc'), `#!/bin/sh\nexec ${findBinary('runc')} "$@"\n`, {mode: 0o755})
    const r = box.ncx(['run', '-d', '--runtime', join(dir, 'runsc'), '--health-cmd', 'true', 'busybox', 'sleep', '100'])
    expect(r.code).to.equal(0)
    expect(r.stderr).to.contain('health checks are not run for containers of runtime')
    const id = r.stdout.trim()
    try {
      const e = box.ncx(['exec', id, 'true'])
      expect(e.code, 'exec\'s engine errors exit 1, as docker exec\'s').to.equal(1)
      expect(e.stderr).to.contain('exec is not supported for containers of runtime')
    } finally {
      box.ok(['rm', '-f', id])
    }
  })

  it('an unknown runtime is Docker\'s error (exit 125); a path works; ncx.toml sets the default; info lists them', () => {
    const r = box.ncx(['run', '--rm', '--runtime', 'no-such-runtime', 'busybox', 'true'])
    expect(r.code).to.equal(125)
    expect(r.stderr).to.contain('unknown or invalid runtime name: no-such-runtime')
    expect(box.ncx(['ps', '-a', '-q']).stdout, 'nothing was made').to.equal('')
    expect(box.ok(['run', '--rm', '--runtime', findBinary('runc')!, 'busybox', 'echo', 'by path'])).to.equal('by path\n')
    const conf = userDir('ncx-e2e-rtflag-conf-')
    writeFileSync(join(conf, 'ncx.toml'), 'runtime = "crun"\n', {mode: 0o644})
    const env = {NCX_CONFIG: join(conf, 'ncx.toml')}
    const id = box.ok(['create', 'busybox', 'true'], {env}).trim()
    expect(box.ok(['inspect', '-f', '{{.HostConfig.Runtime}}', id])).to.equal('crun\n')
    box.ok(['rm', id])
    const runtimes = JSON.parse(box.ok(['info', '--format', '{{json .Runtimes}}'])) as Record<string, {path: string; version: string}>
    expect(Object.keys(runtimes)).to.include.members(['ncx-runtime', 'runc', 'crun'])
    expect(runtimes.runc.version).to.match(/^1\.\d+/)
    expect(box.ok(['info', '--format', '{{.DefaultRuntime}}'], {env})).to.equal('crun\n')
  })
})
