"""The device's peripherals as bytes on sockets (docs/flashing.md "Firmware in the loop"),
imported only when vafa/config.json has "peripherals" (the in-memory ports cost no heap then).

Each peripheral is a socket named in vafa/config.json "peripherals":
    "tcp:HOST:PORT"      the device connects (display, printer, keypad, stripe reader, bank leg)
    "listen:HOST:PORT"   the device listens (card reader, ECR port)
On a board the same classes take a UART (display, printer, keypad, stripe reader, ECR) instead.
"""

import select
import socket
import time

from agent.card_io.vpcd import VpcdCardPort
from agent.device.streams import (  # the socket-free ones, shared with the host link's board
    LCD_SIZES,
    PRINTER_PROFILES,
    ChipOrStripe,
    FramedLcdBus,
    StreamKeypad,
    StreamUart,
    issuer_key,
)
from agent.links import close_quietly


class Wiring:
    """What attach() opened (streams, the bank leg), for close() and serve()."""

    def __init__(self, spec):
        self.spec = spec
        self.streams = []

    def stream(self, name):
        s = open_stream(self.spec[name])
        self.streams.append(s)
        return s

    def close(self):
        for s in self.streams:
            s.close()

    def serve(self, terminal, report=None, until=None):
        return serve(terminal, self.spec, report, until)


def attach(terminal, spec):
    """Replace the terminal's in-memory ports by the peripherals of `spec` (config
    "peripherals"), each one named there; the Wiring back."""
    wiring = Wiring(spec)
    config = terminal.config
    if "display" in spec:
        from agent.display.charlcd import CharLcd

        cols, rows = LCD_SIZES.get(config.get("display"), (20, 4))
        terminal.display = CharLcd(FramedLcdBus(wiring.stream("display")), cols, rows, "en")
    if "printer" in spec:
        from agent.ecr.session import ReceiptTap
        from agent.printing.printer import StreamPrinter

        profile = PRINTER_PROFILES.get(config.get("printer"), "ascii-58")
        terminal.printer = ReceiptTap(StreamPrinter(wiring.stream("printer"), profile))
    chip = None
    if "card" in spec:
        from agent.card_io.clubcard import ClubCardReader

        _, host, port = parse_endpoint(spec["card"])
        terminal.reader = chip = ClubCardReader(VpcdReader(host, port), issuer_key())
    if "stripe" in spec:
        from agent.card_io.serial_reader import SerialStripeReader
        from agent.ports import SystemClock

        clock = SystemClock()
        stream = wiring.stream("stripe")
        stripe = SerialStripeReader(serial=StreamUart(stream), clock=clock)
        terminal.reader = ChipOrStripe(chip, stream, stripe, clock)
    if "keypad" in spec:
        terminal.keypad = StreamKeypad(wiring.stream("keypad"), display=terminal.display)
    if "bank" in spec:
        from agent.links.bankleg import SocketBankLeg

        _, host, port = parse_endpoint(spec["bank"])
        terminal.bank = SocketBankLeg(lambda: BankConn(host, port))
        wiring.streams.append(terminal.bank)
    return wiring


def serve(terminal, spec, report=None, until=None):
    """The ECR loop (spec "ecr": "listen:HOST:PORT"): the cashier's commands run the flows on a
    thread of their own; between them the engine's idle work (the store-and-forward queue).
    Console lines: "VAFA-READY ecr PORT" once serving, "VAFA-QUEUE N" when the queue's length
    changed. `until()` True ends the loop."""
    import gc

    from agent.device import guard
    from agent.ecr.server import EcrServer
    from agent.ecr.session import EcrSession, ThreadRunner

    engine = terminal.engine
    _, host, port = parse_endpoint(spec["ecr"])
    terminal.ecr = SocketEcrPort(host, port)
    receipts = terminal.printer if hasattr(terminal.printer, "take") else None
    session = EcrSession(engine, terminal.storage, ThreadRunner(), receipts=receipts)
    session.recover(report)
    server = EcrServer(terminal.ecr, session)
    print("VAFA-READY ecr", port)
    polls, queued = 0, None
    while until is None or not until():
        try:
            server.poll(50)
            polls += 1
            if session.job is not None:
                continue
            # the idle loop: queued confirmations and reversals go out when their backoff is
            # over; the queue's length goes to the console when it changes
            left = engine.idle() if not polls % 20 else len(engine.saf)
            if left != queued:
                queued = left
                print("VAFA-QUEUE", left)
            if not polls % 100:
                gc.collect()
        except Exception as e:  # a MemoryError must not end the loop (guard.py); a command
            print(guard.handled(engine, session, e))  # on its thread answers for itself


def parse_endpoint(text):
    """("tcp" | "listen", host, port) of "tcp:HOST:PORT" / "listen:HOST:PORT"."""
    kind, rest = text.split(":", 1)
    host, port = rest.rsplit(":", 1)
    if kind not in ("tcp", "listen"):
        raise ValueError("peripheral endpoint must be tcp:HOST:PORT or listen:HOST:PORT")
    return kind, host, int(port)


def _address(host, port):
    return socket.getaddrinfo(host, port)[0][-1]


