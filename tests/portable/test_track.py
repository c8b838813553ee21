"""ISO/IEC 7813 track parsing (agent/card_io/track.py): known-good and known-bad tracks with the
exact answers, and a seeded mini-fuzz that runs the same cases on CPython and MicroPython.

The card numbers are the seeded ones (simulator/club_server/seed.py, docs/testing.md):
6037990000000014 (a Melli bank card linked to club card 9879110000000014).
"""

from agent.card_io.errors import CardError, TrackError
from agent.card_io.luhn import luhn_valid
from agent.card_io.track import (
    StripeCard,
    build_track1,
    build_track2,
    decode_line,
    lrc,
    parse_swipe,
    parse_track1,
    parse_track2,
)
from tests.portable.support import raises

BANK = "6037990000000014"
CLUB = "9879110000000014"
T1_BANK = "%B6037990000000014^AHMADI/ALI^2912101000000?"
T2_BANK = ";6037990000000014=29121010000000000?"
T1_CLUB = "%B9879110000000014^AHMADI/ALI^2912101000000?"
T2_CLUB = ";9879110000000014=2912101?"
PAN19 = "6037990000000000016"  # 19 digits, Luhn-valid

# text -> (pan, expiry, name, service code, tracks)
GOOD = (
    (T2_BANK, (BANK, "2912", None, "101", (2,))),
    (T2_CLUB, (CLUB, "2912", None, "101", (2,))),
    (T1_CLUB, (CLUB, "2912", "AHMADI/ALI", "101", (1,))),
    (T1_BANK + T2_BANK, (BANK, "2912", "AHMADI/ALI", "101", (1, 2))),
    (T1_BANK + T2_BANK + "\r\n", (BANK, "2912", "AHMADI/ALI", "101", (1, 2))),
    (T2_CLUB + "\n", (CLUB, "2912", None, "101", (2,))),
    # the LRC (ISO/IEC 7811-2) when the reader passes it on; the club card's track 2 LRC is
    # ';', the same character as the start sentinel of track 2
    (T2_BANK + "6", (BANK, "2912", None, "101", (2,))),
    (T2_CLUB + ";", (CLUB, "2912", None, "101", (2,))),
    (T1_BANK + "$" + T2_BANK + "6", (BANK, "2912", "AHMADI/ALI", "101", (1, 2))),
    (T1_CLUB + ")" + T2_CLUB + ";", (CLUB, "2912", "AHMADI/ALI", "101", (1, 2))),
    # expiry and service code absent: a field separator in their place (ISO/IEC 7813)
    (";9879110000000014===?", (CLUB, None, None, None, (2,))),
    (";9879110000000014==101123?", (CLUB, None, None, "101", (2,))),
    (";9879110000000014=2912=?", (CLUB, "2912", None, None, (2,))),
    ("%B9879110000000014^VAFA/TEST^^^?", (CLUB, None, "VAFA/TEST", None, (1,))),
    (
        "%B9879110000000014^DOE/JOHN L    ^^^356858 00998000000?",
        (CLUB, None, "DOE/JOHN L", None, (1,)),
    ),
    # the reader's mark for a track it could not read; track 3 (ISO 4909) accepted, not parsed
    ("%E?" + T2_BANK, (BANK, "2912", None, "101", (2,))),
    (T1_BANK + ";E?", (BANK, "2912", "AHMADI/ALI", "101", (1,))),
    (T2_BANK + ";0123456789=0123?", (BANK, "2912", None, "101", (2, 3))),
    (T1_BANK + T2_BANK + "+0123456789?", (BANK, "2912", "AHMADI/ALI", "101", (1, 2, 3))),
    # the longest: 19 digits; track 2 of exactly 40 and track 1 of exactly 79 characters
    (";" + PAN19 + "=2912101?", (PAN19, "2912", None, "101", (2,))),
    (";6037990000000014=2912101" + "0" * 14 + "?", (BANK, "2912", None, "101", (2,))),
    (T1_BANK[:-1] + "0" * 35 + "?", (BANK, "2912", "AHMADI/ALI", "101", (1,))),
    ("%B6037990000000014^" + "A" * 26 + "^2912101?", (BANK, "2912", "A" * 26, "101", (1,))),
)

