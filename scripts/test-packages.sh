#!/usr/bin/env bash
# Tests packed tarballs the way users install them (the release workflow's test step, as root):
# an unprivileged user `ncxtest` prepared by setup-host.sh, then test/e2e/install.test.ts,
# which installs $NCX_PACK_DIR's tarballs into an empty prefix as that user (no cargo on PATH,
# the checkout hidden) and runs containers, completion and compose; plus the from-source
# fallback and the AppArmor profile check. .ci/run runs the same e2e file inside `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${NCX_PACK_DIR:?set NCX_PACK_DIR to the directory npm run package wrote}"
if command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static uidmap slirp4netns iproute2 nftables >/dev/null
fi
id ncxtest >/dev/null 2>&1 || useradd -m ncxtest
bash scripts/setup-host.sh --user ncxtest --ncx "$PWD/bin/run.cjs"
NCX_PACK_DIR=$NCX_PACK_DIR npx mocha --no-config --node-option import=tsx --timeout 600000 test/e2e/install.test.ts
