"""The club-link ISO 8583 codec: known answers, every message class, every error, a mini-fuzz.

Runs under pytest and under MicroPython (tests/portable/runner.py).
"""

from agent.protocol.errors import DecodeError, EncodeError, ProtocolError
from agent.protocol.iso8583 import decode, encode
from agent.protocol.spec import FIELDS
from tests.portable.support import hexu, raises, unhex

KSN = unhex("123456789012345600000001")
MAC = unhex("0A1B2C3D4E5F6071")
ENC16 = unhex("00112233445566778899AABBCCDDEEFF")
ENC32 = ENC16 + unhex("FFEEDDCCBBAA99887766554433221100")
MERCHANT = "VAFA-STORE-0042"
ORIGINAL = "0100" + "000123" + "0705093015" + "0" * 22  # field 90: MTI, STAN, time, unused ids


def common(message, golden=None, size=None):
    """One-line round trip, after construct's declarativeunittest `common()`: the message
    encodes (to the golden hex when given, to `size` bytes when given) and decodes back equal."""
    data = encode(message)
    if golden is not None:
        assert hexu(data) == golden, hexu(data)
    if size is not None:
        assert len(data) == size, len(data)
    assert decode(data) == message
    assert encode(decode(data)) == data
    return data


# Realistic messages of every class (docs/protocol.md section 2.1 and 5).
# fmt: off
SIGN_ON = {"t": "0800", "7": "0705093000", "11": "000122", "42": MERCHANT, "53": KSN,
           "62": ENC16, "70": "001", "128": MAC}
SIGN_ON_RESPONSE = {"t": "0810", "7": "0705093000", "11": "000122", "39": "00", "42": MERCHANT,
                    "53": KSN, "70": "001", "128": MAC}
ECHO = {"t": "0800", "7": "0705100000", "11": "000130", "42": MERCHANT, "53": KSN, "62": ENC16,
        "70": "301", "128": MAC}
PURCHASE = {"t": "0100", "3": "004000", "4": "000001200000", "7": "0705093015", "11": "000123",
            "12": "125915", "13": "0705", "22": "051", "25": "00", "42": MERCHANT, "49": "364",
            "53": KSN, "62": ENC32, "64": MAC}
PURCHASE_RESPONSE = {
    "t": "0110", "3": "004000", "4": "000001200000", "7": "0705093015", "11": "000123",
    "37": "418609000123", "38": "A1B2C3", "39": "00", "42": MERCHANT,
    "48": unhex("010331353002053132353030030141"), "49": "364", "53": KSN,
    "54": "40D1364C000000120000" "40F1364C000000005000" "40P1364C000001085000", "64": MAC}
DECLINE_RESPONSE = {"t": "0110", "3": "006000", "4": "000000500000", "7": "0705094000",
                    "11": "000126", "39": "51", "42": MERCHANT, "49": "364", "53": KSN, "64": MAC}
ADVICE = {"t": "0220", "3": "004000", "4": "000001200000", "7": "0705093102", "11": "000124",
          "12": "130002", "13": "0705", "37": "418609000123", "42": MERCHANT,
          "48": b"\x05\x0cBANKREF00991", "49": "364", "53": KSN, "62": ENC32,
          "90": ORIGINAL, "128": MAC}
ADVICE_RESPONSE = {"t": "0230", "3": "004000", "4": "000001200000", "7": "0705093102",
                   "11": "000124", "37": "418609000123", "39": "00", "42": MERCHANT,
                   "48": b"\x01\x03150" + b"\x04\x02\xd8\xa8", "49": "364",
                   "53": KSN, "54": "6002364C000000250000", "90": ORIGINAL, "128": MAC}
REVERSAL = {"t": "0420", "3": "004000", "4": "000001200000", "7": "0705093300", "11": "000125",
            "12": "130300", "13": "0705", "42": MERCHANT, "48": b"\x0b\x02TO", "49": "364",
            "53": KSN, "62": ENC32, "90": ORIGINAL, "128": MAC}
REVERSAL_RESPONSE = {"t": "0430", "3": "004000", "4": "000001200000", "7": "0705093300",
                     "11": "000125", "39": "00", "42": MERCHANT, "49": "364", "53": KSN,
                     "90": ORIGINAL, "128": MAC}
RECONCILIATION = {
    "t": "0500", "7": "0705210000", "11": "000190", "42": MERCHANT, "53": KSN, "62": ENC16,
    "74": "0000000003", "75": "0000000000", "76": "0000000041", "77": "0000000001",
    "86": "0000000002500000", "87": "0000000000000000", "88": "0000000051250000",
    "89": "0000000000990000", "97": "D0000000047760000", "128": MAC}
