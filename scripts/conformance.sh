#!/bin/sh
# The OCI runtime validation suite (opencontainers/runtime-tools validation/*) against
# ncx-runtime and other runtimes: docs/runtime-conformance.md.
#
#   scripts/conformance.sh fetch                  print the directory of the pinned runtime-tools source, downloaded
#                                                 from the Go module proxy (go mod download) when not cached
#   scripts/conformance.sh build SRC              build the cases from a runtime-tools checkout into $OCI_TOOLS
#   scripts/conformance.sh run RUNTIME [CASE…]    run cases (all by default); prints "CASE pass|fail ok=N notok=M"
#   scripts/conformance.sh check                  the recorded pass list of ncx-runtime (test/conformance/*.pass
#                                                 for this user: root or rootless) must all pass; exit 1 otherwise
#   scripts/conformance.sh vm [RUNTIME…]          in the cgroup v2 VM (cgroup2-vm; root on the host): the cgroup
#                                                 cases ported to v2 (test/vm/oci-cgroups.sh) as root and rootless
#                                                 (ncxtest, delegated subtree), and the suite's VM_CASES as root
#   scripts/conformance.sh vm-check               `vm` for ncx-runtime; test/conformance/vm.pass must all pass
#   scripts/conformance.sh vm-tool                print the cgroup2-vm tool's path (exit 2: none)
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
  # A case that validates inside the container (util.RuntimeInsideValidate without its own TAP)
  # passes on the inner runtimetest's TAP lines; with none it asserted nothing (its output was
  # lost, or runtimetest never ran): "empty", not a pass. (The _fail cases expect the
  # create to fail, so they print nothing when it does.)
  if [ "$r" = pass ] && [ "$ok" = 0 ] && grep -qs 'RuntimeInsideValidate(g, nil' "$tools/validation/$2"/*.go && ! grep -qs 'if err == nil {' "$tools/validation/$2"/*.go; then r=empty; fi
  echo "$2 $r ok=$ok notok=$notok rc=$rc"
}

# The suite as docs/runtime-conformance.md measured it: upstream 5e63903, as a Go pseudo-version
# (the proxy serves any commit of a public module; its zip has no vendor/ tree, so the build then
# fetches the dependencies go.sum names from the proxy too).
RUNTIME_TOOLS=github.com/opencontainers/runtime-tools@v0.9.1-0.20251205004911-5e639034dcdc

case "${1:-}" in
  fetch)
    export PATH="/usr/local/go/bin:$PATH"
    dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$RUNTIME_TOOLS" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -n "$dir" ] && [ -d "$dir/validation" ] || { echo "conformance: could not download $RUNTIME_TOOLS" >&2; exit 1; }
    echo "$dir"
    ;;
  build)
    src=${2:?usage: conformance.sh build RUNTIME_TOOLS_SRC}
    mkdir -p "$tools/bin"
    cp -r "$src"/. "$tools/"
    chmod -R u+w "$tools" # (a module cache copy is read-only)
    # A git checkout vendors its dependencies; a module proxy zip keeps only vendor/modules.txt.
    if [ -d "$tools/vendor/golang.org" ] || [ -d "$tools/vendor/github.com" ]; then mod=vendor; else mod=mod; rm -rf "$tools/vendor"; fi
    export PATH="/usr/local/go/bin:$PATH" GOFLAGS=-mod=$mod CGO_ENABLED=0
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
  vm)
    # One VM boot. The suite's cases it runs (VM_CASES, default: the ones this host cannot
    # judge: process_capabilities needs CAP_SYS_RESOURCE, which root lacks here) are copied,
    # with runtimetest, into a fresh directory that is the VM's current directory (its only
    # read-write share; the host's /tmp and /var/tmp are hidden in the VM, the repository is
    # read through the VM's read-only view of the host). Nothing is written into the checkout.
    shift
    rts=${*:-$here/native/ncx-runtime runc crun}
    vm=$("$0" vm-tool) || exit 2
    cases=${VM_CASES-process_capabilities}
    run=$(mktemp -d /var/tmp/ncx-oci-vm.XXXXXX)
    trap 'rm -rf "$run"' EXIT
    vt="$run/tools"
    mkdir -p "$vt/bin"
    cp "$tools/runtimetest" "$tools"/rootfs-*.tar.gz "$vt/"
    for c in $cases; do cp "$tools/bin/$c" "$vt/bin/"; mkdir -p "$vt/validation/$c"; cp "$tools/validation/$c"/*.go "$vt/validation/$c/"; done
    # Inside: the suite and the bundles in tmpfs; results as "root|rootless CASE RUNTIME pass|fail …".
    cat > "$run/inner.sh" <<EOF
cp -a '$vt' /run/oci-tools && mkdir -p /run/oci-tmp && cd '$here' || exit 1
sh test/vm/oci-cgroups.sh $rts | sed 's/^/root /'
sh test/vm/oci-cgroups.sh --user ${NCX_CONFORMANCE_USER:-ncxtest} $rts | sed 's/^/rootless /'
for rt in $rts; do
  for c in $cases; do
    TMPDIR=/run/oci-tmp OCI_TOOLS=/run/oci-tools sh scripts/conformance.sh run "\$rt" "\$c" | while read -r name rest; do echo "root \$name \$(basename "\$rt") \$rest"; done
  done
done
EOF
    (cd "$run" && "$vm" --timeout "${VM_TIMEOUT:-1200}" -- sh "$run/inner.sh")
    ;;
  vm-tool)
    # The cgroup2-vm tool: $NCX_CGROUP2_VM, or where test/e2e/cgroup-vm.test.ts looks.
    for c in "${NCX_CGROUP2_VM:-}" "$here/../shared/tools/cgroup2-vm" "$here/../../shared/tools/cgroup2-vm" /work/shared/tools/cgroup2-vm; do
      if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; exit 0; fi
    done
    echo "conformance: no cgroup2-vm tool (NCX_CGROUP2_VM)" >&2; exit 2
    ;;
  vm-check)
    # (The VM's console may put stray characters before a line: the match is not anchored to
    # the line's start.)
    out=$("$0" vm "${NCX_RUNTIME:-$here/native/ncx-runtime}") || { echo "$out"; echo "conformance: the VM run failed" >&2; exit 1; }
    echo "$out"
    failed=0 n=0
    for line in $(grep -v '^#' "$here/test/conformance/vm.pass" | tr ' ' '|'); do
      mode=${line%%|*} c=${line#*|} n=$((n + 1))
      printf '%s\n' "$out" | grep -Eq "(^|[^a-z])$mode $c [^ ]+ pass" || { echo "conformance (VM): $mode $c regressed" >&2; failed=$((failed + 1)); }
    done
    [ "$failed" = 0 ] || { echo "conformance (VM): $failed of $n recorded case(s) regressed (test/conformance/vm.pass)" >&2; exit 1; }
    echo "conformance (VM): all $n recorded cases pass"
    ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
