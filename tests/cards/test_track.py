"""Track parsing on CPython: hypothesis properties (any valid track reads back; any single
change to a track with an LRC is caught) and a hypothesis fuzz (random text, random bytes and
mutated tracks: only TrackError escapes). The known-answer tables are tests/portable/test_track.py
(they run here too, and under MicroPython)."""

import random
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.card_io.errors import TrackError
from agent.card_io.luhn import check_digit, luhn_valid
from agent.card_io.track import (
    MAX_LEN,
    build_track1,
    build_track2,
    decode_line,
    parse_swipe,
    parse_track1,
    parse_track2,
)

TRACK1_CHARS = "".join(chr(c) for c in range(0x20, 0x60))
NAME_CHARS = TRACK1_CHARS.replace("^", "").replace("%", "").replace("?", "")
FUZZ = settings(
    max_examples=500,
    deadline=None,
    database=None,
    derandomize=True,  # the same cases every run: a fuzz failure reproduces
    suppress_health_check=list(HealthCheck),
)
COUNT = {"cases": 0}


@st.composite
def pans(draw):
    prefix = draw(st.sampled_from(["603799", "987911", "610433", "502229", "4", ""]))
    length = draw(st.integers(12, 19))
    body = prefix + draw(st.text("0123456789", min_size=length, max_size=length))
    body = body[: length - 1]
    return body + check_digit(body)


expiries = st.one_of(
    st.none(),
    st.tuples(st.integers(0, 99), st.integers(1, 12)).map(lambda t: f"{t[0]:02d}{t[1]:02d}"),
)
services = st.one_of(st.none(), st.text("0123456789", min_size=3, max_size=3))


@st.composite
def swipes(draw):
    """(text of a valid swipe, pan, expiry, name, service code, tracks)."""
    pan = draw(pans())
    expiry = draw(expiries)
    service = draw(services)
    name = draw(st.text(NAME_CHARS, min_size=2, max_size=26))
    room1 = MAX_LEN[1] - len(build_track1(pan, name, expiry, service)) - 1
    room2 = MAX_LEN[2] - len(build_track2(pan, expiry, service)) - 1
    dd1 = draw(st.text(NAME_CHARS + "^", max_size=max(room1, 0)))
    dd2 = draw(st.text("0123456789", max_size=max(room2, 0)))
    lrc1, lrc2 = draw(st.booleans()), draw(st.booleans())
    which = draw(st.sampled_from([(1,), (2,), (1, 2)]))
    text = ""
    if 1 in which:
        text += build_track1(pan, name, expiry, service, dd1, with_lrc=lrc1)
    if 2 in which:
        text += build_track2(pan, expiry, service, dd2, with_lrc=lrc2)
    text += draw(st.sampled_from(["", "\r\n", "\n", "\r"]))
    return text, pan, expiry, (name.rstrip() if 1 in which else None), service, which


@settings(max_examples=1500, deadline=None)
@given(swipes())
def test_every_valid_swipe_reads_back(swipe):
    text, pan, expiry, name, service, tracks = swipe
    card = parse_swipe(text)
    assert (card.pan, card.expiry, card.name, card.service_code, card.tracks) == (
        pan,
        expiry,
        name,
        service,
        tracks,
    )
    assert card.entry == "021"


@settings(max_examples=1500, deadline=None)
@given(pans(), expiries, services, st.data())
def test_any_single_change_to_a_track_with_lrc_is_caught(pan, expiry, service, data):
    """With an LRC, a changed character is an error, unless it hit the end sentinel (then
    the LRC may read as the end sentinel: the card number and expiry still hold)."""
    track = data.draw(st.sampled_from([1, 2]))
    if track == 1:
        text = build_track1(pan, "AHMADI/ALI", expiry, service, with_lrc=True)
        alphabet = TRACK1_CHARS
    else:
        text = build_track2(pan, expiry, service, with_lrc=True)
        alphabet = "0123456789:;<=>?"
    i = data.draw(st.integers(0, len(text) - 1))
    c = data.draw(st.sampled_from(alphabet).filter(lambda c: c != text[i]))
    changed = text[:i] + c + text[i + 1 :]
    try:
        card = parse_swipe(changed)
    except TrackError:
        return
    assert (card.pan, card.expiry) == (pan, expiry), (text, changed)


