#!/usr/bin/env node
// npm's install hook of the ncx package. It only decides; scripts/build-native.js builds.
//
//   prebuilt @ncx/native-<triple> installed (npm picked it by os/cpu/libc): nothing, silently.
//   --build-from-source (npm sets npm_config_build_from_source), or no matching prebuilt:
//     build the native parts with cargo into native/, saying so first (a cold build takes
//     minutes); without cargo, fail the install with what is missing and the two ways out.
//   a checkout whose native/ is newer than crates/: nothing (npm ci in the repository).
//
// It never downloads anything: a binary comes from the npm package or from cargo, nowhere else.
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)

function isMusl() {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8')
    if (/\/(ld-)?musl[^/\s]*\.so/.test(maps)) return true
    if (/\/libc\.so\.6\b|\/libc-[\d.]+\.so\b/.test(maps)) return false
  } catch {
    // no /proc: ask Node
  }
  return !process.report?.getReport?.().header?.glibcVersionRuntime
}

const {platform, arch} = process
const triple = platform === 'linux' ? `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}` : `${platform}-${arch}`
const pkgName = `@ncx/native-${triple}`
const fromSource = /^(true|1)$/.test(process.env.npm_config_build_from_source ?? '') || process.env.NCX_BUILD_FROM_SOURCE === '1'

/** The prebuilt package's directory when it is installed and complete, else why not. */
function prebuilt() {
  let dir
  try {
    dir = dirname(require.resolve(`${pkgName}/package.json`))
  } catch {
    return {missing: `${pkgName} is not installed (none is published for ${triple}, or npm skipped optional dependencies)`}
  }
  const absent = [`ncx.${triple}.node`, 'ncx-runtime', 'ncx-init'].filter((f) => !existsSync(join(dir, f)))
  return absent.length === 0 ? {dir} : {missing: `${pkgName} in ${dir} lacks ${absent.join(', ')}`}
}

function newest(dir) {
  let t = 0
  for (const e of readdirSync(dir, {withFileTypes: true})) {
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

/** A checkout (or an earlier from-source install) whose native/ is complete and newer than the sources. */
function localBuildCurrent() {
  const files = [`ncx.${triple}.node`, 'ncx-runtime', 'ncx-init'].map((f) => join(root, 'native', f))
  if (!files.every((f) => existsSync(f)) || !existsSync(join(root, 'crates'))) return false
  return Math.min(...files.map((f) => statSync(f).mtimeMs)) > newest(join(root, 'crates'))
}

/**
 * npm (7+) shows an install script's output only when it fails or with --foreground-scripts:
 * a person at a terminal still learns why the install takes minutes.
 */
function say(line) {
  console.error(line)
  if (process.stderr.isTTY) return
  try {
    writeFileSync('/dev/tty', `${line}\n`)
  } catch {
    // no terminal (CI): the line is in npm's log
  }
}

const found = prebuilt()
if (!fromSource && found.dir) process.exit(0)
if (!fromSource && localBuildCurrent()) process.exit(0)

if (!existsSync(join(root, 'crates')) || !existsSync(join(root, 'Cargo.toml'))) {
  console.error(`ncx: cannot build the native parts here: the Rust sources (crates/, Cargo.toml) are not in ${root}`)
  process.exit(1)
}
const cargo = process.env.CARGO || 'cargo'
const probe = spawnSync(cargo, ['--version'], {encoding: 'utf8'})
if (probe.error || probe.status !== 0) {
  console.error(
    [
      `ncx: the native parts for ${triple} are missing:`,
      fromSource ? '  --build-from-source was asked for' : `  ${found.missing}`,
      `  and "${cargo}" is not on PATH to build them from source.`,
      'Either install Rust (https://rustup.rs) and run the install again (it builds with cargo, a few minutes),',
      `or install on a platform with a prebuilt package (linux x64/arm64, glibc or musl) without --build-from-source.`,
    ].join('\n'),
  )
  process.exit(1)
}
say(
  fromSource
    ? `ncx: --build-from-source: building the native parts for ${triple} with ${probe.stdout.trim()} (a cold build takes minutes)`
    : `ncx: no prebuilt package for ${triple} (${found.missing}); building the native parts from source with ${probe.stdout.trim()} (a cold build takes minutes)`,
)
const build = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.js')], {cwd: root, stdio: 'inherit'})
process.exit(build.status ?? 1)
