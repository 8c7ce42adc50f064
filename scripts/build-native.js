#!/usr/bin/env node
// Builds ncx's native parts and places them where src/native/index.ts looks:
//
//   native/ncx.<triple>.node   the napi-rs addon      (crates/ncx-napi, a cdylib)
//   native/ncx-runtime         the runtime binary     (crates/ncx-runtime)
//
// It runs `cargo build --release -p ncx-napi -p ncx-runtime` directly and copies
// target/release/libncx_napi.so to the triple-named .node file. We call cargo
// rather than `napi build` (@napi-rs/cli): one cargo invocation builds both
// artifacts, works offline, and we need neither the generated JS loader nor the
// generated .d.ts — the typed loader is hand-written in src/native/index.ts.
//
// Usage: node scripts/build-native.js [--if-missing] [--target TRIPLE] [--out DIR]
//   --if-missing    do nothing when the prebuilt package @ncx/native-<triple> is
//                   installed, or when the outputs exist and are newer than every
//                   file under crates/ (plus Cargo.toml / Cargo.lock).
//   --target TRIPLE cross-build for another npm triple (linux-arm64-gnu, linux-x64-musl, …):
//                   `cargo build --target <rust target>`; needs that Rust target
//                   (`rustup target add …`) and a linker for it (see docs/install.md).
//   --out DIR       write the three files there instead of native/ (the release job and
//                   `npm run package` fill npm/<triple>/ this way); a cross build without
//                   --out writes to native/<triple>/, never over this host's native/.
// The install-time entry is scripts/install.js, which calls this script only when no
// prebuilt package matches or --build-from-source was asked for.
//
// The platform-triple logic is duplicated in src/native/index.ts (this script
// runs before TypeScript is compiled); keep the two in sync.

import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** npm triple (napi-rs naming) -> Rust target. */
const RUST_TARGETS = {
  'linux-x64-gnu': 'x86_64-unknown-linux-gnu',
  'linux-arm64-gnu': 'aarch64-unknown-linux-gnu',
  'linux-x64-musl': 'x86_64-unknown-linux-musl',
  'linux-arm64-musl': 'aarch64-unknown-linux-musl',
};

function usage(message) {
  console.error(`build-native: ${message}\nusage: node scripts/build-native.js [--if-missing] [--target ${Object.keys(RUST_TARGETS).join('|')}] [--out DIR]`);
  process.exit(2);
}

const args = process.argv.slice(2);
let ifMissing = false;
let targetArg;
let outArg;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--if-missing') ifMissing = true;
  else if (args[i] === '--target') targetArg = args[++i] ?? usage('--target needs a triple');
  else if (args[i] === '--out') outArg = args[++i] ?? usage('--out needs a directory');
  else usage(`unknown argument: ${args[i]}`);
}
if (targetArg !== undefined && !RUST_TARGETS[targetArg]) usage(`unknown target "${targetArg}"`);

function isMusl() {
  if (process.platform !== 'linux') return false;
  const report = process.report;
  if (report && typeof report.getReport === 'function') {
    const saved = report.excludeNetwork;
    report.excludeNetwork = true; // skip slow network-interface enumeration
    try {
      const header = report.getReport().header;
      return !(header && header.glibcVersionRuntime);
    } finally {
      report.excludeNetwork = saved;
    }
  }
  return readdirSafe('/lib').some((f) => f.startsWith('ld-musl-'));
}

