"""Encodings inside fields: the Vafa TLV (fields 48 and 62) and additional amounts (field 54).

docs/protocol.md 2.3, 2.4 and 4.1. Pure and portable; errors are ProtocolError subclasses that
name the field and the offset inside it.
"""

from agent.numbers import is_digits
from agent.protocol.errors import DecodeError, EncodeError


def encode_tlv(items, field=48):
    """{tag: str or bytes} -> bytes, tags ascending; str values are UTF-8."""
    out = []
    for tag in sorted(items):
        value = items[tag]
        if isinstance(value, str):
            value = value.encode()
        if not 0 <= tag <= 255:
            raise EncodeError(f"TLV tag {tag} out of range", field=field)
        if len(value) > 255:
            raise EncodeError(f"TLV tag {tag:02X} value longer than 255 bytes", field=field)
        out.append(bytes((tag, len(value))))
        out.append(value)
    return b"".join(out)


def decode_tlv(data, field=48):
    """bytes -> {tag: bytes}. A truncated item or a repeated tag is a DecodeError."""
    items = {}
    i = 0
    n = len(data)
    while i < n:
        if i + 2 > n:
            raise DecodeError("TLV item header cut short", field=field, offset=i)
        tag = data[i]
        end = i + 2 + data[i + 1]
        if end > n:
            raise DecodeError(f"TLV tag {tag:02X} value cut short", field=field, offset=i)
        if tag in items:
            raise DecodeError(f"TLV tag {tag:02X} repeated", field=field, offset=i)
        items[tag] = bytes(data[i + 2 : end])
        i = end
    return items


def tlv_text(items, tag, default=None, field=48):
    """The value of `tag` as text (UTF-8), or `default` when absent."""
    value = items.get(tag)
    if value is None:
        return default
    try:
        return value.decode()
    except UnicodeError:
        raise DecodeError(f"TLV tag {tag:02X} is not UTF-8 text", field=field)


AMOUNT_ITEM = 20


def encode_amounts(items, currency="364"):
    """[(account, amount_type, rials), ...] -> the field 54 text (ISO 8583:1987 layout)."""
    if len(items) > 6:
        raise EncodeError("at most 6 additional amounts", field=54)
    out = []
    for account, kind, rials in items:
        if len(account) != 2 or len(kind) != 2:
            raise EncodeError("account and amount type are 2 characters each", field=54)
        sign = "C" if rials >= 0 else "D"
        digits = str(abs(rials))
        if len(digits) > 12:
            raise EncodeError("amount above 12 digits", field=54)
        out.append(account + kind + currency + sign + "0" * (12 - len(digits)) + digits)
    return "".join(out)


def decode_amounts(text):
    """The field 54 text -> {account + amount_type: rials}, e.g. {"40P1": 1085000}."""
    if len(text) % AMOUNT_ITEM:
        raise DecodeError("additional amounts are 20-character items", field=54, offset=0)
    amounts = {}
    for i in range(0, len(text), AMOUNT_ITEM):
        item = text[i : i + AMOUNT_ITEM]
        sign, digits = item[7], item[8:]
        if sign not in "CD" or not is_digits(digits):
            raise DecodeError("bad additional amount item", field=54, offset=i)
        rials = int(digits)
        amounts[item[:4]] = -rials if sign == "D" else rials
    return amounts
