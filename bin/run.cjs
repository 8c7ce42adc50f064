#!/usr/bin/env -S node --
'use strict'
// ncx entry point (CommonJS: Node starts a CJS entry faster than an ESM one).
// The `--` of the #! line: Node 20-22 read an `--env-file` anywhere in argv before `--` (a
// missing one ends node with exit 9, an existing one fills ncx's own environment), so
// `ncx run --env-file F` and `ncx compose --env-file F` would never reach ncx.
// Hot paths skip loading oclif, which costs more than Node's own start:
//   `__complete` (shell completion), `--version`, and `run` / `exec` (and their `container` forms; they parse their own argv; dist/fast.cjs is
//   one pre-bundled file, see the build:fast script), `build`, and every other command that
//   has a lite bundle (dist/lite/*.cjs: src/cli/lite.ts, the command without oclif's Config).
//   Help, unknown commands, and what the lite path gives back (flag and argument errors) go
//   through oclif with the generated oclif.manifest.json, loaded from one more pre-bundled,
//   code-cached file (dist/fast-command.cjs; NCX_LITE=0: always; NCX_OCLIF=1: oclif module by
//   module). docs/architecture.md, "How a command starts", has the table.
const argv = process.argv.slice(2)

// Global options before the command (`ncx --root DIR ps`, `ncx --debug pull x`, as the root
// help shows them): handed on through the environment, which every command and the fast path
// read (a --root after the command still wins).
while (argv.length > 0) {
  const [flag, inline] = argv[0].split(/=(.*)/s)
  if (flag === '--root' || flag === '--data-root') {
    const value = inline !== undefined ? inline : argv[1]
    if (value === undefined || value === '') break // the command parser says what is missing
    process.env.NCX_ROOT = require('node:path').resolve(value)
    argv.splice(0, inline !== undefined ? 1 : 2)
  } else if (argv[0] === '--debug' || argv[0] === '-D') {
    process.env.NCX_DEBUG = '1'
    argv.shift()
  } else break
}
if (argv.length !== process.argv.length - 2) process.argv.splice(2, process.argv.length, ...argv)
const first = argv[0]

// A flag before the command that is not a global one: Docker's flag error (exit 125).
if (first !== undefined && first.startsWith('-') && first !== '-' && !['--help', '-h', '--version', '-v'].includes(first)) {
  const [flag] = first.split('=')
  const message = flag === '--root' || flag === '--data-root' ? `flag needs an argument: ${flag}` : flag.startsWith('--') ? `unknown flag: ${flag}` : `unknown shorthand flag: '${first[1]}' in ${first}`
  process.stderr.write(`${message}\nSee 'ncx --help'.\n`)
  process.exit(125)
}

// `ncx compose -f a.yml -p proj up -d`: Docker puts compose's global flags before the
// subcommand; oclif wants them after it (in long form, as `logs -f` means --follow).
if (first === 'compose') {
  const valued = {'-f': '--file', '--file': '--file', '-p': '--project-name', '--project-name': '--project-name', '--profile': '--profile', '--env-file': '--env-file', '--project-directory': '--project-directory', '--root': '--root', '--data-root': '--root', '--ansi': '--ansi', '--progress': '--progress'}
  const moved = []
  let i = 1
  while (i < argv.length && argv[i].startsWith('-') && argv[i] !== '--help') {
    const [flag, inline] = argv[i].split(/=(.*)/s)
    if (valued[flag]) {
      moved.push(valued[flag], inline !== undefined ? inline : argv[++i])
    } else moved.push(argv[i])
    i++
  }
  if (moved.length > 0 && i < argv.length) argv.splice(1, i - 1), argv.splice(2, 0, ...moved), process.argv.splice(2, process.argv.length, ...argv)
}

