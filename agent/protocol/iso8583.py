"""ISO 8583:1987 codec for the club link: `encode(message) -> bytes`, `decode(data) -> dict`.

The shape is pyiso8583's (a message is a dict, the field map is data: agent.protocol.spec):

    >>> encode({"t": "0800", "11": "000001", "70": "301"})
    b'0800\\x80 \\x00\\x00\\x00\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x00\\x00\\x00\\x00000001301'
    >>> decode(_) == {"t": "0800", "11": "000001", "70": "301"}
    True

- "t": the message type indicator (MTI), 4 ASCII digits.
- "2".."128" (string keys, as in pyiso8583): str for n, an, ans and x+n fields, bytes for b.
- Bitmaps (ISO 8583:1987: bit n set = field n present) are computed here and never appear
  in the dict: the primary bitmap is 8 raw bytes; the secondary bitmap follows, with bit 1
  set, exactly when a field 65..128 is present. Bit 65 (a tertiary bitmap) is not used here.
- Fields follow in ascending order. Fixed fields have exactly their length; LL/LLL prefixes
  are ASCII digits counting characters (bytes for b), capped at the spec's maximum.

Decoding is strict and total: any input bytes give either a dict or a DecodeError carrying
`field` ("t", "bitmap" or the field number) and `offset`. Strict means canonical: whatever
decodes re-encodes to the same bytes.

Speed comes from per-spec tables compiled once (`_compile`), C-level checks on whole slices
(bytes.isdigit, bytes.translate where the interpreter has it) and one b"".join per message.
"""

from agent.protocol.errors import DecodeError, EncodeError
from agent.protocol.spec import AN, ANS, FIELDS, FIXED, LLLVAR, LLVAR, XN, B, N

# Data element attributes of ISO 8583:1987: n digits, an alphanumeric (with space here),
# ans printable (0x20-0x7E), x+n a C/D sign then digits, b binary.
_DIGITS = b"0123456789"
_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _is_xn(v):
    # x+n: a sign, C (credit) or D (debit), then digits; the length counts the sign.
    return (v[:1] == b"C" or v[:1] == b"D") and v[1:].isdigit()


def _is_ans(v):
    # Printable ASCII is one range: min and max run in C on both interpreters.
    return min(v) >= 0x20 and max(v) <= 0x7E


def _delete_check(allowed):
    # CPython: bytes.translate deletes the allowed characters in C; nothing left -> valid.
    translate = bytes.translate
    return lambda v: not translate(v, None, allowed)


def _table_check(allowed):
    # MicroPython has neither bytes.translate nor isalnum: a 256-entry flag table, one pass.
    flags = bytearray(256)
    for c in allowed:
        flags[c] = 1

    def check(v):
        return all(flags[c] for c in v)

    return check


def _checker(fmt):
    """The validator of a text format: non-empty bytes -> bool (None for "b", raw bytes).

    An empty variable-length value passes every format: there is no character to check.
    """
    if fmt == N:
        return bytes.isdigit  # ASCII digits only, on both interpreters; a C call, no frame
    if fmt == XN:
        return _is_xn
    if fmt == ANS:
        return _is_ans
    if fmt == AN:
        allowed = _DIGITS + _LETTERS + b" "
        return _delete_check(allowed) if hasattr(bytes, "translate") else _table_check(allowed)
    if fmt == B:
        return None
    raise ValueError(f"unknown format {fmt!r}")


def _compile(spec):
    """Per-spec tables, built once: encode's entries by string key, and for each of the 16
    bitmap bytes the spec's fields in it, in order, plus the bits the spec does not allow.

    An entry is (number, key, check, length type, max length, bitmap byte, bit mask); both
    tables hold the same entry tuples, and one checker per format (heap: MicroPython).
    """
    by_key = {}
    by_byte = [[] for _ in range(16)]
    allowed = bytearray(16)
    allowed[0] = 0x80  # bit 1: the secondary bitmap indicator
    checks = {}
    for num in sorted(spec):
        _name, fmt, length_type, max_len = spec[num]
        if type(num) is not int or not 2 <= num <= 128 or num == 65:
            raise ValueError(f"spec field {num!r}: 1 and 65 are bitmap bits; fields are 2..128")
        if length_type not in (FIXED, LLVAR, LLLVAR):
            raise ValueError(f"spec field {num}: unknown length type {length_type!r}")
        if not 0 < max_len < _PREFIX_LIMIT[length_type]:
            raise ValueError(f"spec field {num}: maximum {max_len!r} does not fit")
        if fmt not in checks:
            checks[fmt] = _checker(fmt)
        byte, mask = (num - 1) >> 3, 0x80 >> ((num - 1) & 7)
        entry = (num, str(num), checks[fmt], length_type, max_len, byte, mask)
        by_key[entry[1]] = entry
        by_byte[byte].append(entry)
        allowed[byte] |= mask
    not_allowed = bytes(0xFF ^ bits for bits in allowed)
    return by_key, [tuple(fields) for fields in by_byte], not_allowed


_PREFIX = {LLVAR: b"%02d", LLLVAR: b"%03d"}
_PREFIX_LIMIT = {FIXED: 10000, LLVAR: 100, LLLVAR: 1000}
_DEFAULT = _compile(FIELDS)
_last = [None, None]  # a one-slot cache for a caller's own spec: [spec, tables]


def _tables(spec):
    if spec is FIELDS:
        return _DEFAULT
    if _last[0] is not spec:
        _last[1] = _compile(spec)
        _last[0] = spec
    return _last[1]


