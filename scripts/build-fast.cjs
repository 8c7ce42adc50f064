#!/usr/bin/env node
'use strict'
// Builds dist/fast.cjs, the pre-bundled fast path of `ncx run` / `ncx exec` (see bin/run.cjs),
// then scripts/fast-cache.cjs writes its V8 code cache.
//
// Modules that a `run -d` (or a cached build) does not need are required lazily: esbuild turns
// `import {randomBytes} from 'node:crypto'` into `var import_node_crypto = require("node:crypto")`
// at the top of the bundle, and uses it as `(0, import_node_crypto.randomBytes)(…)`, so the
// require can be replaced by a proxy that loads the module on its first property access.
// node:crypto alone (it loads the stream and cipher machinery) costs several ms of a ~80 ms
// `run -d`. Only the plain `= require("node:X");` form is rewritten; any other use stays eager.
const esbuild = require('esbuild')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
// tar-stream (with streamx and its helpers, ~40 ms to load) and node:zlib: only an import, an
// export or a tar context reads a tar, never a cached rebuild; node:http/https (with net and
// tls, ~50 ms): only a pull talks to a registry.
const LAZY = ['node:crypto', 'node:child_process', 'node:stream', 'node:stream/promises', 'node:os', 'node:zlib', 'tar-stream', 'node:http', 'node:https']

// In the command bundle also the built-ins that oclif and its dependencies (debug,
// supports-color, the parser's stdin reader, its performance marks) require at load time
// but a command rarely uses: each costs its own load on every call otherwise.
const LAZY_COMMAND = ['os', 'tty', 'node:tty', 'node:perf_hooks', 'node:readline', 'node:async_hooks', 'node:v8']

// dist/fast-command.cjs, every other command: src/cli/fast-command.ts (oclif's execute), with
// oclif and its dependencies bundled in, and every module oclif loads by path (each command,
// the help class, the hooks) as a lazily initialised entry of a table: esbuild wraps a module
// that is require()d in an init function, so a `ps` evaluates only the modules `ps` imports.
function commandEntry() {
  const files = []
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith('.ts')) files.push(path.relative(root, p))
    }
  }
  walk(path.join(root, 'src', 'commands'))
  files.push('src/cli/help.ts', 'src/cli/not-found.ts')
  const table = files
    .sort()
    .map((f) => `  ${JSON.stringify(`dist/${f.replace(/\.ts$/, '.js').split(path.sep).join('/')}`)}: () => require(${JSON.stringify(`./${f}`)}),`)
    .join('\n')
  return `export {fastCommand} from './src/cli/fast-command.ts'\nexport const modules = {\n${table}\n}\n`
}

// The lite bundles (dist/lite/NAME.cjs, src/cli/lite.ts): the commands typed all day, each
// group compiled against src/cli/lite-oclif.ts instead of @oclif/core (oclif's flags and
// parser, a stand-in Command, no Config), small enough to load in a few ms. A command line
// naming one of these commands (dist/lite/routes.cjs decides, as oclif would) runs from its
// bundle; help, errors of flags and arguments, and every other command go through oclif.
/**
 * Never lite: help (it needs oclif's Config), compose cp (runs `cp` through oclif's Config),
 * the commands with a fast path of their own (run, exec, build: dist/fast*.cjs; their --help
 * and `container create`'s are oclif's), and the API service (long-running: start-up is
 * nothing to it), and the commands that prompt (below).
 */
const LITE_EXCLUDED = new Set([
  'help', 'compose:cp', 'run', 'container:exec', 'image:build', 'system:service',
  // Their prompts (a confirmation, a password): on a terminal, input typed ahead of the prompt
  // (`printf 'n\n' | script -c 'ncx image prune'`) is read as the end of input there
  // (exit 130, cancelled), not under oclif. Left to oclif until that is understood.
  'container:prune', 'image:prune', 'network:prune', 'volume:prune', 'system:prune', 'builder:prune', 'login',
])

const LITE_GROUPS = process.env.NCX_LITE_GROUPS_EACH === '1' ? undefined : {
  // Alone: the commands scripts call in loops, whose bundle should hold nothing else.
  ps: ['container:ls'],
  images: ['image:ls'],
  logs: ['container:logs'],
  port: ['port'],
  version: ['version'],
  'compose-ps': ['compose:ps'],
  inspect: ['inspect', 'container:inspect', 'image:inspect', 'volume:inspect', 'network:inspect'],
  lifecycle: ['container:stop', 'container:start', 'container:kill', 'container:restart', 'container:rm', 'container:pause', 'container:unpause', 'container:wait', 'container:rename', 'container:update'],
  containers: ['container:top', 'container:stats', 'container:diff', 'container:export', 'container:cp', 'container:commit', 'container:create', 'container:attach'],
  'image-ops': ['image:rm', 'tag', 'image:history', 'save', 'load', 'import', 'pull', 'push'],
  volumes: ['volume:ls', 'volume:create', 'volume:rm'],
  networks: ['network:ls', 'network:create', 'network:rm', 'network:connect', 'network:disconnect', 'network:release'],
  system: ['info', 'system:df', 'system:events', 'system:check', 'system:doctor', 'system:boot', 'completion', 'logout'],
  compose: ['compose:build', 'compose:config', 'compose:create', 'compose:down', 'compose:exec', 'compose:images', 'compose:kill', 'compose:logs', 'compose:ls', 'compose:pause', 'compose:port', 'compose:pull', 'compose:push', 'compose:restart', 'compose:rm', 'compose:run', 'compose:start', 'compose:stop', 'compose:top', 'compose:unpause', 'compose:up', 'compose:version', 'compose:wait'],
}

