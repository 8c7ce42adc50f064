#!/usr/bin/env node
// `npm run test:e2e`: the end-to-end test files, each in its own mocha process, JOBS at a time.
//
// Usage: node scripts/test-e2e.js [--jobs N] [--exclude FILE]... [--times FILE] [FILE...]
//   --jobs N     files run at once (default $NCX_E2E_JOBS, else 2). The files are independent:
//                each Sandbox has its own data root, runtime dir, user-namespace holder and
//                network namespace; registries and servers listen on ports the kernel picks.
//                Files listed in EXCLUSIVE below run alone, before the others.
//   --exclude FILE  leave FILE out (.ci/run runs install.test.ts through scripts/test-packages.sh)
//   --times FILE write {file: seconds} of this run as JSON (to refresh test/e2e/durations.json)
//   FILE...      run only these (default: test/e2e/**/*.test.ts and test/registry/**/*.test.ts)
//
// Longest files start first (test/e2e/durations.json, seconds measured on a 2-core machine;
// a file missing there counts as long). A file's output is printed in one piece when it ends
// (with --jobs 1: as it runs); failures are listed again at the end and the exit code is 1.
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const mocha = join(repo, 'node_modules', 'mocha', 'bin', 'mocha.js')

/**
 * Files that must not share the machine with another test file: they assert on host-wide
 * state or on timing that a second file's load would disturb. Why, per file, is in
 * docs/testing.md.
 */
const EXCLUSIVE = new Set([])

function usage(message) {
  console.error(`test-e2e: ${message}\nusage: node scripts/test-e2e.js [--jobs N] [--exclude FILE]... [--times FILE] [FILE...]`)
  process.exit(2)
}

let jobs = Number(process.env.NCX_E2E_JOBS ?? 2)
let timesOut
const files = []
const excluded = new Set()
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  if (a === '--jobs' || a === '-j') jobs = Number(argv[++i])
  else if (a === '--times') timesOut = argv[++i]
  else if (a === '--exclude') excluded.add(relative(repo, resolve(argv[++i] ?? usage('--exclude needs a file'))))
  else if (a.startsWith('-')) usage(`unknown option ${a}`)
  else files.push(relative(repo, resolve(a)))
}
if (!Number.isInteger(jobs) || jobs < 1) usage('--jobs needs a whole number of at least 1')
if (timesOut === undefined && argv.includes('--times')) usage('--times needs a file')

function testFiles(dir) {
  return readdirSync(join(repo, dir), {recursive: true})
    .filter((f) => String(f).endsWith('.test.ts'))
    .map((f) => join(dir, String(f)))
    .sort()
}
if (files.length === 0) files.push(...testFiles('test/e2e'), ...testFiles('test/registry'))
for (const f of [...files, ...excluded]) if (!existsSync(join(repo, f))) usage(`no such test file: ${f}`)
for (let i = files.length - 1; i >= 0; i--) if (excluded.has(files[i])) files.splice(i, 1)

const durationsFile = join(repo, 'test', 'e2e', 'durations.json')
const known = existsSync(durationsFile) ? JSON.parse(readFileSync(durationsFile, 'utf8')) : {}
const expected = (f) => known[f] ?? Infinity
const byLength = (a, b) => expected(b) - expected(a) || a.localeCompare(b)
const exclusive = files.filter((f) => EXCLUSIVE.has(f)).sort(byLength)
const pool = files.filter((f) => !EXCLUSIVE.has(f)).sort(byLength)

// The test images (scripts/mkimage.js, ~4 s) once for all files instead of once per file.
const images = mkdtempSync(join(tmpdir(), 'ncx-e2e-images-'))
const children = new Set()
function cleanup() {
  rmSync(images, {recursive: true, force: true})
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of children) {
      try {
        process.kill(-child.pid, signal)
      } catch {
        // gone already
      }
    }
    cleanup()
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15))
  })
}
execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `(await import(${JSON.stringify(join(repo, 'test', 'e2e', 'harness.ts'))})).buildImages(${JSON.stringify(images)})`], {cwd: repo, stdio: 'inherit'})

const env = {...process.env, NCX_E2E_IMAGES: images}
const times = {}
const failed = []
/** file -> its output from mocha's "N failing" on (what went wrong), printed again at the end. */
const failures = new Map()
const started = Date.now()
const seconds = (ms) => Math.round(ms / 100) / 10

/** Run one file; resolves when it has ended and its output is printed. */
function run(file, stream) {
  return new Promise((resolveRun) => {
    const t0 = Date.now()
    // A process group of its own: an interrupted run takes the file's containers' ncx processes along.
    const child = spawn(process.execPath, [mocha, '--config', 'test/e2e/mocharc.json', ...(process.stdout.isTTY ? ['--color'] : []), file], {cwd: repo, env, detached: true, stdio: ['ignore', 'pipe', 'pipe']})
    children.add(child)
    const out = []
    for (const s of [child.stdout, child.stderr]) {
      s.on('data', (d) => {
        if (stream) process.stdout.write(d)
        out.push(d)
      })
    }
    child.on('close', (code, signal) => {
      children.delete(child)
      const took = seconds(Date.now() - t0)
      times[file] = took
      const status = code === 0 ? 'passed' : `FAILED (${signal ?? `exit ${code}`})`
      const text = Buffer.concat(out).toString()
      if (code !== 0) {
        failed.push(file)
        const at = text.search(/^ *\d+ failing/m)
        failures.set(file, at >= 0 ? text.slice(at) : text.split('\n').slice(-60).join('\n'))
      }
      if (!stream) process.stdout.write(text)
      console.log(`\n── ${file}: ${status} in ${took} s (${seconds(Date.now() - started)} s into the run)\n`)
      resolveRun()
    })
  })
}

async function runAll() {
  for (const f of exclusive) await run(f, true)
  const queue = [...pool]
  const worker = async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) await run(f, jobs === 1)
  }
  await Promise.all(Array.from({length: Math.min(jobs, queue.length)}, worker))
}

await runAll()
cleanup()
const wall = seconds(Date.now() - started)
const sum = seconds(Object.values(times).reduce((a, b) => a + b * 1000, 0))
console.log(`e2e: ${files.length} files, ${jobs} at a time: ${wall} s wall, ${sum} s summed over files`)
for (const [f, s] of Object.entries(times).sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${String(s).padStart(7)} s  ${f}`)
if (timesOut) writeFileSync(timesOut, JSON.stringify(Object.fromEntries(Object.entries(times).sort()), null, 2) + '\n')
if (failed.length > 0) {
  // Again at the very end: CI logs are often read from the tail.
  for (const f of failed) console.log(`\n── what failed in ${f}:\n${failures.get(f) ?? '(no output)'}`)
  console.log(`\n${failed.length} file(s) failed (their output is above):\n${failed.map((f) => `  ${f}`).join('\n')}`)
  process.exit(1)
}
