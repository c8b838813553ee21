"""The device's serial line as the gateway reaches it. Each line has fileno() (for select),
read(n) -> bytes (b"" when nothing waits; `closed` once the other side is gone), write(data)
and close().

    SocketLine(host, port)     QEMU's UART as a TCP chardev (-serial tcp:HOST:PORT,server=on)
    PtyLine(path)              a pty (socat's, or QEMU -serial pty)
    FaultyLine(line, ...)      the line with faults: bytes lost or flipped at a seeded rate,
                               noise, and `cut` (nothing gets through either way)
"""

import os
import random
import socket
import termios
import tty


class SocketLine:
    def __init__(self, host, port, timeout_s=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.closed = False

    @classmethod
    def from_socket(cls, sock):
        line = cls.__new__(cls)
        line.sock = sock
        sock.setblocking(False)
        line.closed = False
        return line

    def fileno(self):
        return self.sock.fileno()

    def read(self, n):
        try:
            data = self.sock.recv(n)
        except BlockingIOError:
            return b""
        except OSError:
            data = b""
        if not data:
            self.closed = True
        return data

    def write(self, data):
        if self.closed:
            return
        self.sock.setblocking(True)
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True
        finally:
            self.sock.setblocking(False)

    def close(self):
        self.closed = True
        self.sock.close()


class PtyLine:
    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        if os.isatty(self.fd):
            tty.setraw(self.fd, termios.TCSANOW)
        self.closed = False

    def fileno(self):
        return self.fd

    def read(self, n):
        try:
            data = os.read(self.fd, n)
        except BlockingIOError:
            return b""
        except OSError:
            data = b""
        if not data:
            self.closed = True
        return data

    def write(self, data):
        view = memoryview(data)
        while view and not self.closed:
            try:
                view = view[os.write(self.fd, view) :]
            except BlockingIOError:
                os.sched_yield()
            except OSError:
                self.closed = True

    def close(self):
        if not self.closed:
            self.closed = True
            os.close(self.fd)


class FaultyLine:
    """A line that loses, damages and adds bytes: each chunk either way is dropped with
    probability `drop`, gets one bit flipped with `flip`, or gets `noise` bytes in front with
    `garbage`; `cut = True` loses everything both ways (a pulled cable)."""

    def __init__(self, line, seed=1, drop=0.0, flip=0.0, garbage=0.0, noise=b"\x00~}\xff junk"):
        self.line = line
        self.random = random.Random(seed)
        self.drop = drop
        self.flip = flip
        self.garbage = garbage
        self.noise = noise
        self.cut = False
        self.faults = 0

    @property
    def closed(self):
        return self.line.closed

    def fileno(self):
        return self.line.fileno()

    def _fault(self, data):
        if self.cut:
            return b""
        if not data:
            return data
        roll = self.random.random()
        if roll < self.drop:
            self.faults += 1
            return b""
        if roll < self.drop + self.flip:
            self.faults += 1
            damaged = bytearray(data)
            damaged[self.random.randrange(len(damaged))] ^= 1 << self.random.randrange(8)
            return bytes(damaged)
        if roll < self.drop + self.flip + self.garbage:
            self.faults += 1
            return self.noise + data
        return data

    def read(self, n):
        return self._fault(self.line.read(n))

    def write(self, data):
        data = self._fault(data)
        if data:
            self.line.write(data)

    def close(self):
        self.line.close()
