/**
 * Hostile or just large input, as the unprivileged test user: logs of a million lines (read
 * in bounded memory, tail from the end, follow across rotations), and values that would
 * inject lines into a container's /etc/resolv.conf, /etc/hosts or environment.
 */
import {expect} from 'chai'
import {ChildProcess} from 'node:child_process'
import {chmodSync, chownSync, closeSync, openSync, readFileSync, readSync, readdirSync, statSync, writeFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'

import {Sandbox, user, userDir} from './harness.js'

interface Measured {
  code: number
  stdout: string
  stderr: string
  /** Peak resident set of the ncx process (VmHWM), in KiB. */
  peakKb: number
  ms: number
}

/** Run ncx and watch its peak memory through /proc (the process is node itself: setpriv and env exec). */
async function measured(box: Sandbox, args: string[]): Promise<Measured> {
  const started = Date.now()
  const child: ChildProcess = box.spawn(args, {stdio: ['ignore', 'pipe', 'pipe']})
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout!.on('data', (d: Buffer) => out.push(d))
  child.stderr!.on('data', (d: Buffer) => err.push(d))
  let peakKb = 0
  const poll = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      const hwm = /VmHWM:\s+(\d+)/.exec(status)
      if (hwm && /^Name:\s+node/m.test(status)) peakKb = Math.max(peakKb, Number(hwm[1]))
    } catch {
      // gone
    }
  }, 20)
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 137)))
  clearInterval(poll)
  return {code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), peakKb, ms: Date.now() - started}
}

const seq = (from: number, to: number) => {
  let s = ''
  for (let i = from; i <= to; i++) s += `${i}\n`
  return s
}

