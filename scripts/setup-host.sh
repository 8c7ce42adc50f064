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

# 2. Subordinate ids: the first 65536 ids from 100000 that no user has in /etc/subuid or
#    /etc/subgid (as useradd allocates, and as ncx system doctor suggests), the same range for
#    both: a fixed 100000-165535 may belong to another user, and overlapping ranges let two
#    users' containers share host ids. Ranges the user has already are kept.
free_subids() {
  cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: -v size=65536 '
    $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ && $3 > 0 { n++; s[n] = $2 + 0; e[n] = $2 + $3 }
    END {
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t; t = e[i]; e[i] = e[j]; e[j] = t }
      start = 100000
      for (i = 1; i <= n; i++) { if (e[i] <= start) continue; if (s[i] >= start + size) break; start = e[i] }
      printf "%d-%d\n", start, start + size - 1
    }'
}
uid=$(id -u "$user")
has_range() { grep -qE "^($user|$uid):" "$1" 2>/dev/null; }
if ! has_range /etc/subuid || ! has_range /etc/subgid; then
  range=$(free_subids)
  has_range /etc/subuid || usermod --add-subuids "$range" "$user"
  has_range /etc/subgid || usermod --add-subgids "$range" "$user"
  say "gave $user the subordinate ids $range"
fi
say "subordinate ranges: $(grep -hE "^($user|$uid):" /etc/subuid | head -1) (uids), $(grep -hE "^($user|$uid):" /etc/subgid | head -1) (gids)"

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
