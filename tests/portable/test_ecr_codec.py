"""The ECR link's frames and messages (docs/ecr.md sections 2-3): known answers from the doc,
the stream scanner (noise, split and merged frames, abandoned partial frames), exact errors.

Runs under pytest and under MicroPython (tests/portable/runner.py).
"""

from agent.ecr.errors import EcrError, EncodeError, FrameError, MessageError
from agent.ecr.frame import (
    ACKED,
    BAD,
    FRAME,
    NAKED,
    Scanner,
    ack,
    crc16,
    decode_frame,
    encode_frame,
    nak,
)
from agent.ecr.message import decode_message, encode_body, encode_message
from agent.ecr.spec import MAX_PAYLOAD, TAG_CODES, TAGS
from tests.portable.support import hexu, raises, unhex

SALE = {"amount": 120000, "invoice": "INV-1001", "cashier": "07"}
SALE_HEX = (
    "02001B0101010006313230303030020008494E562D31303031030002303703" + "84A0"
)  # docs/ecr.md 2.4, example 1
SALE_ANSWER = {
    "invoice": "INV-1001",
    "result": "00",
    "response_code": "00",
    "amount": 120000,
    "discount": 18000,
    "fee": 5000,
    "payable": 107000,
    "card": "****0014",
    "stan": "000123",
    "rrn": "000000000123",
}
# (title, seq, type, fields, frame hex): docs/ecr.md 2.4
KNOWN = (
    ("sale", 1, 0x01, SALE, SALE_HEX),
    ("status inquiry", 2, 0x05, {"invoice": "INV-1001"},
     "02000D020502000849 4E562D3130303103 0EA5"),
    ("busy", 2, 0x81, {"invoice": "INV-1002", "result": "10"},
     "0200120281020008494E562D31303032200002313003D9B1"),
    ("in progress", 3, 0x85, {"invoice": "INV-1001", "result": "11"},
     "0200120385020008494E562D31303031200002313103 1CBA"),
    ("sale answer", 1, 0x81, SALE_ANSWER,
     "02005B0181010006313230303030020008494E562D31303031200002303021000230302300053138303030"
     "24000435303030250006313037303030 2A00082A2A2A2A303031342B000630303031323 32C000C3030"
     "3030303030303031323303 69EF"),
)  # fmt: skip


def frame_of(seq, msg_type, fields):
    return encode_frame(encode_message(seq, msg_type, fields))


def test_crc16_check_value():
    # CRC-16/CCITT-FALSE (IBM-3740) catalogue check value
    assert crc16(b"123456789") == 0x29B1
    assert crc16(b"") == 0xFFFF
    assert crc16(b"6789", crc16(b"12345")) == 0x29B1


def test_known_frames():
    for title, seq, msg_type, fields, text in KNOWN:
        expected = text.replace(" ", "")
        frame = frame_of(seq, msg_type, fields)
        assert hexu(frame) == expected, title
        msg = decode_message(decode_frame(unhex(expected)))
        assert msg == {"seq": seq, "type": msg_type, "fields": fields}, title


def test_ack_and_nak_bytes():
    assert hexu(ack(1)) == "0601FE"
    assert hexu(ack(0)) == "0600FF"
    assert hexu(ack(0xA5)) == "06A55A"
    assert hexu(nak()) == "15"


