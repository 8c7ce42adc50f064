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

// dist/fast.cjs: run/exec; dist/fast-build.cjs: build (a bundle of its own, so the builder's
// code does not grow what a `run -d` loads).
for (const [entry, out] of [['fast.ts', 'fast.cjs'], ['build-main.ts', 'fast-build.cjs']]) {
const outfile = path.join(root, 'dist', out)
esbuild.buildSync({
  entryPoints: [path.join(root, 'src', 'cli', entry)],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  outfile,
  logLevel: 'warning',
  banner: {
    js: [
      "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;",
      'const __lazyBuiltin = (id) => { let m; return new Proxy({}, {get: (_, k) => (m ??= require(id))[k]}) };',
    ].join('\n'),
  },
  define: {'import.meta.url': '__importMetaUrl'},
})

let code = fs.readFileSync(outfile, 'utf8')
for (const id of LAZY) {
  const eager = `= require(${JSON.stringify(id)});`
  code = code.split(eager).join(`= __lazyBuiltin(${JSON.stringify(id)});`)
}
fs.writeFileSync(outfile, code)
}