/**
 * The fast-path bundle, compiled with the V8 code cache the build wrote next to it
 * (scripts/fast-cache.cjs): parsing it would be a good part of a `run -d`. Without a usable
 * cache it is an ordinary require.
 *
 * `warm` (`run`/`exec`: dist/fast.cjs): the user's own code cache of the bundle instead, written
 * after the first such command that succeeded (`saveWarmCache`), in
 * `$XDG_CACHE_HOME/ncx/fast-KIND-SIZE-MTIME-NODE-ARCH.cache` (else ~/.cache): it holds only the
 * functions a real `run -d`, foreground `run` or `exec` called (about half of the build's eager
 * cache, which compiles every function), so it is read and deserialised in less time. Its name
 * changes with the bundle and with Node; V8 checks it as well and a rejected one is replaced.
 * Until it exists, the command compiles lazily without a cache (once: ~3 ms more).
 */
function loadFast(name = 'fast.cjs', warm = undefined) {
  const fs = require('node:fs')
  const path = require('node:path')
  const file = path.join(__dirname, '..', 'dist', name)
  let own = warm && warmCachePath(fs, path, file, warm)
  let cachedData
  try {
    cachedData = fs.readFileSync(own ?? `${file}.cache`)
  } catch {
    if (!own) return require(file)
    // None yet: compiled lazily for one to be written, unless it cannot be (then the build's).
    if (!canWrite(fs, path, path.dirname(own))) {
      own = undefined
      try {
        cachedData = fs.readFileSync(`${file}.cache`)
      } catch {
        return require(file)
      }
    }
  }
  const vm = require('node:vm')
  const Module = require('node:module')
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), {filename: file, cachedData})
  // (compiled without a cache, or with one V8 refused: lazily, so what the command runs is what
  // a cache written after it holds)
  if (own && (cachedData === undefined || script.cachedDataRejected)) pendingWarmCache = {script, file: own}
  const mod = {exports: {}}
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file))
  return mod.exports
}

/** A compiled bundle whose warm cache is to be written once its command succeeded. */
let pendingWarmCache

/** The user's warm cache of `file` for commands of `kind`, or undefined (no cache directory). */
function warmCachePath(fs, path, file, kind) {
  const env = process.env
  const base = env.XDG_CACHE_HOME?.startsWith('/') ? env.XDG_CACHE_HOME : env.HOME?.startsWith('/') ? path.join(env.HOME, '.cache') : undefined
  if (base === undefined) return undefined
  try {
    const st = fs.statSync(file)
    return path.join(base, 'ncx', `fast-${kind}-${st.size}-${Math.trunc(st.mtimeMs)}-${process.version}-${process.arch}.cache`)
  } catch {
    return undefined
  }
}

/** Can this user create files in `dir`, or create it (the nearest existing ancestor is writable)? */
function canWrite(fs, path, dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      fs.accessSync(d, fs.constants.W_OK)
      return true
    } catch (error) {
      if (error.code !== 'ENOENT' || path.dirname(d) === d) return false
    }
  }
}

/** Write the pending warm cache (atomically: a reader sees all of one or none) and remove the user's stale ones of the same kind. Best effort. */
function saveWarmCache() {
  const pending = pendingWarmCache
  if (!pending) return
  pendingWarmCache = undefined
  const fs = require('node:fs')
  const path = require('node:path')
  const dir = path.dirname(pending.file)
  const tmp = `${pending.file}.tmp-${process.pid}`
  try {
    fs.mkdirSync(dir, {recursive: true, mode: 0o700})
    fs.writeFileSync(tmp, pending.script.createCachedData(), {mode: 0o600, flag: 'wx'})
    fs.renameSync(tmp, pending.file)
    const [, kind] = /^fast-(.+?)-\d/.exec(path.basename(pending.file))
    for (const f of fs.readdirSync(dir)) {
      if (f.startsWith(`fast-${kind}-`) && /^\d+-\d+-v[^-]+-[^-]+\.cache$/.test(f.slice(kind.length + 6)) && f !== path.basename(pending.file)) fs.rmSync(path.join(dir, f), {force: true})
    }
  } catch {
    try {
      fs.rmSync(tmp, {force: true})
    } catch {}
  }
}

