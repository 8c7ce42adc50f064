#!/bin/sh
# Resource-limit enforcement checks, run as root INSIDE ../shared/tools/cgroup2-vm (a kernel with
# a pure cgroup v2 hierarchy). Delegates a subtree to the test user the way systemd does
# (Delegate=: the unit's directory and its cgroup.procs/subtree_control/threads chowned, the
# user's shell moved into a leaf before privileges are dropped), then runs ncx as that user.
# Prints one "ok - …" / "not ok - …" line per check; exits 1 when any check failed.
#   cgroup2-vm --timeout 900 -- sh test/vm/cgroup.sh
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
U=${NCX_TEST_USER:-ncxtest}
failed=0
T0=$(date +%s)
ok() { echo "ok - $1 [$(( $(date +%s) - T0 ))s]"; }
bad() { echo "not ok - $1 [$(( $(date +%s) - T0 ))s]"; failed=1; }
check() { name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

[ "${CGROUP2_VM:-}" = 1 ] || { echo "not ok - run me inside cgroup2-vm"; exit 1; }
# The VM's init chroots into the host's files, and the kernel refuses user namespaces to a
# chrooted process: re-run this script with those files mounted over / instead (unchroot.c).
if [ -z "${NCX_VM_UNCHROOTED:-}" ]; then
  cc -static -O2 -o /tmp/unchroot "$REPO/test/vm/unchroot.c" || { echo "not ok - build unchroot"; exit 1; }
  NCX_VM_UNCHROOTED=1 exec /tmp/unchroot /newroot /bin/sh "$REPO/test/vm/cgroup.sh"
fi

# --- delegation, as systemd does it for user@UID.service ---
D=/sys/fs/cgroup/ncx-test.slice
mkdir -p "$D/shell"
echo "+cpu +memory +pids +io +cpuset" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
chown "$U" "$D" "$D/cgroup.procs" "$D/cgroup.subtree_control" "$D/cgroup.threads"
chown -R "$U" "$D/shell"
echo $$ > "$D/shell/cgroup.procs"

WORK=$(mktemp -d /tmp/ncx-vm.XXXXXX)
mkdir -p "$WORK/root" "$WORK/xdg" "$WORK/img"
chown -R "$U" "$WORK"
chmod 700 "$WORK/xdg"
chmod 755 "$WORK"
# The image: built on the host beforehand when possible (node is slow under emulation).
if [ -f "$REPO/images/busybox.oci.tar" ]; then cp "$REPO/images/busybox.oci.tar" "$WORK/img/"; else node "$REPO/scripts/mkimage.js" busybox --out "$WORK/img" >/dev/null; fi
chmod -R a+rX "$WORK/img"
# Every call bounded: a hang fails its check instead of eating the VM's time.
# ncx from a copy in tmpfs when the host prepared one (the host's files come over 9p, uncached:
# loading the CLI's modules from there costs a minute per command under emulation).
NCX_JS="$REPO/bin/run.cjs"
if [ -f "$REPO/images/ncx-vm-install.tar" ]; then
  mkdir -p "$WORK/ncx" && tar -xf "$REPO/images/ncx-vm-install.tar" -C "$WORK/ncx" && chmod -R a+rX "$WORK/ncx" && NCX_JS="$WORK/ncx/bin/run.cjs"
fi
ncx() { timeout 180 runuser -u "$U" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$WORK" USER="$U" XDG_RUNTIME_DIR="$WORK/xdg" NCX_ROOT="$WORK/root" NO_COLOR=1 NCX_CGROUP_ENFORCE=1 node "$NCX_JS" "$@"; }
cgdir() { sed -n 's/.*"cgroupsPath": "\(.*\)".*/\1/p' "$(ncx inspect -f '{{.Bundle}}' "$1")/config.json"; }

ncx load -i "$WORK/img/busybox.oci.tar" >/dev/null || { echo "not ok - load busybox"; ls -la "$WORK" "$WORK/img"; id "$U"; exit 1; }
info=$(ncx info --format '{{json .Cgroup}}')
case "$info" in *'"delegated":['*'"memory"'*'"delegationRoot":"/ncx-test.slice"'*) ok "info shows the delegated subtree and its controllers";; *) bad "info shows the delegated subtree and its controllers: $info";; esac

