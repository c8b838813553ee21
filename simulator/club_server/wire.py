"""The club link on the host side, over pyiso8583: bytes <-> message dicts, and the profile.

pyiso8583 (an implementation independent of the agent's codec) does the ISO 8583 work with
VAFA_SPEC; this module adds what docs/protocol.md asks of a receiver beyond that: character
classes (pyiso8583 treats n, an, ans and x+n alike), the bitmap rules, the fields each message
type must and may carry, and fixed values. Messages here are dicts like the agent's: "t" the
MTI, "2".."128" string keys, str values, bytes for binary fields.

Two failures, two outcomes (docs/protocol.md 4.3 step 1 lists which is which): Undecodable
(the frame does not decode at all: a bit for a field not in the map, such as field 2 or bit 65,
a length prefix out of range, a field cut short, a byte above 0x7F in a text field, bytes after
the MAC: drop it and close the connection) and FormatError (it decodes, but a field is missing,
not allowed, or has characters or a value the profile does not allow: answer 30).

What any answer to a refused request carries, a 30 included, is response_skeleton's: the
echoed fields the request carried well formed, nothing the table marks mandatory beyond 39, 53
and the MAC (docs/protocol.md 2.1, "Refusals"); the MAC field follows from what is left.
"""

import iso8583

from simulator.club_server.iso_spec import VAFA_SPEC

BINARY = frozenset(
    key for key, spec in VAFA_SPEC.items() if spec["data_enc"] == "b" and key.isdigit()
) - {"1"}

# Field formats (docs/protocol.md 2.1), which pyiso8583 does not check.
N, AN, ANS, XN, B = "n", "an", "ans", "x+n", "b"
# fmt: off
FORMATS = {
    "3": N, "4": N, "7": N, "11": N, "12": N, "13": N, "22": N, "25": N, "37": AN, "38": AN,
    "39": AN, "42": ANS, "48": B, "49": N, "52": B, "53": B, "54": AN, "62": B, "64": B, "70": N,
    "74": N, "75": N, "76": N, "77": N, "86": N, "87": N, "88": N, "89": N, "90": N, "97": XN,
    "128": B,
}
# Request MTI -> (mandatory fields, optional fields); anything else present is a format error.
# Repeats (last digit 1) have their original's layout.
REQUESTS = {
    "0100": ({"3", "4", "7", "11", "12", "13", "22", "25", "42", "49", "53", "62", "64"},
             {"48", "52"}),  # 52: the PIN block (docs/protocol.md 4.5)
    "0220": (
        {"3", "4", "7", "11", "12", "13", "37", "42", "49", "53", "62", "90", "128"},
        {"25", "48"},  # 25: "06" when re-sent after a restart (docs/protocol.md 2.1, C3)
    ),
    "0420": (
        {"3", "4", "7", "11", "12", "13", "42", "49", "53", "62", "90", "128"},
        {"25", "37", "48"},
    ),
    "0500": ({"7", "11", "42", "53", "62", "74", "75", "76", "77", "86", "87", "88", "89", "97",
              "128"}, set()),
    "0800": ({"7", "11", "42", "53", "62", "70", "128"}, set()),
}
# fmt: on
# Request MTI -> its original (a repeat, last digit 1, is laid out as its original).
# fmt: off
ORIGINAL = {"0100": "0100", "0101": "0100", "0220": "0220", "0221": "0220", "0420": "0420",
            "0421": "0420", "0500": "0500", "0501": "0500", "0800": "0800", "0801": "0800"}
# fmt: on
RESPONSE = {
    mti: original[:2] + str(int(original[2]) + 1) + "0" for mti, original in ORIGINAL.items()
}
# The message class of docs/protocol.md section 6 (the MTI without its last digit).
CLASS = {mti: original[:3] for mti, original in ORIGINAL.items()}

# Fields a response echoes from its request (the "E" cells of docs/protocol.md 2.1).
ECHO = {
    "0110": ("3", "4", "7", "11", "42", "49"),
    "0230": ("3", "4", "7", "11", "37", "42", "49", "90"),
    "0430": ("3", "4", "7", "11", "37", "42", "49", "90"),
    "0510": ("7", "11", "42"),
    "0810": ("7", "11", "42", "70"),
}

# Every 0100 names a card (field 62 tag 01): there is no card-less entry mode ("000").
ENTRY_MODES = ("051", "021", "012")
CONDITIONS = ("00", "06")
CURRENCY = "364"
# Field 90 names the 0100 (the terminal writes 0100 even after a 0101); matching uses only its
# STAN and field 7, so 0101 there is accepted too.
ORIGINAL_MTIS = ("0100", "0101")
MAC_LEN = 8

_AN = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ")


class WireError(ValueError):
    def __init__(self, reason, field=None):
        super().__init__(f"{reason} (field {field})" if field is not None else reason)
        self.field = field
        self.reason = reason


class Undecodable(WireError):
    """The bytes are not a message: drop the frame and close the connection."""


class FormatError(WireError):
    """A message that decodes but breaks the profile: answer 30."""