RECONCILIATION_RESPONSE = {
    "t": "0510", "7": "0705210000", "11": "000190", "39": "95", "42": MERCHANT,
    "48": b"\x0e\x0245", "53": KSN,
    "74": "0000000003", "75": "0000000000", "76": "0000000042", "77": "0000000001",
    "86": "0000000002500000", "87": "0000000000000000", "88": "0000000052000000",
    "89": "0000000000990000", "97": "D0000000048510000", "128": MAC}
# fmt: on

EXAMPLES = [
    SIGN_ON,
    SIGN_ON_RESPONSE,
    ECHO,
    PURCHASE,
    PURCHASE_RESPONSE,
    DECLINE_RESPONSE,
    ADVICE,
    ADVICE_RESPONSE,
    REVERSAL,
    REVERSAL_RESPONSE,
    RECONCILIATION,
    RECONCILIATION_RESPONSE,
]

# Known answers, laid out field by field (bitmaps worked out by hand: bit n = field n).
GOLDEN_SIGN_ON = (
    "30383030"  # MTI 0800
    "8220000000400804"  # primary bitmap: 1 (secondary follows) 7 11 42 53 62
    "0400000000000001"  # secondary bitmap: 70 128
    "30373035303933303030"  # 7   0705093000
    "303030313232"  # 11  000122
    "564146412D53544F52452D30303432"  # 42  VAFA-STORE-0042
    "123456789012345600000001"  # 53  KSN, 12 bytes
    "303136" + "00112233445566778899AABBCCDDEEFF"  # 62  LLL 016, 16 bytes
    "303031"  # 70  001
    "0A1B2C3D4E5F6071"  # 128 MAC
)
GOLDEN_PURCHASE = (
    "30313030"  # MTI 0100
    "3238048000408805"  # primary bitmap: 3 4 7 11 12 13 22 25 42 49 53 62 64
    "303034303030"  # 3   004000
    "303030303031323030303030"  # 4   000001200000
    "30373035303933303135"  # 7   0705093015
    "303030313233"  # 11  000123
    "313235393135"  # 12  125915
    "30373035"  # 13  0705
    "303531"  # 22  051
    "3030"  # 25  00
    "564146412D53544F52452D30303432"  # 42  VAFA-STORE-0042
    "333634"  # 49  364
    "123456789012345600000001"  # 53  KSN
    "303332" + "00112233445566778899AABBCCDDEEFF" + "FFEEDDCCBBAA99887766554433221100"  # 62
    "0A1B2C3D4E5F6071"  # 64  MAC
)


def test_golden_sign_on():
    common(SIGN_ON, GOLDEN_SIGN_ON, size=93)


def test_golden_purchase():
    common(PURCHASE, GOLDEN_PURCHASE, size=134)


def test_every_message_class_round_trips():
    for message in EXAMPLES:
        common(message)


def test_secondary_bitmap_iff_field_above_64():
    for message in EXAMPLES:
        data = encode(message)
        has_secondary = any(int(k) > 64 for k in message if k != "t")
        assert bool(data[4] & 0x80) == has_secondary, message["t"]


def test_bitmaps_are_not_keys_of_the_decoded_message():
    decoded = decode(encode(SIGN_ON))
    assert sorted(decoded, key=lambda k: -1 if k == "t" else int(k)) == [
        "t",
        "7",
        "11",
        "42",
        "53",
        "62",
        "70",
        "128",
    ]


def test_key_order_of_the_input_does_not_matter():
    shuffled = {}
    for key in reversed(list(RECONCILIATION)):
        shuffled[key] = RECONCILIATION[key]
    assert encode(shuffled) == encode(RECONCILIATION)


def test_mti_only_and_empty_variable_fields():
    common({"t": "0800"}, "30383030" + "0000000000000000")
    common({"t": "0110", "48": b"", "54": ""}, "30313130" + "0000000000010400" + "303030303030")


def test_variable_fields_at_their_maximum():
    common(
        {"t": "0110", "48": bytes(range(256)) * 3 + bytes(231), "54": "A" * 120},
        size=4 + 8 + 3 + 999 + 3 + 120,
    )


def test_bytearray_is_accepted_for_b_and_for_input():
    data = encode({"t": "0800", "53": bytearray(KSN)})
    assert decode(bytearray(data)) == {"t": "0800", "53": KSN}


