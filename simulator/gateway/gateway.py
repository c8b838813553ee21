"""The gateway's loop: one select() over the device's serial line, the listeners and every TCP
connection, driving the host link's state machine (agent/hostlink/link.py, the gateway's end).

    gw = Gateway(serial, {"club": ("connect", "127.0.0.1", 9000),
                          "ecr": ("listen", "127.0.0.1", 0)})
    gw.start()                     # a thread; gw.port("ecr") is where the cashier connects
    gw.console                     # the device's console lines (docs/hostlink.md section 6)
    gw.stop()

docs/hostlink.md is the contract. The gateway reads a TCP connection only as far as the
device's credit allows (a flooding cashier is held back by TCP), connects without blocking
(CONNECT 5 s, then CLOSE 02), and closes every TCP connection of the device when the link
resets (a cut line, a device restart).
"""

import contextlib
import errno
import os
import select
import socket
import threading
import time

from agent.hostlink import link as hl
from agent.hostlink.frame import Decoder

WINDOW = 16384  # what the gateway grants the device per channel
CONNECT_S = 5.0
TEXT = bytes(range(0x20, 0x7F)) + b"\r\n\t"


class GatewayError(Exception):
    """A service that cannot be served (a bad address, a port in use)."""


def now_ms():
    return int(time.monotonic() * 1000)


class Conn:
    """One channel's TCP side: `inbuf` read from TCP not yet taken by the link, `outbuf` from
    the device not yet written to TCP."""

    def __init__(self, channel, sock, connecting=False):
        self.channel = channel
        self.sock = sock
        self.connecting = connecting
        self.deadline = time.monotonic() + CONNECT_S
        self.inbuf = b""
        self.outbuf = bytearray()
        self.eof = False  # the TCP peer closed its side