def _field_name(key):
    # Errors name a field by its number when the key is one, else by the key as given.
    if type(key) is str and key.isdigit() and len(key) < 4:
        return int(key)
    return key


def _bad_key(message, by_key):
    for key in message:
        if key != "t" and key not in by_key:
            if key == "1" or key == "65":
                return EncodeError("bitmap bits are computed, not given", field=int(key))
            return EncodeError("field not in the spec", field=_field_name(key))
    return EncodeError("field not in the spec")  # not reached: a key was missing


def encode(message, spec=FIELDS):
    """Encode a message dict to bytes; EncodeError (with `field`) for anything the spec cannot
    carry: unknown fields, 1 or 65 given explicitly, wrong types, characters or lengths."""
    by_key = _tables(spec)[0]
    if type(message) is not dict:
        raise EncodeError(f"message must be a dict, not {type(message).__name__}")
    mti = message.get("t")
    if type(mti) is not str:
        raise EncodeError("MTI missing or not a str", field="t")
    try:
        mti = mti.encode()  # UTF-8: a non-ASCII digit makes it longer than 4 and not isdigit()
    except UnicodeError:  # CPython: a lone surrogate has no UTF-8 form
        mti = b""
    if len(mti) != 4 or not mti.isdigit():
        raise EncodeError("MTI must be 4 digits", field="t")
    try:
        entries = sorted([by_key[key] for key in message if key != "t"])
    except KeyError:
        raise _bad_key(message, by_key)

    # ISO 8583:1987: bit 1 of the primary bitmap announces the secondary bitmap.
    secondary = entries and entries[-1][0] > 64
    bitmap = bytearray(b"\x80" + bytes(15) if secondary else bytes(8))
    out = [mti, None]
    for num, key, check, length_type, max_len, byte, mask in entries:
        value = message[key]
        if check is None:
            if type(value) is not bytes and type(value) is not bytearray:
                raise EncodeError("binary field needs bytes", field=num)
        else:
            if type(value) is not str:
                raise EncodeError("text field needs a str", field=num)
            try:
                value = value.encode()
            except UnicodeError:  # CPython: a lone surrogate has no UTF-8 form
                raise EncodeError("characters not allowed by the format", field=num)
            if value and not check(value):
                raise EncodeError("characters not allowed by the format", field=num)
        if length_type:
            if len(value) > max_len:
                raise EncodeError(f"{len(value)} long, maximum {max_len}", field=num)
            out.append(_PREFIX[length_type] % len(value))
        elif len(value) != max_len:
            raise EncodeError(f"{len(value)} long, must be exactly {max_len}", field=num)
        out.append(value)
        bitmap[byte] |= mask
    out[1] = bitmap
    return b"".join(out)


def decode(data, spec=FIELDS):
    """Decode bytes to a message dict; any malformed input raises DecodeError only."""
    _, by_byte, not_allowed = _tables(spec)
    if type(data) is not bytes:
        if not isinstance(data, (bytearray, memoryview)):
            raise TypeError("decode needs bytes, bytearray or memoryview")
        data = bytes(data)
    size = len(data)
    mti = data[:4]
    if len(mti) != 4:
        raise DecodeError("MTI cut short", field="t", offset=0)
    if not mti.isdigit():
        raise DecodeError("MTI must be 4 digits", field="t", offset=0)
    if size < 12:
        raise DecodeError("primary bitmap cut short", field="bitmap", offset=4)
    pos = 12
    if data[4] & 0x80:
        if size < 20:
            raise DecodeError("secondary bitmap cut short", field="bitmap", offset=12)
        if data[12] & 0x80:
            raise DecodeError("bit 65 (a tertiary bitmap) is not used", field="bitmap", offset=12)
        if data[12:20] == bytes(8):
            raise DecodeError("secondary bitmap present but empty", field="bitmap", offset=12)
        pos = 20
    bitmap = data[4:pos]
    for bits, bad in zip(bitmap, not_allowed):
        if bits & bad:
            raise _unknown_bit(bitmap, not_allowed)

    message = {"t": mti.decode()}
    num = "bitmap"  # the field an "extra data" error names when there is no field
    for bits, fields in zip(bitmap, by_byte):
        if not bits:
            continue
        for num, key, check, length_type, length, _, mask in fields:
            if not bits & mask:
                continue
            if length_type:
                prefix = data[pos : pos + length_type]
                if len(prefix) != length_type:
                    raise DecodeError("length prefix cut short", field=num, offset=pos)
                if not prefix.isdigit():
                    raise DecodeError("length prefix must be digits", field=num, offset=pos)
                if int(prefix) > length:
                    raise DecodeError(f"length above maximum {length}", field=num, offset=pos)
                length = int(prefix)
                pos += length_type
            end = pos + length
            if end > size:
                raise DecodeError("field cut short", field=num, offset=pos)
            value = data[pos:end]
            if check is not None:
                if value and not check(value):
                    raise DecodeError("characters not allowed by the format", field=num, offset=pos)
                value = value.decode()
            message[key] = value
            pos = end
    if pos != size:
        raise DecodeError("extra data after the last field", field=num, offset=pos)
    return message


def _unknown_bit(bitmap, not_allowed):
    # The first bitmap bit the spec has no field for: name that field, point at its byte.
    for i in range(len(bitmap)):
        bits = bitmap[i] & not_allowed[i]
        for bit in range(8):
            if bits & (0x80 >> bit):
                return DecodeError("bit set for a field not in the spec", i * 8 + bit + 1, 4 + i)
    return DecodeError("bitmap", "bitmap", 4)  # not reached: a bit was found before the call
