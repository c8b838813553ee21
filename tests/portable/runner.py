"""Run the portable tests under MicroPython: every test_* function of every test_*.py here.

Started by tools/run_micropython_tests.py from the repository root. Prints one line per test
and closes with "micropython: N passed, N failed"; exits 1 on any failure or when nothing ran.
"""

import gc
import os
import sys

HERE = "tests/portable"


def modules(only):
    names = []
    for name in os.listdir(HERE):
        if name.startswith("test_") and name.endswith(".py"):
            names.append(name[:-3])
    names.sort()
    return [n for n in names if not only or n in only]


def run(only):
    passed = failed = 0
    for name in modules(only):
        module = __import__("tests.portable." + name, None, None, ["_"])
        tests = sorted(a for a in dir(module) if a.startswith("test_"))
        for attr in tests:
            gc.collect()
            try:
                getattr(module, attr)()
            except Exception as e:  # a test failure of any kind is reported, not fatal
                failed += 1
                print("FAIL", name + "::" + attr)
                sys.print_exception(e)
            else:
                passed += 1
                print("PASS", name + "::" + attr)
    print(f"micropython: {passed} passed, {failed} failed")
    return 0 if passed and not failed else 1


sys.exit(run(sys.argv[1:]))
