"""The payload of a frame (docs/ecr.md section 3), pure: bytes in, values out.

    SEQ 1 byte | TYPE 1 byte | TLV items: TAG 1 byte, LEN 2 bytes big-endian, VALUE

A message is a dict: {"seq": int, "type": int, "fields": {name: value}}. Field names, types and
sizes are agent.ecr.spec.TAGS. Writers put tags in ascending order, each at most once; readers
accept any order, refuse a repeated tag and skip unknown tags (forward compatibility).
"""

from agent.ecr.errors import EncodeError, MessageError
from agent.ecr.spec import COMMANDS, RESPONSE, TAG_CODES, TAGS


def _within(raw, low, high):
    # min/max run in C on both interpreters: no Python loop per byte
    return not raw or (min(raw) >= low and max(raw) <= high)


def _printable(raw):
    return _within(raw, 0x20, 0x7E)


def _digits(raw):
    return _within(raw, 0x30, 0x39)


def encode_value(tag, value):
    """One field value -> its bytes, checked against TAGS[tag]."""
    name, kind, low, high = TAGS[tag]
    if kind == "n":
        if type(value) is not int or value < 0:
            raise EncodeError(f"{name} must be a non-negative int", tag=tag)
        raw = str(value).encode()
    elif kind == "u8":
        if type(value) is not int or not 0 <= value <= 255:
            raise EncodeError(f"{name} must be an int 0..255", tag=tag)
        raw = bytes((value,))
    else:
        if not isinstance(value, str):
            raise EncodeError(f"{name} must be text", tag=tag)
        raw = value.encode()
        if kind == "d" and not _digits(raw):
            raise EncodeError(f"{name} must be digits", tag=tag)
        if kind == "an" and not _printable(raw):
            raise EncodeError(f"{name} must be printable ASCII", tag=tag)
    if not low <= len(raw) <= high:
        raise EncodeError(f"{name} is {len(raw)} bytes, allowed {low}..{high}", tag=tag)
    return raw


def decode_value(tag, raw, offset=None):
    """The bytes of one field -> its value; MessageError when they break TAGS[tag]."""
    name, kind, low, high = TAGS[tag]
    if not low <= len(raw) <= high:
        raise MessageError(
            f"{name} is {len(raw)} bytes, allowed {low}..{high}", offset=offset, tag=tag
        )
    if kind == "u8":
        return raw[0]
    if kind in ("n", "d"):
        if not _digits(raw):
            raise MessageError(f"{name} is not digits", offset=offset, tag=tag)
        return int(raw) if kind == "n" else raw.decode()
    if kind == "an":
        if not _printable(raw):
            raise MessageError(f"{name} is not printable ASCII", offset=offset, tag=tag)
        return raw.decode()
    try:
        return raw.decode()
    except UnicodeError:
        raise MessageError(f"{name} is not UTF-8", offset=offset, tag=tag)


def encode_fields(fields):
    """{name: value} -> the TLV bytes, tags ascending."""
    items = []
    for name in fields:
        tag = TAG_CODES.get(name)
        if tag is None:
            raise EncodeError(f"no field named {name!r}")
        items.append(tag)
    items.sort()
    out = []
    for tag in items:
        raw = encode_value(tag, fields[TAGS[tag][0]])
        out.append(bytes((tag, len(raw) >> 8, len(raw) & 0xFF)))
        out.append(raw)
    return b"".join(out)


def encode_body(msg_type, fields):
    """TYPE + TLV: the payload without its sequence number (agent.ecr.link adds it)."""
    if type(msg_type) is not int or not 0 <= msg_type <= 255:
        raise EncodeError("message type must be an int 0..255")
    return bytes((msg_type,)) + encode_fields(fields)


def encode_message(seq, msg_type, fields):
    """The whole payload: SEQ + TYPE + TLV."""
    if type(seq) is not int or not 0 <= seq <= 255:
        raise EncodeError("sequence number must be an int 0..255")
    return bytes((seq,)) + encode_body(msg_type, fields)


def decode_fields(data, base=0):
    """TLV bytes -> {name: value}; unknown tags are skipped. `base` is data's offset in the
    payload, for error offsets."""
    fields = {}
    seen = []
    i = 0
    n = len(data)
    while i < n:
        if n - i < 3:
            raise MessageError("TLV item header cut short", offset=base + i)
        tag = data[i]
        size = (data[i + 1] << 8) | data[i + 2]
        end = i + 3 + size
        if end > n:
            raise MessageError("TLV value cut short", offset=base + i, tag=tag)
        if tag in seen:
            raise MessageError("TLV tag repeated", offset=base + i, tag=tag)
        seen.append(tag)
        if tag in TAGS:
            fields[TAGS[tag][0]] = decode_value(tag, bytes(data[i + 3 : end]), base + i + 3)
        i = end
    return fields


def decode_message(payload):
    """Payload bytes -> {"seq", "type", "fields"}; MessageError when it is not a message."""
    if len(payload) < 2:
        raise MessageError("payload shorter than its sequence number and type", offset=0)
    return {"seq": payload[0], "type": payload[1], "fields": decode_fields(payload[2:], 2)}


def command_name(msg_type):
    """The command a type is (or answers), or None."""
    return COMMANDS.get(msg_type & ~RESPONSE & 0xFF)


def is_response(msg_type):
    return bool(msg_type & RESPONSE)
