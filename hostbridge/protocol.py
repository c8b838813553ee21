"""The ECR protocol declared with `construct`, from docs/ecr.md (sections 2 and 3).

This is the cashier side's own implementation: it shares no code with the terminal's codec
(agent/ecr), so the tests that run one against the other check both against the doc.

    Frame    STX | length (Int16ub) | payload | ETX | CRC-16/CCITT-FALSE of length..ETX (Int16ub)
    Payload  seq (Int8ub) | type (Int8ub) | TLV items until the end
    TlvItem  tag (Int8ub) | value prefixed by its length (Int16ub), typed by tag (FIELDS)

    >>> frame = build_frame(build_payload(1, "sale", {"amount": 120000, "invoice": "INV-1001",
    ...                                                "cashier": "07"}))
    >>> frame.hex(" ").upper()[:24]
    '02 00 1B 01 01 01 00 06'
    >>> parse_payload(parse_frame(frame))["fields"]["amount"]
    120000
"""

import binascii
import io

from construct import (
    Adapter,
    Bytes,
    Check,
    Checksum,
    Const,
    ConstructError,
    GreedyBytes,
    GreedyRange,
    Int8ub,
    Int16ub,
    Prefixed,
    RawCopy,
    Rebuild,
    Struct,
    Switch,
    Terminated,
    ValidationError,
    len_,
    this,
)

from hostbridge.errors import FrameError, MessageError

STX = b"\x02"
ETX = b"\x03"
ACK = 0x06
NAK = 0x15
MIN_PAYLOAD = 2
MAX_PAYLOAD = 4096
RESPONSE = 0x80


def crc16(data):
    """CRC-16/CCITT-FALSE (init 0xFFFF, poly 0x1021): binascii's crc_hqx with that start."""
    return binascii.crc_hqx(bytes(data), 0xFFFF)


# -- values -----------------------------------------------------------------------------------


class _Value(Adapter):
    """bytes <-> a typed value, with the size limits of its tag."""

    def __init__(self, low, high):
        super().__init__(GreedyBytes)
        self.low = low
        self.high = high

    def _sized(self, raw, path):
        if not self.low <= len(raw) <= self.high:
            raise ValidationError(f"{len(raw)} bytes, allowed {self.low}..{self.high}", path)
        return raw


class Number(_Value):
    """ASCII decimal digits <-> int (written without leading zeros)."""

    def _decode(self, obj, context, path):
        self._sized(obj, path)
        if not obj.isdigit():
            raise ValidationError("not decimal digits", path)
        return int(obj)

    def _encode(self, obj, context, path):
        if not isinstance(obj, int) or isinstance(obj, bool) or obj < 0:
            raise ValidationError("a non-negative int is required", path)
        return self._sized(str(obj).encode("ascii"), path)


class Digits(_Value):
    """ASCII decimal digits kept as text (leading zeros matter)."""

    def _decode(self, obj, context, path):
        self._sized(obj, path)
        if not obj.isdigit():
            raise ValidationError("not decimal digits", path)
        return obj.decode("ascii")

    def _encode(self, obj, context, path):
        if not isinstance(obj, str) or not obj.isascii() or not obj.isdigit():
            raise ValidationError("text of decimal digits is required", path)
        return self._sized(obj.encode("ascii"), path)


class Printable(_Value):
    """Printable ASCII (0x20..0x7E) text."""

    @staticmethod
    def _ok(raw):
        return all(0x20 <= b <= 0x7E for b in raw)

    def _decode(self, obj, context, path):
        self._sized(obj, path)
        if not self._ok(obj):
            raise ValidationError("not printable ASCII", path)
        return obj.decode("ascii")

    def _encode(self, obj, context, path):
        raw = obj.encode("utf-8") if isinstance(obj, str) else None
        if raw is None or not self._ok(raw):
            raise ValidationError("printable ASCII text is required", path)
        return self._sized(raw, path)


