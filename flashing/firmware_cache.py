"""The firmware cache (flashing/firmware.py): the key of a build, where the cache is, whether
a folder holds a finished build, and the lock that makes two builds into one cache wait for
each other.

A build is keyed by a hash of the MicroPython source's identity, the board's make variables and
any extra options, the module list and the bytes of every frozen source and of the board's own
C modules. A finished build is a folder `<board>-<model>-<key>/` holding the artifacts, the
manifest and build.json; make's own build folders stay under `work/`."""

import hashlib
import json
import os
from pathlib import Path

from flashing import bundle as bundles
from flashing.firmware_boards import C_MODULES

# Bump when the way a firmware is made changes (make variables, manifest shape): old cache
# entries then stop matching.
RECIPE = 2  # 2: a board's own C modules (USER_C_MODULES) are part of the build and its key


def cache_key(board, identity, options, modules, source_root=bundles.REPO):
    digest = hashlib.sha256()
    head = {"recipe": RECIPE, "board": board.name, "source": identity,
            "make": dict(board.make_vars, **options), "modules": list(modules),
            "c_modules": list(board.c_modules)}  # fmt: skip
    digest.update(json.dumps(head, sort_keys=True).encode())
    for rel in c_module_files(board, source_root):
        digest.update(rel.encode() + b"\0")
        digest.update(hashlib.sha256((Path(source_root) / rel).read_bytes()).digest())
    for rel in modules:
        digest.update(hashlib.sha256((Path(source_root) / rel).read_bytes()).digest())
    return digest.hexdigest()


def c_module_files(board, source_root=bundles.REPO):
    """The files of the board's own C modules (paths under source_root), sorted."""
    files = []
    for name in board.c_modules:
        folder = Path(source_root) / C_MODULES / name
        files += [p.relative_to(source_root).as_posix() for p in folder.rglob("*") if p.is_file()]
    return sorted(files)


def default_cache():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vafa" / "firmware"


def finished_build(folder):
    try:
        info = json.loads((folder / "build.json").read_text())
    except (OSError, ValueError):
        return None
    if all((folder / name).is_file() for name in info.get("artifacts", ())):
        return info
    return None


class BuildLock:
    """An exclusive lock on a file (two builds into one cache wait for each other)."""

    def __init__(self, path):
        self.path = Path(path)
        self.file = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "a")
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, one build at a time is the user's care
            return self
        fcntl.flock(self.file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.file.close()
