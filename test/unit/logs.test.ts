import {expect} from 'chai'
import {appendFileSync, closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, truncateSync, writeFileSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {LogEntry, LogOptions, LogSource, readLogFiles} from '../../src/engine/container/logs.js'

/** What the monitor writes (crates/ncx-core/src/logfile.rs): one JSON line per entry, rotation by renames. */
class Writer {
  private n = 0
  private size = 0
  /** The first entry written after the last rotation. */
  rotatedAt = 0
  constructor(
    readonly path: string,
    readonly maxSize = 0,
    readonly maxFile = 1,
  ) {
    writeFileSync(path, '')
  }

  /** Entry i's time: strictly increasing, in the writer's fixed-width format. */
  static time(i: number): string {
    return `2024-01-01T00:${String(Math.floor(i / 60e6) % 60).padStart(2, '0')}:${String(Math.floor(i / 1e6) % 60).padStart(2, '0')}.${String(i % 1e6).padStart(6, '0')}000Z`
  }

  write(count: number, stream: 'stdout' | 'stderr' = 'stdout'): void {
    let chunk = ''
    for (let k = 0; k < count; k++, this.n++) {
      const line = `${JSON.stringify({log: `line ${this.n}\n`, stream, time: Writer.time(this.n)})}\n`
      if (this.maxSize > 0 && this.size > 0 && this.size + line.length > this.maxSize) {
        if (chunk) appendFileSync(this.path, chunk)
        chunk = ''
        this.rotate()
      }
      chunk += line
      this.size += line.length
    }
    if (chunk) appendFileSync(this.path, chunk)
  }

  rotate(): void {
    if (this.maxFile > 1) {
      for (let i = this.maxFile - 2; i >= 1; i--) {
        try {
          renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`)
        } catch {
          // not there yet
        }
      }
      renameSync(this.path, `${this.path}.1`)
      writeFileSync(this.path, '')
    } else truncateSync(this.path, 0)
    this.size = 0
    this.rotatedAt = this.n
  }

  /** Let the writer's clock jump (entry numbers are times). */
  skipTo(n: number): void {
    this.n = n
  }

  get written(): number {
    return this.n
  }
}

async function collect(src: LogSource, options: LogOptions = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = []
  for await (const batch of readLogFiles(src, options)) out.push(...batch)
  return out
}

const numbers = (entries: LogEntry[]) => entries.map((e) => Number(e.log.slice(5, -1)))
const range = (from: number, to: number) => Array.from({length: to - from}, (_, i) => from + i)

describe('container logs (json-file reading)', () => {
  let dir: string
  let path: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-logs-'))
    path = join(dir, 'c-json.log')
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('streams a log of 300,000 entries in order, in batches (it used to overflow the stack past ~125,000)', async function () {
    this.timeout(60_000)
    const w = new Writer(path)
    w.write(300_000)
    let batches = 0
    let next = 0
    let wrong: string | undefined
    for await (const batch of readLogFiles({path, maxFile: 1, live: () => false})) {
      batches++
      for (const e of batch) if (e.log !== `line ${next++}\n`) wrong ??= e.log
    }
    expect(wrong).to.equal(undefined)
    expect(next).to.equal(300_000)
    expect(batches).to.be.greaterThan(10)
  })

  it('tail reads from the end: the last entries of a file whose front is a 64 GiB hole', async () => {
    const w = new Writer(path)
    w.write(5)
    const text = readFileSync(path)
    const fd = openSync(path, 'r+')
    ftruncateSync(fd, 0)
    const hole = 64 * 1024 ** 3
    writeSync(fd, text, 0, text.length, hole)
    closeSync(fd)
    const started = Date.now()
    expect(numbers(await collect({path, maxFile: 1, live: () => false}, {tail: 2}))).to.deep.equal([3, 4])
    expect(numbers(await collect({path, maxFile: 1, live: () => false}, {tail: 1}))).to.deep.equal([4])
    // Reading 64 GiB of zeros would take minutes; the end is a few reads away.
    expect(Date.now() - started).to.be.lessThan(5000)
  })

  it('tail N: more than there is, zero, across rotated files, and after since/until', async () => {
    const w = new Writer(path, 2000, 10)
    w.write(100)
    const src = {path, maxFile: 10, live: () => false}
    expect(numbers(await collect(src))).to.deep.equal(range(0, 100))
    expect(numbers(await collect(src, {tail: 1000}))).to.deep.equal(range(0, 100))
    expect(await collect(src, {tail: 0})).to.deep.equal([])
    expect(numbers(await collect(src, {tail: 37}))).to.deep.equal(range(63, 100))
    const t = (i: number) => Date.parse(Writer.time(i))
    // Milliseconds: entries 0..999 share millisecond 0 here, so use whole seconds of the writer's clock.
    const w2 = new Writer(join(dir, 'd-json.log'), 4000, 50)
    for (let s = 0; s < 5; s++) {
      w2.write(20)
      w2.skipTo((s + 1) * 1_000_000)
    }
    const src2 = {path: join(dir, 'd-json.log'), maxFile: 50, live: () => false}
    const all = numbers(await collect(src2))
    expect(all).to.have.length(100)
    expect(numbers(await collect(src2, {since: t(2_000_000)}))).to.deep.equal(all.slice(40))
    expect(numbers(await collect(src2, {until: t(1_000_000)}))).to.deep.equal(all.slice(0, 40))
    expect(numbers(await collect(src2, {since: t(1_000_000), until: t(3_000_000), tail: 5}))).to.deep.equal(all.slice(75, 80))
    expect(numbers(await collect(src2, {until: t(1_000_000), tail: 3}))).to.deep.equal(all.slice(37, 40))
  })

  it('a reader that stops early (a closed pipe) closes every file it opened, once', async () => {
    const w = new Writer(path, 200_000, 20)
    w.write(20_000) // ~8 files
    const fds = () => readdirSync('/proc/self/fd').length
    const before = fds()
    for (let k = 0; k < 5; k++) {
      let batches = 0
      for await (const batch of readLogFiles({path, maxFile: 20, live: () => false})) {
        expect(batch.length).to.be.greaterThan(0)
        if (++batches === 3 + k * 5) break
      }
    }
    expect(fds()).to.equal(before)
  })

  it('keeps stdout and stderr apart and skips lines that are not entries', async () => {
    const w = new Writer(path)
    w.write(2)
    w.write(1, 'stderr')
    appendFileSync(path, 'garbage\n\n{"log":1}\n')
    w.write(1)
    const entries = await collect({path, maxFile: 1, live: () => false})
    expect(entries.map((e) => [e.stream, e.log])).to.deep.equal([
      ['stdout', 'line 0\n'],
      ['stdout', 'line 1\n'],
      ['stderr', 'line 2\n'],
      ['stdout', 'line 3\n'],
    ])
    expect(numbers(await collect({path, maxFile: 1, live: () => false}, {tail: 2}))).to.deep.equal([2, 3])
  })

  it('follow: every entry once and in order across many rotations, several between two polls, with lines added to the old file before it rotated', async () => {
    const w = new Writer(path, 3000, 40)
    w.write(10)
    let polls = 0
    const script = [
      () => w.write(5), // same file
      () => w.write(300), // ~ 8 rotations at once
      () => {
        w.write(7)
        w.rotate()
        w.rotate() // an empty file rotated too
        w.write(3)
      },
      () => {},
      () => w.write(1000),
    ]
    const src: LogSource = {
      path,
      maxFile: 40,
      live: () => polls < script.length,
      pause: async () => {
        script[polls++]?.()
      },
    }
    const got = numbers(await collect(src, {follow: true}))
    expect(got).to.deep.equal(range(0, w.written))
  })

  it('follow: a follower that keeps up loses nothing even with max-file 2; lines rotated away before it reads them are lost, as in Docker', async () => {
    const w = new Writer(path, 1000, 2)
    w.write(3)
    let polls = 0
    const steps = 200
    const src: LogSource = {
      path,
      maxFile: 2,
      live: () => polls < steps,
      pause: async () => {
        polls++
        // One file's worth at most between two polls: nothing can be lost.
        w.write(polls % 13)
      },
    }
    expect(numbers(await collect(src, {follow: true}))).to.deep.equal(range(0, w.written))

    const fast = new Writer(join(dir, 'fast-json.log'), 1000, 2)
    let fastPolls = 0
    const lossy: LogSource = {
      path: join(dir, 'fast-json.log'),
      maxFile: 2,
      live: () => fastPolls < 3,
      pause: async () => {
        fastPolls++
        fast.write(200) // many files' worth: the middle ones are gone before the follower looks
      },
    }
    const got = numbers(await collect(lossy, {follow: true}))
    expect(got.length).to.be.lessThan(fast.written)
    // What arrives is still in order, without duplicates, and ends with the last entry.
    expect(got).to.deep.equal([...got].sort((a, b) => a - b))
    expect(new Set(got).size).to.equal(got.length)
    expect(got.at(-1)).to.equal(fast.written - 1)
  })

  it('follow: max-file 1 truncates in place; the follower starts over at the top', async () => {
    const w = new Writer(path, 1000, 1)
    w.write(5)
    let polls = 0
    const src: LogSource = {
      path,
      maxFile: 1,
      live: () => polls < 4,
      pause: async () => {
        polls++
        // 12 entries pass 1000 bytes: truncated once, and the file is longer again than where the follower was.
        w.write(polls === 2 ? 12 : 3)
      },
    }
    const got = numbers(await collect(src, {follow: true}))
    expect(w.rotatedAt).to.be.greaterThan(8)
    expect(got).to.deep.equal([...got].sort((a, b) => a - b))
    expect(new Set(got).size).to.equal(got.length)
    expect(got.filter((n) => n >= w.rotatedAt)).to.deep.equal(range(w.rotatedAt, w.written))
  })

  it('follow: a log created after the follower started, and a follower with tail', async () => {
    let polls = 0
    let w: Writer | undefined
    const src: LogSource = {
      path,
      maxFile: 3,
      live: () => polls < 3,
      pause: async () => {
        polls++
        w ??= new Writer(path, 500, 3)
        w.write(4)
      },
    }
    expect(numbers(await collect(src, {follow: true}))).to.deep.equal(range(0, 12))
    let polls2 = 0
    const src2: LogSource = {path, maxFile: 3, live: () => polls2 < 1, pause: async () => void (polls2++, w!.write(2))}
    expect(numbers(await collect(src2, {follow: true, tail: 1}))).to.deep.equal([11, 12, 13])
  })
})
