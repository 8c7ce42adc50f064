#!/usr/bin/env node
'use strict'
// Writes dist/fast.cjs.cache: V8's code cache for the fast-path bundle. bin/run.cjs loads the
// bundle with it and V8 skips parsing 250 kB on every `run`/`exec`. V8 checks the cache
// against the source and its own version and flags; a rejected cache only costs the parse.
//
// The bundle is compiled eagerly (--no-lazy) so that the cache holds the bytecode of every
// function, not just of the top level: otherwise each function a `run -d` calls is parsed and
// compiled on its first call, about 10 ms of it (cache ~450 kB instead of ~90 kB; measured:
// run -d median 72 -> 62 ms). The flag is restored before the cache is written, so the cache
// carries the flags bin/run.cjs runs with.
//
// dist/fast-command.cjs (every other command, 2.7 MB with oclif) is not compiled eagerly: its
// eager cache is 3.7 MB, and reading and deserialising it costs more than it saves. Its cache
// is written after a few read-only commands ran on an empty data root instead, so it holds
// the bytecode of the functions commands actually call (oclif's config, parser, help), and
// the rest of the bundle compiles lazily as before.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const vm = require('node:vm')
const v8 = require('node:v8')
const Module = require('node:module')

const root = path.join(__dirname, '..')

function load(file, eager) {
  if (eager) v8.setFlagsFromString('--no-lazy')
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), {filename: file})
  if (eager) v8.setFlagsFromString('--lazy')
  const mod = {exports: {}}
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file))
  return {script, exports: mod.exports}
}

// (dist/fast-build.cjs, the build's fast path, gets one too, and so does each lite bundle:
// dist/lite/*.cjs, the every-day commands without oclif, src/cli/lite.ts, and their route table.)
const liteDir = path.join(root, 'dist', 'lite')
const lite = fs.existsSync(liteDir) ? fs.readdirSync(liteDir).filter((f) => f.endsWith('.cjs')).map((f) => path.join('lite', f)) : []
//
// Except the lite bundles of single read commands (WARM_LITE): their cache is written after
// the command ran once on an empty data root, in a child process (the lite path writes to fd 1
// itself and sets the umask), from a lazy compile. It holds what the command runs, about 40%
// of the eager cache: deserialising it is ~0.6 ms shorter of a ~4.5 ms `images` over
// `node -e 0` (measured interleaved, 80 runs); `volume ls` and `network ls` (s10, 30 runs each,
// interleaved): 0.9-1.5 ms quicker, `volume create` from the same bundle unchanged. A warm-up
// that fails falls back to eager.
const WARM_LITE = {'lite/images.cjs': [['image:ls', []]], 'lite/ps.cjs': [['container:ls', ['-a']]], 'lite/version.cjs': [['version', []]], 'lite/volumes.cjs': [['volume:ls', []]], 'lite/networks.cjs': [['network:ls', []]]}

/** In the child (`--warm-lite FILE`): run FILE's commands, then write its cache. */
async function warmLite(file, commands) {
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), {filename: file})
  const mod = {exports: {}}
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file))
  for (const [id, argv] of commands) {
    if (!(await mod.exports.liteCommand(id, argv, root, mod.exports.modules))) throw new Error(`${id} did not run`)
  }
  fs.writeFileSync(`${file}.cache`, script.createCachedData(), {mode: 0o644})
  fs.chmodSync(`${file}.cache`, 0o644)
}

if (process.argv[2] === '--warm-lite') {
  warmLite(process.argv[3], WARM_LITE[process.argv[4]]).then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`fast-cache: warm-up of ${process.argv[4]}: ${error.stack ?? error}\n`)
      process.exit(1)
    },
  )
  return
}

for (const name of ['fast.cjs', 'fast-build.cjs', ...lite]) {
  const file = path.join(root, 'dist', name)
  if (WARM_LITE[name.split(path.sep).join('/')]) {
    const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ncx-fast-cache-'))
    const env = {...process.env, NCX_ROOT: dataRoot, XDG_CACHE_HOME: dataRoot, NCX_LITE: '1'}
    const r = require('node:child_process').spawnSync(process.execPath, [__filename, '--warm-lite', file, name.split(path.sep).join('/')], {env, stdio: ['ignore', 'ignore', 'inherit']})
    fs.rmSync(dataRoot, {recursive: true, force: true})
    if (r.status === 0) continue
  }
  fs.writeFileSync(`${file}.cache`, load(file, true).script.createCachedData(), {mode: 0o644})
  fs.chmodSync(`${file}.cache`, 0o644)
}

/** The commands whose code the command bundle's cache carries compiled (output discarded). */
const WARM_UP = [['ps', '-a'], ['images'], ['volume', 'ls'], ['network', 'ls'], ['version'], ['ps', '--help'], ['--help']]

async function warmCommandCache() {
  const file = path.join(root, 'dist', 'fast-command.cjs')
  const {script, exports} = load(file, false)
  const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ncx-fast-cache-'))
  const saved = {root: process.env.NCX_ROOT, write: process.stdout.write, exit: process.exit}
  process.env.NCX_ROOT = dataRoot
  try {
    for (const argv of WARM_UP) {
      process.stdout.write = () => true
      // A command that fails only leaves its functions out of the cache.
      process.exit = () => {
        throw new Error('exit')
      }
      try {
        await exports.fastCommand(argv, root, exports.modules)
      } catch {
      } finally {
        process.stdout.write = saved.write
        process.exit = saved.exit
      }
    }
  } finally {
    if (saved.root === undefined) delete process.env.NCX_ROOT
    else process.env.NCX_ROOT = saved.root
    fs.rmSync(dataRoot, {recursive: true, force: true})
  }
  // chmod as well: the commands run above set ncx's private umask (077) in this process, which
  // would leave the cache 0600 and unreadable to every user but the one who built it (an
  // installed ncx would then compile the whole bundle on each call, ~30 ms).
  fs.writeFileSync(`${file}.cache`, script.createCachedData(), {mode: 0o644})
  fs.chmodSync(`${file}.cache`, 0o644)
}

warmCommandCache().then(
  () => {
    process.exitCode = 0
  },
  (error) => {
    process.stderr.write(`fast-cache: ${error.stack ?? error}\n`)
    process.exitCode = 1
  },
)
