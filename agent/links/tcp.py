"""ClubLink over a blocking TCP socket, for CPython and MicroPython (unix port, boards with a
network stack): docs/protocol.md section 1.

- Connects on demand (connect timer 5 s by default) and reconnects on the next exchange after
  the connection was closed by either side. Before sending on a connection that sat idle, it
  checks whether the host closed it meanwhile, so an idle close never costs a repeat.
- Frames with agent.protocol.framing (2-byte big-endian length); one read may hold several
  frames (a late answer and the answer): they are handed out one by one.
- Raises agent.links.LinkTimeout when no whole frame arrives in the window (the connection is
  kept: a late answer may still come and is then the club client's to discard), LinkDown when
  the connection cannot be made (sent=False) or breaks (sent=True), including a framing error.
"""

import errno
import select
import socket

from agent.links import LinkDown, LinkTimeout, close_quietly, elapsed_ms, ticks_ms
from agent.protocol.errors import FramingError
from agent.protocol.framing import MAX_FRAME, FrameReader, frame

CONNECT_TIMEOUT_MS = 5000
READ_SIZE = 1024
_TIMEOUT_ERRNOS = (errno.ETIMEDOUT, errno.EAGAIN)


def _is_timeout(e):
    # CPython: socket.timeout (TimeoutError); MicroPython: OSError(ETIMEDOUT or EAGAIN).
    if type(e).__name__ in ("timeout", "TimeoutError"):
        return True
    return bool(e.args) and e.args[0] in _TIMEOUT_ERRNOS


class TcpClubLink:
    def __init__(self, host, port, connect_timeout_ms=CONNECT_TIMEOUT_MS, max_frame=MAX_FRAME):
        self.host = host
        self.port = port
        self.connect_timeout_ms = connect_timeout_ms
        self.max_frame = max_frame
        self.sock = None
        self.reader = None
        self.frames = []  # whole frames read but not handed out yet
        self.connects = 0

    def connect(self):
        self.close()
        try:
            info = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_STREAM)[0]
            sock = socket.socket(info[0], socket.SOCK_STREAM)
        except OSError as e:
            raise LinkDown(f"cannot resolve {self.host}:{self.port}: {e}", sent=False)
        try:
            sock.settimeout(self.connect_timeout_ms / 1000)
            sock.connect(info[-1])
        except OSError as e:
            sock.close()
            raise LinkDown(f"cannot connect to {self.host}:{self.port}: {e}", sent=False)
        self.sock = sock
        self.reader = FrameReader(self.max_frame)
        self.frames = []
        self.connects += 1

    def close(self):
        close_quietly(self.sock)
        self.sock = None
        self.reader = None

    def exchange(self, payload, timeout_ms):
        data = frame(payload, self.max_frame)
        if self.sock is not None and self._closed_by_peer():
            self.close()
        if self.sock is None:
            self.connect()
        try:
            self.sock.settimeout(self.connect_timeout_ms / 1000)
            self.sock.sendall(data)
        except OSError as e:
            self.close()
            raise LinkDown(f"send failed: {e}", sent=True)
        return self.receive(timeout_ms)

    def receive(self, timeout_ms):
        start = ticks_ms()
        while not self.frames:
            if self.sock is None:
                raise LinkDown("not connected", sent=True)
            remaining = timeout_ms - elapsed_ms(start)
            if remaining <= 0:
                raise LinkTimeout(f"no answer in {timeout_ms} ms")
            try:
                self.sock.settimeout(remaining / 1000)
                chunk = self.sock.recv(READ_SIZE)
            except OSError as e:
                if _is_timeout(e):
                    raise LinkTimeout(f"no answer in {timeout_ms} ms")
                self.close()
                raise LinkDown(f"receive failed: {e}", sent=True)
            if not chunk:
                self.close()
                raise LinkDown("connection closed by the host", sent=True)
            try:
                self.frames.extend(self.reader.feed(chunk))
            except FramingError as e:
                self.close()
                raise LinkDown(f"framing error: {e}", sent=True)
        return self.frames.pop(0)

    def _closed_by_peer(self):
        """True when the idle connection is readable and reads as closed (EOF or error).

        Bytes that are waiting (a late answer) are kept for receive()."""
        try:
            if hasattr(select, "poll"):
                poller = select.poll()
                poller.register(self.sock, select.POLLIN)
                readable = poller.poll(0)
            else:
                readable = select.select([self.sock], [], [], 0)[0]
            if not readable:
                return False
            self.sock.settimeout(0.001)
            chunk = self.sock.recv(READ_SIZE)
        except OSError as e:
            return not _is_timeout(e)
        if not chunk:
            return True
        try:
            self.frames.extend(self.reader.feed(chunk))
        except FramingError:
            return True
        return False
