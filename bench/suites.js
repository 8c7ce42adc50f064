// bench/suites.js — what `npm run bench` (node bench/run.js) does: runs the suites asked for
// with --only, each as a child process of its own script (startup and commands: bench/run.js
// --suite-child), one after the other, recording the load average before and after each; then
// writes one summary of every target (bench/summary.js) at the top of bench/RESULTS.md and into
// bench/results/latest.json. A suite that fails or cannot run here becomes a row saying so.

import {spawn} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {BENCH_DIR, NODE, hostInfo, log, requireBuilt} from './lib.js'
import {DEFAULT_SUITES, SUITES, SUITE_NAMES, buildSummary, parseOnly, renderSummary} from './summary.js'

export const USAGE = `usage: node bench/run.js [options]   (npm run bench -- [options])
  --only LIST       comma-separated suites to run, or all (default ${DEFAULT_SUITES.join(',')}):
                    ${SUITE_NAMES.join(', ')}
  --runs N          timed runs per command, passed to every suite that takes --runs
                    (default: each suite's own; startup and commands: 20)
  --warmup N        untimed warm-up runs, passed to every suite that takes --warmup
  --args SUITE:ARGS more options for one suite's script, split at spaces (repeatable), e.g.
                    --args 'net:--seconds 1 --start-runs 5' --args 'pull:--settle 32'
  --user NAME       unprivileged user to run as when started as root (default ncxtest)
  --image FILE      a busybox OCI tar (startup, commands, api, lifecycle, completion)
  --podman PATH     podman binary (default: podman on PATH)
  --runc PATH       runc binary given to podman --runtime (default /usr/sbin/runc)
  --keep            keep the temporary stores (their paths are printed)
 startup and commands only:
  --timer T         hyperfine (default when installed) or internal (spawnSync + hrtime)
  --many N          containers for \`rm -f\` of many (default 200)
  --many-runs N     timed runs of \`rm -f\` of many (default 3)
  --no-runtime      skip the ncx-runtime-only measurement
Writes bench/RESULTS.md (the summary of every target, then the startup and commands sections)
and bench/results/latest.json; each other suite also writes its own bench/RESULTS-*.md.
`

const PASSED = {
  runs: {type: 'string'},
  warmup: {type: 'string'},
  user: {type: 'string'},
  image: {type: 'string'},
  podman: {type: 'string'},
  runc: {type: 'string'},
  keep: {type: 'boolean'},
}
const STARTUP_ONLY = {
  timer: {type: 'string'},
  many: {type: 'string'},
  'many-runs': {type: 'string'},
  'no-runtime': {type: 'boolean'},
}

/** The argv of an option given on our command line, for a child (undefined/false: not given). */
function optionArgs(opts, names) {
  const out = []
  for (const n of names) {
    const v = opts[n]
    if (v === undefined || v === false) continue
    out.push(...(v === true ? [`--${n}`] : [`--${n}`, v]))
  }
  return out
}

/** Run one child to its end: its stdout and stderr go to our stderr (progress); the stderr's tail is kept. */
function runChild(argv) {
  return new Promise((resolve) => {
    let tail = ''
    const keep = (chunk) => {
      tail = (tail + chunk.toString()).slice(-16384)
    }
    const child = spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe']})
    child.stdout.on('data', (c) => process.stderr.write(c))
    child.stderr.on('data', (c) => {
      process.stderr.write(c)
      keep(c)
    })
    child.on('error', (e) => resolve({code: null, error: e.message}))
    child.on('close', (code, signal) => resolve({code, signal, stderr: tail}))
  })
}

function readFresh(file, since) {
  try {
    if (fs.statSync(file).mtimeMs < since) return {fresh: false}
    return {fresh: true, json: JSON.parse(fs.readFileSync(file, 'utf8'))}
  } catch (e) {
    return {fresh: false, ...(e.code === 'ENOENT' ? {} : {readError: e.message})}
  }
}

