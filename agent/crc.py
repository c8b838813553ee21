"""CRC-32/ISO-HDLC (as zlib.crc32) in plain Python, for interpreters whose binascii has no
crc32 (a MicroPython board built without MICROPY_PY_BINASCII_CRC32 or MICROPY_PY_DEFLATE).

The register is kept as two 16-bit halves: on a 32-bit MicroPython a 32-bit value is a long
int, allocated on the heap by every operation, where a 16-bit half is a small int. One table
look-up per byte, in two tables of 256 halves built on first use (arrays of 16-bit entries,
1 KB of heap). agent/journal.py imports this only when binascii.crc32 is missing.
"""

from array import array

# The table: (high halves, low halves) of the 256 byte steps of the reflected
# CRC-32 (polynomial 0xEDB88320), built on first use.
_HALVES = [None]


def _crc_tables():
    tables = _HALVES[0]
    if tables is None:
        high, low = [], []
        for n in range(256):
            hi, lo = 0, n
            for _ in range(8):
                if lo & 1:
                    lo = (lo >> 1 | (hi & 1) << 15) ^ 0x8320
                    hi = hi >> 1 ^ 0xEDB8
                else:
                    lo = lo >> 1 | (hi & 1) << 15
                    hi >>= 1
            high.append(hi)
            low.append(lo)
        tables = _HALVES[0] = (array("H", high), array("H", low))
    return tables


def crc32_halves(data):
    """CRC-32/ISO-HDLC of data as 4 bytes, big-endian, in pure Python: the register is kept
    as two 16-bit halves, since on a 32-bit MicroPython a 32-bit value is a long int (heap)
    on every operation. The fallback where binascii has no crc32."""
    high, low = _crc_tables()
    hi = lo = 0xFFFF
    for byte in data:
        i = (lo ^ byte) & 255
        lo = (lo >> 8 | (hi & 255) << 8) ^ low[i]
        hi = hi >> 8 ^ high[i]
    hi ^= 0xFFFF
    lo ^= 0xFFFF
    return bytes((hi >> 8, hi & 255, lo >> 8, lo & 255))
