#!/bin/sh
# The OCI runtime validation suite's cgroup cases, ported to cgroup v2; run as root INSIDE
# ../shared/tools/cgroup2-vm (a pure cgroup v2 kernel), against any OCI runtimes side by side.
#
# Why a port: runtime-tools' own linux_cgroups_* cases read the v1 hierarchies only
# (cgroups.FindCgroup answers "cgroupv2 is not supported yet" on a v2 host and every CgroupV2
# reader is "unimplemented yet", upstream 5e63903), so on a v2 kernel they fail for every
# runtime. This script gives each runtime the same linux.resources as those cases (the values
# that exist on v2), creates the container, reads the cgroup v2 files of the cgroup its PID 1
# is in (/proc/PID/cgroup), and compares them with the OCI → v2 conversion runc and crun
# document (runc docs/cgroup-v2.md): memory.swap.max = swap − limit, cpu.weight =
# 1 + (shares − 2) × 9999 / 262142, io.weight = 1 + (weight − 10) × 9999 / 990.
# v1-only fields (kernel, kernelTCP, swappiness, realtime, blkio leafWeight and weightDevice)
# are left out of the configs; net_cls/net_prio (linux_cgroups_network) do not exist on v2.
# The device list (linux_cgroups_devices) is an eBPF program on v2, with no file to read: it
# is checked by what opens inside the container (root only).
#
#   cgroup2-vm -- sh test/vm/oci-cgroups.sh [--user NAME] RUNTIME...
# Prints "CASE RUNTIME pass|fail [why]" per case and runtime. --user runs the runtimes as that
# user, rootless, in a subtree delegated to it as systemd does (test/vm/cgroup.sh).
set -u
[ "${CGROUP2_VM:-}" = 1 ] || { echo "oci-cgroups: run me inside cgroup2-vm" >&2; exit 2; }
user=
if [ "${1:-}" = --user ]; then user=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: oci-cgroups.sh [--user NAME] RUNTIME..." >&2; exit 2; }

work=$(mktemp -d /run/oci-cgroups.XXXXXX)
chmod 755 "$work"
base=/
if [ -n "$user" ]; then
  # Delegation as systemd does it (Delegate=yes): the subtree and its control files are the
  # user's, the user's shell is moved into a leaf of it before privileges are dropped.
  base=/oci-test.slice
  mkdir -p "/sys/fs/cgroup$base/shell"
  chown "$user" "/sys/fs/cgroup$base" "/sys/fs/cgroup$base/cgroup.procs" "/sys/fs/cgroup$base/cgroup.subtree_control" "/sys/fs/cgroup$base/cgroup.threads"
  chown -R "$user" "/sys/fs/cgroup$base/shell"
  echo "+cpu +memory +pids +io +cpuset +hugetlb" > "/sys/fs/cgroup$base/cgroup.subtree_control"
fi

# One bundle: a static busybox, `runc spec` (--rootless for a user), PID 1 sleeps at the gate.
mkdir -p "$work/bundle/rootfs/bin"
cp "$(command -v busybox)" "$work/bundle/rootfs/bin/busybox"
ln -s busybox "$work/bundle/rootfs/bin/sleep"
(cd "$work/bundle" && if [ -n "$user" ]; then runc spec --rootless; else runc spec; fi)
# (spec --rootless maps the uid that ran it, root here: map the user's ids instead)
jq --argjson u "$(id -u "${user:-root}")" --argjson g "$(id -g "${user:-root}")" '.process.terminal = false | .process.args = ["sleep", "60"]
  | if .linux.uidMappings then .linux.uidMappings[0].hostID = $u | .linux.gidMappings[0].hostID = $g else . end' "$work/bundle/config.json" > "$work/base.json"
[ -z "$user" ] || chown -R "$user" "$work"

