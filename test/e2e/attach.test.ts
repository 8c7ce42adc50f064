import {expect} from 'chai'
import {ChildProcess, spawn} from 'node:child_process'

import {Sandbox} from './harness.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** `ncx ARGS` on a real pseudo-terminal (util-linux `script`), fed keystrokes over time. */
class Terminal {
  private out = ''
  private readonly closed: Promise<number>
  readonly child: ChildProcess

  constructor(box: Sandbox, args: string[]) {
    const quoted = box.commandLine(args).map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
    // `exec`: script runs the command through $SHELL -c (dash when SHELL is unset, as in CI),
    // and a shell left waiting in between dies of the ^C itself (exit 130).
    this.child = spawn('script', ['-qfec', `exec ${quoted}`, '/dev/null'], {stdio: ['pipe', 'pipe', 'pipe']})
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString('latin1')))
    this.child.stderr!.on('data', (d: Buffer) => (this.out += d.toString('latin1')))
    this.closed = new Promise((r) => this.child.on('close', (code) => r(code ?? 128)))
  }

  get output(): string {
    return this.out
  }

  type(text: string): void {
    this.child.stdin!.write(Buffer.from(text, 'latin1'))
  }

  /** Wait until the output matches (the prompt is there, a command's output arrived). */
  async expect(re: RegExp, ms = 15_000): Promise<void> {
    const end = Date.now() + ms
    while (!re.test(this.out)) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${re} in ${JSON.stringify(this.out)}`)
      await sleep(50)
    }
  }

  async exit(ms = 20_000): Promise<number> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms)
    const code = await this.closed
    clearTimeout(timer)
    this.child.stdin!.destroy()
    return code
  }
}

describe('e2e: attach, detach keys and the terminal the monitor owns', function () {
  this.timeout(120_000)
  const box = new Sandbox()

  before(() => box.load('busybox.oci.tar'))
  after(() => box.destroy())

  const status = (name: string) => box.ok(['ps', '-a', '--filter', `name=^${name}$`, '--format', '{{.Status}}']).trim()

  it('run -it: ctrl-p,ctrl-q detaches and the container keeps running; attach takes the terminal back', async () => {
    const t = new Terminal(box, ['run', '-it', '--name', 'shell', 'busybox', 'sh'])
    await t.expect(/# /)
    t.type('echo sum-$((40+2))\r')
    await t.expect(/sum-42/)
    t.type('\x10\x11')
    expect(await t.exit()).to.equal(0)
    expect(t.output).to.match(/read escape sequence\r?\n$/)
    expect(status('shell')).to.match(/^Up /)
    // Attach again: the same shell (its variable is still set), on the monitor's pty.
    const a = new Terminal(box, ['attach', 'shell'])
    await sleep(500)
    a.type('X=kept; tty; echo "x=$X"\r')
    await a.expect(/x=kept/)
    expect(a.output).to.match(/\/dev\/pts\/0/)
    a.type('exit 7\r')
    expect(await a.exit()).to.equal(7)
    expect(status('shell')).to.match(/^Exited \(7\)/)
  })

  it('run -it --rm: the exit code comes back and the container is gone', async () => {
    const t = new Terminal(box, ['run', '-it', '--rm', '--name', 'gone', 'busybox', 'sh'])
    await t.expect(/# /)
    t.type('exit 6\r')
    expect(await t.exit()).to.equal(6)
    expect(box.ok(['ps', '-aq', '--filter', 'name=^gone$'])).to.equal('')
  })

  it('run -dit then attach with --detach-keys; the keys are Docker-style and validated', async () => {
    box.ok(['run', '-dit', '--name', 'dit', '--hostname', 'dithost', 'busybox', 'sh'])
    const a = new Terminal(box, ['attach', '--detach-keys', 'ctrl-a,b', 'dit'])
    await sleep(500)
    a.type('hostname\r')
    await a.expect(/dithost/)
    // ctrl-a followed by something else is passed on; ctrl-a,b detaches.
    a.type('\x01x')
    a.type('\x01b')
    expect(await a.exit()).to.equal(0)
    expect(status('dit')).to.match(/^Up /)
    // Docker: the daemon refuses the keys, and errors of commands other than run/create exit 1.
    const bad = box.ncx(['attach', '--detach-keys', 'ctrl-1', 'dit'])
    expect(bad.code).to.equal(1)
    expect(bad.stderr).to.include('Invalid detach keys (ctrl-1) provided')
    const badRun = box.ncx(['run', '--rm', '--detach-keys', 'ctrl-', 'busybox', 'true'])
    expect(badRun.code).to.equal(125)
    expect(box.ncx(['ps', '-aq']).stdout.trim().split('\n')).to.have.length(2)
    box.ok(['rm', '-f', 'dit'])
  })

  it("exec -it: the detach keys leave the exec'd shell running", async () => {
    box.ok(['run', '-d', '--name', 'host', 'busybox', 'sleep', '1000'])
    const t = new Terminal(box, ['exec', '-it', '--detach-keys', 'ctrl-x,x', 'host', 'sh'])
    await t.expect(/# /)
    t.type('echo $$ > /tmp/shell; echo saved\r')
    await t.expect(/saved/)
    t.type('\x18x')
    expect(await t.exit()).to.equal(0)
    expect(t.output).to.include('read escape sequence')
    expect(box.ok(['exec', 'host', 'sh', '-c', 'kill -0 $(cat /tmp/shell) && echo alive'])).to.equal('alive\n')
    box.ok(['rm', '-f', 'host'])
  })

  it('attach to a container without a terminal streams its output and ends with its exit code', async () => {
    box.ok(['run', '-d', '--name', 'ticker', 'busybox', 'sh', '-c', 'sleep 1; for i in 1 2 3; do echo tick$i; echo err$i >&2; sleep 0.2; done; exit 3'])
    const r = await box.run(['attach', 'ticker'])
    expect(r.code).to.equal(3)
    expect(r.stdout).to.equal('tick1\ntick2\ntick3\n')
    expect(r.stderr).to.equal('err1\nerr2\nerr3\n')
    const stopped = box.ncx(['attach', 'ticker'])
    expect(stopped.code).to.equal(1)
    expect(stopped.stderr).to.include('You cannot attach to a stopped container, start it first')
  })

  it('start -a shows everything from the start, with the exit code; start -ai feeds stdin', async () => {
    box.ok(['create', '--name', 'once', 'busybox', 'sh', '-c', 'echo one; echo two >&2; exit 2'])
    const r = await box.run(['start', '-a', 'once'])
    expect(r).to.deep.include({code: 2, stdout: 'one\n', stderr: 'two\n'})
    box.ok(['create', '-i', '--name', 'cat', 'busybox', 'sh', '-c', 'echo start; cat; echo end; exit 4'])
    const c = await box.run(['start', '-ai', 'cat'], {input: 'hello\nworld\n'})
    expect(c).to.deep.include({code: 4, stdout: 'start\nhello\nworld\nend\n'})
  })

  it('--sig-proxy passes ^C to a container without a terminal; --sig-proxy=false only detaches', async () => {
    // It ticks, so the test sees when the attach is up (output only comes through it).
    const script = 'trap "echo got INT; exit 5" INT; while true; do echo tick; sleep 0.2; done'
    box.ok(['run', '-d', '--name', 'trap1', 'busybox', 'sh', '-c', script])
    box.ok(['run', '-d', '--name', 'trap2', 'busybox', 'sh', '-c', script])
    const a = new Terminal(box, ['attach', 'trap1'])
    await a.expect(/tick/)
    a.type('\x03')
    expect(await a.exit()).to.equal(5)
    await a.expect(/got INT/)
    expect(status('trap1')).to.match(/^Exited \(5\)/)
    const b = new Terminal(box, ['attach', '--sig-proxy=false', 'trap2'])
    await b.expect(/tick/)
    b.type('\x03')
    expect(await b.exit()).to.equal(0)
    expect(b.output).to.not.include('got INT')
    expect(status('trap2')).to.match(/^Up /)
    box.ok(['rm', '-f', 'trap2'])
  })
})