# --- memory: a 32m limit OOM-kills an allocating process; inspect says OOMKilled, exit 137 ---
ncx run --name hog --network none -m 32m --memory-swap 32m busybox awk 'BEGIN { s = "x"; while (1) s = s s }'
rc=$?
check "32m memory limit: the allocating process is OOM-killed (exit $rc)" [ "$rc" = 137 ]
oom=$(ncx inspect -f '{{.State.OOMKilled}}' hog)
check "inspect says OOMKilled ($oom)" [ "$oom" = true ]
ncx run -d --name hog2 --network none -m 32m --memory-swap 32m busybox awk 'BEGIN { s = "x"; while (1) s = s s }' >/dev/null
rc=$(ncx wait hog2)
oom=$(ncx inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' hog2)
check "detached: the monitor records OOMKilled and 137 ($oom, wait $rc)" [ "$oom" = "true 137" ]
ncx rm hog hog2 >/dev/null

# --- pids: --pids-limit 10 caps the container at 10 processes; the next fork fails ---
# (ash gives up at a failed fork, so a child shell forks until it fails: the container then
# held the outer shell, that child shell and 8 sleeps; the outer one counts with builtins only)
out=$(ncx run --rm --network none --pids-limit 10 busybox sh -c 'sh -c "for i in \$(seq 15); do sleep 30 & done" 2>/tmp/err; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; e=0; while read -r l; do case "$l" in *fork*) e=$((e+1));; esac; done </tmp/err; echo "procs=$n forkfailed=$e"' 2>&1)
check "--pids-limit 10: 10 processes at most, then fork fails ($(echo $out))" [ "$(echo $out)" = "procs=9 forkfailed=1" ]

# --- cpu: --cpus 0.5 holds a busy loop near 50% of one CPU ---
ncx run -d --name busy --network none --cpus 0.5 busybox sh -c 'while :; do :; done' >/dev/null
CG=/sys/fs/cgroup$(cgdir busy)
check "the container has its own cgroup below the delegated subtree ($CG)" [ -f "$CG/cgroup.procs" ]
check "cpu.max says 50000 100000 ($(cat "$CG/cpu.max"))" [ "$(cat "$CG/cpu.max")" = "50000 100000" ]
sleep 1
u0=$(sed -n 's/^usage_usec //p' "$CG/cpu.stat"); t0=$(date +%s%N)
sleep 5
u1=$(sed -n 's/^usage_usec //p' "$CG/cpu.stat"); t1=$(date +%s%N)
share=$(awk -v u="$((u1 - u0))" -v t="$(( (t1 - t0) / 1000 ))" 'BEGIN { printf "%.2f", u / t }')
check "--cpus 0.5: the busy loop gets $share of a CPU (0.35-0.60)" awk -v s="$share" 'BEGIN { exit !(s >= 0.35 && s <= 0.60) }'

# --- stats: non-zero memory and CPU ---
st=$(ncx stats --no-stream --format '{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}' busy)
cpu=${st%%%*}
check "stats reports CPU near 50% and non-zero memory ($st)" awk -v c="$cpu" -v m="$st" 'BEGIN { split(m, f, "|"); exit !(c >= 20 && c <= 70 && f[2] !~ /^0B/ && f[3] >= 1) }'

# --- update: a live limit changes ---
ncx update --memory 64m --pids-limit 20 --cpus 1 busy >/dev/null
check "update: memory.max $(cat "$CG/memory.max"), pids.max $(cat "$CG/pids.max"), cpu.max $(cat "$CG/cpu.max")" [ "$(cat "$CG/memory.max") $(cat "$CG/pids.max") $(cat "$CG/cpu.max")" = "67108864 20 100000 100000" ]
hc=$(ncx inspect -f '{{.HostConfig.Memory}}' busy)
check "inspect shows the updated limit ($hc)" [ "$hc" = 67108864 ]
ncx rm -f busy >/dev/null

# --- pause: the processes are frozen; unpause resumes them ---
# (written to a temporary file and renamed: a read between the truncation and the write of
# `echo > /tmp/n` saw an empty counter.)
ncx run -d --name counter --network none busybox sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.1; done' >/dev/null
pid=$(ncx inspect -f '{{.State.Pid}}' counter)
sleep 1
ncx pause counter
CC=/sys/fs/cgroup$(cgdir counter)
a=$(cat /proc/$pid/root/tmp/n); sleep 1.5; b=$(cat /proc/$pid/root/tmp/n)
check "pause: frozen (cgroup.events $(grep frozen "$CC/cgroup.events"), counter $a -> $b)" [ "$a" = "$b" -a "$(grep frozen "$CC/cgroup.events")" = "frozen 1" ]
status=$(ncx inspect -f '{{.State.Status}} {{.State.Paused}}' counter)
check "inspect says paused ($status)" [ "$status" = "paused true" ]
ncx unpause counter
sleep 1.5; c=$(cat /proc/$pid/root/tmp/n)
check "unpause: the counter moves again ($b -> $c)" [ "$c" -gt "$b" ]

# --- teardown: the containers' cgroups are removed ---
ncx rm -f counter >/dev/null
sleep 1
left=$(ls -d "$D"/ncx/*/ 2>/dev/null | wc -l)
check "rm -f leaves no container cgroup behind ($left left)" [ "$left" = 0 ]

exit $failed