as() { # run as the test user (inside the delegated subtree) or as root
  if [ -n "$user" ]; then
    # moved by root (who owns the common ancestor), then privileges dropped
    sh -c 'echo $$ > "$0" && u=$1 w=$2 && shift 2 && exec runuser -u "$u" -- env XDG_RUNTIME_DIR="$w/xdg" "$@"' "/sys/fs/cgroup$base/shell/cgroup.procs" "$user" "$work" "$@"
  else
    "$@"
  fi
}

ncpu=$(nproc)
cpus="0-$((ncpu - 1))"
[ "$ncpu" = 1 ] && cpus=0

# (sh has no locals: run_case's variables are its own, the callers' are others.)
# CASE JQ-RESOURCES CHECKS RUNTIME [SCRIPT]: CHECKS is "FILE=EXPECTED …" (a file of the
# container's cgroup; _ stands for a space), or "exec=EXPECTED": the container is started and
# SCRIPT run in it by `RUNTIME exec` (busybox sh), its output's lines joined by _.
run_case() {
  name=$1 path=$2 res=$3 checks=$4 rt=$5 script=${6:-}
  id=c$$-$(echo "$name" | tr -c 'a-z0-9\n' -)
  jq --arg p "$path" "$res | .linux.cgroupsPath = \$p" "$work/base.json" > "$work/bundle/config.json"
  [ -z "$user" ] || chown "$user" "$work/bundle/config.json"
  state="$work/state-$(basename "$rt")"
  # The container's PID 1 inherits these descriptors: files, not a pipe that $(…) would wait on.
  if ! as timeout 60 "$rt" --root "$state" create --bundle "$work/bundle" "$id" </dev/null >/dev/null 2>"$work/err"; then
    echo "$name $(basename "$rt") fail create: $(tail -n 1 "$work/err")"
    as "$rt" --root "$state" delete --force "$id" >/dev/null 2>&1
    return
  fi
  pid=$(as "$rt" --root "$state" state "$id" | jq -r .pid)
  cg=/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
  why=
  for c in $checks; do
    f=${c%%=*} want=$(echo "${c#*=}" | tr _ ' ')
    if [ "$f" = exec ]; then
      as "$rt" --root "$state" start "$id" </dev/null >/dev/null 2>&1
      got=$(as timeout 60 "$rt" --root "$state" exec "$id" /bin/busybox sh -c "$script" </dev/null 2>&1 | tr '\n' ' ' | sed 's/ $//')
    else
      got=$(cat "$cg/$f" 2>/dev/null || echo "(no $f)")
    fi
    [ "$got" = "$want" ] || why="$why $f=$(echo "$got" | tr ' ' _)(want_$(echo "$want" | tr ' ' _))"
  done
  as "$rt" --root "$state" delete --force "$id" >/dev/null 2>&1 || why="$why delete-failed"
  [ -d "$cg" ] && [ "$cg" != /sys/fs/cgroup/ ] && why="$why cgroup-left-after-delete:${cg#/sys/fs/cgroup}"
  if [ -z "$why" ]; then echo "$name $(basename "$rt") pass"; else echo "$name $(basename "$rt") fail$why"; fi
}

