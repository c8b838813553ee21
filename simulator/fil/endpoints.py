"""The host's side of the device's byte-level peripherals (CPython), one TCP listener each.

The device connects to each (agent/device/peripherals.py); a new connection replaces the old
one (the device restarted). Formats (docs/flashing.md "Firmware in the loop"):

- LcdEndpoint: pairs "C" + HD44780 instruction / "D" + character code, kept in a RecordingBus
  (agent/display/charlcd.py); a screen is complete once the last cell of the last row was
  written, and is kept as its rows' text until take();
- PrinterEndpoint: raw ESC/POS; a paper status request (DLE EOT 4) is answered at once with
  `status` (0x12: paper present); a job starts with ESC @ (receipts end with a cut, or a feed
  on a printer without a cutter) and is decoded to text lines with agent/printing/decode.py;
- KeypadEndpoint: the device writes a prompt line ("!confirm\\n" a confirmation, "?phone\\n"
  a question), the keypad answers with ASCII keys: Enter "\\r" / Cancel "\\x1b" for a
  confirmation (from `confirms`, True when empty, as agent.ports.ScriptedKeypad), digits +
  "\\r" for a question (from `answers`; Cancel when there is none); "*pin\\n" (or another PIN
  screen) a PIN entry: digits + "\\r" from `pins` (Cancel when none is left);
- StripeEndpoint: a magnetic stripe reader on a serial line: once the device arms it (ESC "r")
  it sends the swipe of the card presented (`present(text)`, ISO/IEC 7813 tracks) as one line
  ending CR LF, again at every arming while that card is presented;
- BankEndpoint: the PSP's side of the bank leg (docs/bank_leg.md "On a device"), answered by
  simulator/bank BankSimulator: 2-byte length + JSON frames; a "timeout" outcome (no answer)
  drops the connection (lost="drop") or stays silent (lost="silent").
"""

import contextlib
import json
import socket
import threading
import time

from agent.display.charlcd import ROW_ADDRESSES, RecordingBus
from agent.links.bankleg import MAX_FRAME
from agent.printing.decode import parse
from agent.protocol.framing import FrameReader, frame
from simulator.bank import BankSimulator

STATUS_PAPER = b"\x10\x04\x04"
INIT = b"\x1b\x40"  # ESC @: every job starts with it
ENTER, CANCEL = b"\r", b"\x1b"
ARM = b"\x1br"  # ESC "r": arms the stripe reader (agent/device/peripherals.py STRIPE_ARM)


class Endpoint:
    """A listener on 127.0.0.1 (any free port) served by a thread: on_bytes(data) per chunk."""

    def __init__(self, host="127.0.0.1", port=0):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(1)
        self.listener.settimeout(0.2)
        self.conn = None
        self.lock = threading.Lock()
        self.last_bytes = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()

    @property
    def port(self):
        return self.listener.getsockname()[1]

    @property
    def spec(self):
        """What the device's config names: "tcp:127.0.0.1:PORT"."""
        return f"tcp:127.0.0.1:{self.port}"

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(0.2)
            self.conn = conn
            self.reset()
            with contextlib.closing(conn):
                while not self._stop.is_set():
                    try:
                        data = conn.recv(4096)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not data:
                        break
                    self.last_bytes = time.monotonic()
                    with self.lock:
                        self.on_bytes(data)
            self.conn = None

    def send(self, data):
        conn = self.conn
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.sendall(data)

    def settle(self, quiet_s=0.15, timeout_s=3.0):
        """Wait until no byte came for quiet_s (what the device sent before has arrived)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() - self.last_bytes < quiet_s and time.monotonic() < deadline:
            time.sleep(0.03)

    def reset(self):
        pass

    def on_bytes(self, data):
        raise NotImplementedError

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.listener.close()


class LcdEndpoint(Endpoint):
    def __init__(self, cols=20, rows=4, **kw):
        self.cols, self.rows = cols, rows
        self.addresses = ROW_ADDRESSES[(cols, rows)]
        self.bus = RecordingBus()
        self.screens = []
        self._pending = b""
        super().__init__(**kw)

    def reset(self):
        self._pending = b""

    def on_bytes(self, data):
        data = self._pending + data
        end = len(data) - len(data) % 2
        self._pending = data[end:]
        last = self.addresses[-1] + self.cols - 1
        for i in range(0, end, 2):
            kind, value = data[i], data[i + 1]
            if kind == 0x43:  # "C"
                self.bus.write_cmd(value)
            elif kind == 0x44:  # "D"
                written = self.bus.address
                self.bus.write_data(bytes((value,)))
                if written == last:
                    self.screens.append(self.lines())

    def lines(self):
        return [r.decode("latin-1").rstrip() for r in self.bus.rows(self.cols, self.rows)]

    def take(self):
        """The screens completed since the last take (each its rows' text)."""
        self.settle()
        with self.lock:
            screens, self.screens = self.screens, []
        return screens


class PrinterEndpoint(Endpoint):
    def __init__(self, status=0x12, **kw):
        self.status = status
        self.data = bytearray()
        self.queries = 0
        super().__init__(**kw)

    def on_bytes(self, data):
        self.data += data
        at = self.data.find(STATUS_PAPER)
        while at >= 0:
            del self.data[at : at + 3]
            self.queries += 1
            if self.status is not None:
                self.send(bytes((self.status,)))
            at = self.data.find(STATUS_PAPER)

    def take_jobs(self):
        """The ESC/POS jobs printed since the last take: each starts with ESC @."""
        self.settle()
        with self.lock:
            data, self.data = bytes(self.data), bytearray()
        starts = [i for i in range(len(data)) if data.startswith(INIT, i)] or [0]
        if starts[0]:
            starts.insert(0, 0)
        return [
            data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True) if data[a:b]
        ]

    def take(self):
        """The receipts printed since the last take, each a list of text lines."""
        return [receipt_lines(job) for job in self.take_jobs()]


