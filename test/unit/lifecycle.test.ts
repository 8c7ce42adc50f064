import {expect} from 'chai'

import {commandText, statusText} from '../../src/cli/containers.js'
import {ArgCountError} from '../../src/cli/errors.js'
import {parseDuration, parseExecArgv, parseRunArgv} from '../../src/cli/run-flags.js'
import {durationMs} from '../../src/engine/compose/schema.js'
import {parseTimeArg} from '../../src/commands/container/logs.js'
import {execProcess} from '../../src/engine/container/exec.js'
import {signalNumber} from '../../src/engine/container/signals.js'
import {ContainerState} from '../../src/engine/container/state.js'
import {UsageError} from '../../src/engine/errors.js'
import {effectiveHealthcheck} from '../../src/engine/spec/generate.js'
import {OciSpec} from '../../src/engine/spec/oci.js'

const base: ContainerState = {status: 'running', running: true, pid: 1, exitCode: 0, restartCount: 0}

describe('container lifecycle helpers', () => {
  it("renders Docker's status text", () => {
    const now = Date.parse('2024-01-01T00:10:00Z')
    expect(statusText({...base, startedAt: '2024-01-01T00:09:55Z'}, now)).to.equal('Up 5 seconds')
    expect(statusText({...base, startedAt: '2024-01-01T00:10:00Z'}, now)).to.equal('Up Less than a second')
    expect(statusText({...base, startedAt: '2024-01-01T00:00:00Z', health: {Status: 'healthy', FailingStreak: 0, Log: []}}, now)).to.equal('Up 10 minutes (healthy)')
    expect(statusText({...base, startedAt: '2024-01-01T00:09:00Z', health: {Status: 'starting', FailingStreak: 0, Log: []}}, now)).to.equal('Up About a minute (health: starting)')
    expect(statusText({...base, status: 'exited', running: false, exitCode: 3, finishedAt: '2024-01-01T00:08:00Z'}, now)).to.equal('Exited (3) 2 minutes ago')
    expect(statusText({...base, status: 'restarting', running: false, exitCode: 1, finishedAt: '2024-01-01T00:09:59Z'}, now)).to.equal('Restarting (1) 1 second ago')
    expect(statusText({...base, status: 'created', running: false}, now)).to.equal('Created')
  })

  it('quotes and truncates the command like docker ps', () => {
    expect(commandText(['sleep', '1000'], false)).to.equal('"sleep 1000"')
    expect(commandText(['sh', '-c', 'echo hello; exit 3'], false)).to.equal(`"sh -c 'echo hello; …"`)
    expect(commandText(['sh', '-c', 'echo hello; exit 3'], true)).to.equal(`"sh -c 'echo hello; exit 3'"`)
  })

  it("parses Docker's signal names and numbers", () => {
    expect(signalNumber('KILL')).to.equal(9)
    expect(signalNumber('SIGHUP')).to.equal(1)
    expect(signalNumber('sigterm')).to.equal(15)
    expect(signalNumber('10')).to.equal(10)
    expect(signalNumber('RTMIN+3')).to.equal(37)
    expect(() => signalNumber('NOPE')).to.throw(UsageError, 'Invalid signal: NOPE')
    expect(() => signalNumber('99')).to.throw(UsageError)
  })

  it("parses Go durations and Docker's --since/--until forms", () => {
    expect(parseDuration('30s', '--x')).to.equal(30e9)
    expect(parseDuration('1m30s', '--x')).to.equal(90e9)
    expect(parseDuration('500ms', '--x')).to.equal(500e6)
    expect(parseDuration('0', '--x')).to.equal(0)
    expect(() => parseDuration('10', '--health-interval')).to.throw(UsageError, 'invalid duration')
    expect(() => parseDuration('1x', '--x')).to.throw(UsageError, 'invalid duration')
    // Compose reads the same syntax (one parser), in milliseconds, and a bare number as seconds.
    expect(durationMs('1m30s')).to.equal(90_000)
    expect(durationMs('250us')).to.equal(0.25)
    expect(durationMs('10')).to.equal(10_000)
    expect(durationMs('10 s')).to.equal(undefined)
    expect(durationMs('')).to.equal(undefined)
    const now = Date.parse('2024-01-01T01:00:00Z')
    expect(parseTimeArg('10m', '--since', now)).to.equal(now - 600_000)
    expect(parseTimeArg('2024-01-01T00:00:00Z', '--since', now)).to.equal(Date.parse('2024-01-01T00:00:00Z'))
    expect(parseTimeArg('1704067200', '--since', now)).to.equal(1704067200000)
  })

  it('merges --health-* flags over the image HEALTHCHECK; --no-healthcheck and NONE disable it', () => {
    const image = {Test: ['CMD', 'check'], Interval: 5e9, Retries: 5}
    const opts = parseRunArgv(['--health-cmd', 'true', '--health-interval', '1s', 'img'], {}).options
    expect(effectiveHealthcheck(opts, image)).to.deep.equal({Test: ['CMD-SHELL', 'true'], Interval: 1e9, Retries: 5})
    expect(effectiveHealthcheck(parseRunArgv(['img'], {}).options, image)).to.deep.equal(image)
    expect(effectiveHealthcheck(parseRunArgv(['--no-healthcheck', 'img'], {}).options, image)).to.equal(undefined)
    expect(effectiveHealthcheck(parseRunArgv(['img'], {}).options, {Test: ['NONE']})).to.equal(undefined)
    expect(() => parseRunArgv(['--no-healthcheck', '--health-cmd', 'x', 'img'], {})).to.throw(UsageError, 'conflicts')
  })

  it('validates restart policies, stop and log options', () => {
    const o = parseRunArgv(['-d', '--restart', 'on-failure:3', '--stop-signal', 'SIGINT', '--stop-timeout', '2', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=2', 'img'], {}).options
    expect(o).to.include({detach: true, restart: 'on-failure:3', stopSignal: 'SIGINT', stopTimeout: 2})
    expect(o.logOpts).to.deep.equal({'max-size': '1m', 'max-file': '2'})
    expect(() => parseRunArgv(['--restart', 'sometimes', 'img'], {})).to.throw(UsageError, 'invalid restart policy')
    expect(() => parseRunArgv(['--rm', '--restart', 'always', 'img'], {})).to.throw(UsageError, 'Conflicting options: --restart and --rm')
    expect(() => parseRunArgv(['--stop-signal', 'BOGUS', 'img'], {})).to.throw(UsageError)
    expect(() => parseRunArgv(['--log-driver', 'syslog', 'img'], {})).to.throw(UsageError, 'not supported')
    expect(() => parseRunArgv(['--log-opt', 'max-size=lots', 'img'], {})).to.throw(UsageError, 'invalid max-size')
  })

  it('parses exec argv, keeping the command flags for the command', () => {
    const inv = parseExecArgv(['-d', '-e', 'A=1', '-w', '/tmp', '-u', '1000', 'web', 'ls', '-l'], {})
    expect(inv.container).to.equal('web')
    expect(inv.options).to.deep.include({command: ['ls', '-l'], detach: true, env: ['A=1'], workdir: '/tmp', user: '1000'})
    expect(() => parseExecArgv(['web'], {})).to.throw(ArgCountError, 'requires at least 2 arguments')
    expect(() => parseExecArgv(['-w', 'rel', 'web', 'ls'], {})).to.throw(UsageError, 'absolute path')
  })

  it("builds the exec process from the container's own settings", () => {
    const caps = ['CAP_CHOWN']
    const spec = {process: {terminal: false, user: {uid: 0, gid: 0}, args: ['sleep'], env: ['PATH=/bin', 'A=1'], cwd: '/srv', capabilities: {bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: []}, noNewPrivileges: false}} as unknown as OciSpec
    const p = execProcess(spec, {command: ['sh'], interactive: true, tty: true, detach: false, env: ['A=2'], privileged: false})
    expect(p).to.deep.include({args: ['sh'], cwd: '/srv', terminal: true, env: ['PATH=/bin', 'A=2', 'TERM=xterm']})
    const u = execProcess(spec, {command: ['id'], interactive: false, tty: false, detach: true, env: [], workdir: '/tmp', privileged: true}, {uid: 1000, gid: 1000, additionalGids: [1000], home: '/home/u'})
    expect(u.user).to.deep.equal({uid: 1000, gid: 1000, additionalGids: [1000]})
    expect(u.cwd).to.equal('/tmp')
    expect(u.env).to.include('HOME=/home/u')
    expect(u.capabilities.bounding).to.include('CAP_SYS_ADMIN')
  })
})
