"""What a request handler is given (Ctx) and what it gives back (Reply)."""

import json

from simulator.club_server import wire
from simulator.club_server.program import DEFAULT_SETTINGS, Program

# Field 48 tags (docs/protocol.md 2.3), written from the doc like iso_spec.py rather than
# imported from agent/: the server is the vendor's side, and the interop tests catch a drift.
TAG_POINTS_EARNED = 0x01
TAG_POINTS_BALANCE = 0x02
TAG_TIER = 0x03
TAG_MESSAGE = 0x04
TAG_BANK_REFERENCE = 0x05
TAG_ORIGINAL_RRN = 0x06
TAG_PHONE = 0x07
TAG_GENDER = 0x08
TAG_BIRTH_DATE = 0x09
TAG_EDUCATION = 0x0A
TAG_REVERSAL_REASON = 0x0B
TAG_CREDIT_VALIDITY = 0x0C
TAG_CARD_EXPIRY = 0x0D
TAG_RECON_DETAIL = 0x0E
TAG_SPLIT_TENDER = 0x17  # the remainder's tender of a split payment (protocol.md 5.11)


class Config:
    """Server knobs the handlers see."""

    def __init__(self, hold_window=900.0, request_retention=7 * 86400.0):
        self.hold_window = float(hold_window)  # seconds an approval waits for its 0220
        self.request_retention = float(request_retention)  # seconds repeats are recognised


class Request:
    """A request that passed the checks done outside the database (decoding, format, MAC)."""

    __slots__ = ("cls", "content_hash", "counter", "ikid", "message", "now", "secrets")

    def __init__(self, message, secrets, ikid, counter, content_hash, now):
        self.message = message
        self.secrets = secrets  # {tag: text} of field 62, or None when it did not decrypt
        self.ikid = ikid  # hex, uppercase
        self.counter = counter
        self.content_hash = content_hash
        self.now = now
        self.cls = wire.CLASS[message["t"]]


class Reply:
    """A handler's answer: field 39, field 48 items, field 54 items, other fields."""

    __slots__ = ("amounts", "code", "fields", "record", "tags", "txn")

    def __init__(self, code, tags=None, amounts=None, txn=None, fields=None, record=True):
        self.code = code
        self.tags = tags or {}  # {tag: str}
        self.amounts = amounts or []  # [(account, amount type, rials)]
        self.txn = txn  # the txns row the request made or touched
        self.fields = fields or {}
        self.record = record  # False: not kept for repeats (a system error is retried anew)

    def data(self):
        """The part of a reply a later duplicate confirmation gets again, as JSON text."""
        return json.dumps(
            {"tags": {str(k): v for k, v in self.tags.items()}, "amounts": self.amounts},
            ensure_ascii=False,
        )

    @classmethod
    def from_data(cls, code, text, txn=None):
        data = json.loads(text)
        tags = {int(k): v for k, v in data["tags"].items()}
        return cls(code, tags, [tuple(a) for a in data["amounts"]], txn)


class Ctx:
    """Everything a handler needs; built inside the database thread for one request."""

    def __init__(self, store, request, terminal, merchant, config, vault, outcomes):
        self.store = store
        self.request = request
        self.message = request.message
        self.secrets = request.secrets or {}
        self.now = request.now
        self.terminal = terminal
        self.terminal_id = terminal["terminal_id"]
        self.merchant = merchant
        self.merchant_id = merchant["merchant_id"]
        self.config = config
        self.vault = vault
        self.outcomes = outcomes
        self._program = None
        self._settings = None
        self._tags = None

    @property
    def program(self):
        if self._program is None:
            self._program = Program(self.store.program(self.merchant["program_id"]))
        return self._program

    @property
    def settings(self):
        if self._settings is None:
            self._settings = {**DEFAULT_SETTINGS, **self.store.settings()}
        return self._settings

    def request_tags(self):
        """Field 48 of the request as {tag: text}; ValueError when it is malformed."""
        if self._tags is None:
            raw = self.message.get("48", b"")
            tags = {}
            i = 0
            while i < len(raw):
                if i + 2 > len(raw) or i + 2 + raw[i + 1] > len(raw) or raw[i] in tags:
                    raise ValueError("field 48 TLV malformed")
                tags[raw[i]] = raw[i + 2 : i + 2 + raw[i + 1]].decode()
                i += 2 + raw[i + 1]
            self._tags = tags
        return self._tags


def encode_tags(tags):
    """{tag: text} -> field 48 bytes (tags ascending, UTF-8, each value at most 255 bytes)."""
    out = bytearray()
    for tag in sorted(tags):
        value = str(tags[tag]).encode()[:255]
        out += bytes((tag, len(value))) + value
    return bytes(out)


def encode_amounts(items, currency="364"):
    """[(account, amount type, rials)] -> field 54 text (20 characters per item)."""
    return "".join(
        f"{account}{kind}{currency}{'C' if rials >= 0 else 'D'}{abs(rials):012d}"
        for account, kind, rials in items[:6]
    )
