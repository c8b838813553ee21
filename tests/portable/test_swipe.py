"""Swipe or typing? (agent/card_io/swipe.py): keys with their times in, events out.

Times are made up here, as a reader or a person produces them: a reader sends a key every
2-20 ms, a person every 80-400 ms, sometimes two keys within 30 ms (rollover).
"""

from agent.card_io.errors import CardError, SwipeError, TrackError
from agent.card_io.swipe import REJECT, SWIPE, TEXT, SwipeDetector
from agent.card_io.track import parse_swipe
from tests.portable.support import raises

T1 = "%B6037990000000014^AHMADI/ALI^2912101000000?"
T2 = ";6037990000000014=29121010000000000?"
T2_CLUB = ";9879110000000014=2912101?"


def run(*parts, detector=None):
    """Feed (text, gap_ms) parts (the gap is before every key of the part); then wait long
    enough for the last run to close. Returns [(kind, text or error message)]."""
    d = detector or SwipeDetector()
    t = 1000
    events = []
    for text, gap in parts:
        for c in text:
            t += gap
            events.extend(d.feed(c, t))
    events.extend(d.poll(t + 10000))
    out = []
    for e in events:
        out.append((e.kind, str(e.error) if e.kind == REJECT else e.text))
    return out


def test_fast_swipe_with_enter():
    assert run((T1 + T2 + "\n", 8)) == [(SWIPE, T1 + T2)]
    assert parse_swipe(T1 + T2).pan == "6037990000000014"


def test_fast_swipe_without_enter_ends_at_the_gap():
    assert run((T2_CLUB, 3)) == [(SWIPE, T2_CLUB)]


def test_a_reader_with_enter_after_each_track_gives_one_swipe():
    events = run((T1 + "\r\n" + T2 + "\r\n", 10))
    assert events == [(SWIPE, T1 + T2)]
    assert parse_swipe(events[0][1]).tracks == (1, 2)


def test_lrc_after_the_end_sentinel_is_kept():
    assert run((T2_CLUB + ";\n", 5)) == [(SWIPE, T2_CLUB + ";")]


def test_slow_typing_is_text_even_with_sentinels():
    events = run((T2_CLUB + "\n", 150))
    assert all(kind == TEXT for kind, _ in events)
    assert "".join(text for _, text in events) == T2_CLUB + "\n"


def test_irregular_typing_with_rollover_is_text():
    events = run(("12", 200), ("34", 25), ("5", 300), ("50%", 30), ("\n", 200))
    assert events == [(TEXT, "1"), (TEXT, "234"), (TEXT, "550%"), (TEXT, "\n")]


def test_gap_threshold_boundary():
    assert run((T2_CLUB, 50)) == [(SWIPE, T2_CLUB)]  # 50 ms: still one burst
    events = run((T2_CLUB, 51))  # 51 ms: every key on its own
    assert len(events) == len(T2_CLUB) and events[0] == (TEXT, ";")


def test_keys_typed_right_before_a_swipe_are_separated():
    d = SwipeDetector()
    events = []
    for i, c in enumerate("ab"):
        events += d.feed(c, 100 + 300 * i)  # slow: 'a' on its own
    t = 400
    for c in T2_CLUB + "\n":  # 'b' came 20 ms before the reader's first key
        t += 20 if c == ";" else 6
        events += d.feed(c, t)
    events += d.poll(t + 100)
    assert [(e.kind, e.text) for e in events] == [(TEXT, "a"), (TEXT, "b"), (SWIPE, T2_CLUB)]
    assert events[-1].note == "1 key(s) typed right before the swipe were separated"


def test_many_keys_right_before_a_swipe_are_rejected():
    events = run(("abcd", 30), (T2_CLUB + "\n", 6))
    assert events == [
        (
            REJECT,
            "4 keys came right before the start sentinel: swipe again without typing (keys 31)",
        )
    ]


def test_a_pause_inside_a_swipe_rejects_both_halves():
    # a person pressed '7' while the reader paused: the burst breaks into three runs
    d = SwipeDetector()
    t, got = 0, []
    for c in ";6037990000":
        t += 6
        got += d.feed(c, t)
    t += 200
    got += d.feed("7", t)
    t += 200
    for c in "000014=2912101?\n":
        got += d.feed(c, t)
        t += 6
    got += d.poll(t + 100)
    kinds = [(e.kind, str(e.error) if e.error else e.text) for e in got]
    assert kinds == [
        (REJECT, "swipe cut off: no end sentinel '?' before a pause in the keys (keys 11)"),
        (TEXT, "7"),
        (
            REJECT,
            "fast burst without a start sentinel: not typed by a person and not a whole"
            " swipe (the rest of a cut swipe, or another device such as a barcode scanner)"
            " (keys 16)",
        ),
    ]


