#!/usr/bin/env node
// `npm run package`: the installable tarballs, in one directory, from a clean build.
//
//   ncx-<version>.tgz                      the main package; its package.json gains
//                                          optionalDependencies on every @ncx/native-<triple>
//                                          at exactly <version> (as napi-rs's prepublish does),
//                                          and loses what only the repository needs
//   ncx-native-<triple>-<version>.tgz      this machine's native package (npm/<triple>/ plus
//                                          the addon, ncx-runtime and ncx-init)
//
// Usage: node scripts/package.js [--out DIR] [--no-build] [--target TRIPLE]...
//   --out DIR        where the tarballs go (default pack/)
//   --no-build       package what dist/ and native/ hold (after `npm run build`)
//   --target TRIPLE  also cross-build and pack that triple's native package (build-native.js
//                    --target; needs the Rust target and a linker, see docs/install.md)
//   --check          only verify that what the package ships is built (npm's prepack)
import {execFileSync, spawnSync} from 'node:child_process'
import {copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const TRIPLES = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl']
/** Built files the CLI loads at run time (bin/run.cjs requires the bundles; completion reads the manifest). */
const BUILT = ['dist/src/commands', 'dist/src/native/index.js', 'dist/fast.cjs', 'dist/fast.cjs.cache', 'dist/fast-build.cjs', 'dist/fast-build.cjs.cache', 'dist/fast-command.cjs', 'dist/fast-command.cjs.cache', 'dist/complete-main.cjs', 'dist/lite/routes.cjs', 'oclif.manifest.json']

function fail(message) {
  console.error(`package: ${message}`)
  process.exit(1)
}

const args = process.argv.slice(2)
let out = join(repo, 'pack')
let build = true
let checkOnly = false
const targets = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out') out = resolve(args[++i] ?? fail('--out needs a directory'))
  else if (args[i] === '--no-build') build = false
  else if (args[i] === '--check') checkOnly = true
  else if (args[i] === '--target') {
    const t = args[++i]
    if (!TRIPLES.includes(t)) fail(`--target needs one of ${TRIPLES.join(', ')}`)
    targets.push(t)
  } else fail(`unknown argument: ${args[i]}`)
}

function checkBuilt() {
  const missing = BUILT.filter((f) => !existsSync(join(repo, f)))
  if (missing.length > 0) fail(`not built: ${missing.join(', ')}; run "npm run build" first (or "npm run package", which builds)`)
}

if (checkOnly) {
  checkBuilt()
  process.exit(0)
}

function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, {cwd: repo, stdio: ['ignore', 'inherit', 'inherit'], ...options})
  if (r.error || r.status !== 0) fail(`${cmd} ${argv.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`)
}

/** `npm pack DIR` into `out`; returns the tarball's path. Scripts are not run: the staging dir holds finished files. */
function pack(dir) {
  const json = execFileSync('npm', ['pack', dir, '--pack-destination', out, '--ignore-scripts', '--json', '--silent'], {cwd: repo, encoding: 'utf8'})
  const [info] = JSON.parse(json)
  return {file: join(out, info.filename), files: info.files.map((f) => f.path), size: info.size, unpackedSize: info.unpackedSize}
}

const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'))
const version = pkg.version

if (build) {
  // Clean: nothing of an earlier build is shipped (cargo itself stays incremental in target/).
  rmSync(join(repo, 'dist'), {recursive: true, force: true})
  rmSync(join(repo, 'native'), {recursive: true, force: true})
  rmSync(join(repo, 'oclif.manifest.json'), {force: true})
  run('npm', ['run', 'build'])
}
checkBuilt()

rmSync(out, {recursive: true, force: true})
const stage = join(out, '.stage')
mkdirSync(stage, {recursive: true})
const results = []

// The native packages: this machine's from native/, the others cross-built.
const hostTriple = execFileSync(process.execPath, ['--input-type=module', '-e', "import {platformTriple} from './dist/src/native/index.js'; console.log(platformTriple())"], {cwd: repo, encoding: 'utf8'}).trim()
if (!TRIPLES.includes(hostTriple)) fail(`this machine (${hostTriple}) is not one of the packaged platforms ${TRIPLES.join(', ')}`)
for (const triple of [hostTriple, ...targets.filter((t) => t !== hostTriple)]) {
  const dir = join(stage, `native-${triple}`)
  mkdirSync(dir, {recursive: true})
  const manifest = JSON.parse(readFileSync(join(repo, 'npm', triple, 'package.json'), 'utf8'))
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({...manifest, version}, null, 2)}\n`)
  if (triple === hostTriple) {
    for (const f of [`ncx.${triple}.node`, 'ncx-runtime', 'ncx-init']) {
      const src = join(repo, 'native', f)
      if (!existsSync(src)) fail(`${relative(repo, src)} is missing: run "npm run build:native"`)
      copyFileSync(src, join(dir, f))
    }
  } else {
    run(process.execPath, [join(repo, 'scripts', 'build-native.js'), '--target', triple, '--out', dir])
  }
  const packed = pack(dir)
  const expected = ['package.json', `ncx.${triple}.node`, 'ncx-runtime', 'ncx-init']
  const absent = expected.filter((f) => !packed.files.includes(f))
  if (absent.length > 0) fail(`${packed.file} lacks ${absent.join(', ')}`)
  results.push(packed)
}

// The main package: exactly the files npm would pack from the repository (its `files`), with a
// package.json for users.
const listing = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--silent'], {cwd: repo, encoding: 'utf8'}))[0].files.map((f) => f.path)
const main = join(stage, 'ncx')
for (const f of listing) {
  if (f === 'package.json') continue
  mkdirSync(dirname(join(main, f)), {recursive: true})
  cpSync(join(repo, f), join(main, f), {preserveTimestamps: true})
}
// scripts/install.js compares native/ with crates/ only when there is a native/; the published
// package has none, so a prebuilt package is what it looks for.
const published = {...pkg}
delete published.devDependencies
published.scripts = {install: pkg.scripts.install}
published.optionalDependencies = Object.fromEntries(TRIPLES.map((t) => [`@ncx/native-${t}`, version]))
writeFileSync(join(main, 'package.json'), `${JSON.stringify(published, null, 2)}\n`)
const mainPacked = pack(main)
for (const f of BUILT.filter((f) => f !== 'dist/src/commands')) {
  if (!mainPacked.files.includes(f)) fail(`${mainPacked.file} lacks ${f}`)
}
results.unshift(mainPacked)
rmSync(stage, {recursive: true, force: true})

const mb = (n) => `${(n / 1e6).toFixed(1)} MB`
for (const r of results) {
  console.log(`package: ${relative(process.cwd(), r.file) || r.file}  ${mb(r.size)} packed, ${mb(r.unpackedSize)} unpacked, ${r.files.length} files`)
}
const crossNote = TRIPLES.filter((t) => t !== hostTriple && !targets.includes(t))
if (crossNote.length > 0) console.log(`package: not built here: ${crossNote.map((t) => `@ncx/native-${t}`).join(', ')} (--target TRIPLE, or the release workflow's runner for it)`)