def receipt_lines(job):
    """The text lines of one ESC/POS job (commands dropped, one line per LF)."""
    lines, line = [], ""
    for name, raw in parse(job):
        if name == "text":
            line += raw.decode("latin-1")
        elif name == "LF":
            lines.append(line)
            line = ""
    if line:
        lines.append(line)
    return lines


class KeypadEndpoint(Endpoint):
    def __init__(self, answers=None, confirms=(), pins=(), **kw):
        self.answers = dict(answers or {})
        self.confirms = list(confirms)
        self.pins = list(pins)
        self.asked = []
        self._line = b""
        super().__init__(**kw)

    def reset(self):
        self._line = b""

    def on_bytes(self, data):
        self._line += data
        while b"\n" in self._line:
            line, self._line = self._line.split(b"\n", 1)
            if line[:1] == b"*":
                self._pin(line[1:].decode())
            elif line[:1] in (b"!", b"?"):
                self._answer(line[1:].decode(), line[:1] == b"!")

    def _answer(self, prompt, confirmation):
        self.asked.append(prompt)
        if confirmation:
            ok = self.confirms.pop(0) if self.confirms else True
            self.send(ENTER if ok else CANCEL)
            return
        value = self.answers.get(prompt)
        self.send(CANCEL if value is None else str(value).encode() + ENTER)

    def _pin(self, screen):
        """A PIN entry: the next of `pins`, typed a key at a time, then Enter."""
        self.asked.append(screen)
        if not self.pins:
            self.send(CANCEL)
            return
        for key in self.pins.pop(0):
            self.send(key.encode())
        self.send(ENTER)


class StripeEndpoint(Endpoint):
    def __init__(self, **kw):
        self.swipe = None  # the track text of the card presented, or None
        self.armed = False
        self.arms = 0
        self._pending = b""
        super().__init__(**kw)

    def reset(self):
        self._pending = b""
        self.armed = False

    def present(self, text):
        """Present a card (its tracks' text) or take it away (None)."""
        with self.lock:
            self.swipe = text
            if text is not None and self.armed:
                self._send_swipe()

    def on_bytes(self, data):
        self._pending += data
        while ARM in self._pending:
            self._pending = self._pending.split(ARM, 1)[1]
            self.arms += 1
            self.armed = True
            if self.swipe is not None:
                self._send_swipe()
        self._pending = self._pending[-1:]

    def _send_swipe(self):
        self.armed = False
        self.send(self.swipe.encode() + b"\r\n")


class BankEndpoint(Endpoint):
    def __init__(self, bank=None, lost="drop", **kw):
        self.bank = bank if bank is not None else BankSimulator()
        self.lost = lost
        self.requests = []
        self._frames = FrameReader(MAX_FRAME)
        super().__init__(**kw)

    def reset(self):
        self._frames = FrameReader(MAX_FRAME)

    def on_bytes(self, data):
        for payload in self._frames.feed(data):
            request = json.loads(payload.decode())
            self.requests.append(request)
            answer = self.answer(request)
            if answer is None:
                self.drop()
                return
            if answer:
                self.send(frame(json.dumps(answer).encode(), MAX_FRAME))

    def answer(self, request):
        """The answer to one request; None: drop the connection, {}: no answer."""
        op, txn_id = request.get("op"), request.get("id")
        if op == "status" or (op == "pay" and self.bank.status(txn_id)["status"] != "unknown"):
            out = self.bank.status(txn_id)  # a repeated pay is answered, never charged again
        elif op == "pay":
            out = self.bank.pay(int(request["amount"]), LastDigits(request.get("last4")), txn_id)
            if out["status"] == "timeout":  # the simulator's "no answer"
                return None if self.lost == "drop" else {}
        elif op == "reverse":
            out = self.bank.reverse(txn_id, int(request["amount"]))
            if out["status"] == "timeout":
                return None if self.lost == "drop" else {}
        else:
            return {"op": op, "id": txn_id, "status": "error", "message": "unknown op"}
        return {"op": op, "id": txn_id, "status": out["status"], "reference": out.get("reference")}

    def drop(self):
        conn = self.conn
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class LastDigits:
    """The card as the PSP's side hears of it: its last 4 digits."""

    def __init__(self, last4):
        self.last4 = last4
