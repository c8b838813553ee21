"""MicroPython firmware built from source with a terminal model's agent modules frozen in.

    fw = build("unix-x86", "/src/micropython", model="vafa-t1", cache="~/.cache/vafa/firmware")
    fw.path      # the binary: .../unix-x86-vafa-t1-<12 hex>/micropython
    fw.cached    # True when an identical build was already there (nothing was compiled)

`vafa flash firmware --board NAME` is the command line. Boards are a registry (BOARDS), one
small class each: which MicroPython port and make variables, which artifacts, which toolchain
it needs (and the Debian package that brings it), how to run or flash the result.

    board        port            what it is
    unix-x86     ports/unix      a 32-bit x86 binary (cryptolib from axTLS), the PC-class terminal
    mps2-an385   ports/qemu      an Arm Cortex-M3 image (MPS2 AN385), run under qemu-system-arm

Frozen modules: the manifest is generated from the model's module list (flashing/bundle.py
`sources(model=...)`, the same modules as the model's bundle), one `module()` line each, so
bytecode and interned names live in the firmware (flash on a board), not in the heap.

Cache: a build is keyed by a hash of the MicroPython source's identity (its SNAPSHOT line, a
git commit plus local changes, or a fingerprint of the tree), the board's make variables and
any extra options, the module list and the bytes of every frozen source. A finished build is a
folder `<board>-<model>-<key>/` in the cache holding the artifacts, the manifest and
build.json; the same key again returns that folder without running make. make's own build
folders stay under `work/` so a rebuild after an agent change only recompiles what changed.

Where the parts live: the boards and their toolchain probes in firmware_boards.py, the
MicroPython source (finding it, its identity, its version) in firmware_source.py, the frozen
manifest in firmware_manifest.py, the cache (key, lock, finished folders) in firmware_cache.py,
running make and mpy-cross in firmware_make.py, FirmwareError in firmware_error.py. This module
is the build itself (build, Firmware) and what the command prints; every name it had before the
split is still importable from here.

Errors are FirmwareError with an exit code: 2 for what the user can fix before building (no
source, unknown board or model, a missing toolchain), 1 for a build that failed (`detail` holds
make's last lines), 130 when interrupted.
"""

import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path

from flashing import bundle as bundles

# Re-exported: callers import these from flashing.firmware (noqa F401 for the ones unused here).
from flashing.firmware_boards import (  # noqa: F401
    BOARDS,
    C_MODULES,
    HOST,
    INSTALL_HINT,
    Board,
    Compiles,
    Mps2An385,
    Program,
    UnixX86,
    check_toolchain,
    get_board,
)
from flashing.firmware_cache import (  # noqa: F401
    RECIPE,
    BuildLock,
    c_module_files,
    cache_key,
    default_cache,
    finished_build,
)
from flashing.firmware_error import FirmwareError
from flashing.firmware_make import CC_EVERY, TAIL, build_mpy_cross, run_make  # noqa: F401
from flashing.firmware_manifest import check_model, frozen_modules, manifest_text
from flashing.firmware_source import (  # noqa: F401
    ENV_SOURCE,
    MICROPYTHON_GIT,
    NO_SOURCE,
    PINNED_COMMIT,
    check_source,
    find_source,
    micropython_version,
    short_identity,
    source_identity,
)

# make variables the recipe sets itself (paths into the cache, the board's identity)
RESERVED = ("BUILD", "FROZEN_MANIFEST", "MPY_LIB_DIR", "MICROPY_MPYCROSS", "BOARD", "VARIANT",
            "USER_C_MODULES")  # fmt: skip


# -- inputs ------------------------------------------------------------------------------------


def text_bytes(board, path):
    """Bytes of code and read-only data (frozen modules included) in the binary, or None."""
    try:
        out = subprocess.run([board.size_tool, str(path)], capture_output=True, text=True)
        return int(out.stdout.splitlines()[1].split()[0])
    except (OSError, IndexError, ValueError):
        return None


def parse_options(pairs):
    """NAME=VALUE strings (extra make variables) as a dict; FirmwareError for a bad one."""
    out = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep or not name.replace("_", "").isalnum() or not name.isupper():
            raise FirmwareError(
                f"--option {pair!r}: expected NAME=VALUE, e.g. MICROPY_HEAP_SIZE=65536"
            )
        if name in RESERVED:
            raise FirmwareError(f"--option {name}: set by vafa flash firmware itself")
        out[name] = value
    return out


# -- the build -------------------------------------------------------------------------------


class Firmware:
    """A finished build: `path` (the binary), `folder`, `info` (build.json), `cached`."""

    def __init__(self, folder, info, cached):
        self.folder = Path(folder)
        self.info = info
        self.cached = cached

    @property
    def path(self):
        return self.folder / self.info["artifacts"][0]

    @property
    def board(self):
        return BOARDS[self.info["board"]]


def build(board, src, model=bundles.DEFAULT_MODEL, cache=None, options=None, progress=None,
          rebuild=False, source_root=bundles.REPO):  # fmt: skip
    """Build (or find in the cache) the firmware of `board` with `model`'s agent frozen in.

    board: a name of BOARDS; src: the MicroPython source folder (find_source); options: extra
    make variables {NAME: VALUE} (part of the cache key); progress(text) gets one line per
    step; rebuild ignores a cached result. Returns a Firmware."""
    progress = progress or (lambda text: None)
    board = get_board(board) if isinstance(board, str) else board
    src = Path(src)
    check_source(src, board)
    check_model(model)
    job = _Job(board, src, model, dict(options or {}), source_root)
    cache = Path(cache).expanduser() if cache else default_cache()
    key = job.key()
    folder = cache / f"{board.name}-{model}-{key[:12]}"
    info = None if rebuild else finished_build(folder)
    if info is not None:
        return Firmware(folder, info, cached=True)
    check_toolchain(board)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FirmwareError(f"cache folder {cache}: {e.strerror}") from None
    try:
        return job.run(cache, progress, rebuild)
    except OSError as e:
        raise FirmwareError(f"{e.filename or cache}: {e.strerror}", 1) from None


