"""The mps2-an385 firmware under qemu-system-arm with its UART REPL on our pipes: for checks that
run code on the bare board (tests/flashing/test_firmware.py, bench/footprint_boards.py). The
firmware-in-the-loop board (qemu.py) talks to its REPL over a socket instead (BoardRepl).

    board = QemuPipes(elf)
    board.raw_repl()
    out, err = board.exec("print(1)")
    board.stop()

FirmwareError when the board says nothing awaited in time or QEMU ends.
"""

import os
import select
import subprocess
import time

from flashing import firmware
from simulator.fil.terminal import FirmwareError

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"


class QemuPipes:
    def __init__(self, elf):
        argv = firmware.BOARDS["mps2-an385"].run_command(elf)
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.buf = b""

    def read_until(self, token, timeout=30):
        deadline = time.monotonic() + timeout
        while token not in self.buf:
            left = deadline - time.monotonic()
            ready = select.select([self.proc.stdout], [], [], max(0, left))[0]
            if not ready:
                raise FirmwareError(f"QEMU: no {token!r} within {timeout} s: {self.buf[-400:]!r}")
            data = os.read(self.proc.stdout.fileno(), 4096)
            if not data:
                raise FirmwareError(f"QEMU ended: {self.buf[-400:]!r}")
            self.buf += data
        at = self.buf.index(token) + len(token)
        out, self.buf = self.buf[:at], self.buf[at:]
        return out

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def raw_repl(self):
        self.read_until(b">>> ")
        self.send(b"\r\x01")  # Ctrl-A: raw REPL
        self.read_until(RAW_BANNER)

    def exec(self, code, timeout=60):
        """Run code in the raw REPL: (stdout, stderr) as text."""
        self.send(code.encode() + b"\x04")
        self.read_until(b"OK", timeout)
        out = self.read_until(b"\x04", timeout)[:-1]
        err = self.read_until(b"\x04>", timeout)[:-2]
        return out.decode(errors="replace"), err.decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            pipe.close()
