#!/bin/sh
# The OCI runtime validation suite (opencontainers/runtime-tools validation/*) against
# ncx-runtime and other runtimes: docs/runtime-conformance.md.
#
#   scripts/conformance.sh build SRC              build the cases from a runtime-tools checkout into $OCI_TOOLS
#   scripts/conformance.sh run RUNTIME [CASE…]    run cases (all by default); prints "CASE pass|fail ok=N notok=M"
#   scripts/conformance.sh check                  the recorded pass list of ncx-runtime (test/conformance/*.pass
#                                                 for this user: root or rootless) must all pass; exit 1 otherwise
#
# RUNTIME: a path or a name on PATH. crun refuses hybrid cgroup hosts: pass `crun-nocgroup`
# to run it with --cgroup-manager=disabled. As root the cases run as root; NCX_CONFORMANCE_USER=NAME
# runs them as that (unprivileged) user through su.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
tools=${OCI_TOOLS:-/tmp/ncx-oci-tools}
per_case=${OCI_CASE_TIMEOUT:-60}

runtime_path() {
  case "$1" in
    crun-nocgroup)
      # As ncx runs crun (docs/runtimes.md): crun refuses a hybrid host unless the v2 mount
      # /sys/fs/cgroup/unified is covered, in a mount namespace of its own (root only).
      w="$tools/crun-nocgroup"
      if [ "$(id -u)" = 0 ] && [ -d /sys/fs/cgroup/unified ]; then
        printf '#!/bin/sh\nexec unshare -m --propagation private sh -c %s crun "$@"\n' \
          "'mount -t tmpfs -o ro tmpfs /sys/fs/cgroup/unified && exec crun --cgroup-manager=disabled \"\$@\"'" > "$w"
      else
        printf '#!/bin/sh\nexec crun --cgroup-manager=disabled "$@"\n' > "$w"
      fi
      chmod 755 "$w"; echo "$w" ;;
    */*) (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")") ;;
    *) command -v "$1" ;;
  esac
}

run_case() { # RUNTIME CASE → one result line
  out=$(cd "$tools" && RUNTIME="$1" timeout "$per_case" "bin/$2" 2>&1) && rc=0 || rc=$?
  ok=$(printf '%s\n' "$out" | grep -c '^ok ' || true)
  notok=$(printf '%s\n' "$out" | grep -c '^not ok ' || true)
  if [ "$rc" = 0 ] && [ "$notok" = 0 ]; then r=pass; else r=fail; fi
  echo "$2 $r ok=$ok notok=$notok rc=$rc"
}

case "${1:-}" in
  build)
    src=${2:?usage: conformance.sh build RUNTIME_TOOLS_SRC}
    mkdir -p "$tools/bin"
    cp -r "$src"/. "$tools/"
    export PATH="/usr/local/go/bin:$PATH" GOFLAGS=-mod=vendor CGO_ENABLED=0
    (cd "$tools" && go build -o runtimetest ./cmd/runtimetest && for d in validation/*/; do
      n=$(basename "$d"); [ "$n" = util ] || go build -o "bin/$n" "./$d"; done)
    chmod -R a+rX "$tools"
    ;;
  run)
    shift; rt=$(runtime_path "$1"); shift
    cases=${*:-$(ls "$tools/bin")}
    if [ -n "${NCX_CONFORMANCE_USER:-}" ]; then
      # The harness copies runtimetest into each bundle keeping its owner (an lchown): as the
      # user, that works only on a copy of the suite the user owns.
      utools="$tools.$NCX_CONFORMANCE_USER"
      if [ ! -e "$utools/runtimetest" ] || [ "$tools/runtimetest" -nt "$utools/runtimetest" ]; then
        rm -rf "$utools"; cp -a "$tools" "$utools"; chown -R "$NCX_CONFORMANCE_USER:" "$utools"
      fi
    fi
    for c in $cases; do
      if [ -n "${NCX_CONFORMANCE_USER:-}" ]; then
        su "$NCX_CONFORMANCE_USER" -s /bin/sh -c "NCX_CONFORMANCE_USER= OCI_TOOLS=$utools OCI_CASE_TIMEOUT=$per_case '$here/scripts/conformance.sh' run '$rt' $c"
      else
        run_case "$rt" "$c"
      fi
    done
    ;;
  check)
    if [ "$(id -u)" = 0 ] && [ -z "${NCX_CONFORMANCE_USER:-}" ]; then list="$here/test/conformance/root.pass"; else list="$here/test/conformance/rootless.pass"; fi
    rt=${NCX_RUNTIME:-$here/native/ncx-runtime}
    failed=0
    for c in $(grep -v '^#' "$list"); do
      line=$("$0" run "$rt" "$c" | tail -1)
      echo "$line"
      case "$line" in *" pass "*) ;; *) failed=$((failed + 1)) ;; esac
    done
    [ "$failed" = 0 ] || { echo "conformance: $failed recorded case(s) regressed ($list)" >&2; exit 1; }
    ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
