"""A virtual card inserted into pcscd through the vsmartcard vpcd driver (CPython).

The socket runner, kept apart from the card logic (any card-OS object of applet.py):

    slot = VpcdCard(port=35963)        # pcscd shows the reader "Virtual PCD 00 00"
    slot.insert(make_card("active"))   # connects: pcscd sees a card in ~0.4 s
    ...
    slot.remove()                      # disconnects: the reader is empty again
    slot.close()

The vpcd protocol (the card is the TCP client of the driver inside pcscd): every frame is a
2-byte big-endian length, then the payload. A 1-byte payload is control: 0 power off, 1 power
on, 2 reset, 4 "send the ATR" (answered with the ATR); anything longer is a command APDU,
answered by one frame with the response APDU. Debian's own `vicc` is broken on this system,
hence this small client.

A card whose `removed` attribute turns True (the pulled-out persona) is taken out right after
the answer that set it: the runner closes its connection, as contacts opening would.
"""

import contextlib
import socket
import struct
import threading
import time

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 35963  # vpcd's first slot: "Virtual PCD 00 00"; 35964 is "Virtual PCD 00 01"
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4
POLL_S = 0.1


def reader_name_for(port):
    """The name pcscd gives the vpcd slot on this port (the driver's default config)."""
    return f"Virtual PCD 00 {port - DEFAULT_PORT:02d}"


def parse_hostport(text):
    host, _, port = text.rpartition(":")
    return host or DEFAULT_HOST, int(port)


class VpcdCard:
    """One vpcd slot: insert() a card to connect it to the driver, remove() to take it out."""

    def __init__(self, host=DEFAULT_HOST, port=DEFAULT_PORT, trace=None):
        self.host = host
        self.port = port
        self.trace = trace  # callable(str) or None
        self.card = None
        self.connected = threading.Event()  # the driver has our connection
        self.gone = threading.Event()  # the card left on its own (pulled out)
        self.errors = []
        self.last_error = None  # the last connection attempt's OSError
        self._stop = threading.Event()
        self._thread = None
        self._sock = None

    @property
    def reader_name(self):
        return reader_name_for(self.port)

    def insert(self, card, connect_timeout=5.0):
        """Put the card in the slot; returns once the driver accepted the connection."""
        self.remove()
        self.card = card
        self.gone.clear()
        self._stop.clear()
        self.connected.clear()
        self._thread = threading.Thread(target=self._run, name="vpcd-card", daemon=True)
        self._thread.start()
        if not self.connected.wait(connect_timeout):
            self.remove()
            cause = self.last_error
            why = f" ({cause.strerror or cause})" if isinstance(cause, OSError) else ""
            raise OSError(
                f"vpcd at {self.host}:{self.port} did not accept the card within "
                f"{connect_timeout:g} s{why}: is pcscd running with the vsmartcard vpcd driver?"
            )

    def remove(self):
        """Take the card out (close the connection); a no-op when the slot is empty."""
        self._stop.set()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed by the other side
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.card = None

    close = remove

    def wait(self, seconds=None):
        """Block until the card leaves on its own, or `seconds` pass (None: forever)."""
        return self.gone.wait(seconds)

    # -- the runner --------------------------------------------------------------------------

    def _log(self, text):
        if self.trace is not None:
            self.trace(text)

    def _connect(self):
        while not self._stop.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
            except OSError as e:
                self.last_error = e  # for insert()'s message: refused, unreachable, ...
                time.sleep(POLL_S)
                continue
            sock.settimeout(POLL_S)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._quickack(sock)
            return sock
        return None

    def _recv_exact(self, sock, n):
        buf = b""
        while len(buf) < n:
            if self._stop.is_set():
                return None
            try:
                chunk = sock.recv(n - len(buf))
            except TimeoutError:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            buf += chunk
            self._quickack(sock)
        return buf

    @staticmethod
    def _quickack(sock):
        """Acknowledge at once (Linux TCP_QUICKACK, which the kernel clears again after a
        while, hence after every read). vpcd writes a frame's length and its payload in two
        writes: with a delayed ACK here, Nagle holds the payload ~40 ms per APDU."""
        quickack = getattr(socket, "TCP_QUICKACK", None)
        if quickack is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)

    def _send(self, sock, payload):
        sock.sendall(struct.pack(">H", len(payload)) + payload)

    def _run(self):
        sock = self._connect()
        if sock is None:
            return
        self._sock = sock
        self.connected.set()
        self._log(f"card in vpcd {self.host}:{self.port}")
        try:
            self._serve(sock)
        except OSError as e:
            self.errors.append(str(e))
        finally:
            self._sock = None
            sock.close()
            self._log("card out")

    def _serve(self, sock):
        card = self.card
        while not self._stop.is_set():
            head = self._recv_exact(sock, 2)
            if head is None:
                return
            (size,) = struct.unpack(">H", head)
            payload = self._recv_exact(sock, size)
            if payload is None:
                return
            if size == 1:
                self._control(sock, card, payload[0])
                continue
            try:
                answer = card.execute(payload)
            except Exception as e:  # a card bug must not kill the reader: answer 6F00
                self.errors.append(repr(e))
                answer = b"\x6f\x00"
            self._send(sock, answer)
            if getattr(card, "removed", False):
                self.gone.set()
                self._log("card pulled out")
                return

    def _control(self, sock, card, code):
        if code == CTRL_ATR:
            self._send(sock, card.atr())
        elif code == CTRL_ON:
            card.power_up()
        elif code == CTRL_OFF:
            card.power_down()
        elif code == CTRL_RESET:
            card.reset()
