"""Keyed card entry on CPython: hypothesis properties of the Luhn check and of manual_card;
the known-answer tables are tests/portable/test_luhn.py (they run here and under MicroPython)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.card_io.errors import EntryError, LuhnError
from agent.card_io.luhn import check_digit, luhn_valid
from agent.card_io.manual import manual_card
from simulator.club_server.seed import all_card_numbers

PERSIAN = dict(zip("0123456789", "۰۱۲۳۴۵۶۷۸۹", strict=True))


@st.composite
def pans(draw):
    body = draw(st.text("0123456789", min_size=11, max_size=18))
    return body + check_digit(body)


def test_every_seeded_card_number_can_be_keyed():
    for pan in all_card_numbers():
        assert manual_card(pan).pan == pan


@given(pans(), st.data())
def test_valid_numbers_typed_any_way(pan, data):
    typed = ""
    for c in pan:
        if data.draw(st.booleans()):
            c = PERSIAN[c]
        typed += c + data.draw(st.sampled_from(["", "", " ", "-"]))
    card = manual_card(typed)
    assert (card.pan, card.expiry, card.entry) == (pan, None, "012")


@given(pans(), st.integers(0, 18), st.integers(1, 9))
def test_any_single_digit_typo_is_a_luhn_error(pan, i, shift):
    i %= len(pan)
    typo = pan[:i] + str((int(pan[i]) + shift) % 10) + pan[i + 1 :]
    try:
        manual_card(typo)
    except LuhnError as e:
        assert e.field == "pan" and e.offset == len(pan) - 1
    else:
        raise AssertionError("typo accepted")


@given(pans(), st.integers(0, 17))
def test_adjacent_swaps_are_caught_except_09(pan, i):
    i %= len(pan) - 1
    a, b = pan[i], pan[i + 1]
    swapped = pan[:i] + b + a + pan[i + 2 :]
    if a == b or {a, b} == {"0", "9"}:  # the Luhn formula's one blind spot
        return
    assert not luhn_valid(swapped)


@given(st.integers(0, 99), st.integers(1, 12), st.booleans())
def test_expiry_both_ways(yy, mm, slash):
    typed = f"{mm:02d}/{yy:02d}" if slash else f"{yy:02d}{mm:02d}"
    assert manual_card("9879110000000014", typed).expiry == f"{yy:02d}{mm:02d}"


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=30), st.one_of(st.none(), st.text(max_size=8)))
def test_any_typing_gives_a_card_or_an_entry_error(pan, expiry):
    try:
        card = manual_card(pan, expiry)
    except EntryError as e:
        assert e.field in ("pan", "expiry")
        return
    assert luhn_valid(card.pan) and 12 <= len(card.pan) <= 19 and card.entry == "012"
    assert card.expiry is None or (len(card.expiry) == 4 and "01" <= card.expiry[2:] <= "12")
