"""The ports the transaction engine is handed, and simple implementations of several of them.

A port is a tiny interface; the engine (agent/engine.py) gets one object per port in its
constructor and never imports I/O itself. Only entry points choose adapters: MicroPython
hardware, CPython libraries, or the simulated ones here and in simulator/.

ClubLink: the club server, one request at a time (docs/protocol.md section 1)
    exchange(payload, timeout_ms) -> bytes
        Send one message (the ISO 8583 bytes, without the 2-byte frame length, which is the
        link's business) and return the next message received within timeout_ms.
    receive(timeout_ms) -> bytes
        The next message received, without sending (the engine calls it after discarding a
        late or foreign response, for the rest of its window).
    close()
        Drop the connection (the next exchange reconnects).
    Both raise agent.links.LinkTimeout when nothing arrives in time, LinkDown when the
    connection cannot be made or breaks; LinkDown(sent=False) means the request certainly
    did not leave the terminal. Adapters: agent/links/tcp.py; tests use an in-process host.

BankLeg: the PSP's payment application on the same POS
    pay(amount, card, txn_id) -> {"status": ..., "reference": str or None, "message": str}
        Charge `amount` rials. status: "approved" (reference is the bank's RRN or trace),
        "declined", "cancelled" (by the customer) or "timeout" (no answer: charged or not is
        unknown). txn_id is the engine's id of the attempt, unique per terminal.
    status(txn_id) -> the same dict, status "unknown" when the bank never saw txn_id
        Optional (the engine checks with hasattr): the status inquiry after a timeout or a
        power cut. Without it an unknown outcome is reversed on the club side.
    reverse(txn_id, amount) -> {"status": "reversed" | "declined" | "timeout", ...}
        Optional: give back the payment txn_id when the club refused its confirmation (12);
        idempotent by txn_id (agent/bankback.py, docs/bank_leg.md "Reversal"). Without it the
        cashier gets a slip to refund by hand.
    Simulator: simulator/bank (docs/bank_leg.md).

CardReader: the club card (chip, stripe or keyed)
    read(timeout_ms) -> Card or None (no card, or cancelled). Raises a
        agent.card_io.errors.CardError when a card came but cannot be used (not genuine,
        blank, unreadable, pulled out while read): the sale stops before any 0100.
    present(card) -> bool
        Optional (the engine checks with getattr): whether `card`, read by this reader, is
        still in it; True for a card it did not read. Asked before phase two: a card pulled
        out after phase one is reversed. Chip: agent/card_io/clubcard.ClubCardReader.

Keypad: the customer / cashier keys
    ask(field, kind) -> str or None
        One answer for an enrollment field ("phone", "gender", "birth_date", "education");
        kind says what is typed ("digits", "choice", "date"). None = cancelled.
    confirm(screen, **params) -> bool
        The customer accepts (True) or cancels (False) what the display shows.
    pin(screen, **params) -> str or None
        Optional (the engine checks with getattr): the cardholder's PIN, 4..12 digits, typed
        on this keypad under `screen` ("pin" or "pin_wrong"); the adapter shows one star per
        digit (params["masked"]), never the digit, never logs or echoes it, and never takes
        it from the ECR link. None = cancelled. The engine turns it into a PIN field at once
        and drops the digits (agent/pinentry.py).

Display: screens by id, never raw text (agent/display/text.py renders them for a text LCD)
    show(screen, **params)

Printer: receipts (agent/receipt.py lays them out; agent/receipt.print_copy chooses)
    ready() -> bool          paper present and printer online
    print_receipt(document)  optional: the layout model (agent/printing/layout.py), rendered by
                             the printer itself, e.g. to ESC/POS (agent/printing/printer.py)
    print_lines(lines)       otherwise: lines of text; either raises OSError when it fails
    language                 optional: "en" or "fa", the receipts' language

Clock
    now() -> int             UTC seconds since 1970-01-01 (the port converts a board's epoch)
    ticks_ms() -> int        milliseconds, monotonic, never wraps (timers only)

Storage: named blobs (agent/storage.py: FileStorage, MemoryStorage)
    read(name) -> bytes or None; write_atomic(name, data); append(name, record); remove(name)

Rng: a callable rng(n) -> n random bytes (os.urandom by default).

Card numbers: a Card keeps the number in RAM only; its repr and `last4` show the last 4 digits.
"""