class _Job:
    """One firmware build: its inputs, its cache key, and the make runs."""

    ATTEMPTS = 3  # builds while the agent's sources keep changing under make

    def __init__(self, board, src, model, options, source_root):
        self.board = board
        self.src = src
        self.model = model
        self.modules = ()  # set by key()
        self.source_root = source_root
        self.make_vars = dict(board.make_vars, **options)
        self.identity = source_identity(src)
        self.options = options

    def key(self):
        """The cache key of the sources as they are now (a module added or saved while make
        ran changes it)."""
        self.modules = frozen_modules(self.model, self.source_root)
        return cache_key(self.board, self.identity, self.options, self.modules, self.source_root)

    def run(self, cache, progress, rebuild):
        board, work = self.board, cache / "work"
        tag = json.dumps([RECIPE, self.identity, self.make_vars], sort_keys=True).encode()
        build_dir = work / f"{board.name}-{hashlib.sha256(tag).hexdigest()[:12]}"
        started = time.monotonic()
        mpy_cross = build_mpy_cross(self.src, self.identity, work, progress)
        with BuildLock(str(build_dir) + ".lock"):
            for _ in range(self.ATTEMPTS):
                key = self.key()
                folder = cache / f"{board.name}-{self.model}-{key[:12]}"
                info = None if rebuild else finished_build(folder)  # another process built it
                if info is not None:
                    return Firmware(folder, info, cached=True)
                self._make(build_dir, work, mpy_cross, progress)
                if self.key() == key:
                    break
                # an agent file was saved while make read them: the image may mix both
                progress(f"{board.name}: agent sources changed during the build; again")
            else:
                raise FirmwareError(f"agent sources kept changing during {self.ATTEMPTS} builds")
            info = self._store(folder, key, build_dir, time.monotonic() - started)
        return Firmware(folder, info, cached=False)

    def _make(self, build_dir, work, mpy_cross, progress):
        board = self.board
        build_dir.mkdir(parents=True, exist_ok=True)
        # The build insists on $(MPY_LIB_DIR)/README.md even when nothing is required from
        # micropython-lib (which a snapshot does not carry): any folder with a README.md will do.
        stub = work / "micropython-lib-stub"
        stub.mkdir(parents=True, exist_ok=True)
        (stub / "README.md").write_text("micropython-lib is not used: vafa freezes its own.\n")
        manifest = build_dir / "manifest.py"
        manifest.write_text(manifest_text(self.modules, self.source_root, self.model))
        args = ["-C", str(self.src / "ports" / board.port), f"BUILD={build_dir}",
                f"MICROPY_MPYCROSS={mpy_cross}", f"MPY_LIB_DIR={stub}",
                f"FROZEN_MANIFEST={manifest}"]  # fmt: skip
        args += [f"{k}={v}" for k, v in self.make_vars.items()]
        if board.c_modules:  # a folder holding exactly the board's modules
            cmods = build_dir / "cmodules"
            shutil.rmtree(cmods, ignore_errors=True)
            cmods.mkdir()
            for name in board.c_modules:
                (cmods / name).symlink_to(Path(self.source_root).resolve() / C_MODULES / name)
            args.append(f"USER_C_MODULES={cmods}")
        what = f"MicroPython {micropython_version(self.src)} ({short_identity(self.identity)})"
        progress(
            f"{board.name}: building {what} with {len(self.modules)} modules of model {self.model}"
        )
        return run_make(args, board.name, progress, build_dir / "make.log")

    def _store(self, folder, key, build_dir, seconds):
        """Copy the artifacts into the cache folder (whole or not at all); its build.json."""
        board = self.board
        staging = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in (*board.artifacts, "manifest.py"):
            shutil.copy2(build_dir / name, staging / name)
        info = {
            "format": 1,
            "board": board.name,
            "model": self.model,
            "key": key,
            "micropython": micropython_version(self.src),
            "source": self.identity,
            "make": self.make_vars,
            "modules": self.modules,
            "artifacts": list(board.artifacts),
            "bytes": (staging / board.artifacts[0]).stat().st_size,
            "text_bytes": text_bytes(board, staging / board.artifacts[0]),
            "seconds": round(seconds, 1),
            "vafa": bundles.project_version(),
            "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (staging / "build.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
        return info


def main_lines(fw):
    """What the command prints about a firmware: where it is and how to use it."""
    info = fw.info
    how = "cached" if fw.cached else f"built in {info['seconds']} s"
    text = f", text {info['text_bytes']}" if info.get("text_bytes") else ""
    return [
        f"{info['board']} firmware (model {info['model']}, {len(info['modules'])} frozen "
        f"modules, MicroPython {info['micropython']}{text}), {how}: {fw.path}",
        *fw.board.usage(fw.path),
    ]


def as_json(fw):
    info = fw.info
    return {"board": info["board"], "model": info["model"], "path": str(fw.path),
            "folder": str(fw.folder), "cached": fw.cached, "key": info["key"],
            "micropython": info["micropython"], "source": info["source"],
            "bytes": info["bytes"], "text_bytes": info["text_bytes"],
            "modules": len(info["modules"]), "seconds": info["seconds"]}  # fmt: skip