# The suite's values (validation/linux_cgroups_*/main.go), v2-existing fields only; a case the
# suite runs with several values is one line per value (CASE/VALUE).
mem=50593792
# linux_cgroups_blkio throttles /dev/sda (8:0), which the VM lacks: a loop device stands in.
loop= blk=
modprobe loop 2>/dev/null
truncate -s 16M "$work/disk" && loop=$(losetup -f --show "$work/disk") && blk=$(cat "/sys/block/${loop#/dev/}/dev")
for rt in "$@"; do
  command -v "$rt" >/dev/null 2>&1 || { echo "oci-cgroups: no runtime $rt" >&2; continue; }
  rt=$(command -v "$rt")
  for form in abs rel; do
    # (rootless: inside the delegated subtree; a relative path is read from the cgroup root)
    if [ "$form" = abs ]; then p=${base%/}/cgrouptest; pre=linux_cgroups; else p=${base#/}${user:+/}testdir/cgrouptest/container; pre=linux_cgroups_relative; fi
    run_case "${pre}_pids" "$p" '.linux.resources.pids = {limit: 1000}' "pids.max=1000" "$rt"
    for l in $mem 151781376; do
      run_case "${pre}_memory/$l" "$p" ".linux.resources.memory = {limit: $l, reservation: $l, swap: $l}" \
        "memory.max=$l memory.low=$l memory.swap.max=0" "$rt"
    done
    run_case "${pre}_cpus" "$p" ".linux.resources.cpu = {shares: 1024, period: 100000, quota: 50000, cpus: \"$cpus\", mems: \"0\"}" \
      "cpu.weight=39 cpu.max=50000_100000 cpuset.cpus=$cpus cpuset.mems=0" "$rt"
    if [ -z "$blk" ]; then
      echo "${pre}_blkio $(basename "$rt") fail no loop device to throttle"
    else
      maj=${blk%:*} min=${blk#*:}
      for rate in 102400 204800; do
        thr="{major: $maj, minor: $min, rate: $rate}"
        io=".linux.resources.blockIO = {throttleReadBpsDevice: [$thr], throttleWriteBpsDevice: [$thr], throttleReadIOPSDevice: [$thr], throttleWriteIOPSDevice: [$thr]}"
        max="io.max=${blk}_rbps=${rate}_wbps=${rate}_riops=${rate}_wiops=$rate"
        run_case "${pre}_blkio/$rate" "$p" "$io | .linux.resources.blockIO.weight = 500" "io.weight=default_4950 $max" "$rt"
        run_case "${pre}_blkio/$rate-noweight" "$p" "$io" "io.weight=default_100 $max" "$rt"
      done
    fi
    run_case "${pre}_hugetlb" "$p" '.linux.resources.hugepageLimits = [{pageSize: "2MB", limit: 2147483648}]' "hugetlb.2MB.max=2147483648" "$rt"
    # linux_cgroups_devices lists allow rules in the v1 devices.list; on v2 the rules are an eBPF
    # program, so the port checks what it does: a node allowed "r" opens for reading but not
    # for writing, a node with no rule does not open, the default devices (/dev/null) still do.
    # Root only: a rootless runtime cannot load a device program (runc ignores the failure).
    if [ -z "$user" ] && [ -z "$blk" ]; then
      echo "${pre}_devices $(basename "$rt") fail no loop device"
    elif [ -z "$user" ]; then
      run_case "${pre}_devices" "$p" ".linux.devices = [{path: \"/dev/blk-r\", type: \"b\", major: $maj, minor: $min, fileMode: 438}, {path: \"/dev/blk-x\", type: \"b\", major: $maj, minor: $((min + 1)), fileMode: 438}]
        | .linux.resources.devices = [{allow: false, access: \"rwm\"}, {allow: true, type: \"b\", major: $maj, minor: $min, access: \"r\"}]" \
        "exec=r-ok_w-denied_x-denied_null-ok" "$rt" \
        'for t in "r 3</dev/blk-r" "w 3<>/dev/blk-r" "x 3</dev/blk-x" "null 3<>/dev/null"; do (eval "exec ${t#* }") 2>/dev/null && echo ${t%% *}-ok || echo ${t%% *}-denied; done'
    fi
  done
  # Not in the suite: OCI `unified` (cgroup v2 files written as given).
  run_case "v2_unified" "${base%/}/cgrouptest" '.linux.resources.unified = {"memory.high": "41943040", "pids.max": "77"}' "memory.high=41943040 pids.max=77" "$rt"
  # delete_resources: the container's cgroup is gone after delete (run_case checks it on every case).
done
[ -z "$loop" ] || losetup -d "$loop"
rm -rf "$work"
[ -z "$user" ] || rmdir "/sys/fs/cgroup$base/shell" 2>/dev/null
exit 0
