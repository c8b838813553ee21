"""The device's serial line when it is the REPL's: sys.stdin / sys.stdout as the host link's
port (read(n, timeout_ms) -> bytes, write(data)).

On the QEMU MPS2 board this is UART0, the board's only one; under the unix MicroPython it is
the process's stdin and stdout (a pty from socat, or a pipe). Once the link takes the line the
REPL's interrupt character is switched off (micropython.kbd_intr(-1)), so a 03 byte is data.

Reading: select.poll says whether a byte waits; the bytes are then read one at a time while
more wait (a stream's read(n) would block until all n came).
"""

import select
import sys


class StdioPort:
    def __init__(self, stdin=None, stdout=None):
        stdin = stdin if stdin is not None else sys.stdin
        stdout = stdout if stdout is not None else sys.stdout
        self.rx = getattr(stdin, "buffer", stdin)
        self.tx = getattr(stdout, "buffer", stdout)
        self.poller = select.poll()
        self.poller.register(stdin, select.POLLIN)
        try:
            import micropython

            micropython.kbd_intr(-1)
        except (ImportError, AttributeError):
            pass

    def _ready(self, timeout_ms):
        return any(event & select.POLLIN for _, event in self.poller.poll(timeout_ms))

    def read(self, n, timeout_ms=0):
        if not self._ready(max(int(timeout_ms), 0)):
            return b""
        out = bytearray()
        while len(out) < n:
            byte = self.rx.read(1)
            if not byte:
                break
            out += byte
            if not self._ready(0):
                break
        return bytes(out)

    def write(self, data):
        self.tx.write(data)
        flush = getattr(self.tx, "flush", None)
        if flush is not None:
            flush()
