#!/bin/sh
# bench/oci-runtime.js inside the cgroup v2 VM (../shared/tools/cgroup2-vm; root on the host), where
# crun runs as it is (no wrapper, its own cgroup manager) and all three runtimes create a cgroup.
# The VM sees the host's files over 9p (uncached): before timing, the three runtimes' binaries
# and their shared libraries are copied up into the VM's tmpfs overlay (a `touch` does it), so
# no runtime pays for 9p reads. Everything runs 5-30x slower under the VM's software emulation:
# compare the columns, not the absolute numbers with the host's.
#
#   sh bench/oci-runtime-vm.sh [--runs N] [--loop N] [--ncx PATH]     (as root)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
vm=${NCX_CGROUP2_VM:-}
for c in "$vm" "$here/../shared/tools/cgroup2-vm" "$here/../../shared/tools/cgroup2-vm" /work/shared/tools/cgroup2-vm; do
  if [ -n "$c" ] && [ -x "$c" ]; then vm=$c; break; fi
done
[ -x "$vm" ] || { echo "oci-runtime-vm: no cgroup2-vm tool (NCX_CGROUP2_VM)" >&2; exit 2; }
ncx=$here/native/ncx-runtime
args=
while [ $# -gt 0 ]; do
  case "$1" in --ncx) ncx=$2; shift 2 ;; *) args="$args $1"; shift ;; esac
done
# The VM's shared (9p, not overlaid) directory is the current one: an empty one, so that the
# repository and the binaries are reached through the overlay, where a touch copies them up.
run=$(mktemp -d /var/tmp/oci-runtime-vm.XXXXXX)
trap 'rm -rf "$run"' EXIT
cat > "$run/inner.sh" <<IN
set -e
for b in "$ncx" \$(command -v runc) \$(command -v crun); do
  touch "\$b"
  for l in \$(ldd "\$b" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do touch "\$(readlink -f "\$l")"; done
done
cat /proc/loadavg
node "$here/bench/oci-runtime.js" --ncx "$ncx"$args
IN
cd "$run" && uptime && "$vm" --timeout "${VM_TIMEOUT:-1800}" -- sh "$run/inner.sh"; uptime
