"""What a terminal plugs in over the host link (docs/hostlink.md 4.1): each adapter has the
interface of its TCP twin, so the engine, the bank leg, the ECR server and the card reader run
the same code whichever carries them.

    HostClubLink(mux)          the ClubLink port (agent/ports.py), as agent/links/tcp.py
    HostBankConn(mux)          a connection for agent/links/bankleg.py SocketBankLeg(connect)
    HostEcrPort(mux)           the ECR port of agent/ecr/server.py (the cashier connects to the
                               gateway; a new connection replaces the old one)
    HostVpcdReader(mux)        a card reader (agent/card_io/reader.py) whose card connects to
                               the gateway over vpcd: a channel is a card in the slot
    PeripheralStream(mux, s)   a display, printer, keypad or stripe reader byte stream
"""

from agent.card_io.vpcd import VpcdCardPort
from agent.hostlink.errors import ChannelClosed, HostLinkError
from agent.links import LinkDown, LinkTimeout
from agent.protocol.errors import FramingError
from agent.protocol.framing import MAX_FRAME, FrameReader, frame

CONNECT_MS = 5000
READ_SIZE = 512
# A peripheral's answer (a printer's paper status) may cost a retransmission or two over the
# host link (RTO 300 ms), where a UART of its own answers within milliseconds.
PERIPHERAL_READ_MS = 1500


class HostClubLink:
    """The club link over the `club` channel: connects on demand, reconnects after a close,
    raises LinkTimeout / LinkDown exactly as TcpClubLink does (a channel the gateway could not
    open is LinkDown(sent=False): the request never left the terminal)."""

    def __init__(self, mux, service="club", connect_timeout_ms=CONNECT_MS, max_frame=MAX_FRAME):
        self.mux = mux
        self.service = service
        self.connect_timeout_ms = connect_timeout_ms
        self.max_frame = max_frame
        self.stream = None
        self.reader = None
        self.frames = []
        self.connects = 0

    def connect(self):
        self.close()
        try:
            self.stream = self.mux.connect(self.service, self.connect_timeout_ms)
        except HostLinkError as e:
            raise LinkDown("cannot connect to the club: " + str(e), sent=False)
        self.reader = FrameReader(self.max_frame)
        self.frames = []
        self.connects += 1

    def close(self):
        if self.stream is not None:
            self.stream.close()
        self.stream = None
        self.reader = None

    def exchange(self, payload, timeout_ms):
        data = frame(payload, self.max_frame)
        if self.stream is not None and self.stream.closed:
            self._keep_late()  # the club closed the idle connection: reconnect, no repeat
            self.close()
        if self.stream is None:
            self.connect()
        try:
            self.stream.write(data, self.connect_timeout_ms)
        except HostLinkError as e:
            self.close()
            raise LinkDown("send failed: " + str(e), sent=True)
        return self.receive(timeout_ms)

    def receive(self, timeout_ms):
        clock = self.mux.clock  # the terminal's clock, as every wait of the host link
        start = clock.ticks_ms()
        while not self.frames:
            if self.stream is None:
                raise LinkDown("not connected", sent=True)
            left = timeout_ms - (clock.ticks_ms() - start)
            if left <= 0:
                raise LinkTimeout("no answer in " + str(timeout_ms) + " ms")
            try:
                chunk = self.stream.read(READ_SIZE, left)
            except ChannelClosed as e:
                self.close()
                raise LinkDown("connection closed by the host: " + str(e.reason), sent=True)
            if chunk:
                self._feed(chunk)
        return self.frames.pop(0)

    def _feed(self, chunk):
        try:
            self.frames.extend(self.reader.feed(chunk))
        except FramingError as e:
            self.close()
            raise LinkDown("framing error: " + str(e), sent=True)

    def _keep_late(self):
        """Bytes that arrived before the close are late answers: kept for receive()."""
        while self.stream.available():
            self._feed(self.mux.link.read(self.stream.channel, READ_SIZE))


class HostBankConn:
    """The bank leg's connection over the `bank` channel (agent/links/bankleg.py): write(data),
    read(timeout_ms) -> b"" when nothing came, OSError once the PSP closed; close()."""

    def __init__(self, mux, service="bank", connect_timeout_ms=CONNECT_MS):
        self.stream = mux.connect(service, connect_timeout_ms)

    def write(self, data):
        self.stream.write(data)

    def read(self, timeout_ms):
        return self.stream.read(READ_SIZE, timeout_ms)

    def close(self):
        self.stream.close()


