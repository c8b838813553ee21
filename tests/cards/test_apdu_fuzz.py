"""Property and fuzz tests of the card link on CPython (hypothesis): whatever bytes a card
answers, only CardError subclasses leave agent/card_io; whatever APDU a terminal sends, the
virtual card answers a status word and a locked card stays as issued. The seeded fuzz that
also runs under MicroPython is tests/portable/test_clubcard.py.
"""

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.card_io import ber
from agent.card_io.apdu import mask_digits, parse_response
from agent.card_io.clubcard import ClubCardReader, parse_card_data, parse_fci
from agent.card_io.errors import CardError, CardProtocolError
from agent.card_io.inprocess import InProcessReader
from agent.card_io.reader import ScriptedReader
from simulator.cards.applet import ATR
from simulator.cards.personas import TEST_IMK, make_card

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=300))
def test_parse_response_total(raw):
    try:
        data, sw = parse_response(raw)
    except CardProtocolError:
        assert len(raw) < 2
        return
    assert data + bytes([sw >> 8, sw & 0xFF]) == raw


@FUZZ
@given(st.binary(max_size=300))
def test_ber_decode_only_card_errors(data):
    try:
        items = ber.decode(data)
    except CardProtocolError as e:
        assert "offset" in str(e) or "not supported" in str(e)
        return
    assert sum(len(v) for _t, v in items) <= len(data)


tags = st.one_of(
    st.integers(0x01, 0x1E).map(lambda t: t | 0x40),  # one byte, application class
    st.integers(0x01, 0x7F).map(lambda t: 0xDF00 | t),  # two bytes
    st.integers(0x01, 0x7F).map(lambda t: 0x9F8100 | t),  # three bytes
)


@FUZZ
@given(st.lists(st.tuples(tags, st.binary(max_size=300)), max_size=5))
def test_ber_round_trip(items):
    assert ber.decode(ber.encode_all(items)) == items


@FUZZ
@given(st.binary(max_size=200))
def test_parsers_only_card_errors(data):
    for parse in (parse_card_data, parse_fci):
        try:
            parse(data)
        except CardError as e:
            assert str(e)


@FUZZ
@given(st.text(alphabet="0123456789ABCDEF *<>", max_size=80))
def test_mask_digits_leaves_no_card_number(text):
    masked = mask_digits(text)
    assert len(masked) == len(text)
    assert not re.search(r"\d{12,}", masked)


def responses():
    """Lists of response APDUs: a genuine prefix of the active card's answers, then random."""
    return st.lists(st.binary(max_size=80), min_size=0, max_size=4)


@FUZZ
@given(responses(), st.integers(0, 3))
def test_reader_with_arbitrary_answers_raises_only_card_errors(junk, genuine):
    card = make_card("active")
    real = InProcessReader(card)
    real.connect()
    genuine_apdus = (bytes.fromhex("00A4040006F0564146410100"), bytes.fromhex("80CA007000"))
    prefix = [real.transmit(apdu) for apdu in genuine_apdus[:genuine]]
    reader = ClubCardReader(ScriptedReader(prefix + junk, ATR), TEST_IMK)
    try:
        read = reader.read(100)
    except CardError:
        return
    raise AssertionError(f"read a card from junk answers: {read!r}")


@FUZZ
@given(st.lists(st.binary(min_size=0, max_size=40), max_size=12))
def test_card_answers_every_apdu_and_stays_issued(apdus):
    card = make_card("active")
    card.power_up()
    for apdu in apdus:
        out = card.execute(apdu)
        assert len(out) >= 2
    for apdu in apdus:  # the same after a SELECT: commands of a selected application
        card.execute(bytes.fromhex("00A4040006F0564146410100"))
        assert len(card.execute(apdu)) >= 2
    read = ClubCardReader(InProcessReader(card), TEST_IMK).read(100)
    assert read.pan == "9879110000000014"
