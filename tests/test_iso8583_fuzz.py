"""Decode fuzz of the club-link codec (CPython): 200,000 seeded, reproducible cases.

Inputs are random bytes and mutations of valid messages (the realistic examples of the
portable tests plus random valid messages drawn from the spec table): bit flips, byte
insertions and deletions, truncations, forged length prefixes and bitmap bit flips. Only
DecodeError may escape, with `field` and `offset` set; a successful decode must re-encode to
the very same bytes. A failure names the case number and the input in hex.
"""

import random
import string
import time

import pytest

from agent.protocol.errors import DecodeError
from agent.protocol.iso8583 import decode, encode
from agent.protocol.spec import AN, ANS, FIELDS, FIXED, XN, B, N
from tests.portable.test_iso8583 import EXAMPLES

SEED = 8583
CASES_PER_KIND = 25_000
ALPHABETS = {
    N: string.digits,
    AN: string.digits + string.ascii_letters + " ",
    ANS: "".join(map(chr, range(0x20, 0x7F))),
    XN: string.digits,
}


def random_message(rng):
    message = {"t": "".join(rng.choices(string.digits, k=4))}
    for num in rng.sample(sorted(FIELDS), rng.randint(0, 12)):
        _, fmt, length_type, max_len = FIELDS[num]
        size = max_len if length_type == FIXED else rng.randint(0, min(max_len, 64))
        if fmt == B:
            message[str(num)] = rng.randbytes(size)
        elif fmt == XN:
            message[str(num)] = rng.choice("CD") + "".join(rng.choices(string.digits, k=size - 1))
        else:
            message[str(num)] = "".join(rng.choices(ALPHABETS[fmt], k=size))
    return message


def prefix_offsets(message):
    """Offsets of the LL/LLL length prefixes in the encoding of `message`, with their width."""
    pos = 20 if any(int(k) > 64 for k in message if k != "t") else 12
    found = []
    for num in sorted(int(k) for k in message if k != "t"):
        _, _, length_type, _ = FIELDS[num]
        if length_type:
            found.append((pos, length_type))
        pos += length_type + len(
            message[str(num)].encode() if isinstance(message[str(num)], str) else message[str(num)]
        )
    return found


def forge_prefix(rng, data, offsets):
    if not offsets:
        return data[: rng.randrange(len(data) + 1)]
    pos, width = rng.choice(offsets)
    forged = rng.choice(
        [
            "9" * width,
            "0" * width,
            str(rng.randrange(10**width)).zfill(width),
            str(rng.randrange(10**width)).rjust(width),
            "".join(rng.choices("0123456789+- x\x00\xff", k=width)),
        ]
    )
    return data[:pos] + forged.encode("latin-1") + data[pos + width :]


def mutate(rng, kind, data, offsets):
    i = rng.randrange(len(data))
    if kind == "bit flip":
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(data))
            data = data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]
        return data
    if kind == "insertion":
        return data[:i] + rng.randbytes(rng.randint(1, 4)) + data[i:]
    if kind == "deletion":
        return data[:i] + data[i + rng.randint(1, 4) :]
    if kind == "truncation":
        return data[:i]
    if kind == "length prefix":
        return forge_prefix(rng, data, offsets)
    if kind == "bitmap bit":
        bitmap_end = 20 if data[4] & 0x80 else 12
        j = rng.randrange(4, bitmap_end)
        return data[:j] + bytes([data[j] ^ (1 << rng.randrange(8))]) + data[j + 1 :]
    raise AssertionError(kind)


REASONS = {
    "MTI cut short",
    "MTI must be 4 digits",
    "primary bitmap cut short",
    "secondary bitmap cut short",
    "bit 65 (a tertiary bitmap) is not used",
    "secondary bitmap present but empty",
    "bit set for a field not in the spec",
    "length prefix cut short",
    "length prefix must be digits",
    "length above maximum",
    "field cut short",
    "characters not allowed by the format",
    "extra data after the last field",
}
MTIS = [b"0100", b"0110", b"0220", b"0230", b"0420", b"0430", b"0500", b"0510", b"0800", b"0810"]
KINDS = [
    "random",
    "bit flip",
    "insertion",
    "deletion",
    "truncation",
    "length prefix",
    "bitmap bit",
    "random after MTI",
]


@pytest.mark.slow
def test_decode_fuzz_only_decode_error_escapes():
    rng = random.Random(SEED)
    seeds = [(encode(m), prefix_offsets(m)) for m in EXAMPLES]
    seeds += [(encode(m), prefix_offsets(m)) for m in (random_message(rng) for _ in range(200))]
    counts = {kind: [0, 0] for kind in KINDS}  # kind -> [decoded, refused]
    reasons = set()
    started = time.perf_counter()
    case = 0
    for kind in KINDS:
        for _ in range(CASES_PER_KIND):
            case += 1
            if kind == "random":
                data = rng.randbytes(rng.randrange(64))
            elif kind == "random after MTI":
                data = rng.choice(MTIS) + rng.randbytes(rng.randrange(80))
            else:
                data, offsets = rng.choice(seeds)
                data = mutate(rng, kind, data, offsets)
            try:
                message = decode(data)
            except DecodeError as e:
                counts[kind][1] += 1
                reasons.add(str(e).rsplit(" (", 1)[0].rstrip(" 0123456789"))
                assert e.field is not None and e.offset is not None, (case, data.hex(), str(e))
                assert 0 <= e.offset <= len(data), (case, data.hex(), str(e))
            except Exception as e:  # anything else escaping decode is the bug this hunts
                raise AssertionError(f"case {case} ({kind}) {data.hex()}: {e!r}") from e
            else:
                counts[kind][0] += 1
                assert encode(message) == data, (case, kind, data.hex())
    elapsed = time.perf_counter() - started
    assert case == len(KINDS) * CASES_PER_KIND >= 100_000
    assert elapsed < 60, elapsed
    # the fuzz reaches every way of refusing, and mutations that stay valid are re-encoded
    assert reasons == REASONS, REASONS ^ reasons
    assert counts["bit flip"][0] > 1000 and counts["length prefix"][0] > 100, counts