/** `@oclif/core` as the lite bundles see it. */
const liteOclif = {
  name: 'lite-oclif',
  setup(build) {
    build.onResolve({filter: /^@oclif\/core$/}, () => ({path: path.join(root, 'src', 'cli', 'lite-oclif.ts')}))
  },
}

/** What the stand-in Command leaves out must not be in use (see src/cli/lite-oclif.ts). */
function checkLiteCommand(c, pjson) {
  const problems = []
  if (c.deprecateAliases) problems.push('deprecateAliases')
  if (c.state === 'deprecated') problems.push('state: deprecated')
  if (c.enableJsonFlag) problems.push('enableJsonFlag')
  for (const [name, f] of Object.entries(c.flags ?? {})) if (f.deprecated || f.deprecateAliases) problems.push(`flag --${name} deprecated`)
  for (const hook of Object.keys(pjson.oclif.hooks ?? {})) if (hook !== 'command_not_found') problems.push(`hook ${hook}`)
  if (pjson.oclif.additionalHelpFlags || pjson.oclif.additionalVersionFlags) problems.push('additional help/version flags')
  if (problems.length > 0) throw new Error(`build-fast: ${c.id} cannot take the lite path: ${problems.join(', ')} (see src/cli/lite-oclif.ts)`)
}

async function buildLite() {
  const pjson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8'))
  const commands = Object.values(manifest.commands)
  const groupOf = new Map()
  if (LITE_GROUPS) for (const [group, ids] of Object.entries(LITE_GROUPS)) for (const id of ids) groupOf.set(id, group)
  else for (const c of commands) if (!LITE_EXCLUDED.has(c.id)) groupOf.set(c.id, c.id.replaceAll(':', '-'))
  const unknown = [...groupOf.keys()].filter((id) => !manifest.commands[id])
  if (unknown.length > 0) throw new Error(`build-fast: lite groups name unknown commands: ${unknown.join(', ')}`)
  // Every command is in a lite group or excluded on purpose: a new one must be placed.
  const unplaced = commands.filter((c) => !groupOf.has(c.id) && !LITE_EXCLUDED.has(c.id)).map((c) => c.id)
  if (unplaced.length > 0) throw new Error(`build-fast: put ${unplaced.join(', ')} in a lite group (LITE_GROUPS) or in LITE_EXCLUDED`)
  fs.rmSync(path.join(root, 'dist', 'lite'), {recursive: true, force: true})
  const groups = new Map()
  for (const [id, group] of groupOf) groups.set(group, [...(groups.get(group) ?? []), id])
  for (const [group, ids] of groups) {
    const table = ids.map((id) => {
      checkLiteCommand(manifest.commands[id], pjson)
      return `  ${JSON.stringify(id)}: () => require(${JSON.stringify(`./${liteSource(manifest.commands[id])}`)}),`
    })
    await bundle({contents: `export {liteCommand} from './src/cli/lite.ts'\nexport const modules = {\n${table.join('\n')}\n}\n`}, path.join('lite', `${group}.cjs`), 'lite')
  }
  // The route table: every id and alias, with its command, whether it takes arguments (oclif
  // reads the command words differently then), and its lite bundle.
  const routes = {}
  for (const c of commands) {
    const entry = [c.id, c.strict === false || Object.keys(c.args ?? {}).length > 0, groupOf.get(c.id) ?? null]
    for (const name of [c.id, ...(c.aliases ?? []), ...(c.hiddenAliases ?? [])]) routes[name] = entry
  }
  const out = path.join(root, 'dist', 'lite', 'routes.cjs')
  esbuild.buildSync({entryPoints: [path.join(root, 'src', 'cli', 'lite-route.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: out, logLevel: 'warning', minifyWhitespace: true})
  fs.appendFileSync(out, `module.exports.table = ${JSON.stringify(routes)};\n`)
}

/** The TypeScript source of a manifest command (`dist/src/commands/container/ls.js` → src/commands/container/ls.ts). */
function liteSource(c) {
  const rel = c.relativePath.join('/')
  return rel.replace(/^dist\//, '').replace(/\.js$/, '.ts')
}

const BANNER = [
  "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;",
  'const __lazyBuiltin = (id) => { let m; return new Proxy({}, {get: (_, k) => (m ??= require(id))[k]}) };',
  'const __lazyModule = (load) => { let m; const real = () => (m ??= load()); return new Proxy({}, {get: (_, k) => real()[k], has: (_, k) => k in real(), ownKeys: () => Reflect.ownKeys(real()), getOwnPropertyDescriptor: (_, k) => { const d = Object.getOwnPropertyDescriptor(real(), k); if (d) d.configurable = true; return d }}) };',
].join('\n')

/**
 * Bundle `source` (an entry file, or {contents} of a generated one) to `out`. `kind`: 'fast'
 * (run/exec and build: packages stay external), 'command' (oclif and the ES-only packages
 * bundled in, minified) or 'lite' (as 'command', with `@oclif/core` resolved to the stand-in).
 */
async function bundle(source, out, kind) {
  const outfile = path.join(root, 'dist', out)
  const plugins = kind === 'lite' ? [liteOclif] : []
  await esbuild.build({
    ...(typeof source === 'string' ? {entryPoints: [path.join(root, 'src', 'cli', source)]} : {stdin: {contents: source.contents, resolveDir: root, sourcefile: 'entry.ts', loader: 'ts'}}),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // The command bundles carry oclif (the cost they exist to cache) and the ES-only packages
    // (chalk, ora, prompts: a CommonJS bundle cannot require them on every Node 20).
    // They are also minified (whitespace and syntax; names kept: oclif and errors.ts look at
    // class names): every byte is read and hashed on each call.
    // (Names kept in the command bundle: oclif looks at class names. The lite bundles need only
    // lite-oclif's ExitError's, checked after the build: keepNames's calls cost a `volume ls`
    // a tenth of its time.)
    // yaml and smol-toml are bundled into the lite bundles (compose files, ncx.toml: loaded
    // module by module from node_modules they cost a `compose ps` more than the rest of it).
    ...(kind === 'fast' ? {packages: 'external'} : {external: kind === 'lite' ? ['tar-stream'] : ['tar-stream', 'yaml', 'smol-toml'], minifyWhitespace: true, minifySyntax: true, keepNames: kind === 'command'}),
    outfile,
    plugins,
    logLevel: 'warning',
    banner: {js: BANNER},
    define: {'import.meta.url': '__importMetaUrl'},
  })
  let code = fs.readFileSync(outfile, 'utf8')
  if (kind === 'lite' && !/\b(class ExitError\b|ExitError=class\b)/.test(code)) throw new Error(`${out}: lite-oclif's ExitError lost its name (base.ts looks for it)`)
  if (kind !== 'fast') {
    // oclif is TypeScript compiled to CommonJS: `const x_1 = require("./x")` at the top of a
    // module, used only as `x_1.name` (and re-exported through getters), which esbuild makes
    // `x_1 = require_x()`. Deferred the same way as the built-ins, a module is evaluated when
    // something first uses it, not because oclif's index requires every part of oclif.
    code = code.replace(/(?<![\w$])([\w$]+_\d+)=( ?)(require_[\w$]+)\(\)(?=[;,])/g, '$1=$2__lazyModule($3)')
  }
  for (const id of kind === 'fast' ? LAZY : [...LAZY, ...LAZY_COMMAND]) {
    // `x = require("id");`, or minified `x=require("id"),` (a `require("id").y` stays eager)
    const eager = new RegExp(`=( ?)require\\(${JSON.stringify(id).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)(?=[;,])`, 'g')
    code = code.replace(eager, `=$1__lazyBuiltin(${JSON.stringify(id)})`)
  }
  // ASCII only: esbuild escapes non-ASCII characters in strings but not in regular expression
  // literals (`µs` in a duration pattern, an ANSI pattern's \x9b), and one such character makes
  // V8 hold the whole source, which it keeps for lazy compilation, as a two-byte string: 4.4 MB
  // instead of 2.2 MB for dist/fast-command.cjs, in every command's and the API service's memory.
  // `\uXXXX` means the same character in a regular expression, a string and an identifier.
  code = code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  fs.writeFileSync(outfile, code)
}

// dist/fast.cjs: run/exec; dist/fast-build.cjs: build (a bundle of its own, so the builder's
// code does not grow what a `run -d` loads); dist/fast-command.cjs: oclif and every command.
async function main() {
  await bundle('fast.ts', 'fast.cjs', 'fast')
  await bundle('build-main.ts', 'fast-build.cjs', 'fast')
  await bundle({contents: commandEntry()}, 'fast-command.cjs', 'command')
  await buildLite()
}

main().catch((error) => {
  process.stderr.write(`build-fast: ${error.stack ?? error}\n`)
  process.exitCode = 1
})
