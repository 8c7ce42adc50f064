#!/usr/bin/env bash
# The linux-arm64-gnu native package, cross-built on an x64 glibc host and smoke-tested under
# qemu-user (.ci/run runs this in the background; docs/install.md "Which triples are built where").
# Needs: rustup (adds aarch64-unknown-linux-gnu), Debian's gcc-aarch64-linux-gnu +
# libc6-dev-arm64-cross (the linker and C library that zstd-sys and the static ncx-init link
# with) and qemu-user. Usage: scripts/cross-arm64.sh [OUT_DIR]   (default: pack-arm64/)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$PWD/pack-arm64}
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu && ! rustup target add aarch64-unknown-linux-gnu; then
  echo "cross-arm64: skipped: the Rust target aarch64-unknown-linux-gnu is not installed and rustup could not add it"
  exit 0
fi
for tool in aarch64-linux-gnu-gcc qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "cross-arm64: $tool is missing (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)" >&2; exit 1; }
done
start=$(date +%s)
# Only the arm64 package is wanted here: package.js also packs this host's native package and
# the main package from the existing build (--no-build), which costs a second.
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc nice node scripts/package.js --no-build --target linux-arm64-gnu --out "$out"
tgz="$out/ncx-native-linux-arm64-gnu-$(node -p "require('./package.json').version").tgz"
dir=$(mktemp -d /tmp/ncx-arm64-XXXXXX)
trap 'rm -rf "$dir"' EXIT
tar -xzf "$tgz" -C "$dir"
pkg="$dir/package"
# The package says what it is for (npm picks it by these fields) and holds aarch64 ELF files.
node -e '
const fs = require("fs"), p = JSON.parse(fs.readFileSync(process.argv[1] + "/package.json", "utf8"))
const want = {os: ["linux"], cpu: ["arm64"], libc: ["glibc"]}
for (const k of Object.keys(want)) if (JSON.stringify(p[k]) !== JSON.stringify(want[k])) throw new Error(`package.json ${k} is ${JSON.stringify(p[k])}, not ${JSON.stringify(want[k])}`)
for (const f of ["ncx.linux-arm64-gnu.node", "ncx-runtime", "ncx-init"]) {
  const b = fs.readFileSync(process.argv[1] + "/" + f)
  if (b.readUInt32BE(0) !== 0x7f454c46 || b.readUInt16LE(18) !== 183) throw new Error(`${f} is not an aarch64 ELF file`)
}' "$pkg"
# The binaries run (under emulation) and answer as the x64 ones do. A container cannot start
# under qemu-user (the runtime re-executes itself from a sealed memfd copy through execveat,
# which qemu-user does not implement): that needs the release workflow's arm64 runner.
qemu-aarch64 -L /usr/aarch64-linux-gnu "$pkg/ncx-runtime" --version | grep -qx "ncx-runtime $(node -p "require('./package.json').version")"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$pkg/ncx-runtime" features >"$dir/features.json"
node -e 'const f = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); if (!f.ociVersionMin || !f.hooks.includes("poststop")) throw new Error("features document incomplete")' "$dir/features.json"
# ncx-init is static: no -L needed; it runs a command (a host binary, run natively) and passes its exit status on.
status=0; qemu-aarch64 "$pkg/ncx-init" /bin/sh -c 'exit 7' || status=$?
[ "$status" = 7 ] || { echo "cross-arm64: ncx-init passed exit status $status on, not 7" >&2; exit 1; }
echo "cross-arm64: @ncx/native-linux-arm64-gnu built and checked under qemu-user in $(( $(date +%s) - start ))s: $(du -h "$tgz" | cut -f1) packed"
