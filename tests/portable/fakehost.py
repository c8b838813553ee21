"""A tiny club host built from docs/protocol.md, and a link to it with scripted faults.

Not a test module (the runner collects test_*.py only): test_engine.py, test_saf.py and
test_powercut.py build terminals with make_terminal(). The host decodes requests with
agent.protocol.protect.open_sealed under keys it derives itself from the BDK (HostDukpt), so
the terminal's protection is checked end to end; it keeps duplicates, holds and points like the
reference club server, with a few magic card numbers (see CARDS).
"""

import binascii
import hashlib

from agent.engine import Engine
from agent.links import LinkDown, LinkTimeout
from agent.ports import (
    Card,
    ManualClock,
    MemoryStorage,
    RecordingDisplay,
    RecordingPrinter,
    ScriptedCardReader,
    ScriptedKeypad,
)
from agent.protocol import messages as m
from agent.protocol import protect
from agent.protocol.dukpt import HostDukpt, TerminalDukpt, derive_initial_key
from agent.protocol.tlv import decode_tlv, encode_amounts, encode_tlv
from agent.storage import BlobStore
from simulator.bank import BankSimulator

BDK = binascii.unhexlify("FEDCBA9876543210F1F1F1F1F1F1F1F1")
IKID = binascii.unhexlify("1234567890123456")
TERMINAL_ID = "T0000001"
MERCHANT_ID = "M00000000000001"
STORAGE_KEY = binascii.unhexlify("000102030405060708090A0B0C0D0E0F")

PAN = "98791121234567890"  # an active member (club range 987911, 17 digits, Luhn-valid)
PAN_ENROLL = "9879110000090064"  # from stock: 64 until enrolled
PAN_BLOCKED = "9879110000010062"
CARDS = {PAN_BLOCKED: "62"}
DISCOUNT_PERCENT = 10
START_CREDIT = 5000000


