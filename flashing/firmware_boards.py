"""The boards `vafa flash firmware` builds (flashing/firmware.py), a registry (BOARDS) of one
small class each: which MicroPython port and make variables, which artifacts, which toolchain it
needs (probes naming the Debian package that brings it), how to run or flash the result.

    board        port            what it is
    unix-x86     ports/unix      a 32-bit x86 binary (cryptolib from axTLS), the PC-class terminal
    mps2-an385   ports/qemu      an Arm Cortex-M3 image (MPS2 AN385), run under qemu-system-arm
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

from flashing.firmware_error import FirmwareError

INSTALL_HINT = "sudo bash scripts/install-system-deps.sh"
# the folder of the boards' own C modules (one subfolder each, MicroPython's USER_C_MODULES)
C_MODULES = "flashing/cmodules"


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


def check_toolchain(board):
    for probe in (*HOST, *board.toolchain):
        gone = probe.missing()
        if gone:
            raise FirmwareError(
                f"{gone}: board {board.name} needs the Debian package {probe.package} "
                f"({INSTALL_HINT})"
            )
