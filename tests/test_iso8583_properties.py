"""Properties of the club-link codec (CPython, hypothesis), and a cross-check with pyiso8583.

Messages are generated from the spec table itself (agent.protocol.spec.FIELDS). pyiso8583
decodes and encodes them with simulator.club_server.iso_spec.VAFA_SPEC, the same map written
by hand as a pyiso8583 spec: the two implementations must agree field for field and byte for
byte.
"""

import string

import iso8583
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from agent.protocol import iso8583 as codec
from agent.protocol.errors import DecodeError, EncodeError
from agent.protocol.iso8583 import decode, encode
from agent.protocol.spec import AN, ANS, FIELDS, FIXED, XN, B, N
from simulator.club_server.iso_spec import VAFA_SPEC

ALPHABETS = {
    N: string.digits,
    AN: string.digits + string.ascii_letters + " ",
    ANS: "".join(map(chr, range(0x20, 0x7F))),
}


def field_value(num):
    _, fmt, length_type, max_len = FIELDS[num]
    low = max_len if length_type == FIXED else 0
    if fmt == B:
        return st.binary(min_size=low, max_size=max_len)
    if fmt == XN:
        return st.builds(
            lambda sign, digits: sign + digits,
            st.sampled_from("CD"),
            st.text(string.digits, min_size=max_len - 1, max_size=max_len - 1),
        )
    return st.text(ALPHABETS[fmt], min_size=low, max_size=max_len)


mtis = st.text(string.digits, min_size=4, max_size=4)


@st.composite
def messages(draw):
    chosen = draw(st.sets(st.sampled_from(sorted(FIELDS))))
    message = {"t": draw(mtis)}
    for num in draw(st.permutations(sorted(chosen))):  # any key order
        message[str(num)] = draw(field_value(num))
    return message


def to_pyiso(message):
    """pyiso8583 carries "b" fields as uppercase hex strings."""
    return {k: v.hex().upper() if isinstance(v, bytes) else v for k, v in message.items()}


def from_pyiso(doc):
    """pyiso8583's decoded dict in our terms: bitmaps dropped, "b" fields back to bytes."""
    out = {}
    for key, value in doc.items():
        if key in ("p", "1"):
            continue
        binary = key != "t" and FIELDS[int(key)][1] == B
        out[key] = bytes.fromhex(value) if binary else value
    return out


@settings(max_examples=400)
@given(messages())
def test_round_trip(message):
    data = encode(message)
    assert decode(data) == message
    assert encode(decode(data)) == data


@settings(max_examples=400)
@given(messages())
def test_pyiso8583_decodes_what_we_encode(message):
    doc, _ = iso8583.decode(encode(message), VAFA_SPEC)
    assert from_pyiso(doc) == message


@settings(max_examples=400)
@given(messages())
def test_we_decode_what_pyiso8583_encodes_byte_for_byte(message):
    theirs, _ = iso8583.encode(to_pyiso(message), VAFA_SPEC)
    assert bytes(theirs) == encode(message)
    assert decode(bytes(theirs)) == message


def test_vafa_spec_is_the_agent_field_map():
    # the hand-written pyiso8583 spec and spec.py describe the same fields
    for num, (_, fmt, length_type, max_len) in FIELDS.items():
        entry = VAFA_SPEC[str(num)]
        assert entry["len_type"] == length_type, num
        assert entry["max_len"] == max_len, num
        assert entry["data_enc"] == ("b" if fmt == B else "ascii"), num
        assert entry["len_enc"] == "ascii", num
    fields = {k for k in VAFA_SPEC if k.isdigit()} - {"1"}
    assert fields == {str(n) for n in FIELDS}
    assert VAFA_SPEC["h"]["max_len"] == 0
    assert VAFA_SPEC["p"]["data_enc"] == VAFA_SPEC["1"]["data_enc"] == "b"