# text -> exact message (what is wrong, track, offset)
BAD = (
    ("", "empty swipe: no track data (offset 0)"),
    ("\r\n", "empty swipe: no track data (offset 0)"),
    (
        "6037990000000014=2912101?",
        "no start sentinel: a swipe starts with '%' (track 1) or ';' (track 2); found '6'"
        " (offset 0)",
    ),
    (
        ";6037990000000014=2912101",
        "no end sentinel '?': the track is cut short (track 2, offset 25)",
    ),
    (
        ";6037990000000015=2912101?",
        "card number check digit is wrong (Luhn) (track 2, offset 16)",
    ),
    (
        ";60379900000000A4=2912101?",
        "'A' is not in the track 2 character set (ISO/IEC 7811-2) (track 2, offset 15)",
    ),
    (";6037:90000000014=2912101?", "card number: ':' is not a digit (track 2, offset 5)"),
    (";6037990000000014=2913101?", "expiry month must be 01 to 12 (YYMM) (track 2, offset 20)"),
    (";6037990000000014=2900101?", "expiry month must be 01 to 12 (YYMM) (track 2, offset 20)"),
    (";6037990000000014=29121?", "service code: 3 digits or '=' expected (track 2, offset 22)"),
    (";6037990000000014=29?", "expiry: 4 digits (YYMM) or '=' expected (track 2, offset 18)"),
    (
        ";6037990000000014?",
        "field separator '=' after the card number missing (track 2, offset 17)",
    ),
    (";60379900000000140006=2912101?", "card number longer than 19 digits (track 2, offset 20)"),
    (";60379900018=2912101?", "card number has 11 digits; 12 to 19 expected (track 2, offset 1)"),
    (";=2912101?", "card number has 0 digits; 12 to 19 expected (track 2, offset 1)"),
    (
        ";6037990000000014=2912101" + "0" * 15 + "?",
        "track is 41 characters; at most 40 (ISO/IEC 7813) (track 2, offset 0)",
    ),
    (
        ";6037990000000014=2912101:?",
        "discretionary data: ':' is not a digit (track 2, offset 25)",
    ),
    (
        ";6037990000000014=2912101;6037990000000014=2912101?",
        "start sentinel inside the track: the end sentinel '?' is missing (track 2, offset 25)",
    ),
    (";6037990000000014=2912101?xy", "unexpected data after the end sentinel (track 2, offset 27)"),
    (
        T2_BANK + "7",
        "LRC check failed: '6' expected, '7' read (ISO/IEC 7811-2) (track 2, offset 36)",
    ),
    (T2_BANK + "A", "LRC 'A' is not in the track 2 character set (track 2, offset 36)"),
    (
        "%A6037990000000014^AHMADI/ALI^2912101?",
        "format code 'A': only format 'B' (ISO/IEC 7813) is read (track 1, offset 1)",
    ),
    ("%?", "format code '?': only format 'B' (ISO/IEC 7813) is read (track 1, offset 1)"),
    (
        "%B6037990000000014^" + "A" * 27 + "^2912101?",
        "name is 27 characters; 2 to 26 expected (track 1, offset 19)",
    ),
    (
        "%B6037990000000014^A^2912101?",
        "name is 1 characters; 2 to 26 expected (track 1, offset 19)",
    ),
    (
        "%B6037990000000014^AHMADI/ALI2912101?",
        "field separator '^' after the name missing (track 1, offset 36)",
    ),
    (
        "%B6037990000000014^Ahmadi/ALI^2912101?",
        "'h' is not in the track 1 character set (ISO/IEC 7811-2) (track 1, offset 20)",
    ),
    (
        "%B6037990000000014^AHMADI/ALI^2912101\u00e9?",
        "character 0xE9 is not in the track 1 character set (ISO/IEC 7811-2) (track 1, offset 37)",
    ),
    (
        "%B6037990000000014^AHMADI^%ALI^2912101?",
        "start sentinel inside the track: the end sentinel '?' is missing (track 1, offset 26)",
    ),
    (
        T1_BANK[:-1] + "0" * 36 + "?",
        "track is 80 characters; at most 79 (ISO/IEC 7813) (track 1, offset 0)",
    ),
    (
        T1_CLUB + T2_BANK,
        "track 1 and track 2 carry different card numbers (track 2, offset 45)",
    ),
    (
        T1_BANK + ";6037990000000014=3012101?",
        "track 1 and track 2 carry different expiry dates (track 2, offset 45)",
    ),
    (T1_BANK + "$" + T1_BANK, "unexpected '%' between tracks (offset 45)"),
    (T2_BANK + T2_BANK + T2_BANK, "unexpected ';' between tracks (offset 72)"),
    ("%E?;E?", "no readable track: the reader reported errors on track 1, 2"),
    ("+0123456789?", "no track 1 or track 2 in the swipe (track 3 alone is not read)"),
    ("?" * 400, "swipe is 400 characters; at most 229 expected (offset 0)"),
)


def test_good_tracks():
    for text, (pan, expiry, name, service, tracks) in GOOD:
        card = parse_swipe(text)
        got = (card.pan, card.expiry, card.name, card.service_code, card.tracks)
        assert got == (pan, expiry, name, service, tracks), (text, got)
        assert card.entry == "021" and isinstance(card, StripeCard)


def test_bad_tracks_name_what_and_where():
    for text, message in BAD:
        e = raises(TrackError, parse_swipe, text)
        assert str(e) == message, (text, str(e))
        assert isinstance(e, CardError) and isinstance(e, ValueError)


