"""Field 48/62 TLV and field 54 additional amounts (docs/protocol.md 2.3, 2.4)."""

from agent.protocol import messages as m
from agent.protocol.errors import DecodeError, EncodeError
from agent.protocol.tlv import decode_amounts, decode_tlv, encode_amounts, encode_tlv, tlv_text
from tests.portable.support import raises

PERSIAN = "امتیاز شما ۱۲۰"


def test_tlv_round_trip_sorted_and_utf8():
    items = {m.TAG_MESSAGE: PERSIAN, m.TAG_POINTS_EARNED: "120", m.TAG_TIER: b"A"}
    data = encode_tlv(items)
    assert data[:5] == b"\x01\x03120"
    decoded = decode_tlv(data)
    assert tlv_text(decoded, m.TAG_MESSAGE) == PERSIAN
    assert decoded[m.TAG_TIER] == b"A"
    assert tlv_text(decoded, m.TAG_BANK_REFERENCE, "none") == "none"


def test_tlv_errors_say_where():
    e = raises(DecodeError, decode_tlv, b"\x01\x03120\x02\x05ab")
    assert (e.field, e.offset) == (48, 5)
    e = raises(DecodeError, decode_tlv, b"\x01\x0312\x30\x01", 62)
    assert (e.field, e.offset) == (62, 5)
    assert raises(DecodeError, decode_tlv, b"\x01\x00\x01\x00").offset == 2
    assert raises(EncodeError, encode_tlv, {1: "x" * 256}).field == 48


def test_amounts_protocol_example():
    text = encode_amounts([("40", "D1", 120000), ("40", "F1", 5000), ("40", "P1", 1085000)])
    assert text == "40D1364C00000012000040F1364C00000000500040P1364C000001085000"
    assert decode_amounts(text) == {"40D1": 120000, "40F1": 5000, "40P1": 1085000}
    assert decode_amounts(encode_amounts([("60", "02", -5)])) == {"6002": -5}


def test_amount_errors():
    assert raises(DecodeError, decode_amounts, "40D1364").field == 54
    assert raises(DecodeError, decode_amounts, "40D1364X000000120000").offset == 0
    assert raises(EncodeError, encode_amounts, [("40", "D1", 10**12)]).field == 54
    assert raises(EncodeError, encode_amounts, [("40", "D1", 1)] * 7).field == 54