describe('e2e: large and hostile input', function () {
  this.timeout(300_000)
  const box = new Sandbox()
  const until = async (what: () => boolean, ms = 30_000) => {
    const end = Date.now() + ms
    while (!what()) {
      if (Date.now() > end) throw new Error('timed out')
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  before(() => box.load('busybox.oci.tar'))
  after(() => box.destroy())

  describe('logs', () => {
    let id: string
    before(() => {
      id = box.ok(['run', '-d', '--name', 'million', '--network', 'none', 'busybox', 'sh', '-c', 'seq 1000000; echo done >&2']).trim()
      expect(box.ok(['wait', 'million'])).to.equal('0\n')
    })

    it('prints a 1,000,000-line log in order, in bounded memory (it crashed with "Maximum call stack size exceeded")', async () => {
      const r = await measured(box, ['logs', 'million'])
      expect(r.stderr).to.equal('done\n')
      expect(r.code).to.equal(0)
      expect(r.stdout.length).to.equal(seq(1, 1_000_000).length)
      expect(r.stdout === seq(1, 1_000_000), 'every line, in order').to.equal(true)
      // The whole log is 77 MB of JSON; holding it (as before) took ~470 MB.
      expect(r.peakKb, `peak RSS ${r.peakKb} KiB`).to.be.greaterThan(0).and.below(200 * 1024)
      console.log(`      1M-line logs: ${r.ms} ms, peak RSS ${Math.round(r.peakKb / 1024)} MiB`)
    })

    it('--tail, -t, --since and --until on the big log; stdout and stderr stay apart', async () => {
      const last = box.ncx(['logs', '--tail', '2', 'million'])
      expect(last.stdout).to.equal('1000000\n')
      expect(last.stderr).to.equal('done\n')
      const stamped = box.ok(['logs', '-t', '--tail', '3', 'million']).split('\n')
      expect(stamped).to.have.length(3)
      expect(stamped[0]).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z 999999$/)
      expect(stamped[1]).to.match(/ 1000000$/)
      // --since the 999,998th line's time: at least the last lines, in order, ending with the last one.
      const file = join(box.root, 'containers', id, `${id}-json.log`)
      const size = statSync(file).size
      const fd = openSync(file, 'r')
      const tail = Buffer.alloc(4096)
      const n = readSync(fd, tail, 0, tail.length, size - tail.length)
      closeSync(fd)
      const lines = tail.subarray(0, n).toString().trim().split('\n').slice(1)
      const time = (JSON.parse(lines.at(-4)!) as {time: string}).time
      const since = box.ok(['logs', '--since', time, 'million'])
      expect(since.length).to.be.greaterThan(0)
      expect(since.endsWith('999998\n999999\n1000000\n')).to.equal(true)
      expect(box.ok(['logs', '--until', '2000-01-01T00:00:00Z', 'million'])).to.equal('')
      expect(box.ok(['logs', '--since', '1m', '--until', '2000-01-01T00:00:00Z', 'million'])).to.equal('')
    })

    it('--tail reads from the end: a log whose front is a 64 GiB hole answers at once', async () => {
      const small = box.ok(['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'echo one; echo two; echo three >&2']).trim()
      box.ok(['wait', small])
      const file = join(box.root, 'containers', small, `${small}-json.log`)
      const text = readFileSync(file)
      // The same entries at the end of a sparse file: whoever reads it from the start reads 64 GiB of zeros first.
      const fd = openSync(file, 'w')
      writeSync(fd, text, 0, text.length, 64 * 1024 ** 3)
      closeSync(fd)
      chownSync(file, user.uid, user.gid)
      const r = box.ncx(['logs', '--tail', '2', small], {timeout: 30_000})
      expect(r.code).to.equal(0)
      expect(r.stdout).to.equal('two\n')
      expect(r.stderr).to.equal('three\n')
      expect(box.ok(['logs', '--tail', '1', small])).to.equal('')
      // More than there is: everything (from the entries at the end; the zeros hold no newline, hence no entry).
      const small2 = box.ok(['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'echo a; echo b']).trim()
      box.ok(['wait', small2])
      expect(box.ok(['logs', '--tail', '100', small2])).to.equal('a\nb\n')
      expect(box.ok(['logs', '--tail', '0', small2])).to.equal('')
    })

    it('logs -f across hundreds of rotations: every line exactly once and in order (it lost lines)', async () => {
      // 300,000 lines of ~80 bytes of JSON each through 100 KB files: ~250 rotations while followed.
      box.ok(['run', '-d', '--name', 'rotating', '--network', 'none', '--log-opt', 'max-size=100k', '--log-opt', 'max-file=1000', 'busybox', 'sh', '-c', 'echo start; until [ -f /tmp/go ]; do sleep 0.05; done; seq 300000'])
      const child = box.spawn(['logs', '-f', 'rotating'], {stdio: ['ignore', 'pipe', 'pipe']})
      const out: Buffer[] = []
      let seen = 0
      child.stdout!.on('data', (d: Buffer) => {
        out.push(d)
        seen += d.length
      })
      const closed = new Promise<number>((r) => child.on('close', (c) => r(c ?? 137)))
      await until(() => seen >= 'start\n'.length)
      box.ok(['exec', 'rotating', 'touch', '/tmp/go'])
      expect(await closed).to.equal(0)
      const text = Buffer.concat(out).toString()
      expect(text.length).to.equal(`start\n${seq(1, 300_000)}`.length)
      expect(text === `start\n${seq(1, 300_000)}`, 'every line once, in order').to.equal(true)
      const id = box.ok(['inspect', '-f', '{{.Id}}', 'rotating']).trim()
      const rotated = readdirSync(join(box.root, 'containers', id)).filter((f) => /-json\.log\.\d+$/.test(f))
      expect(rotated.length, 'rotated files').to.be.greaterThan(100)
      // And read back afterwards, across all those files.
      expect(box.ok(['logs', '--tail', '2', 'rotating'])).to.equal('299999\n300000\n')
    })
  })

  describe('values that would inject lines', () => {
    const refused = (args: string[], message: string | RegExp) => {
      const r = box.ncx(['run', '--rm', '--network', 'none', ...args, 'busybox', 'cat', '/etc/resolv.conf', '/etc/hosts', '/etc/hostname'])
      expect(r.code, r.stdout).to.equal(125)
      expect(r.stdout, 'nothing ran').to.equal('')
      if (typeof message === 'string') expect(r.stderr).to.contain(message)
      else expect(r.stderr).to.match(message)
    }

    it("--dns, --dns-search, --dns-option, --add-host and -h with a newline are refused (Docker's messages where it has them)", () => {
      refused(['--dns', '1.1.1.1\nnameserver 6.6.6.6'], 'invalid argument "1.1.1.1\\nnameserver 6.6.6.6" for "--dns" flag: IP address is not correctly formatted: 1.1.1.1\nnameserver 6.6.6.6')
      refused(['--dns-search', 'example.com\nnameserver 6.6.6.6'], 'for "--dns-search" flag: example.com\nnameserver 6.6.6.6 is not a valid domain')
      refused(['--dns-option', 'ndots:1\nnameserver 6.6.6.6'], 'for "--dns-option" flag: "ndots:1\\nnameserver 6.6.6.6" is not a valid DNS option')
      refused(['--add-host', 'a:1.2.3.4\n6.6.6.6 evil'], 'for "--add-host" flag: invalid IP address in add-host: "1.2.3.4\\n6.6.6.6 evil"')
      refused(['--add-host', 'a\n6.6.6.6 evil:1.2.3.4'], 'invalid hostname in add-host: "a\\n6.6.6.6 evil"')
      refused(['-h', 'box\n6.6.6.6 evil'], 'for "-h, --hostname" flag: invalid hostname')
      refused(['--label', 'a\nb=c'], `label 'a\nb' contains whitespaces`)
      // And what is valid still shapes the files.
      const ok = box.ok(['run', '--rm', '--network', 'none', '--dns', '1.1.1.1', '--dns-search', 'example.com', '--dns-option', 'ndots:2', '--add-host', 'gw:10.1.2.3', '-h', 'box_1', 'busybox', 'cat', '/etc/resolv.conf', '/etc/hosts', '/etc/hostname'])
      expect(ok).to.contain('search example.com\nnameserver 1.1.1.1\noptions ndots:2\n').and.contain('10.1.2.3\tgw\n').and.match(/box_1\n$/)
      expect(ok).to.not.contain('6.6.6.6')
    })

    it('an --env-file line with a NUL byte is refused with file:line (it was dropped silently)', () => {
      const dir = userDir('ncx-e2e-envfile-')
      const file = join(dir, 'app.env')
      writeFileSync(file, 'A=1\nB=x\0y\nC=3\n')
      chmodSync(file, 0o644)
      const r = box.ncx(['run', '--rm', '--network', 'none', '--env-file', file, 'busybox', 'env'])
      expect(r.code).to.equal(125)
      expect(r.stdout).to.equal('')
      expect(r.stderr).to.contain(`${file}:2: invalid env file: variable 'B' holds a NUL byte`)
    })

    it('compose: the same checks with file:line, and a file with invalid UTF-8 is refused where it is wrong', () => {
      const dir = userDir('ncx-e2e-compose-input-')
      const write = (text: string | Buffer) => {
        writeFileSync(join(dir, 'compose.yaml'), text)
        chmodSync(join(dir, 'compose.yaml'), 0o644)
      }
      const config = () => box.ncx(['compose', '--project-directory', dir, '-p', 'inj', 'config'])
      write('services:\n  web:\n    image: busybox\n    dns_opt:\n      - "ndots:1\\nnameserver 6.6.6.6"\n    extra_hosts:\n      - "a:1.2.3.4"\n')
      let r = config()
      expect(r.code).to.equal(15)
      expect(r.stderr).to.contain(`${join(dir, 'compose.yaml')}:5: services.web.dns_opt[0]: "ndots:1\\nnameserver 6.6.6.6" is not a valid DNS option`)
      write('services:\n  web:\n    image: busybox\n    extra_hosts:\n      evil: "1.2.3.4\\n6.6.6.6 evil"\n')
      r = config()
      expect(r.code).to.equal(15)
      expect(r.stderr).to.contain(`${join(dir, 'compose.yaml')}:5: services.web.extra_hosts.evil: invalid IP address in add-host`)
      write(Buffer.concat([Buffer.from('services:\n  web:\n    image: busybox\n    environment:\n      GREETING: "caf'), Buffer.from([0xe9, 0x22, 0x0a])]))
      r = config()
      expect(r.code).to.equal(15)
      expect(r.stderr).to.contain(`${join(dir, 'compose.yaml')}:5: compose file is not valid UTF-8 (byte 0xe9 at offset`)
      expect(r.stdout).to.not.contain('\uFFFD')
    })
  })
})