def test_error_carries_track_and_offset():
    e = raises(TrackError, parse_swipe, ";6037990000000015=2912101?")
    assert e.track == 2 and e.offset == 16


def test_messages_never_carry_the_card_number():
    for _text, message in BAD:
        assert BANK not in message and CLUB not in message
    assert BANK not in repr(parse_swipe(T2_BANK))


def test_single_track_parsers():
    assert parse_track1(T1_CLUB).name == "AHMADI/ALI"
    assert parse_track2(T2_CLUB + ";").pan == CLUB
    e = raises(TrackError, parse_track2, T1_CLUB)
    assert str(e) == "track must start with ';'; found '%' (track 2, offset 0)"
    e = raises(TrackError, parse_track1, T1_CLUB + T2_CLUB)
    assert str(e) == "unexpected data after the track (track 1, offset 44)"
    e = raises(TrackError, parse_track1, "%E?")
    assert str(e) == "the reader could not read this track (track 1, offset 0)"
    e = raises(TrackError, parse_track1, "")
    assert str(e) == "track must start with '%'; found nothing (track 1, offset 0)"
    e = raises(TrackError, parse_swipe, b";6037990000000014=2912101?")
    assert str(e) == "track data must be text, not bytes"


def test_lrc_known_answers():
    # computed by hand per ISO/IEC 7811-2: even parity of each data-bit column, SS..ES
    assert lrc(T2_BANK, 2) == "6"
    assert lrc(T2_CLUB, 2) == ";"
    assert lrc(T1_CLUB, 1) == ")"
    assert lrc(T1_BANK, 1) == "$"


def test_builders_round_trip():
    t1 = build_track1(CLUB, "AHMADI/ALI", "2912", "101", "000000", with_lrc=True)
    t2 = build_track2(CLUB, "2912", "101", with_lrc=True)
    assert t1 == T1_CLUB + ")" and t2 == T2_CLUB + ";"
    card = parse_swipe(t1 + t2)
    assert (card.pan, card.expiry, card.tracks) == (CLUB, "2912", (1, 2))
    assert build_track2(CLUB, None, None) == ";9879110000000014===?"


def test_decode_line():
    assert decode_line(b";9879110000000014=2912101?\r\n") == T2_CLUB
    assert decode_line(b"\x02;9879110000000014=2912101?\x03\r\n") == T2_CLUB
    e = raises(TrackError, decode_line, b";98791100\xff00000014=2912101?\r\n")
    assert str(e) == "byte 0xFF is not printable ASCII: line noise or a wrong baud rate? (offset 9)"
    e = raises(TrackError, decode_line, b"\x00\x00")
    assert e.offset == 0


# -- seeded mini-fuzz: random and mutated tracks; only TrackError may escape ------------------

ALPHABET = (
    "%;+?^=B0123456789/ AZE:<>\r\n" + "".join(chr(c) for c in range(0x20, 0x60)) + "\xe9\u06f1"
)
SEEDS = (T1_BANK + T2_BANK, T2_CLUB + ";", T1_CLUB + ")", "%E?" + T2_BANK, T2_BANK + ";0123=?")


class XorShift:
    """xorshift32: the same sequence on CPython and MicroPython (random differs between them)."""

    def __init__(self, seed):
        self.s = seed or 1

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def below(self, n):
        return self.next() % n

    def char(self):
        return ALPHABET[self.below(len(ALPHABET))]


def mutate(rng, text):
    for _ in range(1 + rng.below(3)):
        op = rng.below(6)
        i = rng.below(len(text) + 1)
        if op == 0 and text:  # change a character
            i = min(i, len(text) - 1)
            text = text[:i] + rng.char() + text[i + 1 :]
        elif op == 1:  # insert one
            text = text[:i] + rng.char() + text[i:]
        elif op == 2 and text:  # delete one
            text = text[:i] + text[i + 1 :]
        elif op == 3:  # cut short
            text = text[:i]
        elif op == 4 and text:  # swap two neighbours
            i = min(i, len(text) - 2)
            if i >= 0:
                text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        else:  # duplicate a slice
            j = i + rng.below(12)
            text = text[:j] + text[i:j] + text[j:]
    return text


def fuzz_cases(n, seed=7813):
    rng = XorShift(seed)
    for k in range(n):
        if k % 3 == 0:
            yield "".join(rng.char() for _ in range(rng.below(90)))
        else:
            yield mutate(rng, SEEDS[rng.below(len(SEEDS))])


def check_one(text):
    for parse in (parse_swipe, parse_track1, parse_track2):
        try:
            card = parse(text)
        except TrackError:
            continue
        assert luhn_valid(card.pan) and 12 <= len(card.pan) <= 19, text
        assert card.entry == "021"
        assert card.expiry is None or len(card.expiry) == 4


def test_mini_fuzz_only_track_error_escapes():
    parsed = 0
    for text in fuzz_cases(3000):
        check_one(text)
        parsed += 1
    assert parsed == 3000
