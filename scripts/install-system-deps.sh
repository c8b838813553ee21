#!/usr/bin/env bash
# System packages the real-part tests start (pcscd, socat, Xvfb, ...). Installed when we are root
# with apt-get (CI is); otherwise the tests that need them are skipped with a message naming this
# script. Each later part adds its packages to PACKAGES.
set -euo pipefail
PACKAGES=()
[ ${#PACKAGES[@]} -eq 0 ] && exit 0
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "note: missing ${missing[*]}; run 'sudo bash scripts/install-system-deps.sh' or their tests are skipped" >&2
fi