class FakeHost:
    def __init__(self):
        self.dukpt = HostDukpt(BDK)
        self.last_counter = 0
        self.seen = {}  # (MTI class, STAN, field 7) -> (content, response dict)
        self.txns = {}  # (STAN, field 7) of a 0100 -> transaction dict
        self.log = []  # (MTI, STAN, field 25, reason) of every request handled
        self.pans = []  # card numbers seen in field 62, decrypted
        self.credit = {}
        self.points = {}
        self.enrolled = []
        self.rrn = 0
        self.closed = []  # the terminal totals of each 0500
        self.edit = None  # fn(response dict) before sealing: a club answering something odd

    # -- transport ---------------------------------------------------------------------------

    def handle(self, data):
        message, secrets, keys = protect.open_sealed(data, self.dukpt.keys_for)
        counter = int.from_bytes(message["53"][8:], "big")
        if counter <= self.last_counter:
            return protect.seal(self._answer(message, "63"), keys, protect.RESPONSE)
        self.last_counter = counter
        assert secrets[m.SECRET_TERMINAL_ID] == TERMINAL_ID
        assert message["42"] == MERCHANT_ID
        pan = secrets.get(m.SECRET_CARD_NUMBER)
        if pan:
            self.pans.append(pan)
        mti = message["t"]
        tags = decode_tlv(message.get("48", b""))
        reason = tags.get(m.TAG_REVERSAL_REASON)
        self.log.append((mti, message["11"], message.get("25"), reason and reason.decode()))
        key = (mti[:3], message["11"], message["7"])
        content = self._content(message, secrets)
        if key in self.seen:
            first, response = self.seen[key]
            if first != content:
                response = self._answer(message, "94")
        else:
            response = self._process(mti[:3] + "0", message, tags, pan)
            if response["39"] != "96":  # a system error is not an answer to keep
                self.seen[key] = (content, response)
        if self.edit is not None:
            response = dict(response)
            self.edit(response)
        return protect.seal(response, keys, protect.RESPONSE)

    def _content(self, message, secrets):
        items = []
        for k in sorted(message):
            if k not in ("t", "53", "62", "64", "128"):
                items.append((k, message[k]))
        # A digest, not the text: the MicroPython heap of the tests is small.
        return hashlib.sha256((repr(items) + repr(sorted(secrets.items()))).encode()).digest()

    def _answer(self, message, rc, extra=None):
        out = {"t": m.RESPONSE_MTI[message["t"]], "39": rc}
        for k in ("3", "4", "7", "11", "42", "49", "70", "90"):
            if k in message:
                out[k] = message[k]
        if extra:
            out.update(extra)
        return out

    # -- business --------------------------------------------------------------------------

    def _process(self, mti, message, tags, pan):
        handler = {"0100": self._auth, "0220": self._confirm, "0420": self._reverse}.get(mti)
        if handler is not None:
            return handler(message, tags, pan)
        if mti == "0500":
            return self._close(message)
        return self._answer(message, "00")

    def _auth(self, message, tags, pan):
        pc = message["3"]
        amount = int(message["4"])
        if pan in CARDS:
            return self._answer(message, CARDS[pan])
        if pan == PAN_ENROLL and pan not in self.enrolled:
            if m.TAG_PHONE not in tags:
                return self._answer(message, "64")
            self.enrolled.append(pan)
        credit = self.credit.setdefault(pan, START_CREDIT)
        amounts = []
        out48 = {}
        if pc == m.BALANCE_INQUIRY:
            amounts = [("60", "02", credit), ("70", "02", 0)]
            out48 = {m.TAG_POINTS_BALANCE: str(self.points.get(pan, 0)), m.TAG_TIER: "B"}
            out48[m.TAG_CARD_EXPIRY] = "2812"
        elif pc[:2] == "00":
            account = pc[2:4]
            discount = amount * DISCOUNT_PERCENT // 100 if account == "40" else 0
            payable = amount - discount
            if account in ("60", "70"):
                if payable > credit:
                    return self._answer(message, "51")
                amounts = [(account, "P1", payable), (account, "02", credit - payable)]
            elif account == "40":
                amounts = [("40", "D1", discount), ("40", "F1", 0), ("40", "P1", payable)]
            out48 = {m.TAG_POINTS_EARNED: str(amount // 10000)}
        elif pc == m.TOP_UP:
            amounts = [("60", "02", credit + amount)]
            out48 = {m.TAG_CREDIT_VALIDITY: "20261231"}
        elif pc[:2] == "20":
            original = tags.get(m.TAG_ORIGINAL_RRN, b"").decode()
            if not any(
                t["rrn"] == original and t["state"] == "confirmed" for t in self.txns.values()
            ):
                return self._answer(message, "25")
        self.rrn += 1
        rrn = f"{self.rrn:012d}"
        self.txns[(message["11"], message["7"])] = {
            "pc": pc,
            "amount": amount,
            "rrn": rrn,
            "pan": pan,
            "state": "held",
            "payable": amount - (amounts[0][2] if amounts and amounts[0][1] == "D1" else 0),
        }
        extra = {"37": rrn, "38": f"A{self.rrn:05d}"}
        if amounts:
            extra["54"] = encode_amounts(amounts)
        if out48:
            extra["48"] = encode_tlv(out48)
        return self._answer(message, "00", extra)

    def _original(self, message):
        f90 = message["90"]
        return self.txns.get((f90[4:10], f90[10:20]))

    def _confirm(self, message, tags, pan):
        txn = self._original(message)
        if txn is None:
            return self._answer(message, "25")
        if txn["state"] in ("reversed", "voided"):
            return self._answer(message, "12")
        if txn["state"] == "held":
            txn["state"] = "confirmed"
            txn["bank_ref"] = (tags.get(m.TAG_BANK_REFERENCE) or b"").decode()
            pc = txn["pc"]
            if pc[2:4] == "60" or pc[4:6] == "60":
                sign = 1 if pc[:2] in ("20", "21") else -1
                self.credit[txn["pan"]] += sign * txn["payable"]
            if pc[:2] == "00":
                self.points[txn["pan"]] = self.points.get(txn["pan"], 0) + txn["amount"] // 10000
        out48 = {
            m.TAG_POINTS_EARNED: str(txn["amount"] // 10000 if txn["pc"][:2] == "00" else 0),
            m.TAG_POINTS_BALANCE: str(self.points.get(txn["pan"], 0)),
            m.TAG_TIER: "B",
            m.TAG_MESSAGE: "Thank you",
        }
        extra = {"37": txn["rrn"], "48": encode_tlv(out48)}
        extra["54"] = encode_amounts([("60", "02", self.credit.get(txn["pan"], 0))])
        return self._answer(message, "00", extra)

    def _reverse(self, message, tags, pan):
        txn = self._original(message)
        extra = {"37": message["37"]} if "37" in message else None
        if txn is None:
            return self._answer(message, "00", extra)
        reason = (tags.get(m.TAG_REVERSAL_REASON) or b"").decode()
        if txn["state"] == "confirmed" and reason == "VD":
            txn["state"] = "voided"
        elif txn["state"] == "held":
            txn["state"] = "reversed"
        return self._answer(message, "00", extra)

    def _close(self, message):
        totals = {f: 0 for f in ("74", "75", "76", "77", "86", "87", "88", "89")}
        for txn in self.txns.values():
            side = {"00": ("76", "88"), "20": ("74", "86"), "21": ("74", "86")}.get(txn["pc"][:2])
            if side is None or txn["state"] not in ("confirmed", "voided"):
                continue
            totals[side[0]] += 1
            totals[side[1]] += txn["amount"]
            if txn["state"] == "voided":
                rev = {"76": ("77", "89"), "74": ("75", "87")}[side[0]]
                totals[rev[0]] += 1
                totals[rev[1]] += txn["amount"]
        self.closed.append(dict((k, message[k]) for k in totals))
        extra = {}
        agree = True
        for k, v in totals.items():
            extra[k] = f"{v:0{len(message[k])}d}"
            agree = agree and extra[k] == message[k]
        net = totals["86"] - totals["88"] - totals["87"] + totals["89"]
        extra["97"] = ("C" if net >= 0 else "D") + f"{abs(net):016d}"
        agree = agree and extra["97"] == message["97"]
        return self._answer(message, "00" if agree else "95", extra)

    # -- what tests assert ------------------------------------------------------------------

    def states(self):
        return [t["state"] for t in self.txns.values()]

    def sent(self, mti):
        return [e for e in self.log if e[0] == mti]


class HostLink:
    """A ClubLink to a FakeHost, one scripted fault per exchange (then "ok"):

    "ok"      the answer comes back
    "drop"    the host processes the request, its answer is lost
    "lost"    the request is lost before the host
    "late"    the host answers, but the answer arrives at the start of the next exchange
    "badmac"  the answer comes back with a corrupted MAC
    "down"    the connection cannot be made (LinkDown, sent=False)
    "cut"     the connection breaks after the request left (LinkDown, sent=True)
    "copy"    the network delivers the request twice and loses the first answer: the terminal
              gets the answer to the copy (this host, like the club before docs/protocol.md
              6.2, answers a copy under a used KSN 63)
    A wait that ends without an answer moves the clock by the whole window.
    """

    def __init__(self, host, clock):
        self.host = host
        self.clock = clock
        self.script = []
        self.held = []
        self.inbox = []
        self.exchanges = 0

    def exchange(self, payload, timeout_ms):
        self.exchanges += 1
        action = self.script.pop(0) if self.script else "ok"
        if action == "down":
            raise LinkDown("connection refused", sent=False)
        self.inbox = self.held
        self.held = []
        if action == "copy":
            self.host.handle(payload)
        if action != "lost":
            answer = self.host.handle(payload)
            if action == "badmac":
                answer = answer[:-1] + bytes([answer[-1] ^ 0x01])
            if action == "late":
                self.held.append(answer)
            elif action == "cut":
                raise LinkDown("connection reset", sent=True)
            elif action != "drop":
                self.inbox.append(answer)
        return self.receive(timeout_ms)

    def receive(self, timeout_ms):
        if self.inbox:
            return self.inbox.pop(0)
        self.clock.advance(timeout_ms)
        raise LinkTimeout("no answer")

    def close(self):
        self.inbox = []


class Terminal:
    """One terminal and its world: the engine over `storage`, the host, the link, the bank."""

    def __init__(self, storage=None, host=None, bank=None, clock=None, cards=(), **config):
        self.storage = storage if storage is not None else MemoryStorage()
        self.host = host or FakeHost()
        self.clock = clock or ManualClock()
        self.link = HostLink(self.host, self.clock)
        self.bank = bank or BankSimulator()
        self.display = RecordingDisplay()
        self.printer = RecordingPrinter()
        self.keypad = ScriptedKeypad(
            {"phone": "09121234567", "gender": "F", "birth_date": "19900321", "education": "4"}
        )
        self.reader = ScriptedCardReader(cards)
        store = BlobStore(self.storage, "dukpt")
        dukpt = TerminalDukpt(store)
        if not dukpt.loaded:
            dukpt.load_initial_key(derive_initial_key(BDK, IKID), IKID)
        settings = {
            "terminal_id": TERMINAL_ID,
            "merchant_id": MERCHANT_ID,
            "storage_key": STORAGE_KEY,
            "merchant_name": "Test store",
        }
        settings.update(config)
        self.engine = Engine(
            self.link,
            self.bank,
            self.reader,
            self.keypad,
            self.display,
            self.printer,
            self.clock,
            self.storage,
            settings,
            dukpt=dukpt,
        )

    def restart(self, **config):
        """A new engine over the same storage, host, bank and clock (a power cycle)."""
        return Terminal(self.storage, self.host, self.bank, self.clock, **config)


def card(pan=PAN, entry="051"):
    return Card(pan, "2812", entry)


def leaks(t, pan=PAN):
    """Where the terminal put out or stored `pan` in clear: screens, receipts, storage blobs.
    Piece by piece, not one big string: the MicroPython heap of the tests is small."""
    found = []
    for screen, params in t.display.shown:
        for value in params.values():
            if pan in str(value):
                found.append("display " + screen)
    for lines in t.printer.printed:
        for line in lines:
            if pan in line:
                found.append("receipt")
    for name in t.storage.names():
        if pan.encode() in t.storage.read(name):
            found.append("storage " + name)
    return found
