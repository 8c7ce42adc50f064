#!/usr/bin/env bash
# Compile-checks an AppArmor profile without loading it: apparmor_parser -Q (parse and compile,
# nothing reaches the kernel; works without AppArmor in the kernel).
#
# ncx's profile uses AppArmor 4 (`abi <abi/4.0>`, the `userns,` rule), which Ubuntu 24.04's
# parser knows and Debian 12's (3.0.8) does not. Where the local parser lacks abi 4.0, this
# fetches Debian 13's apparmor and libc6 packages with apt, through a private apt configuration
# (nothing is installed on the system: the packages are unpacked into a cache directory), and
# runs that parser with that libc's own loader. Needs root for that fetch (as CI runs).
#
# Usage: scripts/check-apparmor-profile.sh PROFILE_FILE
set -euo pipefail
file=${1:?usage: check-apparmor-profile.sh PROFILE_FILE}

if command -v apparmor_parser >/dev/null 2>&1 && [ -e /etc/apparmor.d/abi/4.0 ]; then
  exec apparmor_parser -Q -K "$file"
fi

cache=${NCX_APPARMOR_CACHE:-/var/cache/ncx-apparmor4}
root="$cache/root"
if [ ! -x "$root/usr/sbin/apparmor_parser" ]; then
  mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$root"
  # The Debian archive this machine's apt already uses (its main suite, not the security one).
  mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk '$2 !~ /-security$/ {print $1; exit}')
  [ -n "$mirror" ] || { echo "check-apparmor-profile: no Debian archive configured for apt" >&2; exit 1; }
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$cache/sources.list"
  apt_opts=(-o "Dir::Etc::sourcelist=$cache/sources.list" -o Dir::Etc::sourceparts=/dev/null
    -o "Dir::State::Lists=$cache/lists" -o "Dir::Cache=$cache" -o "Dir::Cache::archives=$cache/archives"
    -o APT::Sandbox::User=root -qq)
  apt-get "${apt_opts[@]}" update >/dev/null
  (cd "$cache/archives" && apt-get "${apt_opts[@]}" download apparmor libc6 >/dev/null)
  for deb in "$cache"/archives/apparmor_*.deb "$cache"/archives/libc6_*.deb; do dpkg-deb -x "$deb" "$root"; done
fi
loader="$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
[ -x "$loader" ] || loader=$(ls "$root"/usr/lib/*/ld-linux*.so.* | head -1)
exec "$loader" --library-path "$(dirname "$loader")" "$root/usr/sbin/apparmor_parser" -Q -K --base "$root/etc/apparmor.d" "$file"