def test_a_key_typed_inside_the_burst_fails_the_track_check():
    mixed = T2_CLUB[:8] + "5" + T2_CLUB[8:]
    events = run((mixed + "\n", 7))
    assert events == [(SWIPE, mixed)]
    e = raises(TrackError, parse_swipe, mixed)
    assert str(e) == "card number check digit is wrong (Luhn) (track 2, offset 17)"
    mixed = T2_CLUB[:8] + "x" + T2_CLUB[8:]
    e = raises(TrackError, parse_swipe, run((mixed + "\n", 7))[0][1])
    assert str(e) == "'x' is not in the track 2 character set (ISO/IEC 7811-2) (track 2, offset 8)"


def test_keys_after_the_end_sentinel_are_rejected():
    assert run((T2_CLUB + "ab", 5)) == [
        (REJECT, "keys after the end sentinel '?': typing mixed into the swipe (keys 28)")
    ]


def test_enter_before_the_end_sentinel():
    events = run((";6037990000000014=29\n", 5), ("12101?", 5))
    assert events == [
        (REJECT, "swipe cut off: Enter came before the end sentinel '?' (keys 21)"),
        (TEXT, "12101?"),
    ]


def test_enter_inside_a_track_before_another_track():
    events = run((";6037990000000\n" + T2_CLUB + "\n", 5))
    assert events == [(REJECT, "Enter inside a track: typing mixed into the swipe (keys 42)")]


def test_typing_right_after_a_swipe_with_enter_is_text():
    assert run((T2_CLUB + "\n", 5), ("ok", 20)) == [(SWIPE, T2_CLUB), (TEXT, "ok")]


def test_over_long_burst_is_rejected_once_then_the_detector_recovers():
    events = run(("7" * 600, 2), (T2_CLUB + "\n", 400), (T2_CLUB + "\n", 5))
    assert events[0] == (REJECT, "burst longer than 256 keys: not a card swipe")
    assert events[-1] == (SWIPE, T2_CLUB)
    assert [k for k, _ in events[1:-1]] == [TEXT] * (len(T2_CLUB) + 1)


def test_deadline_poll_flush_pending():
    d = SwipeDetector(max_gap_ms=40)
    assert d.deadline() is None and d.poll(10**6) == [] and d.flush() == []
    d.feed(";", 100)
    assert d.deadline() == 141 and d.pending() == 1
    assert d.poll(140) == []
    assert [e.text for e in d.poll(141)] == [";"]
    for i, c in enumerate(T2_CLUB):
        d.feed(c, 1000 + i)
    assert [e.kind for e in d.flush()] == [SWIPE] and d.pending() == 0


def test_thresholds_are_settable():
    d = SwipeDetector(max_gap_ms=120, min_keys=4)
    assert run((T2_CLUB, 100), detector=d) == [(SWIPE, T2_CLUB)]


def test_feed_one_character():
    raises(ValueError, SwipeDetector().feed, "ab", 0)
    raises(ValueError, SwipeDetector().feed, "", 0)


def test_events_never_show_the_card_number():
    d = SwipeDetector()
    for i, c in enumerate(T2_CLUB + "\n"):
        d.feed(c, i)
    (event,) = d.poll(10000)
    assert "9879110000000014" not in repr(event)
    assert repr(event) == "Event(swipe, 26 characters)"
    error = run(("abcd", 30), (T2_CLUB + "\n", 6))[0][1]
    assert "9879110000000014" not in error
    assert isinstance(SwipeError("x"), CardError)


def test_a_persian_keyboard_layout_is_named():
    # the reader's keys through the Persian layout: '%' -> U+066A, ';' -> U+06A9, digits Persian
    burst = (
        "\u06a9\u06f6\u06f0\u06f3\u06f7\u06f9\u06f9\u06f0\u06f0\u06f0\u06f0=\u06f2\u06f9\u061f\n"
    )
    assert run((burst, 6)) == [
        (
            REJECT,
            "fast burst of keys that are not ASCII: is a Persian keyboard layout on? A card"
            " reader types through the English (US) layout (keys 16)",
        )
    ]