/** `npm run bench`: returns the exit status (0: every suite asked for ran; 1: some did not). */
export async function runAll(argv) {
  let opts
  try {
    opts = parseArgs({args: argv, options: {...PASSED, ...STARTUP_ONLY, only: {type: 'string'}, args: {type: 'string', multiple: true}, help: {type: 'boolean', short: 'h'}}}).values
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n${USAGE}`)
    return 2
  }
  if (opts.help) {
    process.stdout.write(USAGE)
    return 0
  }
  let only
  const extra = {}
  try {
    only = parseOnly(opts.only ?? DEFAULT_SUITES.join(','))
    for (const a of opts.args ?? []) {
      const i = a.indexOf(':')
      const name = a.slice(0, i)
      if (i < 1 || !SUITE_NAMES.includes(name)) throw new Error(`--args ${a}: expected SUITE:ARGS with SUITE one of ${SUITE_NAMES.join(', ')}`)
      // startup and commands are one child
      const key = name === 'commands' ? 'startup' : name
      extra[key] = [...(extra[key] ?? []), ...a.slice(i + 1).split(/\s+/).filter(Boolean)]
    }
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n`)
    return 2
  }
  requireBuilt('npm run bench')

  const run = {...hostInfo(), load: {start: os.loadavg(), end: null}}
  const results = []
  const inProcess = only.filter((n) => n === 'startup' || n === 'commands')
  const children = []
  if (inProcess.length > 0) {
    children.push({
      names: inProcess,
      json: 'startup-latest.json',
      argv: [NODE, path.join(BENCH_DIR, 'run.js'), '--suite-child', '--only', inProcess.join(','), ...optionArgs(opts, [...Object.keys(PASSED), ...Object.keys(STARTUP_ONLY)]), ...(extra.startup ?? [])],
    })
  }
  for (const def of SUITES) {
    if (def.script === 'run.js' || !only.includes(def.name)) continue
    children.push({names: [def.name], json: def.json, argv: [NODE, path.join(BENCH_DIR, def.script), ...optionArgs(opts, def.options ?? []), ...(extra[def.name] ?? [])]})
  }

  let startupJson
  for (const c of children) {
    const loadStart = os.loadavg()
    const t0 = Date.now()
    log(`suite ${c.names.join(' + ')}: ${c.argv.slice(1).map((a) => (a.startsWith('/') ? path.relative(process.cwd(), a) || a : a)).join(' ')} (load ${loadStart.map((x) => x.toFixed(2)).join(' ')})`)
    const r = await runChild(c.argv)
    const seconds = (Date.now() - t0) / 1000
    const load = {start: loadStart, end: os.loadavg()}
    const file = path.join(BENCH_DIR, 'results', c.json)
    const {fresh, json, readError} = readFresh(file, t0)
    const ok = r.code === 0
    const error = ok ? readError : r.error ?? (r.signal ? `killed by ${r.signal}` : `${r.stderr?.trim() || '(no output)'}\n(exit ${r.code})`)
    if (c.json === 'startup-latest.json' && fresh) startupJson = json
    log(`suite ${c.names.join(' + ')}: ${ok ? 'done' : 'FAILED'} in ${seconds.toFixed(0)} s`)
    for (const name of c.names) results.push({name, status: ok ? 'ok' : 'failed', exitCode: r.code, seconds, load, fresh, json, ...(error ? {error} : {})})
  }
  run.load.end = os.loadavg()

  const summary = buildSummary({run, results})
  const summaryMd = renderSummary(summary)
  const startupMd = startupJson?.markdown ?? `## Start-up and every-day commands\n\n(startup and commands: ${inProcess.length ? 'no results, see the summary above' : 'not run: --only'})\n`
  const md = `# ncx benchmark results\n\nGenerated by \`npm run bench -- --only ${only.join(',')}\` (\`node bench/run.js\`); see [README.md](README.md). Overwritten on every run; every other suite also writes its own \`RESULTS-*.md\`.\n\n${summaryMd}\n${startupMd}`
  const {markdown, ...startupRest} = startupJson ?? {}
  fs.mkdirSync(path.join(BENCH_DIR, 'results'), {recursive: true})
  fs.writeFileSync(path.join(BENCH_DIR, 'RESULTS.md'), md)
  fs.writeFileSync(path.join(BENCH_DIR, 'results', 'latest.json'), `${JSON.stringify({summary, ...startupRest}, null, 2)}\n`)
  log('wrote bench/RESULTS.md and bench/results/latest.json')
  process.stdout.write(summaryMd)
  return summary.suites.every((s) => s.status === 'ok') ? 0 : 1
}