class HostEcrPort:
    """The ECR port (agent/ecr/server.py) over `ecr` channels the gateway opens when a cashier
    connects to it: one cashier at a time, a new channel replaces the old one and changes
    `generation`; write() raises OSError when no cashier is connected or it takes nothing."""

    def __init__(self, mux, service="ecr", write_timeout_ms=2000):
        self.mux = mux
        self.listener = mux.listen(service)
        self.stream = None
        self.generation = 0
        self.write_timeout_ms = write_timeout_ms

    def read(self, timeout_ms):
        stream = self.stream

        def ready():
            if self.listener.pending:
                return True
            return stream is not None and (stream.available() or stream.closed)

        if not ready():
            if timeout_ms > 0:
                self.mux.wait(ready, timeout_ms)
            else:
                self.mux.pump(0)
        new = self.listener.accept(0) if self.listener.pending else None
        if new is not None:
            self._drop()
            self.stream = new
            self.generation += 1
            return b""
        if self.stream is None:
            return b""
        try:
            return self.stream.read(READ_SIZE, 0)
        except ChannelClosed:
            self._drop()
            return b""

    def write(self, data):
        if self.stream is None:
            raise OSError("no cashier connected")
        try:
            self.stream.write(data, self.write_timeout_ms)
        except HostLinkError:
            self._drop()
            raise

    def _drop(self):
        stream, self.stream = self.stream, None
        if stream is not None:
            stream.close()


class HostVpcdReader(VpcdCardPort):
    """A card reader (agent/card_io/reader.py) over the vpcd protocol, as
    agent/device/peripherals.py VpcdReader, but the card's connection is a `card` channel the
    gateway opens: the channel is the card in the slot, its close the card pulled out."""

    def __init__(self, mux, service="card", timeout_ms=3000):
        self.mux = mux
        self.listener = mux.listen(service)
        self.conn = None
        self.timeout_ms = timeout_ms

    def _take(self):
        new = self.listener.accept(0) if self.listener.pending else None
        if new is not None:
            self._drop()  # a newly inserted card replaces the old one
            self.conn = new

    def _drop(self):
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()

    def card_present(self):
        self.mux.pump(0)
        self._take()
        if self.conn is not None and self.conn.closed:
            self._drop()  # a card never speaks first: closed means it left
        return self.conn is not None

    def wait_for_card(self, timeout_ms):
        if self.card_present():
            return True
        self.mux.wait(lambda: self.listener.pending, timeout_ms)
        return self.card_present()

    def wait_for_removal(self, timeout_ms):
        if not self.card_present():
            return True
        conn = self.conn
        self.mux.wait(lambda: conn.closed or self.listener.pending, timeout_ms)
        return not self.card_present() or self.conn is not conn

    def _send(self, data):
        self.conn.write(data)  # HostLinkError (an OSError) when the channel is gone

    def _read_exact(self, n, timeout_ms):
        return self.conn.read_exact(n, timeout_ms)


class PeripheralStream:
    """A peripheral's byte stream (display, printer, keypad, stripe reader) over a channel, as
    agent/device/peripherals.py TcpStream: read(n, timeout_ms) -> b"" when nothing came (or
    the channel is gone), write(data) -> n or OSError. A channel lost with the link (a cut
    line) is opened again at the next write or read."""

    def __init__(self, mux, service, connect_timeout_ms=CONNECT_MS):
        self.mux = mux
        self.service = service
        self.connect_timeout_ms = connect_timeout_ms
        self.stream = mux.connect(service, connect_timeout_ms)

    def _open(self):
        if self.stream.closed:
            self.stream = self.mux.connect(self.service, self.connect_timeout_ms)
        return self.stream

    def write(self, data):
        return self._open().write(data)

    def read(self, n=1, timeout_ms=PERIPHERAL_READ_MS):
        start = self.mux.clock.ticks_ms()
        try:
            stream = self._open()
            return stream.read(n, max(timeout_ms - (self.mux.clock.ticks_ms() - start), 0))
        except HostLinkError:
            return b""

    def close(self):
        self.stream.close()