# Encode errors: (message, field named by the error).
# fmt: off
ENCODE_ERRORS = [
    ({"t": "0800", "2": "4111111111111111"}, 2),          # not in the spec
    ({"t": "0800", "1": "x"}, 1),                         # bitmap bit given explicitly
    ({"t": "0800", "65": "x"}, 65),
    ({"t": "0800", "129": "x"}, 129),
    ({"t": "0800", "p": "00"}, "p"),                       # pyiso8583's bitmap key
    ({"t": "0800", 70: "001"}, 70),                        # int key, not a string
    ({"t": "0800", "70": b"001"}, 70),                     # bytes for n
    ({"t": "0800", "70": 1}, 70),
    ({"t": "0800", "53": KSN.hex()}, 53),                  # str for b
    ({"t": "0800", "70": "01"}, 70),                       # fixed: short
    ({"t": "0800", "70": "0001"}, 70),                     # fixed: long (no silent cut)
    ({"t": "0800", "53": KSN[:11]}, 53),
    ({"t": "0800", "70": "0A1"}, 70),                      # n: letter
    ({"t": "0800", "70": " 01"}, 70),                      # n: space
    ({"t": "0800", "70": "\u06f0\u06f0\u06f1"}, 70),       # n: Persian digits are not ASCII
    ({"t": "0800", "39": "0-"}, 39),                       # an: punctuation
    ({"t": "0800", "42": "VAFA-STORE-004\x7f"}, 42),       # ans: DEL
    ({"t": "0800", "42": "VAFA-STORE-004\n"}, 42),         # ans: control
    ({"t": "0800", "42": "VAFA-STORE-00\u00e9"}, 42),      # ans: not ASCII
    ({"t": "0800", "97": "X0000000047760000"}, 97),        # x+n: sign
    ({"t": "0800", "97": "C00000000477600.0"}, 97),        # x+n: digits
    ({"t": "0800", "97": "0000000047760000"}, 97),         # x+n: short (sign missing)
    ({"t": "0800", "54": "A" * 121}, 54),                  # LLLVAR above max
    ({"t": "0800", "48": bytes(1000)}, 48),
    ({"t": "0800", "54": "D1\u00e9"}, 54),                 # an: not ASCII
    ({"7": "0705093000"}, "t"),                            # MTI missing
    ({"t": "080"}, "t"),
    ({"t": "08000"}, "t"),
    ({"t": "08A0"}, "t"),
    ({"t": 800}, "t"),
    ({"t": b"0800"}, "t"),
    ({"t": "\u06f0\u06f8\u06f0\u06f0"}, "t"),
]
# fmt: on


def test_encode_errors_name_the_field():
    for message, field in ENCODE_ERRORS:
        e = raises(EncodeError, encode, message)
        assert e.field == field, (message, e.field, str(e))
        assert isinstance(e, ProtocolError) and isinstance(e, ValueError)


def test_encode_rejects_a_non_dict():
    raises(EncodeError, encode, [("t", "0800")])


def test_encode_does_not_change_the_message():
    message = dict(SIGN_ON)
    encode(message)
    assert message == SIGN_ON


def _with(data, offset, replacement):
    return data[:offset] + replacement + data[offset + len(replacement) :]


P = unhex(GOLDEN_PURCHASE)  # fields: 3 at 12, 4 at 18, ..., 42 at 61, 49 at 76, 53 at 79, 62 at 91
S = unhex(GOLDEN_SIGN_ON)  # fields: 7 at 20, 11 at 30, 42 at 36, 53 at 51, 62 at 63, 70 at 82
R = encode(PURCHASE_RESPONSE)  # 48 at 79 (LLL), 54 after 49 and 53
R54 = R.index(b"060" + b"40D1")
Q = encode(RECONCILIATION)  # 97 at 173
Q97 = Q.index(b"D0000000047760000")