def test_every_tag_round_trips():
    for tag in TAGS:
        name, kind, _low, high = TAGS[tag]
        if kind == "n":
            value = int("9" * min(high, 18))
        elif kind == "u8":
            value = 255
        elif kind == "d":
            value = "0" * high
        elif kind == "an":
            value = "~" * high
        else:
            value = "و" * (high // 2)
        payload = encode_message(7, 0x81, {name: value})
        assert decode_message(payload)["fields"] == {name: value}, name
        assert TAG_CODES[name] == tag


def test_tags_written_in_ascending_order():
    body = encode_body(0x01, {"cashier": "1", "amount": 5, "invoice": "A"})
    assert hexu(body) == "01" + "01000135" + "02000141" + "03000131"


def test_frame_limits():
    encode_frame(bytes(2))
    encode_frame(bytes(MAX_PAYLOAD))
    e = raises(FrameError, encode_frame, bytes(1))
    assert str(e) == "payload of 1 bytes, allowed 2..4096"
    raises(FrameError, encode_frame, bytes(MAX_PAYLOAD + 1))


def test_decode_frame_errors_say_where():
    good = unhex(SALE_HEX)
    cases = (
        (good[:2], "frame does not start with STX and a length (offset 0)"),
        (b"\x03" + good[1:], "frame does not start with STX and a length (offset 0)"),
        (b"\x02\x00\x01" + good[3:], "length 1 outside 2..4096 (offset 1)"),
        (good[:-1], "frame cut short: 32 of 33 bytes (offset 32)"),
        (good + b"\x00", "1 bytes after the frame (offset 33)"),
        (good[:30] + b"\x04" + good[31:], "no ETX after the payload (offset 30)"),
        (good[:-1] + b"\xa1", "CRC mismatch, computed 84A0 (offset 31)"),
    )
    for data, message in cases:
        e = raises(FrameError, decode_frame, data)
        assert str(e) == message, (str(e), message)
        assert isinstance(e, EcrError) and isinstance(e, ValueError)


def test_decode_message_errors_say_where():
    cases = (
        (b"\x01", "payload shorter than its sequence number and type (offset 0)"),
        (b"\x01\x01\x01\x00", "TLV item header cut short (offset 2)"),
        (b"\x01\x01\x01\x00\x05123", "TLV value cut short (tag 01, offset 2)"),
        (b"\x01\x01\x01\x00\x0212\x01\x00\x0134", "TLV tag repeated (tag 01, offset 7)"),
        (b"\x01\x01\x01\x00\x021x", "amount is not digits (tag 01, offset 5)"),
        (b"\x01\x01\x01\x00\x00", "amount is 0 bytes, allowed 1..12 (tag 01, offset 5)"),
        (b"\x01\x01\x02\x00\x02A\x07", "invoice is not printable ASCII (tag 02, offset 5)"),
        (b"\x01\x01\x08\x00\x02\xff\xfe", "text is not UTF-8 (tag 08, offset 5)"),
        (b"\x01\x81\x2b\x00\x0512345", "stan is 5 bytes, allowed 6..6 (tag 2B, offset 5)"),
    )
    for data, message in cases:
        e = raises(MessageError, decode_message, data)
        assert str(e) == message, (str(e), message)


def test_unknown_tags_are_skipped():
    payload = b"\x05\x01" + b"\x7f\x00\x03xyz" + b"\x01\x00\x0242"
    assert decode_message(payload) == {"seq": 5, "type": 1, "fields": {"amount": 42}}


def test_encode_refuses_what_the_protocol_cannot_carry():
    cases = (
        ({"nope": 1}, "no field named 'nope'"),
        ({"amount": -1}, "amount must be a non-negative int (tag 01)"),
        ({"amount": "12"}, "amount must be a non-negative int (tag 01)"),
        ({"amount": 10**12}, "amount is 13 bytes, allowed 1..12 (tag 01)"),
        ({"invoice": ""}, "invoice is 0 bytes, allowed 1..20 (tag 02)"),
        ({"invoice": "فاکتور"}, "invoice must be printable ASCII (tag 02)"),
        ({"stan": "12345a"}, "stan must be digits (tag 2B)"),
        ({"command": 256}, "command must be an int 0..255 (tag 30)"),
    )
    for fields, message in cases:
        e = raises(EncodeError, encode_body, 0x01, fields)
        assert str(e) == message, (str(e), message)
    raises(EncodeError, encode_message, 256, 1, {})


# -- the scanner --------------------------------------------------------------------------------


def frames(events):
    return [value for kind, value in events if kind == FRAME]


def test_scanner_split_at_every_position():
    one = frame_of(1, 0x01, SALE)
    two = frame_of(2, 0x05, {"invoice": "INV-1001"})
    stream = one + ack(9) + two
    for cut in range(len(stream) + 1):
        scanner = Scanner()
        events = scanner.feed(stream[:cut], 0) + scanner.feed(stream[cut:], 1)
        assert frames(events) == [one[3:-3], two[3:-3]], cut
        assert (ACKED, 9) in events
        assert scanner.pending == 0 and scanner.noise == 0


def test_scanner_byte_by_byte_and_merged():
    stream = frame_of(1, 0x01, SALE) + frame_of(2, 0x02, {}) + nak() + ack(3)
    scanner = Scanner()
    events = []
    for i in range(len(stream)):
        events += scanner.feed(stream[i : i + 1], i)
    merged = Scanner().feed(stream, 0)
    assert events == merged
    assert [kind for kind, _ in merged] == [FRAME, FRAME, NAKED, ACKED]


def test_scanner_skips_noise_between_frames():
    noise = b"\x00\xff\x03\x06\x07\x02\xff\xff\x06\x01\x01 line noise \x10"
    one = frame_of(1, 0x01, SALE)
    scanner = Scanner()
    events = scanner.feed(noise + one + noise + one, 0)
    assert frames(events) == [one[3:-3], one[3:-3]]
    assert [kind for kind, _ in events] == [FRAME, FRAME]
    assert scanner.noise == 2 * len(noise)


def test_scanner_reports_a_damaged_frame_and_goes_on():
    one = bytearray(frame_of(1, 0x01, SALE))
    one[10] ^= 0x01
    two = frame_of(2, 0x01, SALE)
    events = Scanner().feed(bytes(one) + two, 0)
    assert events[0][0] == BAD and "CRC mismatch" in str(events[0][1])
    assert frames(events) == [two[3:-3]]


def test_scanner_abandons_a_partial_frame_after_the_interbyte_timer():
    # a stray STX whose "length" swallows the real frame behind it
    one = frame_of(1, 0x01, SALE)
    scanner = Scanner(interbyte_ms=500)
    assert scanner.feed(b"\x02\x01\x00" + one, 1000) == []
    assert scanner.expire(1499) == []
    assert frames(scanner.expire(1500)) == [one[3:-3]]
    assert scanner.pending == 0 and scanner.noise == 3


def test_scanner_keeps_a_partial_frame_while_bytes_keep_coming():
    one = frame_of(1, 0x01, SALE)
    scanner = Scanner(interbyte_ms=500)
    t = 0
    got = []
    for i in range(len(one)):
        got += scanner.feed(one[i : i + 1], t)
        got += scanner.expire(t + 499)
        t += 400
    assert frames(got) == [one[3:-3]]


def test_scanner_refuses_an_out_of_range_length_at_once():
    scanner = Scanner()
    assert scanner.feed(b"\x02\xff\xff", 0) == []
    assert scanner.pending == 0 and scanner.noise == 3
    assert scanner.feed(b"\x02\x00\x00\x02\x00\x01", 0) == []
    assert scanner.noise == 9


def test_scanner_false_ack_needs_its_complement():
    scanner = Scanner()
    assert scanner.feed(b"\x06\x05\x05\x06\x05\xfa", 0) == [(ACKED, 5)]
    assert scanner.noise == 3
