#!/usr/bin/env bash
# Vafa's two entry points on a fresh machine (see README.md):
#   ./run.sh demo [ARGS]  set up .venv and run `vafa demo`
#   ./run.sh test [ARGS]  set up .venv and run the whole test suite (lint, CPython, MicroPython) with tox
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VAFA_VENV:-.venv}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    if ! python3 -m venv "$VENV" 2>/dev/null; then
      # Debian ships venv separately; install it when we may (CI runs as root).
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
        rm -rf "$VENV" && python3 -m venv "$VENV"
      else
        echo "python3 -m venv failed: install python3-venv (sudo apt-get install python3-venv)" >&2
        exit 1
      fi
    fi
  fi
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
}

cmd=${1:-}
shift || true
case "$cmd" in
  demo)
    ensure_venv
    "$VENV/bin/pip" install -q -e '.[server]'
    exec "$VENV/bin/vafa" demo "$@"
    ;;
  test)
    ensure_venv
    bash scripts/install-system-deps.sh
    # the firmware tests build MicroPython from this source (vafa flash firmware; docs/flashing.md)
    if [ -z "${VAFA_MICROPYTHON_SRC:-}" ] && [ -d ../shared/micropython ]; then export VAFA_MICROPYTHON_SRC="$(cd ../shared/micropython && pwd)"; fi
    "$VENV/bin/pip" install -q 'tox>=4'
    exec "$VENV/bin/tox" "$@"
    ;;
  *)
    echo "usage: ./run.sh demo|test [ARGS]" >&2
    exit 2
    ;;
esac