function readdirSafe(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function platformTriple() {
  const { platform, arch } = process;
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

const hostTriple = platformTriple();
const triple = targetArg ?? hostTriple;
const cross = triple !== hostTriple;
const rustTarget = RUST_TARGETS[triple];
// A cross build never lands in native/ by default: its ncx-runtime and ncx-init would replace
// this host's (same file names), and the next container would fail with "Exec format error".
const outDir = outArg ? resolve(outArg) : cross ? join(repo, 'native', triple) : join(repo, 'native');
const addonOut = join(outDir, `ncx.${triple}.node`);
const runtimeOut = join(outDir, process.platform === 'win32' ? 'ncx-runtime.exe' : 'ncx-runtime');
const initOut = join(outDir, 'ncx-init');
const rel = (p) => relative(process.cwd(), p) || '.';

function prebuiltPackage() {
  const name = `@ncx/native-${triple}`;
  try {
    return { name, path: require.resolve(name) };
  } catch {
    return null;
  }
}

function newestInputMtime() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'target' || entry.name === '.git') continue;
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(repo, 'crates'));
  for (const f of ['Cargo.toml', 'Cargo.lock']) {
    const p = join(repo, f);
    if (existsSync(p)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function upToDate() {
  if (!existsSync(addonOut) || !existsSync(runtimeOut) || !existsSync(initOut)) return false;
  const oldestOutput = Math.min(statSync(addonOut).mtimeMs, statSync(runtimeOut).mtimeMs, statSync(initOut).mtimeMs);
  return oldestOutput > newestInputMtime();
}

// Copy through a temporary name and rename: replacing a .node file in place
// could crash a process that has the old one mapped.
function install(src, dest, mode) {
  const tmp = `${dest}.tmp-${process.pid}`;
  try {
    copyFileSync(src, tmp);
    chmodSync(tmp, mode);
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

if (ifMissing && !cross) {
  const pkg = prebuiltPackage();
  if (pkg) {
    console.log(`build-native: nothing to do, prebuilt ${pkg.name} is installed (${rel(dirname(pkg.path))})`);
    process.exit(0);
  }
  if (upToDate()) {
    console.log(`build-native: nothing to do, ${rel(addonOut)} and ${rel(runtimeOut)} are newer than crates/`);
    process.exit(0);
  }
}

const cargo = process.env.CARGO || 'cargo';
const started = Date.now();
// A cross build names its target; the host build does not (its outputs stay in target/release,
// where `cargo test` and incremental builds share them).
const targetFlags = cross ? ['--target', rustTarget] : [];
const musl = triple.endsWith('-musl');
const targetBase = resolve(repo, process.env.CARGO_TARGET_DIR || 'target');
const releaseDir = (base) => join(base, ...(cross ? [rustTarget] : []), 'release');
// musl: a static musl cannot make a cdylib (cargo refuses the crate type), so the addon is built
// without crt-static, as napi-rs does, and links musl's libc.so (the musl Node loads it anyway).
// ncx-runtime and ncx-init are built static (they run outside Node: ncx-init inside any image)
// in a target directory of their own, with rustc's own musl start files and libc.a; linked
// with musl-gcc instead, a "static" binary gets a musl loader it cannot use and segfaults.
// Elsewhere: one build of the addon and ncx-runtime, and ncx-init static (glibc's static-pie).
const env = { ...process.env };
const staticEnv = { ...process.env, CARGO_TARGET_DIR: join(targetBase, 'musl-static') };
const targetEnv = `CARGO_TARGET_${rustTarget.toUpperCase().replace(/-/g, '_')}`;
if (musl) {
  const flags = [env[`${targetEnv}_RUSTFLAGS`] ?? '', '-C target-feature=-crt-static'];
  // Linked dynamically, a musl target needs a musl linker: the host's gcc would link glibc
  // (libc.so.6, /lib64/ld-linux-x86-64.so.2). Debian's musl-tools has one for x86_64.
  if (cross && !env[`${targetEnv}_LINKER`]) {
    const muslGcc = rustTarget.startsWith('x86_64') ? 'musl-gcc' : `${rustTarget.split('-')[0]}-linux-musl-gcc`;
    if (spawnSync(muslGcc, ['--version'], { stdio: 'ignore' }).status !== 0) {
      console.error(`build-native: failed, building ${triple} here needs a musl C toolchain: ${muslGcc} not found (x86_64: apt-get install musl-tools), or set ${targetEnv}_LINKER`);
      process.exit(1);
    }
    env[`${targetEnv}_LINKER`] = muslGcc;
    // Rust's std asks for libgcc_s (the unwinder) when linked dynamically; a glibc host has no
    // musl build of it (Alpine's libgcc has). The Rust target ships LLVM's libunwind for musl:
    // a libgcc_s.so that is a linker script naming it links the unwinder in, statically.
    const sysroot = spawnSync(process.env.RUSTC || 'rustc', ['--print', 'sysroot'], { encoding: 'utf8' }).stdout?.trim();
    const unwind = sysroot && join(sysroot, 'lib', 'rustlib', rustTarget, 'lib', 'self-contained', 'libunwind.a');
    if (unwind && existsSync(unwind)) {
      const shim = join(targetBase, `${rustTarget}-libgcc_s`);
      mkdirSync(shim, { recursive: true });
      writeFileSync(join(shim, 'libgcc_s.so'), `INPUT(${unwind})\n`);
      flags.push(`-L native=${shim}`);
    }
  }
  env[`${targetEnv}_RUSTFLAGS`] = flags.join(' ').trim();
}
const steps = musl
  ? [
      { args: ['build', '--release', ...targetFlags, '-p', 'ncx-napi'], env, dir: releaseDir(targetBase) },
      // Always with --target, also on a musl host: then crt-static applies to these binaries
      // only, not to the build's proc-macros, which must be shared objects.
      { args: ['build', '--release', '--target', rustTarget, '-p', 'ncx-runtime', '-p', 'ncx-init'], env: staticEnv, dir: join(staticEnv.CARGO_TARGET_DIR, rustTarget, 'release') },
    ]
  : [
      { args: ['build', '--release', ...targetFlags, '-p', 'ncx-napi', '-p', 'ncx-runtime'], env, dir: releaseDir(targetBase) },
      // ncx-init (`run --init`) runs inside any image, so it is linked statically.
      { args: ['rustc', '--release', ...targetFlags, '-p', 'ncx-init', '--bin', 'ncx-init', '--', '-C', 'target-feature=+crt-static'], env, dir: releaseDir(targetBase) },
    ];
for (const step of steps) {
  const run = spawnSync(cargo, step.args, {
    cwd: repo,
    env: step.env,
    // cargo's progress goes to stderr; keep our stdout to the one summary line.
    stdio: ['ignore', process.stderr, 'inherit'],
  });
  if (run.error || run.status !== 0) {
    const why = run.error
      ? run.error.code === 'ENOENT'
        ? `"${cargo}" not found: install Rust (https://rustup.rs), or install the prebuilt package @ncx/native-${triple}`
        : run.error.message
      : `cargo ${step.args.join(' ')} exited with ${run.status ?? run.signal}${cross ? ` (is the Rust target installed: rustup target add ${rustTarget}, and a linker for it configured? see docs/install.md)` : ''}`;
    console.error(`build-native: failed, ${why}`);
    process.exit(1);
  }
}

const libName =
  process.platform === 'win32' ? 'ncx_napi.dll' : process.platform === 'darwin' ? 'libncx_napi.dylib' : 'libncx_napi.so';
const builtLib = join(steps[0].dir, libName);
const builtRuntime = join(steps[1].dir, process.platform === 'win32' ? 'ncx-runtime.exe' : 'ncx-runtime');
const builtInit = join(steps[1].dir, 'ncx-init');
for (const p of [builtLib, builtRuntime, builtInit]) {
  if (!existsSync(p)) {
    console.error(`build-native: failed, cargo succeeded but ${p} is missing`);
    process.exit(1);
  }
}

mkdirSync(outDir, { recursive: true });
install(builtLib, addonOut, 0o644);
install(builtRuntime, runtimeOut, 0o755);
install(builtInit, initOut, 0o755);
const secs = ((Date.now() - started) / 1000).toFixed(1);
console.log(`build-native: built ${rel(addonOut)}, ${rel(runtimeOut)} and ${rel(initOut)} for ${triple} in ${secs}s`);
