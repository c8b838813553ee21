#!/usr/bin/env bash
# System packages the real-part tests start (pcscd, socat, Xvfb, ...). Installed when we are root
# with apt-get (CI is); otherwise the tests that need them are skipped with a message naming this
# script. Each part lists its packages here.
set -euo pipefail
PACKAGES=(
  pcscd vsmartcard-vpcd libpcsclite-dev  # smart cards: pcscd + the vpcd virtual reader; pyscard builds on the -dev
  socat                                  # pty pairs for serial lines (card readers, ECR, flashing)
  xvfb xdotool                           # keyboard-wedge readers: an X server and typed keystrokes
  fonts-dejavu-core fonts-dejavu-extra   # receipts and the pixel panel font: DejaVu Sans (Persian), Condensed
  make gcc gcc-multilib                  # vafa flash firmware: mpy-cross, and the 32-bit unix port (unix-x86)
  gcc-arm-none-eabi libnewlib-arm-none-eabi  # vafa flash firmware --board mps2-an385 (Cortex-M3)
  qemu-system-arm                        # runs the mps2-an385 firmware (tests, technicians)
  chromium                               # headless browser tests of the club console and the bridge page
)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing system packages: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "note: missing ${missing[*]}; run 'sudo bash scripts/install-system-deps.sh' or their tests are skipped" >&2
fi