import time

from agent.storage import MemoryStorage

__all__ = [
    "Card",
    "ManualClock",
    "MemoryStorage",
    "RecordingDisplay",
    "RecordingPrinter",
    "ScriptedCardReader",
    "ScriptedKeypad",
    "SystemClock",
    "default_rng",
    "mask_pan",
]


def mask_pan(pan):
    """The card number as shown anywhere: stars, then the last 4 digits."""
    if not pan:
        return ""
    return "*" * (len(pan) - 4) + pan[-4:] if len(pan) > 4 else pan


class Card:
    """A card as read: number (RAM only), expiry YYMM or None, POS entry mode (field 22)."""

    def __init__(self, pan, expiry=None, entry="051"):
        self.pan = pan
        self.expiry = expiry
        self.entry = entry

    @property
    def last4(self):
        return self.pan[-4:]

    def __repr__(self):
        return f"Card({mask_pan(self.pan)}, entry {self.entry})"


class ScriptedCardReader:
    """Hands out the given cards in order, then None."""

    def __init__(self, cards=()):
        self.cards = list(cards)

    def read(self, timeout_ms=30000):
        return self.cards.pop(0) if self.cards else None


class ScriptedKeypad:
    """Answers from a dict (ask) and lists (confirm, pin); records the questions (the
    screen of a PIN question, never the PIN)."""

    def __init__(self, answers=None, confirms=(), pins=()):
        self.answers = dict(answers or {})
        self.confirms = list(confirms)
        self.pins = list(pins)
        self.asked = []

    def ask(self, field, kind="digits"):
        self.asked.append(field)
        return self.answers.get(field)

    def confirm(self, screen, **params):
        self.asked.append(screen)
        return self.confirms.pop(0) if self.confirms else True

    def pin(self, screen, **params):
        self.asked.append(screen)
        return self.pins.pop(0) if self.pins else None


class RecordingDisplay:
    """Keeps every screen shown: `shown` is a list of (screen, params)."""

    def __init__(self):
        self.shown = []

    def show(self, screen, **params):
        self.shown.append((screen, params))

    @property
    def last(self):
        return self.shown[-1] if self.shown else None

    def screens(self):
        return [s for s, _ in self.shown]


class RecordingPrinter:
    """Keeps every receipt printed (`printed`, a list of line lists); `paper` is settable."""

    def __init__(self, paper=True):
        self.paper = paper
        self.printed = []

    def ready(self):
        return self.paper

    def print_lines(self, lines):
        if not self.paper:
            raise OSError("printer out of paper")
        self.printed.append(list(lines))


class ManualClock:
    """A clock that moves only when told: `now()` in UTC seconds, `ticks_ms()` in ms."""

    def __init__(self, now=1700000000, ticks=0):
        self._now = now
        self._ticks = ticks

    def now(self):
        return self._now + self._ticks // 1000

    def ticks_ms(self):
        return self._ticks

    def advance(self, ms):
        self._ticks += ms

    def set(self, now):
        """Set the wall clock (UTC seconds); timers are not affected."""
        self._now = now - self._ticks // 1000


class SystemClock:
    """The interpreter's clock. MicroPython: time.ticks_ms wraps, so the differences are summed
    into a counter that does not; the UTC epoch is 1970 on the unix port (boards with a 2000
    epoch pass epoch_offset=946684800)."""

    def __init__(self, epoch_offset=0):
        self.epoch_offset = epoch_offset
        self._ticks = getattr(time, "ticks_ms", None)
        self._last = self._ticks() if self._ticks else 0
        self._total = 0

    def now(self):
        return int(time.time()) + self.epoch_offset

    def ticks_ms(self):
        if self._ticks is None:
            return int(time.monotonic() * 1000)  # CPython
        raw = self._ticks()
        self._total += time.ticks_diff(raw, self._last)
        self._last = raw
        return self._total


def default_rng(n):
    import os

    return os.urandom(n)