@settings(max_examples=500)
@given(messages(), st.data())
def test_a_bad_character_is_refused_both_ways(message, data):
    text = [k for k in message if k != "t" and FIELDS[int(k)][1] != B and message[k]]
    if not text:
        return
    key = data.draw(st.sampled_from(text))
    fmt, value = FIELDS[int(key)][1], message[key]
    allowed = ALPHABETS.get(fmt, string.digits)  # x+n: digits after the sign
    where = data.draw(st.integers(1 if fmt == XN else 0, len(value) - 1))
    bad = data.draw(st.characters(exclude_characters=allowed))
    message[key] = value[:where] + bad + value[where + 1 :]
    with pytest.raises(EncodeError) as e:
        encode(message)
    assert e.value.field == int(key)
    # the same bad byte on the wire: decode names the field and where its value starts
    if len(bad.encode("utf-8", "surrogatepass")) == 1:
        good = encode({"t": "0000", key: value})
        start = len(good) - len(value)
        wire = good[: start + where] + bad.encode() + good[start + where + 1 :]
        with pytest.raises(DecodeError) as e:
            decode(wire)
        assert (e.value.field, e.value.offset) == (int(key), start)


@settings(max_examples=1000)
@given(st.binary(max_size=300))
@example(b"0800\x80" + bytes(15))
@example(b"0100" + bytes(8) + b"extra")
def test_any_bytes_decode_or_raise_decode_error(data):
    try:
        message = decode(data)
    except DecodeError as e:
        assert e.field is not None and e.offset is not None
    else:
        assert encode(message) == data


def test_an_checks_agree_on_every_byte():
    # CPython validates `an` with bytes.translate, MicroPython with a flag table: same answers
    allowed = ALPHABETS[AN].encode()
    fast, portable = codec._delete_check(allowed), codec._table_check(allowed)
    for c in range(256):
        v = b"A" + bytes([c]) + b"9"
        assert fast(v) == portable(v) == (c in allowed), c


def test_custom_spec_is_compiled_and_validated():
    spec = {2: ("PAN", N, 2, 19), 41: ("Terminal id", ANS, FIXED, 8)}
    message = {"t": "0200", "2": "4111111111111111", "41": "TERM0001"}
    data = encode(message, spec)
    assert data == b"0200\x40\x00\x00\x00\x00\x80\x00\x00164111111111111111TERM0001"
    assert decode(data, spec) == message
    with pytest.raises(DecodeError):
        decode(data)  # field 2 is not in the club-link spec
    for bad in (
        {65: ("x", N, FIXED, 1)},
        {2: ("x", N, 2, 100)},
        {2: ("x", "z", FIXED, 1)},
        {2: ("x", N, 4, 10)},
        {2: ("x", N, FIXED, 0)},
    ):
        with pytest.raises(ValueError):
            encode({"t": "0200"}, bad)


def test_lone_surrogates_are_encode_errors():
    # str.encode() raises UnicodeEncodeError for these on CPython; the codec names the field
    with pytest.raises(EncodeError) as e:
        encode({"t": "0800", "42": "\udc80" * 15})
    assert e.value.field == 42
    with pytest.raises(EncodeError) as e:
        encode({"t": "08\udc800"})
    assert e.value.field == "t"


def test_decode_takes_only_bytes_like_input():
    data = encode({"t": "0800", "70": "301"})
    assert decode(memoryview(data)) == decode(bytearray(data)) == decode(data)
    for wrong in (data.decode("latin-1"), 5, None, list(data)):
        with pytest.raises(TypeError):
            decode(wrong)


def test_realistic_examples_match_pyiso8583_byte_for_byte():
    from tests.portable.test_iso8583 import EXAMPLES

    for message in EXAMPLES:
        theirs, _ = iso8583.encode(to_pyiso(message), VAFA_SPEC)
        assert bytes(theirs) == encode(message), message["t"]
        assert from_pyiso(iso8583.decode(encode(message), VAFA_SPEC)[0]) == message
