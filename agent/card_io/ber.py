"""BER-TLV as smart cards use it (ISO/IEC 7816-4 5.2, the subset docs/card.md needs).

Tags are ints as written in hex: 0x5A, 0xDF02, 0x6F. A tag is 1 to 3 bytes (first byte low
five bits all set: more bytes follow, each with bit 8 set while more follow). Lengths are
short (0..127) or long with 0x81 / 0x82 (up to 65535); no indefinite form. Bit 6 of a tag's
first byte marks a constructed object, whose value is itself TLV.

    >>> encode(0x5A, b"\\x98\\x79")
    b'Z\\x02\\x98y'

Decoding any bytes at all raises only CardProtocolError (with the byte offset), never an
IndexError: the card is outside the terminal's trust.
"""

from agent.card_io.errors import CardProtocolError


def _tag_bytes(tag):
    if tag < 0 or tag > 0xFFFFFF:
        raise ValueError(f"tag {tag:X} out of range")
    if tag <= 0xFF:
        return bytes([tag])
    if tag <= 0xFFFF:
        return bytes([tag >> 8, tag & 0xFF])
    return bytes([tag >> 16, (tag >> 8) & 0xFF, tag & 0xFF])


def _length_bytes(n):
    if n < 0x80:
        return bytes([n])
    if n <= 0xFF:
        return bytes([0x81, n])
    if n <= 0xFFFF:
        return bytes([0x82, n >> 8, n & 0xFF])
    raise ValueError(f"TLV value of {n} bytes is too long")


def encode(tag, value):
    """One TLV object."""
    value = bytes(value)
    return _tag_bytes(tag) + _length_bytes(len(value)) + value


def encode_all(items):
    """A sequence of (tag, value) pairs, in order."""
    return b"".join([encode(tag, value) for tag, value in items])


def constructed(tag):
    """True when the tag's first byte has bit 6 set (the value is TLV)."""
    first = tag
    while first > 0xFF:
        first >>= 8
    return bool(first & 0x20)


def decode(data, offset=0, end=None):
    """[(tag, value)] of the TLV objects in data[offset:end]; CardProtocolError with the offset
    of the first byte that does not fit. Padding bytes 00 and FF between objects are skipped
    (ISO 7816-4 allows them)."""
    data = bytes(data)
    end = len(data) if end is None else end
    items = []
    i = offset
    while i < end:
        first = data[i]
        if first == 0x00 or first == 0xFF:
            i += 1
            continue
        start = i
        tag = first
        i += 1
        if first & 0x1F == 0x1F:
            for _ in range(2):
                if i >= end:
                    raise CardProtocolError(f"TLV tag cut short at offset {start}")
                tag = (tag << 8) | data[i]
                i += 1
                if not data[i - 1] & 0x80:
                    break
            else:
                raise CardProtocolError(f"TLV tag longer than 3 bytes at offset {start}")
        if i >= end:
            raise CardProtocolError(f"TLV length missing at offset {i}")
        n = data[i]
        i += 1
        if n & 0x80:
            size = n & 0x7F
            if size == 0 or size > 2:
                raise CardProtocolError(f"TLV length form {n:02X} not supported at offset {i - 1}")
            if i + size > end:
                raise CardProtocolError(f"TLV length cut short at offset {i - 1}")
            n = 0
            for _ in range(size):
                n = (n << 8) | data[i]
                i += 1
        if i + n > end:
            raise CardProtocolError(
                f"TLV {tag:X} of {n} bytes runs past the end ({end - i} left) at offset {start}"
            )
        items.append((tag, data[i : i + n]))
        i += n
    return items


def find(data, path):
    """The value at `path` (a tuple of tags, outermost first) inside data, or None. Each step
    but the last must be a constructed object."""
    items = decode(data)
    value = None
    for depth, tag in enumerate(path):
        value = None
        for t, v in items:
            if t == tag:
                value = v
                break
        if value is None:
            return None
        if depth < len(path) - 1:
            if not constructed(tag):
                raise CardProtocolError(f"TLV {tag:X} is not a constructed object")
            items = decode(value)
    return value


def to_dict(data):
    """{tag: value} of one level; CardProtocolError when a tag occurs twice."""
    out = {}
    for tag, value in decode(data):
        if tag in out:
            raise CardProtocolError(f"TLV {tag:X} occurs twice")
        out[tag] = value
    return out
