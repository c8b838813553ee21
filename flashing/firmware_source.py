"""The MicroPython source a firmware is built from (flashing/firmware.py): where it is
(--micropython-src or VAFA_MICROPYTHON_SRC), whether it has what a board needs, its version, and
its identity for the cache key (a SNAPSHOT line, a git commit plus local changes, or a
fingerprint of the tree)."""

import hashlib
import os
import subprocess
from pathlib import Path

from flashing.firmware_error import FirmwareError

ENV_SOURCE = "VAFA_MICROPYTHON_SRC"
# The MicroPython the project is built and tested against (../shared/micropython's SNAPSHOT).
PINNED_COMMIT = "1c3c201149f37fe8d81246191b3127bb198d6306"
MICROPYTHON_GIT = "https://github.com/micropython/micropython"
NO_SOURCE = (
    f"no MicroPython source: pass --micropython-src DIR or set {ENV_SOURCE} "
    f"(git clone {MICROPYTHON_GIT} && git -C micropython checkout {PINNED_COMMIT[:12]} && "
    "git -C micropython submodule update --init lib/axtls)"
)


def find_source(path=None, environ=None):
    """The MicroPython source folder from the argument or VAFA_MICROPYTHON_SRC, checked."""
    environ = os.environ if environ is None else environ
    origin = "--micropython-src" if path else ENV_SOURCE
    text = path or environ.get(ENV_SOURCE)
    if not text:
        raise FirmwareError(NO_SOURCE)
    src = Path(text).expanduser().resolve()
    if not src.is_dir():
        raise FirmwareError(f"{origin} {text}: no such folder")
    for marker in ("py/mpconfig.h", "mpy-cross/Makefile"):
        if not (src / marker).is_file():
            raise FirmwareError(f"{origin} {text}: not a MicroPython source tree (no {marker})")
    return src


def check_source(src, board):
    if not (src / "ports" / board.port / "Makefile").is_file():
        raise FirmwareError(f"{src}: no ports/{board.port} for board {board.name}")
    for folder in board.submodules:
        path = src / folder
        if not path.is_dir() or not any(path.iterdir()):
            raise FirmwareError(
                f"{src}: {folder} is empty; board {board.name} needs it "
                f"(git -C {src} submodule update --init {folder})"
            )


def micropython_version(src):
    parts = {}
    for line in (src / "py" / "mpconfig.h").read_text(errors="replace").splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == "#define" and words[1].startswith("MICROPY_VERSION_"):
            parts[words[1][len("MICROPY_VERSION_") :]] = words[2]
    version = ".".join(parts.get(k, "?") for k in ("MAJOR", "MINOR", "MICRO"))
    return version + ("-preview" if parts.get("PRERELEASE", "0") != "0" else "")


def source_identity(src):
    """What names this MicroPython source: the SNAPSHOT line of a snapshot (read-only by
    convention), else the git commit and a hash of local changes, else a fingerprint of every
    file's name, size and modification time."""
    snapshot = src / "SNAPSHOT"
    if snapshot.is_file():
        return "snapshot " + snapshot.read_text().strip()
    if (src / ".git").exists():
        head = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"],
                              capture_output=True, text=True)  # fmt: skip
        diff = subprocess.run(["git", "-C", str(src), "diff", "HEAD"], capture_output=True)
        if head.returncode == 0:
            changes = hashlib.sha256(diff.stdout).hexdigest()[:16] if diff.stdout else "clean"
            return f"git {head.stdout.strip()} {changes}"
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("build", ".")))
        for name in sorted(files):
            st = os.stat(os.path.join(root, name))
            rel = os.path.relpath(os.path.join(root, name), src)
            digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return "tree " + digest.hexdigest()


def short_identity(identity):
    """'snapshot 1c3c201149f3', 'git 1c3c201149f3+changes', 'tree <12 hex>'."""
    words = identity.replace(";", " ").split()
    if words[0] == "snapshot" and len(words) > 2:
        return "snapshot " + words[2][:12]
    if words[0] == "git" and len(words) > 2:
        return "git " + words[1][:12] + ("" if words[2] == "clean" else "+changes")
    return words[0] + " " + words[-1][:12]