/** The warm cache a `run`/`exec` uses: its code differs between a detached run, a foreground one and an exec. */
function warmKind(verb, args) {
  if (verb === 'exec') return 'exec'
  // (a guess from the words, good enough for choosing a cache: `-d`, `--detach`, `-dit`)
  return args.some((a) => a === '--detach' || a === '--detach=true' || /^-[a-zA-Z]*d[a-zA-Z]*$/.test(a)) ? 'run-d' : 'run'
}

/** `run`/`exec` (or `container run`/`container exec`), which take the fast path. */
function fastVerb(args) {
  const verb = args[0] === 'container' ? args[1] : args[0]
  return verb === 'run' || verb === 'exec' ? verb : undefined
}

/** `build` and its other names (`image build`, `buildx build`, `builder build`). */
function buildVerb(args) {
  if (args[0] === 'build') return true
  return (args[0] === 'image' || args[0] === 'buildx' || args[0] === 'builder') && args[1] === 'build'
}

if (first === '__complete') {
  // Shell completion (see src/cli/complete.ts): answered from the store files, no oclif.
  process.exitCode = require('../dist/complete-main.cjs').completeMain(argv.slice(1), require('node:path').join(__dirname, '..'))
} else if (first === '--version' || first === '-v') {
  const pkg = JSON.parse(require('node:fs').readFileSync(require('node:path').join(__dirname, '..', 'package.json'), 'utf8'))
  process.stdout.write(`ncx/${pkg.version} ${process.platform}-${process.arch} node-${process.version}\n`)
} else if (buildVerb(argv) && !argv.includes('--help') && !argv.includes('-h')) {
  // `build`, `image build`, `buildx build`, `builder build`: the build's own bundle.
  // (import() from here: the bundle, run from its code cache, cannot load ES modules such as chalk itself.)
  loadFast('fast-build.cjs').fastBuild(argv.slice(first === 'build' ? 1 : 2), (specifier) => import(specifier)).then((code) => {
    process.exitCode = code
  })
} else if (fastVerb(argv) && !argv.includes('--help')) {
  const verb = fastVerb(argv)
  const fast = loadFast('fast.cjs', process.env.NCX_WARM_CACHE === '0' ? undefined : warmKind(verb, argv))
  ;(verb === 'run' ? fast.fastRun : fast.fastExec)(argv.slice(first === verb ? 1 : 2), first === verb ? verb : `container:${verb}`).then((code) => {
    if (code === 0) saveWarmCache()
    process.exitCode = code
  })
} else if (process.env.NCX_OCLIF === '1') {
  // oclif loaded module by module, as before dist/fast-command.cjs (the parity test's reference).
  import('@oclif/core').then(({execute}) => execute({dir: __filename}))
} else {
  const root = require('node:path').join(__dirname, '..')
  // Every other command, and help: oclif from the pre-bundled, code-cached dist/fast-command.cjs.
  const oclif = () => {
    const bundle = loadFast('fast-command.cjs')
    bundle.fastCommand(argv, root, bundle.modules)
  }
  // The commands typed all day run from a lite bundle without oclif (src/cli/lite.ts), when
  // dist/lite/routes.cjs finds the command line names one of them as oclif would read it;
  // a command line that does not parse there goes to oclif after all (NCX_LITE=0: always).
  const route = process.env.NCX_LITE === '0' ? undefined : liteRoute()
  if (route) {
    const bundle = loadFast(`lite/${route.bundle}.cjs`)
    bundle.liteCommand(route.id, route.argv, root, bundle.modules).then((ran) => {
      if (!ran) oclif()
    })
  } else oclif()
}

/** The lite route of argv (src/cli/lite-route.ts), or undefined (no lite bundles built). */
function liteRoute() {
  let routes
  try {
    // (as the bundles: no module resolution, and V8's code cache)
    routes = loadFast('lite/routes.cjs')
  } catch {
    return undefined
  }
  return routes.liteRoute(argv, routes.table)
}
