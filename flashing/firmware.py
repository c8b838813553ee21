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

Errors are FirmwareError with an exit code: 2 for what the user can fix before building (no
source, unknown board or model, a missing toolchain), 1 for a build that failed (`detail` holds
make's last lines), 130 when interrupted.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import deque
from pathlib import Path

from flashing import bundle as bundles

ENV_SOURCE = "VAFA_MICROPYTHON_SRC"
# The MicroPython the project is built and tested against (../shared/micropython's SNAPSHOT).
PINNED_COMMIT = "1c3c201149f37fe8d81246191b3127bb198d6306"
MICROPYTHON_GIT = "https://github.com/micropython/micropython"
NO_SOURCE = (
    f"no MicroPython source: pass --micropython-src DIR or set {ENV_SOURCE} "
    f"(git clone {MICROPYTHON_GIT} && git -C micropython checkout {PINNED_COMMIT[:12]} && "
    "git -C micropython submodule update --init lib/axtls)"
)
INSTALL_HINT = "sudo bash scripts/install-system-deps.sh"
# Bump when the way a firmware is made changes (make variables, manifest shape): old cache
# entries then stop matching.
RECIPE = 2  # 2: a board's own C modules (USER_C_MODULES) are part of the build and its key
# make variables the recipe sets itself (paths into the cache, the board's identity)
RESERVED = ("BUILD", "FROZEN_MANIFEST", "MPY_LIB_DIR", "MICROPY_MPYCROSS", "BOARD", "VARIANT",
            "USER_C_MODULES")  # fmt: skip
# the folder of the boards' own C modules (one subfolder each, MicroPython's USER_C_MODULES)
C_MODULES = "flashing/cmodules"
TAIL = 25  # lines of make's output shown when it fails
CC_EVERY = 50  # a progress line per this many C files compiled


class FirmwareError(Exception):
    """A firmware that cannot be built; `exit_code` 2 = fix the input, 1 = the build failed."""

    def __init__(self, message, exit_code=2, detail=()):
        super().__init__(message)
        self.exit_code = exit_code
        self.detail = list(detail)


# -- toolchain probes: each says what is missing in one line, naming the package -------------


class Program:
    """A command on PATH."""

    def __init__(self, command, package):
        self.command = command
        self.package = package

    def missing(self):
        if shutil.which(self.command) is None:
            return f"{self.command} not found"
        return None


class Compiles(Program):
    """A compiler that builds (and, unless compile_only, links) a tiny C program with these
    flags: catches a gcc without multilib or an Arm gcc without newlib's headers."""

    def __init__(self, command, flags, package, what, compile_only=False):
        super().__init__(command, package)
        self.flags = tuple(flags)
        self.what = what
        self.compile_only = compile_only

    def missing(self):
        gone = super().missing()
        if gone:
            return gone
        with tempfile.TemporaryDirectory(prefix="vafa-probe-") as tmp:
            out = Path(tmp) / "probe.o"
            mode = ("-c",) if self.compile_only else ()
            probe = subprocess.run(
                [self.command, *self.flags, *mode, "-x", "c", "-", "-o", str(out)],
                input="#include <stdio.h>\n#include <string.h>\nint main(void){return 0;}\n",
                capture_output=True,
                text=True,
            )
        if probe.returncode:
            return f"{self.command} {' '.join(self.flags)} cannot build {self.what}"
        return None


HOST = (Program("make", "make"), Program("gcc", "gcc"))  # mpy-cross is built for the host


# -- boards ------------------------------------------------------------------------------------


class Board:
    name = ""
    description = ""
    port = ""  # ports/<port> in the MicroPython source
    make_vars = {}  # noqa: RUF012 (read-only class data)
    artifacts = ()  # files of make's BUILD folder kept; the first is "the binary"
    toolchain = ()  # probes, besides HOST
    submodules = ()  # folders of the source that must not be empty (git submodules)
    c_modules = ()  # the board's own C modules: subfolders of C_MODULES, compiled in
    size_tool = "size"  # binutils' size for the binary's text (code + read-only data)

    def run_command(self, path):
        """How the built firmware starts (a list of arguments)."""
        return [str(path)]

    def usage(self, path):
        """Lines telling a technician how to run or flash the firmware at path."""
        return ["run: " + " ".join(self.run_command(path))]


class UnixX86(Board):
    """The unix port as a 32-bit x86 binary: the terminal that is a small PC (or a board
    beside the POS). cryptolib comes from axTLS (MICROPY_SSL_AXTLS); btree and ffi are off
    (berkeley-db is not in the source; ffi needs a 32-bit libffi)."""

    name = "unix-x86"
    description = "32-bit x86 unix MicroPython with cryptolib (axTLS): the PC-class terminal"
    port = "unix"
    make_vars = {  # noqa: RUF012
        "VARIANT": "standard",
        "CFLAGS_EXTRA": "-m32",
        "LDFLAGS_EXTRA": "-m32",
        "MICROPY_PY_BTREE": "0",
        "MICROPY_PY_FFI": "0",
        "MICROPY_PY_SSL": "1",
        "MICROPY_SSL_AXTLS": "1",
        "MICROPY_SSL_MBEDTLS": "0",
    }
    artifacts = ("micropython",)
    toolchain = (Compiles("gcc", ("-m32",), "gcc-multilib", "32-bit programs"),)
    submodules = ("lib/axtls",)

    def usage(self, path):
        return [
            f"run: {path}",
            "install: copy it onto the terminal (32-bit x86 Linux; needs only the C library)",
        ]


class Mps2An385(Board):
    """ports/qemu for the Arm MPS2 AN385 (Cortex-M3): REPL on its UART, no network, no
    cryptolib, a ROMFS partition at 0x21000000. Runs under qemu-system-arm.

    Two additions make it a terminal (docs/flashing.md "The ARM board"): littlefs
    (MICROPY_VFS_LFS2, in MicroPython already) and the `semihost` C module
    (flashing/cmodules/semihost: the host's files and clock through Arm semihosting), so the
    board's flash is a littlefs image in a host file that survives QEMU being killed, and its
    clock is the host's."""

    name = "mps2-an385"
    description = "Arm Cortex-M3 MPS2 AN385 image of ports/qemu, run under qemu-system-arm"
    port = "qemu"
    make_vars = {"BOARD": "MPS2_AN385", "MICROPY_VFS_LFS2": "1"}  # noqa: RUF012
    c_modules = ("semihost",)
    artifacts = ("firmware.elf", "firmware.bin")
    size_tool = "arm-none-eabi-size"
    toolchain = (
        Program("arm-none-eabi-gcc", "gcc-arm-none-eabi"),
        Compiles(
            "arm-none-eabi-gcc",
            ("-mthumb", "-mcpu=cortex-m3"),
            "libnewlib-arm-none-eabi",
            "Cortex-M3 code (no C library headers)",
            compile_only=True,
        ),
    )

    def run_command(self, path):
        return ["qemu-system-arm", "-machine", "mps2-an385", "-nographic", "-monitor", "null",
                "-semihosting", "-kernel", str(path)]  # fmt: skip

    def usage(self, path):
        return [
            "run: " + " ".join(self.run_command(path)),
            "  (REPL on stdio; Ctrl-A raw REPL; qemu-system-arm is the Debian qemu-system-arm)",
            f"raw image for a board's loader: {Path(path).with_name('firmware.bin')}",
        ]


BOARDS = {b.name: b for b in (UnixX86(), Mps2An385())}


def get_board(name):
    try:
        return BOARDS[name]
    except KeyError:
        raise FirmwareError(f"unknown board {name!r}: one of {', '.join(sorted(BOARDS))}") from None


# -- inputs ------------------------------------------------------------------------------------


def text_bytes(board, path):
    """Bytes of code and read-only data (frozen modules included) in the binary, or None."""
    try:
        out = subprocess.run([board.size_tool, str(path)], capture_output=True, text=True)
        return int(out.stdout.splitlines()[1].split()[0])
    except (OSError, IndexError, ValueError):
        return None


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


def check_toolchain(board):
    for probe in (*HOST, *board.toolchain):
        gone = probe.missing()
        if gone:
            raise FirmwareError(
                f"{gone}: board {board.name} needs the Debian package {probe.package} "
                f"({INSTALL_HINT})"
            )


def check_model(model):
    if model not in bundles.MODELS:
        raise FirmwareError(f"unknown model {model!r}: one of {', '.join(sorted(bundles.MODELS))}")


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


# -- the manifest ----------------------------------------------------------------------------


def frozen_modules(model, source_root=bundles.REPO):
    """The agent's modules of this model (paths under source_root), as the bundle has them."""
    check_model(model)
    return bundles.sources(source_root, model=model)


def manifest_text(modules, source_root=bundles.REPO, model=""):
    """A MicroPython manifest (tools/manifestfile.py) freezing exactly these modules; each
    keeps its package path, so agent/engine.py is `import agent.engine`."""
    lines = [
        "# Generated by vafa flash firmware (flashing/firmware.py): the agent modules of",
        f"# terminal model {model}, from flashing/bundle.py sources(model=...).",
    ]
    base = str(Path(source_root).resolve())
    lines += [f"module({rel!r}, base_path={base!r})" for rel in modules]
    return "\n".join(lines) + "\n"


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


# -- running make ----------------------------------------------------------------------------


class _Lock:
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


def run_make(args, label, progress, log_path):
    """Run make, summarizing its output in a few progress lines; the whole output goes to
    log_path. FirmwareError(exit 1) with make's last lines when it fails."""
    command = ["make", f"-j{os.cpu_count() or 1}", *args]
    counts = {"CC": 0, "MPY": 0}
    seen = set()
    tail = deque(maxlen=TAIL)
    started = time.monotonic()
    with open(log_path, "w") as log:
        log.write(" ".join(command) + "\n")
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", start_new_session=True)  # fmt: skip
        try:
            for line in proc.stdout:
                log.write(line)
                line = line.rstrip()
                tail.append(line)
                word = line.split(" ", 1)[0]
                if word in counts:
                    counts[word] += 1
                    if word == "CC" and counts["CC"] % CC_EVERY == 0:
                        progress(f"{label}: {counts['CC']} C files compiled")
                    if word == "MPY" and "MPY" not in seen:
                        seen.add("MPY")
                        progress(f"{label}: freezing modules (mpy-cross)")
                elif word == "LINK" and "LINK" not in seen:
                    seen.add("LINK")
                    progress(f"{label}: linking")
            code = proc.wait()
        except BaseException as e:  # Ctrl-C, a closed stdout: make must not go on alone
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            if isinstance(e, KeyboardInterrupt):
                raise FirmwareError(f"{label}: interrupted", 130) from None
            raise
    seconds = time.monotonic() - started
    if code:
        raise FirmwareError(
            f"{label}: make failed (exit {code}); full output in {log_path}",
            1,
            detail=tail,
        )
    return {"seconds": round(seconds, 1), "c_files": counts["CC"], "frozen": counts["MPY"]}


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


def _finished(folder):
    try:
        info = json.loads((folder / "build.json").read_text())
    except (OSError, ValueError):
        return None
    if all((folder / name).is_file() for name in info.get("artifacts", ())):
        return info
    return None


def _mpy_cross(src, identity, work, progress):
    """mpy-cross built from the same source (one per source identity, reused by every
    board); returns its path."""
    build = work / ("mpy-cross-" + hashlib.sha256(identity.encode()).hexdigest()[:12])
    binary = build / "mpy-cross"
    with _Lock(str(build) + ".lock"):
        if not (build / ".done").exists():
            progress("mpy-cross: building")
            build.mkdir(parents=True, exist_ok=True)
            stats = run_make(["-C", str(src / "mpy-cross"), f"BUILD={build}"], "mpy-cross",
                             progress, build / "make.log")  # fmt: skip
            progress(f"mpy-cross: built in {stats['seconds']} s")
            (build / ".done").write_text(identity + "\n")
    return binary


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
    info = None if rebuild else _finished(folder)
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
        mpy_cross = _mpy_cross(self.src, self.identity, work, progress)
        with _Lock(str(build_dir) + ".lock"):
            for _ in range(self.ATTEMPTS):
                key = self.key()
                folder = cache / f"{board.name}-{self.model}-{key[:12]}"
                info = None if rebuild else _finished(folder)  # another process built it
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