def _wait(sock, timeout_ms):
    """The poll events of sock within timeout_ms (0 when none)."""
    p = select.poll()
    p.register(sock, select.POLLIN)
    events = p.poll(timeout_ms)
    return events[0][1] if events else 0


WRITE_TIMEOUT_MS = 2000  # a peer that takes none of our bytes for this long is dropped


def _send_all(sock, data, timeout_ms=WRITE_TIMEOUT_MS):
    """All of data, or OSError: a peer that never reads (a stalled cashier) must not stop the
    device's loop on a blocking send (docs/ecr.md 2.1)."""
    view = memoryview(data)
    while view:
        p = select.poll()
        p.register(sock, select.POLLOUT)
        if not p.poll(timeout_ms):
            raise OSError("the peer takes no data: write timed out")
        n = sock.send(view)
        if not n:
            raise OSError("connection closed")
        view = view[n:]


def _recv_exact(sock, n, timeout_ms):
    """n bytes, or None when the peer closed or timeout_ms passed without a byte."""
    buf = b""
    while len(buf) < n:
        if not _wait(sock, timeout_ms):
            return None
        try:
            chunk = sock.recv(n - len(buf))
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def _listener(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(_address(host, port))
    s.listen(1)
    return s


class TcpStream:
    """A byte stream to a host endpoint (the device connects): write(data) -> n,
    read(n, timeout_ms) -> bytes (b"" when nothing came)."""

    def __init__(self, host, port, tries=50):
        self.sock = None
        for _ in range(tries):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.connect(_address(host, port))
            except OSError:
                s.close()
                time.sleep(0.1)
                continue
            self.sock = s
            return
        raise OSError("peripheral at " + host + ":" + str(port) + " does not answer")

    def write(self, data):
        _send_all(self.sock, data)
        return len(data)

    def read(self, n=1, timeout_ms=500):
        if not _wait(self.sock, timeout_ms):
            return b""
        try:
            return self.sock.recv(n)
        except OSError:
            return b""

    def close(self):
        self.sock.close()


def open_stream(text):
    kind, host, port = parse_endpoint(text)
    if kind != "tcp":
        raise ValueError("this peripheral connects out: tcp:HOST:PORT")
    return TcpStream(host, port)


class VpcdReader(VpcdCardPort):
    """A card reader (agent/card_io/reader.py) over the vpcd protocol (agent/card_io/vpcd.py)
    on a listening socket: a card connects (inserted) or closes its connection (pulled out)."""

    def __init__(self, host, port, timeout_ms=3000):
        self.listener = _listener(host, port)
        self.conn = None
        self.timeout_ms = timeout_ms

    def _accept(self, timeout_ms):
        if _wait(self.listener, timeout_ms):
            conn, _ = self.listener.accept()
            self._drop()
            self.conn = conn
        return self.conn is not None

    def _drop(self):
        conn, self.conn = self.conn, None
        close_quietly(conn)

    def card_present(self):
        if _wait(self.listener, 0):
            self._accept(0)  # a newly inserted card replaces the old one
        if self.conn is not None and _wait(self.conn, 0):
            self._drop()  # a card never speaks first: readable means it left
        return self.conn is not None

    def wait_for_card(self, timeout_ms):
        return self.card_present() or self._accept(timeout_ms)

    def wait_for_removal(self, timeout_ms):
        if not self.card_present():
            return True
        if _wait(self.conn, timeout_ms):
            self._drop()
        return self.conn is None

    def _send(self, data):
        _send_all(self.conn, data)

    def _read_exact(self, n, timeout_ms):
        return _recv_exact(self.conn, n, timeout_ms)


class SocketEcrPort:
    """The ECR port of agent/ecr/server.py on a listening socket: one cashier at a time, a
    new connection replaces the old one and changes `generation`."""

    def __init__(self, host, port):
        self.listener = _listener(host, port)
        self.conn = None
        self.generation = 0

    def read(self, timeout_ms):
        p = select.poll()
        p.register(self.listener, select.POLLIN)
        if self.conn is not None:
            p.register(self.conn, select.POLLIN)
        data = b""
        p.poll(timeout_ms)
        if _wait(self.listener, 0):
            conn, _ = self.listener.accept()
            self._drop()
            self.conn = conn
            self.generation += 1
            return b""
        if self.conn is not None and _wait(self.conn, 0):
            try:
                data = self.conn.recv(512)
            except OSError:
                data = b""
            if not data:
                self._drop()
        return data

    def write(self, data):
        if self.conn is None:
            raise OSError("no cashier connected")
        try:
            _send_all(self.conn, data)
        except OSError:
            self._drop()
            raise

    def _drop(self):
        conn, self.conn = self.conn, None
        close_quietly(conn)


class BankConn(TcpStream):
    """The bank leg's connection (agent/links/bankleg.py): one connect attempt (a refused one
    is OSError at once), read(timeout_ms) -> b"" when nothing came, OSError once the PSP
    closed."""

    def __init__(self, host, port):
        super().__init__(host, port, tries=1)

    def read(self, timeout_ms):
        if not _wait(self.sock, timeout_ms):
            return b""
        data = self.sock.recv(512)
        if not data:
            raise OSError("the bank leg closed the connection")
        return data