def check(text):
    COUNT["cases"] += 1
    for parse in (parse_swipe, parse_track1, parse_track2):
        try:
            card = parse(text)
        except TrackError as e:
            assert e.offset is None or 0 <= e.offset <= len(text)
            continue
        assert luhn_valid(card.pan) and 12 <= len(card.pan) <= 19
        assert card.expiry is None or (len(card.expiry) == 4 and "01" <= card.expiry[2:] <= "12")
        assert card.service_code is None or len(card.service_code) == 3
        assert card.entry == "021"


# Hypothesis draws the inputs (a valid swipe, a seed); each example expands into PER_EXAMPLE
# cases from random.Random(seed), so the fuzz reaches its numbers in seconds (Hypothesis spends
# about a millisecond on each example of its own, and far more on each draw of st.randoms).
PER_EXAMPLE = 20
seeds = st.integers(0, 2**32 - 1).map(random.Random)
ALPHABET = "%;+?^=B0123456789/ E\r\n" + TRACK1_CHARS + "\x00\xe9\u06f1a"


def random_text(rng):
    n = rng.randrange(121)
    if rng.random() < 0.2:  # any code points at all
        return "".join(chr(rng.randrange(0x3000)) for _ in range(n))
    return "".join(rng.choice(ALPHABET) for _ in range(n))


def mutate(rng, text):
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        i = rng.randrange(len(text) + 1)
        if op == 0 and text:
            i = min(i, len(text) - 1)
            text = text[:i] + rng.choice(ALPHABET) + text[i + 1 :]
        elif op == 1:
            text = text[:i] + rng.choice(ALPHABET) + text[i:]
        elif op == 2:
            text = text[:i] + text[i + 1 :]
        elif op == 3:
            text = text[:i]
        elif op == 4:
            text = text[:i] + text[rng.randint(i, len(text)) :]
        else:
            text = text[:i] + text[i : i + 20] + text[i:]
    return text


@FUZZ
@given(seeds)
def fuzz_random_text(rng):
    for _ in range(PER_EXAMPLE):
        check(random_text(rng))


@FUZZ
@given(swipes(), seeds)
def fuzz_mutated_tracks(swipe, rng):
    for _ in range(PER_EXAMPLE):
        check(mutate(rng, swipe[0]))


@FUZZ
@given(seeds)
def fuzz_serial_bytes(rng):
    for _ in range(PER_EXAMPLE):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(121)))
        if rng.random() < 0.5:  # a good line with bytes of noise in it
            line = bytearray(b";9879110000000014=2912101?\r\n")
            line[rng.randrange(len(line))] = rng.randrange(256)
            data = bytes(line)
        try:
            text = decode_line(data)
        except TrackError:
            COUNT["cases"] += 1
            continue
        check(text)


def run_fuzz(fuzz):
    COUNT["cases"] = 0
    start = time.monotonic()
    fuzz()
    elapsed = time.monotonic() - start
    print(f"{fuzz.__name__}: {COUNT['cases']} cases in {elapsed:.1f} s")
    return COUNT["cases"]


def test_fuzz_random_text():
    assert run_fuzz(fuzz_random_text) >= 10_000


def test_fuzz_mutated_tracks():
    assert run_fuzz(fuzz_mutated_tracks) >= 10_000


def test_fuzz_bytes_from_a_serial_line():
    assert run_fuzz(fuzz_serial_bytes) >= 10_000


def test_testing_md_stripe_data_is_right():
    """docs/testing.md "Stripe and manual entry test data": every good swipe reads as its row
    says, every bad one fails with the error its row shows."""
    from pathlib import Path

    from agent.card_io.errors import CardError
    from agent.card_io.routing import route

    text = (Path(__file__).resolve().parents[2] / "docs/testing.md").read_text()
    text = text[text.index("## Stripe and manual entry test data") :]
    good, bad = text.split("Bad swipes")[0], text.split("Bad swipes")[1].split("Manual entry")[0]
    rows = 0
    for line in good.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 4:
            card = parse_swipe(cells[0].strip("`"))
            assert cells[1].startswith(f"`{card.pan}`"), line
            assert cells[2].startswith(route(card)[0]), line
            rows += 1
    for line in bad.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 2:
            swipe = cells[0].strip("`")
            kind, _, message = cells[1].partition(": ")
            try:
                route(parse_swipe(swipe))
            except CardError as e:
                assert kind.strip("`").endswith(type(e).__name__), line
                head = message.split(" ...")[0]
                assert str(e).startswith(head), (line, str(e))
                rows += 1
            else:
                raise AssertionError("accepted: " + line)
    assert rows >= 18
