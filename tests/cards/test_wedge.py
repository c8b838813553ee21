"""Keyboard-wedge readers for real: pynput listening to an Xvfb display, keys typed by xdotool
(tests/cards/stripe_fixtures.py). A reader types fast (--delay 5), a person slowly (--delay 150).

Also the adapter alone, keys fed with made-up times (no X needed).
"""

import threading
import time

import pytest

from agent.card_io.errors import SwipeError, TrackError
from agent.card_io.swipe import SwipeDetector
from agent.card_io.track import StripeCard
from agent.card_io.wedge import WedgeReader, key_char
from agent.ports import ManualClock

BANK = "6037990000000014"
CLUB = "9879110000000014"
T1 = "%B6037990000000014^AHMADI/ALI^2912101000000?"
T2 = ";6037990000000014=29121010000000000?"
T2_CLUB = ";9879110000000014=2912101?"


def type_later(wedge, *parts):
    """Type (text, delay_ms) parts one after another in a thread, so read() runs meanwhile;
    a number alone is a pause in seconds."""

    def go():
        for part in parts:
            if isinstance(part, float):
                time.sleep(part)
            else:
                wedge.type(*part)

    thread = threading.Thread(target=go)
    thread.start()
    return thread


def test_a_fast_swipe_is_read(wedge):
    thread = type_later(wedge, (T1 + T2 + "\n", 5))
    card = wedge.reader.read(10000)
    thread.join()
    assert isinstance(card, StripeCard)
    assert (card.pan, card.expiry, card.entry, card.name, card.tracks) == (
        BANK,
        "2912",
        "021",
        "AHMADI/ALI",
        (1, 2),
    )
    assert wedge.typed() == ""


def test_a_swipe_without_enter_is_read(wedge):
    thread = type_later(wedge, (T2_CLUB, 5))
    card = wedge.reader.read(10000)
    thread.join()
    assert card.pan == CLUB and card.tracks == (2,)


def test_slow_typing_is_not_a_swipe(wedge):
    text = ";9879110000000014=2912?"  # sentinels and all, typed by a person
    thread = type_later(wedge, (text + "\n", 150))
    got = wedge.reader.read(len(text) * 150 + 3000)
    thread.join()
    assert got is None
    assert wedge.reader.read(300) is None
    assert wedge.typed() == text + "\n"  # passed through as typed text


def test_typing_then_a_swipe_is_separated(wedge):
    thread = type_later(wedge, ("ab", 150), (T2_CLUB + "\n", 5))
    card = wedge.reader.read(10000)
    thread.join()
    assert card.pan == CLUB
    assert wedge.typed() == "ab"  # however close 'b' came to the swipe


def test_a_pause_inside_a_swipe_is_rejected_clearly(wedge):
    # the reader's burst stops, a person presses '7' (200+ ms later), the burst goes on
    thread = type_later(wedge, (";6037990000", 5), 0.25, ("7", 5), 0.25, ("000014=2912101?\n", 5))
    with pytest.raises(SwipeError) as first:
        wedge.reader.read(10000)
    with pytest.raises(SwipeError) as second:
        wedge.reader.read(10000)
    thread.join()
    assert str(first.value) == (
        "swipe cut off: no end sentinel '?' before a pause in the keys (keys 11)"
    )
    assert str(second.value).startswith("fast burst without a start sentinel")
    assert wedge.typed() == "7"
    # and the next swipe reads
    thread = type_later(wedge, (T2 + "\n", 5))
    assert wedge.reader.read(10000).pan == BANK
    thread.join()


def test_a_key_inside_the_burst_fails_the_track_check(wedge):
    mixed = T2_CLUB[:8] + "5" + T2_CLUB[8:]
    thread = type_later(wedge, (mixed + "\n", 5))
    with pytest.raises(TrackError, match=r"check digit is wrong \(Luhn\) \(track 2, offset 17\)"):
        wedge.reader.read(10000)
    thread.join()


def test_a_garbage_swipe_is_a_clear_error(wedge):
    thread = type_later(wedge, (";6037990000000014=2913101?\n", 5))
    with pytest.raises(TrackError, match=r"expiry month must be 01 to 12 \(YYMM\)"):
        wedge.reader.read(10000)
    thread.join()


def test_nothing_typed_is_none(wedge):
    assert wedge.reader.read(200) is None


# -- the adapter without X ------------------------------------------------------------------


class FakeKey:
    def __init__(self, char=None, name=None):
        self.char = char
        self.name = name


def test_key_char():
    assert key_char(FakeKey("a")) == "a"
    assert key_char(FakeKey(name="enter")) == "\n"
    assert key_char(FakeKey(name="space")) == " "
    assert key_char(FakeKey(name="shift")) is None
    assert key_char(FakeKey("ab")) is None
    assert key_char(object()) is None


def test_reader_with_fed_keys_and_a_manual_clock():
    clock = ManualClock()
    texts = []
    reader = WedgeReader(clock=clock, detector=SwipeDetector(), on_text=texts.append)
    t = 0
    for c in "hi":
        t += 200
        reader.feed(c, t)
    for c in T1.lower().replace("%b", "%B") + "\n":  # Caps Lock on: track 1 letters in lower case
        t += 4
        reader.feed(c, t)
    clock.advance(t + 1000)
    card = reader.read(0)
    assert (card.pan, card.name) == (BANK, "AHMADI/ALI")
    assert texts == ["h", "i"]
    assert reader.read(0) is None


def test_listener_factory_is_used_and_stopped():
    made = []

    class Listener:
        def __init__(self, on_press):
            self.on_press = on_press
            self.stopped = False
            made.append(self)

        def start(self):
            pass

        def wait(self):
            pass

        def stop(self):
            self.stopped = True

    clock = ManualClock()
    with WedgeReader(clock=clock, listener_factory=Listener) as reader:
        for c in T2_CLUB + "\n":
            clock.advance(5)
            made[0].on_press(FakeKey(c if c != "\n" else None, "enter" if c == "\n" else None))
        clock.advance(1000)
        assert reader.read(0).pan == CLUB
    assert made[0].stopped
