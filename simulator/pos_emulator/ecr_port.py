"""The emulated terminal's ECR port (the port interface of agent/ecr/server.py), on CPython.

    open_ecr_port("tcp://127.0.0.1:9100")   listen; the cashier connects (port 0: any free port)
    open_ecr_port("pty")                    a socat pty pair of our own; the cashier opens the
                                            printed path (`cashier_path`)
    open_ecr_port("pty:/tmp/vafa-ecr")      the same, the cashier's side linked at that path
    open_ecr_port("/dev/ttyUSB0")           a serial port or one end of a pty pair made by you

Over TCP the terminal is the server (as ECR terminals are); one cashier at a time: a new
connection replaces the old one, and `generation` changes so the link forgets the old one.

A write that the cashier's side does not take within WRITE_TIMEOUT_S (plus, on a serial line,
the wire time of a whole frame) fails with OSError instead of stopping the terminal's loop: a
cashier that never reads is disconnected (TCP) or the port reopened (serial), and the answers
stay kept for a status inquiry (docs/ecr.md section 2.1).
"""

import contextlib
import os
import select
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

INSTALL_HINT = "run 'sudo bash scripts/install-system-deps.sh' (Debian: apt-get install socat)"
WRITE_TIMEOUT_S = 2.0
FRAME_BYTES = 4096 + 6  # the longest frame (docs/ecr.md 2.2)


class EcrPortError(OSError):
    """The ECR port cannot be opened (bad spec, socat missing, port busy)."""


class TcpEcrPort:
    def __init__(self, host="127.0.0.1", port=0, write_timeout_s=WRITE_TIMEOUT_S):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.listener.bind((host, port))
        except OSError as e:
            self.listener.close()
            raise EcrPortError(f"cannot listen on {host}:{port}: {e}") from None
        self.listener.listen(1)
        self.write_timeout_s = write_timeout_s
        self.conn = None
        self.generation = 0
        self.connections = 0
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    @property
    def address(self):
        return self.listener.getsockname()[:2]

    @property
    def url(self):
        host, port = self.address
        return f"tcp://{host}:{port}"

    @property
    def cashier_url(self):
        """What the cashier side gives pyserial (`vafa bridge --port`)."""
        host, port = self.address
        return f"socket://{host}:{port}"

    def read(self, timeout_ms):
        ready = [self.listener, self._wake_r]
        if self.conn is not None:
            ready.append(self.conn)
        readable, _, _ = select.select(ready, [], [], max(0, timeout_ms) / 1000)
        data = b""
        if self._wake_r in readable:
            os.read(self._wake_r, 512)
        if self.listener in readable:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # gone between connect and accept, or no file descriptor left
                return data
            try:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                # reads wait in select() above; the timeout bounds a write the cashier never takes
                conn.settimeout(self.write_timeout_s)
            except OSError:
                conn.close()
                return data
            self._drop()
            self.conn = conn
            self.generation += 1
            self.connections += 1
            return data
        if self.conn is not None and self.conn in readable:
            try:
                data = self.conn.recv(4096)
            except OSError:
                data = b""
            if not data:  # the cashier closed the connection (or the cable was pulled)
                self._drop()
        return data

    def write(self, data):
        if self.conn is None:
            raise OSError("no cashier connected")
        try:
            self.conn.sendall(data)
        except OSError:
            self._drop()
            raise

    def wake(self):
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"!")

    def _drop(self):
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self):
        self._drop()
        self.listener.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


