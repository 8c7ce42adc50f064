#!/usr/bin/env bash
# Prepares a Debian/Ubuntu host (a CI runner, a fresh VM) for rootless ncx, as root. The
# GitHub Action (action.yml) runs it; .ci/run runs it too, so every step is exercised.
#
#   1. newuidmap/newgidmap (uidmap) and slirp4netns, when they are missing (apt-get)
#   2. a subordinate uid and gid range of 65536 for the user, when it has none (usermod)
#   3. /dev/net/tun usable by the user (slirp4netns opens it)
#   4. AppArmor: under kernel.apparmor_restrict_unprivileged_userns=1 (Ubuntu >= 23.10,
#      GitHub's ubuntu-24.04), install and load the profile `ncx system doctor
#      --apparmor-profile` prints for that user's ncx-runtime (the way Ubuntu ships one for
#      podman and rootlesskit). The restriction itself stays on.
#
# Usage: sudo scripts/setup-host.sh --user NAME --ncx PATH_TO_NCX
set -euo pipefail

user=${SUDO_USER:-}
ncx=
while [ $# -gt 0 ]; do
  case $1 in
    --user) user=$2; shift 2 ;;
    --ncx) ncx=$2; shift 2 ;;
    *) echo "setup-host: unknown argument $1 (usage: setup-host.sh --user NAME --ncx PATH)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "setup-host: run as root (sudo)" >&2; exit 1; }
[ -n "$user" ] && id "$user" >/dev/null 2>&1 || { echo "setup-host: --user NAME: an existing user" >&2; exit 2; }
[ -n "$ncx" ] || { echo "setup-host: --ncx PATH: the ncx to prepare for" >&2; exit 2; }
say() { echo "setup-host: $*"; }

# 1. Tools.
missing=()
command -v newuidmap >/dev/null 2>&1 || missing+=(uidmap)
command -v slirp4netns >/dev/null 2>&1 || missing+=(slirp4netns)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
else
  say "newuidmap and slirp4netns are installed"
fi

# 2. Subordinate ids: the first 65536 ids above every range already given out (and >= 100000).
for kind in uid gid; do
  file=/etc/sub$kind
  touch "$file"
  if grep -q "^$user:" "$file" || grep -q "^$(id -u "$user"):" "$file"; then
    say "$user has a subordinate $kind range: $(grep -m1 -E "^($user|$(id -u "$user")):" "$file")"
  else
    start=$(awk -F: 'BEGIN {m = 100000} {e = $2 + $3; if (e > m) m = e} END {print m}' "$file")
    usermod "--add-sub${kind}s" "$start-$((start + 65535))" "$user"
    say "gave $user the subordinate ${kind}s $start-$((start + 65535))"
  fi
done

# 3. TUN device: udev makes it 0666, some VMs and containers leave it 0600.
if [ -c /dev/net/tun ]; then chmod 0666 /dev/net/tun; fi

# 4. AppArmor.
sysctl_file=/proc/sys/kernel/apparmor_restrict_unprivileged_userns
if [ "$(cat "$sysctl_file" 2>/dev/null || echo absent)" = 1 ]; then
  profile=/etc/apparmor.d/ncx-runtime
  runuser -u "$user" -- "$ncx" system doctor --apparmor-profile >"$profile.tmp"
  mv "$profile.tmp" "$profile"
  apparmor_parser -r "$profile"
  say "kernel.apparmor_restrict_unprivileged_userns=1: loaded $profile ($(grep -m1 '^profile' "$profile"))"
else
  say "kernel.apparmor_restrict_unprivileged_userns is $(cat "$sysctl_file" 2>/dev/null || echo absent): no AppArmor profile needed"
fi
