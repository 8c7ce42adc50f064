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
// Usage: node scripts/build-native.js [--if-missing]
//   --if-missing  do nothing when the prebuilt package @ncx/native-<triple> is
//                 installed, or when both outputs exist and are newer than every
//                 file under crates/ (plus Cargo.toml / Cargo.lock). Meant for
//                 postinstall: cheap when there is nothing to do, and it does not
//                 fail the install when cargo is missing (it says so instead).
//
// The platform-triple logic is duplicated in src/native/index.ts (this script
// runs before TypeScript is compiled); keep the two in sync.

import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const ifMissing = args.includes('--if-missing');
const unknown = args.filter((a) => a !== '--if-missing');
if (unknown.length > 0) {
  console.error(`build-native: unknown argument(s): ${unknown.join(' ')}\nusage: node scripts/build-native.js [--if-missing]`);
  process.exit(2);
}

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

const triple = platformTriple();
const outDir = join(repo, 'native');
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
  const oldestOutput = Math.min(statSync(addonOut).mtimeMs, statSync(runtimeOut).mtimeMs);
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

if (ifMissing) {
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
const build = spawnSync(cargo, ['build', '--release', '-p', 'ncx-napi', '-p', 'ncx-runtime'], {
  cwd: repo,
  // cargo's progress goes to stderr; keep our stdout to the one summary line.
  stdio: ['ignore', process.stderr, 'inherit'],
});
if (build.error || build.status !== 0) {
  const why = build.error
    ? build.error.code === 'ENOENT'
      ? `"${cargo}" not found (install Rust from https://rustup.rs)`
      : build.error.message
    : `cargo build exited with ${build.status ?? build.signal}`;
  if (ifMissing && build.error && build.error.code === 'ENOENT') {
    // Postinstall must not fail the install; ncx reports the missing addon when used.
    console.log(`build-native: skipped, ${why}; no prebuilt @ncx/native-${triple} either`);
    process.exit(0);
  }
  console.error(`build-native: failed, ${why}`);
  process.exit(1);
}

const targetDir = resolve(repo, process.env.CARGO_TARGET_DIR || 'target', 'release');
const libName =
  process.platform === 'win32' ? 'ncx_napi.dll' : process.platform === 'darwin' ? 'libncx_napi.dylib' : 'libncx_napi.so';
const builtLib = join(targetDir, libName);
const builtRuntime = join(targetDir, process.platform === 'win32' ? 'ncx-runtime.exe' : 'ncx-runtime');
for (const p of [builtLib, builtRuntime]) {
  if (!existsSync(p)) {
    console.error(`build-native: failed, cargo succeeded but ${p} is missing`);
    process.exit(1);
  }
}

// ncx-init (`run --init`) runs inside any image, so it is linked statically (glibc's
// static-pie: no loader or libc needed in the container).
const init = spawnSync(cargo, ['rustc', '--release', '-p', 'ncx-init', '--bin', 'ncx-init', '--', '-C', 'target-feature=+crt-static'], {
  cwd: repo,
  stdio: ['ignore', process.stderr, 'inherit'],
});
if (init.error || init.status !== 0) {
  console.error(`build-native: failed, building the static ncx-init exited with ${init.status ?? init.signal}`);
  process.exit(1);
}

mkdirSync(outDir, { recursive: true });
install(builtLib, addonOut, 0o644);
install(builtRuntime, runtimeOut, 0o755);
install(join(targetDir, 'ncx-init'), initOut, 0o755);
const secs = ((Date.now() - started) / 1000).toFixed(1);
console.log(`build-native: built ${rel(addonOut)} and ${rel(runtimeOut)} in ${secs}s`);
