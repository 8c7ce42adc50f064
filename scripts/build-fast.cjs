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

// dist/fast.cjs: run/exec; dist/fast-build.cjs: build (a bundle of its own, so the builder's
// code does not grow what a `run -d` loads).
for (const [entry, out] of [['fast.ts', 'fast.cjs'], ['build-main.ts', 'fast-build.cjs'], [undefined, 'fast-command.cjs']]) {
const outfile = path.join(root, 'dist', out)
esbuild.buildSync({
  ...(entry ? {entryPoints: [path.join(root, 'src', 'cli', entry)]} : {stdin: {contents: commandEntry(), resolveDir: root, sourcefile: 'fast-command-entry.ts', loader: 'ts'}}),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // The command bundle carries oclif (the cost it exists to cache) and the ES-only packages
  // (chalk, ora, prompts: a CommonJS bundle cannot require them on every Node 20).
  // It is also minified (whitespace and syntax; names kept: oclif and errors.ts look at class
  // names): every byte is read and hashed on each call.
  ...(entry ? {packages: 'external'} : {external: ['tar-stream', 'yaml', 'smol-toml'], minifyWhitespace: true, minifySyntax: true, keepNames: true}),
  outfile,
  logLevel: 'warning',
  banner: {
    js: [
      "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;",
      'const __lazyBuiltin = (id) => { let m; return new Proxy({}, {get: (_, k) => (m ??= require(id))[k]}) };',
      'const __lazyModule = (load) => { let m; const real = () => (m ??= load()); return new Proxy({}, {get: (_, k) => real()[k], has: (_, k) => k in real(), ownKeys: () => Reflect.ownKeys(real()), getOwnPropertyDescriptor: (_, k) => { const d = Object.getOwnPropertyDescriptor(real(), k); if (d) d.configurable = true; return d }}) };',
    ].join('\n'),
  },
  define: {'import.meta.url': '__importMetaUrl'},
})

let code = fs.readFileSync(outfile, 'utf8')
if (!entry) {
  // oclif is TypeScript compiled to CommonJS: `const x_1 = require("./x")` at the top of a
  // module, used only as `x_1.name` (and re-exported through getters), which esbuild makes
  // `x_1 = require_x()`. Deferred the same way as the built-ins, a module is evaluated when
  // something first uses it, not because oclif's index requires every part of oclif.
  code = code.replace(/(?<![\w$])([\w$]+_\d+)=( ?)(require_[\w$]+)\(\)(?=[;,])/g, '$1=$2__lazyModule($3)')
}
for (const id of entry ? LAZY : [...LAZY, ...LAZY_COMMAND]) {
  // `x = require("id");`, or minified `x=require("id"),` (a `require("id").y` stays eager)
  const eager = new RegExp(`=( ?)require\\(${JSON.stringify(id).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)(?=[;,])`, 'g')
  code = code.replace(eager, `=$1__lazyBuiltin(${JSON.stringify(id)})`)
}
fs.writeFileSync(outfile, code)
}