class Text(_Value):
    """UTF-8 text."""

    def _decode(self, obj, context, path):
        self._sized(obj, path)
        try:
            return obj.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValidationError(f"not UTF-8 ({e.reason} at {e.start})", path) from None

    def _encode(self, obj, context, path):
        if not isinstance(obj, str):
            raise ValidationError("text is required", path)
        try:
            raw = obj.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("text that UTF-8 cannot carry", path) from None
        return self._sized(raw, path)


class Byte(_Value):
    """One byte <-> an int 0..255."""

    def _decode(self, obj, context, path):
        return self._sized(obj, path)[0]

    def _encode(self, obj, context, path):
        if not isinstance(obj, int) or isinstance(obj, bool) or not 0 <= obj <= 255:
            raise ValidationError("an int 0..255 is required", path)
        return bytes((obj,))


# docs/ecr.md 3.3: tag -> (field name, value type)
FIELDS = {
    0x01: ("amount", Number(1, 12)),
    0x02: ("invoice", Printable(1, 20)),
    0x03: ("cashier", Printable(1, 16)),
    0x04: ("method", Printable(1, 1)),
    0x05: ("original_rrn", Printable(12, 12)),
    0x06: ("account", Digits(2, 2)),
    0x07: ("original_invoice", Printable(1, 20)),
    0x08: ("text", Text(1, 2048)),
    0x09: ("seconds", Number(1, 3)),
    0x0A: ("coupon", Printable(4, 16)),
    0x0B: ("split", Printable(1, 1)),
    0x20: ("result", Digits(2, 2)),
    0x21: ("response_code", Printable(2, 2)),
    0x22: ("message", Text(1, 255)),
    0x23: ("discount", Number(1, 12)),
    0x24: ("fee", Number(1, 12)),
    0x25: ("payable", Number(1, 12)),
    0x26: ("points_earned", Number(1, 12)),
    0x27: ("points_balance", Number(1, 12)),
    0x28: ("club_balance", Number(1, 12)),
    0x29: ("store_balance", Number(1, 12)),
    0x2A: ("card", Printable(4, 19)),
    0x2B: ("stan", Digits(6, 6)),
    0x2C: ("rrn", Printable(12, 12)),
    0x2D: ("bank_reference", Printable(1, 32)),
    0x2E: ("receipt", Text(1, 3072)),
    0x2F: ("tier", Printable(1, 1)),
    0x30: ("command", Byte(1, 1)),
    0x31: ("terminal_id", Printable(8, 8)),
    0x32: ("time", Digits(14, 14)),
    0x33: ("reason", Printable(2, 2)),
    0x34: ("club_message", Text(1, 255)),
    0x35: ("flow", Printable(1, 16)),
    0x36: ("debit_count", Number(1, 10)),
    0x37: ("debit_amount", Number(1, 16)),
    0x38: ("credit_count", Number(1, 10)),
    0x39: ("credit_amount", Number(1, 16)),
    0x3A: ("reversal_count", Number(1, 10)),
    0x3B: ("reversal_amount", Number(1, 16)),
    0x3C: ("confirmed", Printable(1, 1)),
    0x3D: ("coupon_discount", Number(1, 12)),
    0x3E: ("coupon_text", Text(1, 255)),
    0x3F: ("coupon_reason", Printable(2, 2)),
    0x40: ("credit_account", Digits(2, 2)),  # the legs of a split sale (docs/ecr.md 3.6)
    0x41: ("credit_part", Number(1, 12)),
    0x42: ("remainder_account", Digits(2, 2)),
    0x43: ("remainder", Number(1, 12)),
}
FIELD_TAGS = {name: tag for tag, (name, _) in FIELDS.items()}

# docs/ecr.md 3.2
COMMANDS = {
    "sale": 0x01,
    "balance": 0x02,
    "refund": 0x03,
    "void": 0x04,
    "status": 0x05,
    "settlement": 0x06,
    "print": 0x07,
    "show": 0x08,
    "topup": 0x09,
}
COMMAND_NAMES = {code: name for name, code in COMMANDS.items()}
METHODS = {"bank": "B", "club": "C", "store": "S", "cash": "K", "points": "P"}
COUPON_METHODS = ("bank", "club", "store", "cash")  # a points sale takes no coupon (3.2)
SPLITS = {"bank": "B", "cash": "K"}  # a split sale's remainder (tag 0B)
CREDIT_METHODS = ("club", "store")  # what a split sale pays first