# Decode errors: (name, bytes, field, offset).
# fmt: off
DECODE_ERRORS = [
    ("empty", b"", "t", 0),
    ("short MTI", b"080", "t", 0),
    ("non-digit MTI", b"08A0" + bytes(8), "t", 0),
    ("MTI with a sign", b"+800" + bytes(8), "t", 0),
    ("MTI not ASCII", b"\xd9\xa0800" + bytes(8), "t", 0),
    ("no bitmap", b"0800", "bitmap", 4),
    ("truncated primary bitmap", b"0800" + bytes(7), "bitmap", 4),
    ("truncated secondary bitmap", S[:19], "bitmap", 12),
    ("secondary bitmap missing", S[:12], "bitmap", 12),
    ("bit 65 set", _with(S, 12, b"\x84"), "bitmap", 12),
    ("empty secondary bitmap", b"0800\x80" + bytes(15), "bitmap", 12),
    ("bit for field 2 (not in spec)", _with(P, 4, b"\x72"), 2, 4),
    ("bit for field 5", _with(P, 4, b"\x3a"), 5, 4),
    ("bit for field 66", _with(S, 12, b"\x44"), 66, 12),
    ("bit for field 127", _with(S, 19, b"\x03"), 127, 19),
    ("truncated fixed field", P[:14], 3, 12),
    ("fixed field cut in the middle", P[:70], 42, 61),
    ("truncated binary field", P[:85], 53, 79),
    ("truncated length prefix", P[:93], 62, 91),
    ("length prefix not digits", _with(P, 91, b"0x2"), 62, 91),
    ("length prefix with a space", _with(P, 91, b" 32"), 62, 91),
    ("length prefix with a sign", _with(P, 91, b"+32"), 62, 91),
    ("length prefix longer than the data", _with(P, 91, b"099"), 62, 94),
    ("length above maximum", _with(R, R54, b"121"), 54, R54),
    ("length prefix all nines", _with(R, R54, b"999"), 54, R54),
    ("n field with a letter", _with(P, 12, b"00A"), 3, 12),
    ("n field with a space", _with(P, 18, b" "), 4, 18),
    ("n field not ASCII", _with(P, 12, b"\xdb\xb0"), 3, 12),
    ("an field with punctuation", _with(R, R54 + 3, b"40D1-"), 54, R54 + 3),
    ("ans field with a control byte", _with(P, 61, b"\x1f"), 42, 61),
    ("ans field with DEL", _with(P, 75, b"\x7f"), 42, 61),
    ("ans field with a high byte", _with(P, 66, b"\xe9"), 42, 61),
    ("x+n bad sign", _with(Q, Q97, b"+"), 97, Q97),
    ("x+n bad digit", _with(Q, Q97 + 5, b"-"), 97, Q97),
    ("MTI and bitmap only, extra byte", b"0800" + bytes(8) + b"0", "bitmap", 12),
    ("extra data after the last field", P + b"\x00", 64, 134),
    ("message doubled", P + P, 64, 134),
]
# fmt: on


def test_decode_errors_name_field_and_offset():
    for name, data, field, offset in DECODE_ERRORS:
        e = raises(DecodeError, decode, data)
        assert (e.field, e.offset) == (field, offset), (name, e.field, e.offset, str(e))
        assert isinstance(e, ProtocolError) and isinstance(e, ValueError)


def test_decode_error_message_says_where():
    e = raises(DecodeError, decode, P[:14])
    assert str(e) == "field cut short (field 3, offset 12)"


class _Rng:
    """xorshift32: the same seeded sequence under both interpreters, no `random` needed."""

    def __init__(self, seed):
        self.state = seed or 1

    def next(self):
        x = self.state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.state = x
        return x

    def below(self, n):
        return self.next() % n


def _mutate(rng, data):
    kind = rng.below(6)
    if not data:
        return bytes([rng.below(256)])
    i = rng.below(len(data))
    if kind == 0:  # bit flip
        return _with(data, i, bytes([data[i] ^ (1 << rng.below(8))]))
    if kind == 1:  # byte replaced
        return _with(data, i, bytes([rng.below(256)]))
    if kind == 2:  # byte inserted
        return data[:i] + bytes([rng.below(256)]) + data[i:]
    if kind == 3:  # byte deleted
        return data[:i] + data[i + 1 :]
    if kind == 4:  # truncated
        return data[:i]
    return _with(data, 4 + rng.below(16), bytes([1 << rng.below(8)]))  # bitmap bit


def test_mini_fuzz_only_decode_error_escapes():
    rng = _Rng(8583)
    seeds = [encode(m) for m in EXAMPLES]
    decoded = failed = 0
    for case in range(3000):
        if case % 8 == 0:  # random bytes
            data = bytes([rng.below(256) for _ in range(rng.below(48))])
        elif case % 8 == 4:  # random bytes after a valid MTI
            data = b"0800" + bytes([rng.below(256) for _ in range(rng.below(48))])
        else:
            data = seeds[rng.below(len(seeds))]
            for _ in range(1 + rng.below(3)):
                data = _mutate(rng, data)
        try:
            message = decode(data)
        except DecodeError as e:
            failed += 1
            assert e.field is not None and e.offset is not None, (data, str(e))
            assert 0 <= e.offset <= len(data), (data, str(e))
        else:
            decoded += 1
            assert encode(message) == data, data  # strict: decoding is canonical
    assert decoded > 50 and failed > 1000, (decoded, failed)


def test_spec_field_table_is_what_the_codec_uses():
    # every field of the spec round-trips a value of its exact format
    samples = {"n": "7", "an": "Z", "ans": "~", "b": b"\xff"}
    for num, (_, fmt, length_type, max_len) in FIELDS.items():
        if fmt == "x+n":
            value = "C" + "9" * (max_len - 1)
        else:
            value = samples[fmt] * (1 if length_type else max_len)
        common({"t": "0200", str(num): value})