class Gateway:
    def __init__(self, serial, services, log=None, clock=now_ms, rng=os.urandom, **timers):
        self.serial = serial
        self.services = dict(services)
        self.log = log or (lambda text: None)
        self.link = hl.Link(clock, rng, hl.GATEWAY, hl.MAX_WINDOW, **timers)
        self.link.decoder = Decoder(noise=self._noise)
        self.console = []  # device console lines, from the console channel or raw text
        self.raw = bytearray()  # text the device printed outside frames, not yet a whole line
        self.partial = ""  # console channel text not yet a whole line
        self.conns = {}  # channel id -> Conn
        self.listeners = {}  # socket -> service
        self.consoles = []  # console channels
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._resets = 0
        for name, (kind, host, port) in self.services.items():
            if kind == "listen":
                self.listeners[self._listen(name, host, port)] = name

    # -- life cycle ------------------------------------------------------------------------

    def _listen(self, name, host, port):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            s.close()
            raise GatewayError(f"service {name}: cannot listen on {host}:{port}: {e}") from None
        s.listen(4)
        s.setblocking(False)
        return s

    def port(self, service):
        """The TCP port a listened service is reachable on."""
        for sock, name in self.listeners.items():
            if name == service:
                return sock.getsockname()[1]
        raise KeyError(service)

    def start(self):
        self._thread = threading.Thread(target=self.run, name="gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for conn in list(self.conns.values()):
            conn.sock.close()
        self.conns = {}
        for sock in self.listeners:
            sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def up(self):
        return self.link.up

    def wait_up(self, timeout_s=30.0):
        deadline = time.monotonic() + timeout_s
        while not self.link.up:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def console_text(self):
        with self.lock:
            return "\n".join(self.console)

    # -- the loop --------------------------------------------------------------------------

    def run(self):
        while not self._stop.is_set():
            self.turn(0.02)

    def attach(self, serial):
        """Another serial line (the board was powered up again, the cable plugged back)."""
        with self.lock:
            old, self.serial = self.serial, serial
        if old is not None and old is not serial:
            old.close()

    def feed(self, data):
        """Bytes of the device's line read by someone else (what came with the start)."""
        with self.lock:
            self.link.receive(data)

    def turn(self, wait_s):
        """One round: wait for any socket, then move every byte that can move."""
        serial = self.serial
        reads = [*self.listeners]
        if serial is not None and not serial.closed:
            reads.append(serial)
        writes = []
        for conn in self.conns.values():
            if conn.connecting or conn.outbuf:
                writes.append(conn.sock)
            if self._wants_input(conn):
                reads.append(conn.sock)
        try:
            readable, writable, _ = select.select(reads, writes, [], wait_s)
        except (OSError, ValueError):
            readable, writable = [], []
        with self.lock:
            if serial is not None and serial in readable:
                data = serial.read(65536)
                if data:
                    self.link.receive(data)
            for sock in readable:
                if sock in self.listeners:
                    self._accept(sock)
            for conn in list(self.conns.values()):
                if conn.sock in writable:
                    self._writable(conn)
                if conn.sock in readable:
                    self._readable(conn)
            self.link.poll()
            self._check_reset()
            self._serve_opens()
            self._pump_channels()
            out = self.link.take_output()
        if out and serial is not None and not serial.closed:
            serial.write(out)

    def _wants_input(self, conn):
        c = conn.channel
        return c.accepted and not conn.eof and not conn.inbuf and c.credit > 0 and not c.closed

    def _accept(self, listener):
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        service = self.listeners[listener]
        if not self.link.up:
            sock.close()  # no device to pass it to: refused, as a closed port would be
            return
        try:
            channel = self.link.open(service, WINDOW)
        except hl.HostLinkError:
            sock.close()
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conns[channel.id] = Conn(channel, sock)
        self.log(f"{service}: a peer connected, channel {channel.id}")

    def _serve_opens(self):
        for channel in list(self.link.incoming):
            if channel.service == "console":
                self.link.accept(channel, WINDOW)
                self.consoles.append(channel)
                continue
            spec = self.services.get(channel.service)
            if spec is None or spec[0] != "connect":
                self.log(f"channel {channel.id}: no service {channel.service!r}: refused")
                self.link.close(channel, hl.REFUSED)
                continue
            _, host, port = spec
            sock = socket.socket()
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code = sock.connect_ex((host, port))
            if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
                sock.close()
                self.link.close(channel, hl.UNREACHABLE)
                continue
            self.link.incoming.remove(channel)
            self.conns[channel.id] = Conn(channel, sock, connecting=True)

    def _writable(self, conn):
        if conn.connecting:
            code = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            conn.connecting = False
            if code:
                self._drop(conn, hl.UNREACHABLE)
                return
            if not self.link.accept(conn.channel, WINDOW):
                self._drop(conn, hl.CLOSED)  # the device gave up meanwhile
            return
        try:
            sent = conn.sock.send(conn.outbuf)
        except BlockingIOError:
            return
        except OSError:
            self._drop(conn, hl.BROKEN)
            return
        conn.outbuf[:sent] = b""

    def _readable(self, conn):
        c = conn.channel
        try:
            data = conn.sock.recv(min(c.credit, 65536))
        except BlockingIOError:
            return
        except OSError:
            self._drop(conn, hl.BROKEN)
            return
        if not data:
            conn.eof = True
            return
        conn.inbuf = data

    def _pump_channels(self):
        now = time.monotonic()
        for conn in list(self.conns.values()):
            c = conn.channel
            if conn.connecting:
                if now > conn.deadline:
                    self._drop(conn, hl.UNREACHABLE)
                continue
            if conn.inbuf and not c.closed:
                taken = self.link.send(c, conn.inbuf)
                conn.inbuf = conn.inbuf[taken:]
            if len(conn.outbuf) < WINDOW:
                conn.outbuf += self.link.read(c, WINDOW)
            if conn.eof and not conn.inbuf and not c.closed:
                self.link.close(c, hl.CLOSED)
            if c.closed and not c.rx and not conn.outbuf:
                self._drop(conn, None)
        for c in list(self.consoles):
            self._console(self.link.read(c, WINDOW).decode("utf-8", "replace"))
            if c.closed:
                self.consoles.remove(c)

    def _drop(self, conn, reason):
        """Close the TCP side; the channel too with `reason` unless it is closed already."""
        self.conns.pop(conn.channel.id, None)
        if conn.channel in self.link.incoming:
            self.link.incoming.remove(conn.channel)
        if reason is not None and not conn.channel.sent_close:
            self.link.close(conn.channel, reason)
        with contextlib.suppress(OSError):
            conn.sock.close()

    def _check_reset(self):
        """Every TCP connection goes with a link that reset (docs/hostlink.md 3.4)."""
        dead = [conn for conn in self.conns.values() if conn.channel.reason == hl.LINK_DOWN]
        for conn in dead:
            self._drop(conn, None)
        if self.link.resets != self._resets:
            self._resets = self.link.resets
            self.log(f"link reset ({self._resets}): {len(dead)} connections closed")
        self.consoles = [c for c in self.consoles if c.reason != hl.LINK_DOWN]

    def _console(self, text):
        if not text:
            return
        *lines, self.partial = (self.partial + text).split("\n")
        for line in lines:
            self.console.append(line)
            self.log("device: " + line)

    def _noise(self, run):
        """Text outside frames (a boot banner, a traceback): the device's raw console."""
        printable = bytes(b for b in run if b in TEXT)
        if len(printable) * 2 < len(run):
            return  # line noise, not text
        self.raw += printable
        while b"\n" in self.raw:
            line, _, rest = bytes(self.raw).partition(b"\n")
            self.raw = bytearray(rest)
            text = line.decode("ascii", "replace").rstrip("\r")
            if text:
                self.console.append(text)
                self.log("device (raw): " + text)