# docs/ecr.md 3.5
RESULTS = {
    "00": "approved",
    "01": "declined",
    "02": "cancelled",
    "03": "reversed",
    "04": "failed",
    "05": "pending",
    "10": "busy",
    "11": "in progress",
    "12": "unknown invoice",
    "13": "bad request",
    "14": "invoice reused",
    "15": "unsupported",
    "16": "not the last transaction",
}

# -- structures -------------------------------------------------------------------------------

FrameBody = Struct(
    "length" / Rebuild(Int16ub, len_(this.payload)),
    Check(lambda ctx: MIN_PAYLOAD <= ctx.length <= MAX_PAYLOAD),
    "payload" / Bytes(this.length),
    "etx" / Const(ETX),
)

Frame = Struct(
    "stx" / Const(STX),
    "body" / RawCopy(FrameBody),
    "crc" / Checksum(Int16ub, crc16, this.body.data),
    Terminated,
)

TlvItem = Struct(
    "tag" / Int8ub,
    "value"
    / Prefixed(
        Int16ub,
        Switch(this.tag, {tag: value for tag, (_, value) in FIELDS.items()}, default=GreedyBytes),
    ),
)

Header = Struct("seq" / Int8ub, "type" / Int8ub)

Payload = Struct(
    "seq" / Int8ub,
    "type" / Int8ub,
    "items" / GreedyRange(TlvItem),
    Terminated,
)


def build_ack(seq):
    return bytes((ACK, seq, seq ^ 0xFF))


# -- entry points ---------------------------------------------------------------------------


def _error(cls, e, what, offset=None):
    path = getattr(e, "path", None)
    text = str(e).split("\n")[-1].strip() or type(e).__name__
    if path and text.startswith("Error in path"):
        text = text[len("Error in path") :].strip()
    return cls(f"{what}: {text}", offset=offset, path=path)


def build_frame(payload):
    """payload bytes -> the frame."""
    try:
        return Frame.build({"body": {"value": {"payload": bytes(payload)}}})
    except ConstructError as e:
        raise _error(FrameError, e, "cannot build frame") from None


def parse_frame(data):
    """One whole frame -> its payload; FrameError when it is not one intact frame."""
    try:
        return Frame.parse(bytes(data)).body.value.payload
    except ConstructError as e:
        raise _error(FrameError, e, "bad frame") from None


def build_payload(seq, msg_type, fields):
    """(seq, command name or type code, {field name: value}) -> payload bytes (tags ascending)."""
    code = COMMANDS[msg_type] if isinstance(msg_type, str) else msg_type
    items = []
    for name, value in fields.items():
        if name not in FIELD_TAGS:
            raise MessageError(f"no field named {name!r}")
        items.append({"tag": FIELD_TAGS[name], "value": value})
    items.sort(key=lambda item: item["tag"])
    try:
        return Payload.build({"seq": seq, "type": code, "items": items})
    except ConstructError as e:
        raise _error(MessageError, e, "cannot build message") from None


def parse_payload(payload):
    """payload bytes -> {"seq", "type", "fields"}; unknown tags are skipped, a repeated tag is
    a MessageError."""
    data = bytes(payload)
    if len(data) < MIN_PAYLOAD:
        raise MessageError("payload shorter than its sequence number and type", offset=0)
    # Payload.parse would do, but item by item the error can say which item and where.
    stream = io.BytesIO(data)
    head = Header.parse_stream(stream)
    fields = {}
    seen = set()
    while stream.tell() < len(data):
        offset = stream.tell()
        try:
            item = TlvItem.parse_stream(stream)
        except ConstructError as e:
            raise _error(MessageError, e, "bad TLV item", offset) from None
        if item.tag in seen:
            raise MessageError(f"tag {item.tag:02X} repeated", offset=offset)
        seen.add(item.tag)
        if item.tag in FIELDS:
            fields[FIELDS[item.tag][0]] = item.value
    return {"seq": head.seq, "type": head.type, "fields": fields}