def decode(data):
    """bytes -> (message, has_secondary_bitmap); Undecodable for anything pyiso8583 refuses
    (it raises its DecodeError, and KeyError for a bitmap bit outside the spec)."""
    try:
        raw, _ = iso8583.decode(bytes(data), VAFA_SPEC)
    except Exception as e:  # any failure of the third-party decoder is "does not decode"
        raise Undecodable(f"pyiso8583: {e}") from None
    mti = raw.get("t", "")
    if len(mti) != 4 or not mti.isdigit():
        raise Undecodable("MTI is not 4 digits", "t")
    # pyiso8583 reads bit 65 as the announcement of a tertiary bitmap (fields 129..192) and,
    # when that bitmap is all zeros, decodes the message; the profile has no bit 65 at all.
    if int(raw.get("1", "00")[:2], 16) & 0x80:
        raise Undecodable("bit 65 (a tertiary bitmap) is not used", "bitmap")
    secondary = "1" in raw
    message = {"t": mti}
    for key, value in raw.items():
        if key in ("t", "p", "1"):
            continue
        message[key] = bytes.fromhex(value) if key in BINARY else value
    return message, secondary


def encode(message):
    """Message dict -> bytes (pyiso8583 computes the bitmaps)."""
    out = {}
    for key, value in message.items():
        out[key] = value.hex().upper() if isinstance(value, (bytes, bytearray)) else value
    data, _ = iso8583.encode(out, VAFA_SPEC)
    return bytes(data)


def mac_field(message):
    """ "128" when a field 65..127 is present (and so a secondary bitmap), else "64"."""
    for key in message:
        if key.isdigit() and key not in ("64", "128") and int(key) > 64:
            return "128"
    return "64"


def _check_chars(key, value):
    fmt = FORMATS[key]
    if fmt == N:
        ok = value.isdigit() and value.isascii()
    elif fmt == AN:
        ok = _AN.issuperset(value)
    elif fmt == ANS:  # printable ASCII, " " to "~"
        ok = value.isascii() and value.isprintable()
    elif fmt == XN:
        ok = value[:1] in ("C", "D") and value[1:].isdigit() and value[1:].isascii()
    else:
        ok = True
    if not ok:
        raise FormatError(f"characters not allowed by format {fmt}", key)


# field -> (allowed values, what they are)
_VALUES = {"49": (CURRENCY,), "22": ENTRY_MODES, "25": CONDITIONS}


def _check_tlv(data):
    """Field 48 of a request is whole TLV items, each tag once, every value UTF-8 text
    (docs/protocol.md 2.3): else 30, whether or not the host reads the field for this request."""
    seen = set()
    i = 0
    while i < len(data):
        if i + 2 > len(data) or i + 2 + data[i + 1] > len(data):
            raise FormatError(f"TLV item cut short at offset {i}", "48")
        if data[i] in seen:
            raise FormatError(f"TLV tag {data[i]:02X} repeated at offset {i}", "48")
        seen.add(data[i])
        try:
            data[i + 2 : i + 2 + data[i + 1]].decode()
        except UnicodeDecodeError:
            raise FormatError(f"TLV tag {data[i]:02X} is not UTF-8 text", "48") from None
        i += 2 + data[i + 1]


def check_format(message, secondary):
    """Raise FormatError unless the request follows docs/protocol.md sections 2 and 4.2."""
    mti = message["t"]
    original = ORIGINAL.get(mti)
    if original is None:
        raise FormatError("not a request message type", "t")
    mandatory, optional = REQUESTS[original]
    present = {key for key in message if key != "t"}
    missing = mandatory - present
    if missing:
        raise FormatError("mandatory field missing", min(missing, key=int))
    extra = present - mandatory - optional
    if extra:
        raise FormatError("field not allowed in this message", min(extra, key=int))
    high = any(int(key) > 64 for key in present)
    if secondary != high:
        raise FormatError("secondary bitmap present without a field 65..128", "bitmap")
    mac = mac_field(message)
    if mac not in present or (mac == "128" and "64" in present):
        raise FormatError("MAC in the wrong field", mac)
    for key in present:
        if key != "t":
            _check_chars(key, message[key])
    for key, allowed in _VALUES.items():
        if key in message and message[key] not in allowed:
            raise FormatError(f"value not one of {', '.join(allowed)}", key)
    if "90" in message:
        f90 = message["90"]
        if f90[:4] not in ORIGINAL_MTIS or f90[20:] != "0" * 22:
            raise FormatError("original data elements: MTI 0100 + STAN + field 7 + 22 zeros", "90")
    if "48" in message:
        _check_tlv(message["48"])
    if len(message["53"]) != 12:
        raise FormatError("KSN must be 12 bytes", "53")


def parse_original(f90):
    """Field 90 -> (original MTI, STAN, field 7)."""
    return f90[:4], f90[4:10], f90[10:20]


def response_skeleton(request, checked=False):
    """The response MTI and the fields it echoes from `request` (the E cells of
    docs/protocol.md 2.1), those present and well formed: a 30 answer to a malformed request
    echoes what it can. A refusal (30, 63, 03, 94, 96) is this plus field 39, and then 53 and
    the MAC: a refused 0500 has no totals, so its 0510 has its MAC in 64, as has an 0810 to an
    0800 without a usable field 70. checked=True: the request passed check_format, so every
    field is well formed and is echoed without checking it again."""
    response_mti = RESPONSE[request["t"]]
    out = {"t": response_mti}
    for key in ECHO[response_mti]:
        value = request.get(key)
        if value is None:
            continue
        if not checked:
            try:
                _check_chars(key, value)
            except FormatError:
                continue
            if VAFA_SPEC[key]["len_type"] == 0 and len(value) != VAFA_SPEC[key]["max_len"]:
                continue
        out[key] = value
    return out