class SerialEcrPort:
    """A serial port or a pty through pyserial; reopens after the device went away."""

    def __init__(self, path, baudrate=115200, write_timeout_s=WRITE_TIMEOUT_S):
        import serial

        self._serial = serial
        self.path = path
        self.baudrate = baudrate
        # a frame's time on the wire is not a stall: 4 s for the longest at 9,600 bit/s
        self.write_timeout_s = write_timeout_s + FRAME_BYTES * 10 / baudrate
        self.port = None
        self.generation = 0
        self.open()

    @property
    def url(self):
        return self.path

    def open(self):
        try:
            self.port = self._serial.Serial(
                self.path, self.baudrate, timeout=0, write_timeout=self.write_timeout_s
            )
        except (self._serial.SerialException, OSError) as e:
            raise EcrPortError(f"cannot open {self.path}: {e}") from None

    def read(self, timeout_ms):
        if self.port is None:
            time.sleep(timeout_ms / 1000)
            try:
                self.open()
                self.generation += 1
            except EcrPortError:
                return b""
        try:
            self.port.timeout = max(0, timeout_ms) / 1000
            data = self.port.read(1)
            if data:
                self.port.timeout = 0
                data += self.port.read(4096)
            return data
        except (self._serial.SerialException, OSError):
            self._drop()
            return b""

    def write(self, data):
        if self.port is None:
            raise OSError(f"{self.path} is not open")
        try:
            self.port.write(data)
        except (self._serial.SerialException, OSError):
            self._drop()
            raise

    def wake(self):
        port = self.port
        if port is not None and hasattr(port, "cancel_read"):
            port.cancel_read()

    def _drop(self):
        port, self.port = self.port, None
        if port is not None:
            with contextlib.suppress(self._serial.SerialException, OSError):
                port.close()

    def close(self):
        self._drop()


class SocatPair:
    """A pty pair made by socat: `terminal_path` for us, `cashier_path` for the cashier side."""

    def __init__(self, terminal_path, cashier_path):
        self.terminal_path = str(terminal_path)
        self.cashier_path = str(cashier_path)
        self.process = None

    def start(self, timeout_s=5.0):
        socat = shutil.which("socat")
        if socat is None:
            raise EcrPortError(f"socat is not installed: {INSTALL_HINT}")
        for path in (self.terminal_path, self.cashier_path):
            if os.path.lexists(path):
                os.unlink(path)
        self.process = subprocess.Popen(
            [socat, f"pty,raw,echo=0,link={self.terminal_path}",
             f"pty,raw,echo=0,link={self.cashier_path}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while not (os.path.exists(self.terminal_path) and os.path.exists(self.cashier_path)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EcrPortError("socat did not make the pty pair")
            time.sleep(0.01)
        return self

    def stop(self):
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class OpenedPort:
    """What open_ecr_port returns: the port, what to tell the cashier, and the cleanup."""

    def __init__(self, port, cashier, description, pair=None, tmpdir=None):
        self.port = port
        self.cashier = cashier  # the --port value for `vafa bridge`
        self.description = description
        self.pair = pair
        self.tmpdir = tmpdir

    def close(self):
        self.port.close()
        if self.pair is not None:
            self.pair.stop()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def open_ecr_port(spec, baudrate=115200):
    """An OpenedPort for a --ecr value (see the module doc)."""
    if spec.startswith("tcp://"):
        host, _, port = spec[len("tcp://") :].rpartition(":")
        if not host or not port.isdigit():
            raise EcrPortError(f"expected tcp://HOST:PORT, got {spec!r}")
        tcp = TcpEcrPort(host, int(port))
        return OpenedPort(tcp, tcp.cashier_url, f"{tcp.url} (TCP; the terminal listens)")
    if spec == "pty" or spec.startswith("pty:"):
        tmpdir = None
        if spec == "pty":
            tmpdir = tempfile.mkdtemp(prefix="vafa-ecr-")
            cashier = Path(tmpdir) / "cashier"
        else:
            cashier = Path(spec[len("pty:") :]).absolute()
        terminal = cashier.with_name(cashier.name + ".terminal")
        pair = SocatPair(terminal, cashier).start()
        try:
            port = SerialEcrPort(str(terminal), baudrate)
        except EcrPortError:
            pair.stop()
            raise
        text = f"pty {cashier} (cashier side; socat pair, terminal side {terminal})"
        return OpenedPort(port, str(cashier), text, pair, tmpdir)
    if "://" in spec:
        raise EcrPortError(f"unknown ECR port {spec!r}: use tcp://HOST:PORT, pty[:PATH] or a path")
    port = SerialEcrPort(spec, baudrate)
    return OpenedPort(port, None, f"{spec} (serial, {baudrate} baud)")
