"""Magnetic stripe track data (ISO/IEC 7813) as stripe readers send it: ASCII text.

Pure and portable: text in, a Card out, TrackError (with track and offset) for anything else.
Readers (keyboard wedge, agent/card_io/wedge.py; serial, agent/card_io/serial_reader.py) send
the tracks of one swipe one after another, each framed by its sentinels, usually followed by
Enter / CR LF: "%B...?;...?".

Track 1, ISO/IEC 7813 format B (6-bit alphanumeric character set of ISO/IEC 7811-2: ASCII
0x20..0x5F), at most 79 characters including sentinels and LRC:

    %  B  PAN (up to 19 digits)  ^  NAME (2-26)  ^  YYMM or ^  service code (3) or ^  DD  ?  [LRC]

Track 2, ISO/IEC 7813 (4-bit numeric character set of ISO/IEC 7811-2: ASCII 0x30..0x3F), at
most 40 characters including sentinels and LRC:

    ;  PAN (up to 19 digits)  =  YYMM or =  service code (3) or =  DD (digits)  ?  [LRC]

A third segment (";...?" after track 2, or "+...?") is track 3 (ISO 4909): accepted, checked
for its character set and length (107), not parsed. "%E?", ";E?", "+E?" are readers' marks for
a track they could not read. The LRC (ISO/IEC 7811-2: the exclusive-or of the character codes
from start to end sentinel, parity bit excluded) is checked when the reader passes it on; most
readers strip it. The card number must pass the Luhn check (ISO/IEC 7812-1, agent/card_io/luhn.py).
When both tracks 1 and 2 are read they must agree on card number and expiry. Discretionary
data (which holds card verification values) is checked but not kept (PCI DSS).

>>> t1 = "%B6037990000000014^AHMADI/ALI^2912101000000?"
>>> card = parse_swipe(t1 + ";6037990000000014=29121010000000?")
>>> card.pan, card.expiry, card.entry, card.name, card.service_code, card.tracks
('6037990000000014', '2912', '021', 'AHMADI/ALI', '101', (1, 2))
>>> parse_swipe(";6037990000000015=2912101?")
Traceback (most recent call last):
...
agent.card_io.errors.TrackError: card number check digit is wrong (Luhn) (track 2, offset 16)
"""

from agent.card_io.errors import EntryError, LuhnError, TrackError
from agent.card_io.luhn import validate_pan
from agent.ports import Card

ENTRY_STRIPE = "021"  # field 22, POS entry mode: magnetic stripe (docs/protocol.md)

SS1 = "%"  # ISO/IEC 7813 track 1 start sentinel
SS2 = ";"  # track 2 (and ISO 4909 track 3) start sentinel
SS3 = "+"  # track 3 start sentinel as some readers send it
ES = "?"  # end sentinel, all tracks
FS1 = "^"  # track 1 field separator
FS2 = "="  # track 2 field separator
FORMAT_B = "B"  # ISO/IEC 7813 track 1 format code ("A" is reserved for proprietary use)
READ_ERROR = "E"  # "%E?": the reader could not read this track (MagTek and others)
STARTS = "%;+"

MAX_LEN = {1: 79, 2: 40, 3: 107}  # ISO/IEC 7813 (tracks 1, 2), ISO 4909 (track 3)
# ISO/IEC 7811-2 character sets as (first ASCII code, number of codes): 6-bit for track 1,
# 4-bit for tracks 2 and 3. The LRC is computed on the codes (ASCII - first).
CHARSET = {1: (0x20, 64), 2: (0x30, 16), 3: (0x30, 16)}
PAN_MAX = 19
NAME_MIN = 2
NAME_MAX = 26
MAX_SWIPE = 79 + 40 + 107  # all three tracks


class StripeCard(Card):
    """A Card read from a stripe (entry "021"), with the cardholder name of track 1 (None when
    only track 2 was read), the 3-digit service code (None when absent) and the tracks read."""

    def __init__(self, pan, expiry, name=None, service_code=None, tracks=()):
        super().__init__(pan, expiry, ENTRY_STRIPE)
        self.name = name
        self.service_code = service_code
        self.tracks = tracks


def parse_swipe(text):
    """The StripeCard of one swipe's text (any of tracks 1, 2, 3; trailing CR/LF ignored).

    Raises TrackError naming what is wrong, the track and the offset in `text`.
    """
    if not isinstance(text, str):
        raise TrackError("track data must be text, not " + type(text).__name__)
    end = len(text)
    while end and text[end - 1] in "\r\n":
        end -= 1
    if not end:
        raise TrackError("empty swipe: no track data", None, 0)
    if end > MAX_SWIPE + 3:  # three tracks with an LRC each
        raise TrackError(f"swipe is {end} characters; at most {MAX_SWIPE + 3} expected", None, 0)
    if text[0] not in STARTS:
        raise TrackError(
            "no start sentinel: a swipe starts with '%' (track 1) or ';' (track 2); found "
            + _show(text[0]),
            None,
            0,
        )
    found = {}
    failed = []
    i = 0
    while i < end:
        c = text[i]
        if c == SS1 and not found and not failed:
            track = 1
        elif c == SS2 and 2 not in found and 2 not in failed and 3 not in found:
            track = 2
        elif c in (SS2, SS3) and 3 not in found and 3 not in failed:
            track = 3
        else:
            raise TrackError("unexpected " + _show(c) + " between tracks", None, i)
        fields, i = _segment(text, i, end, track)
        if fields is None:
            failed.append(track)
        else:
            found[track] = fields
    return _combine(found, failed)


def parse_track1(text):
    """The StripeCard of exactly one track 1 ("%B...?" with an optional LRC)."""
    return _single(text, 1, SS1)


def parse_track2(text):
    """The StripeCard of exactly one track 2 (";...=...?" with an optional LRC)."""
    return _single(text, 2, SS2)


def decode_line(data):
    """Bytes of one line from a serial reader -> text for parse_swipe.

    Printable ASCII only (CR/LF at the end and an STX ... ETX frame, 0x02 ... 0x03, are
    removed); any other byte is line noise (or a wrong baud rate): TrackError with its offset.
    """
    data = bytes(data)
    start, end = 0, len(data)
    while end and data[end - 1] in (10, 13):
        end -= 1
    if end > start and data[start] == 2:
        start += 1
        if end > start and data[end - 1] == 3:
            end -= 1
    for i in range(start, end):
        b = data[i]
        if b < 0x20 or b > 0x7E:
            raise TrackError(
                f"byte 0x{b:02X} is not printable ASCII: line noise or a wrong baud rate?",
                None,
                i,
            )
    return data[start:end].decode()


def lrc(segment, track):
    """The LRC character of `segment` (start sentinel through end sentinel) on `track`."""
    first, size = CHARSET[track]
    value = 0
    for c in segment:
        value ^= ord(c) - first
    return chr(first + (value & (size - 1)))


def build_track1(pan, name, expiry, service_code="101", discretionary="", with_lrc=False):
    """Track 1 text for tests and QA ("%B...?"); None for expiry or service code leaves it
    absent (a field separator in its place, ISO/IEC 7813)."""
    body = SS1 + FORMAT_B + pan + FS1 + name + FS1
    body += (expiry or FS1) + (service_code or FS1) + discretionary + ES
    return body + lrc(body, 1) if with_lrc else body


def build_track2(pan, expiry, service_code="101", discretionary="", with_lrc=False):
    """Track 2 text for tests and QA (";...=...?")."""
    body = SS2 + pan + FS2 + (expiry or FS2) + (service_code or FS2) + discretionary + ES
    return body + lrc(body, 2) if with_lrc else body


# -- inside ------------------------------------------------------------------------------


def _show(c):
    o = ord(c)
    if 0x20 < o < 0x7F:
        return f"'{c}'"
    return f"character 0x{o:02X}"


def _single(text, track, sentinel):
    if not isinstance(text, str):
        raise TrackError("track data must be text, not " + type(text).__name__, track)
    if not text or text[0] != sentinel:
        found = _show(text[0]) if text else "nothing"
        raise TrackError(f"track must start with '{sentinel}'; found {found}", track, 0)
    fields, i = _segment(text, 0, len(text), track)
    if i != len(text):
        raise TrackError("unexpected data after the track", track, i)
    if fields is None:
        raise TrackError("the reader could not read this track", track, 0)
    return _combine({track: fields}, ())


def _segment(text, start, end, track):
    """Parse the track starting at text[start] (its start sentinel). Returns (fields or None
    for a reader's error mark, index after the track and its LRC)."""
    first, size = CHARSET[track]
    last = first + size - 1
    # the reader's "could not read" mark: SS E ES
    if start + 3 <= end and text[start + 1 : start + 3] == READ_ERROR + ES:
        return None, start + 3
    # find the end sentinel, checking the character set on the way (ISO/IEC 7811-2)
    i = start + 1
    while i < end:
        c = text[i]
        o = ord(c)
        if c == ES:
            break
        if o < first or o > last:
            raise TrackError(
                _show(c) + f" is not in the track {track} character set (ISO/IEC 7811-2)",
                track,
                i,
            )
        if c == SS1 or (track != 1 and c == SS2):
            raise TrackError(
                "start sentinel inside the track: the end sentinel '?' is missing", track, i
            )
        i += 1
    if i >= end:
        raise TrackError("no end sentinel '?': the track is cut short", track, end)
    es = i
    after = es + 1
    # an LRC after the end sentinel: one character followed by the end or another track
    lrc_char = None
    if after < end:
        c = text[after]
        if after + 1 == end or text[after + 1] in STARTS:
            lrc_char = c
            after += 1
        elif c not in STARTS:
            raise TrackError("unexpected data after the end sentinel", track, after + 1)
    length = after - start
    if length > MAX_LEN[track]:
        raise TrackError(
            f"track is {length} characters; at most {MAX_LEN[track]} (ISO/IEC 7813)", track, start
        )
    if lrc_char is not None:
        o = ord(lrc_char)
        if o < first or o > last:
            raise TrackError(
                "LRC " + _show(lrc_char) + f" is not in the track {track} character set",
                track,
                es + 1,
            )
        want = lrc(text[start : es + 1], track)
        if lrc_char != want:
            raise TrackError(
                f"LRC check failed: '{want}' expected, '{lrc_char}' read (ISO/IEC 7811-2)",
                track,
                es + 1,
            )
    if track == 1:
        fields = _fields1(text, start, es)
    elif track == 2:
        fields = _fields2(text, start, es)
    else:
        fields = {}
    return fields, after


def _pan(text, i, es, fs, track):
    """(PAN, index of the field separator after it)."""
    j = i
    while j < es and "0" <= text[j] <= "9":
        j += 1
    if j - i > PAN_MAX:
        raise TrackError(f"card number longer than {PAN_MAX} digits", track, i + PAN_MAX)
    if j == es:
        raise TrackError(f"field separator '{fs}' after the card number missing", track, j)
    if text[j] != fs:
        raise TrackError(f"card number: {_show(text[j])} is not a digit", track, j)
    pan = text[i:j]
    try:
        validate_pan(pan)
    except LuhnError:
        raise TrackError("card number check digit is wrong (Luhn)", track, j - 1)
    except EntryError:
        raise TrackError(f"card number has {j - i} digits; 12 to {PAN_MAX} expected", track, i)
    return pan, j


def _digits(text, i, n, es):
    return i + n <= es and all("0" <= text[k] <= "9" for k in range(i, i + n))


def _expiry_and_service(text, i, es, fs, track):
    """(expiry or None, service code or None, index of the discretionary data)."""
    if i < es and text[i] == fs:
        expiry = None
        i += 1
    elif _digits(text, i, 4, es):
        expiry = text[i : i + 4]
        if not 1 <= int(expiry[2:]) <= 12:
            raise TrackError("expiry month must be 01 to 12 (YYMM)", track, i + 2)
        i += 4
    else:
        raise TrackError(f"expiry: 4 digits (YYMM) or '{fs}' expected", track, i)
    if i < es and text[i] == fs:
        service = None
        i += 1
    elif _digits(text, i, 3, es):
        service = text[i : i + 3]
        i += 3
    else:
        raise TrackError(f"service code: 3 digits or '{fs}' expected", track, i)
    return expiry, service, i


def _fields1(text, start, es):
    fc = text[start + 1] if start + 1 < es else ES
    if fc != FORMAT_B:
        raise TrackError(
            f"format code {_show(fc)}: only format 'B' (ISO/IEC 7813) is read", 1, start + 1
        )
    pan, fs = _pan(text, start + 2, es, FS1, 1)
    name_end = fs + 1
    while name_end < es and text[name_end] != FS1:
        name_end += 1
    if name_end == es:
        raise TrackError("field separator '^' after the name missing", 1, name_end)
    n = name_end - fs - 1
    if n < NAME_MIN or n > NAME_MAX:
        raise TrackError(f"name is {n} characters; {NAME_MIN} to {NAME_MAX} expected", 1, fs + 1)
    name = text[fs + 1 : name_end].rstrip()
    expiry, service, _ = _expiry_and_service(text, name_end + 1, es, FS1, 1)
    # the discretionary data: any track 1 character (the sentinels were checked already)
    return {"pan": pan, "expiry": expiry, "name": name, "service": service, "at": start + 2}


def _fields2(text, start, es):
    pan, fs = _pan(text, start + 1, es, FS2, 2)
    expiry, service, i = _expiry_and_service(text, fs + 1, es, FS2, 2)
    while i < es:
        if not "0" <= text[i] <= "9":
            raise TrackError("discretionary data: " + _show(text[i]) + " is not a digit", 2, i)
        i += 1
    return {"pan": pan, "expiry": expiry, "name": None, "service": service, "at": start + 1}


def _combine(found, failed):
    t1 = found.get(1)
    t2 = found.get(2)
    if t1 is None and t2 is None:
        if failed:
            which = ", ".join(str(t) for t in failed)
            raise TrackError(f"no readable track: the reader reported errors on track {which}")
        raise TrackError("no track 1 or track 2 in the swipe (track 3 alone is not read)")
    main = t2 or t1
    if t1 is not None and t2 is not None:
        if t1["pan"] != t2["pan"]:
            raise TrackError("track 1 and track 2 carry different card numbers", 2, t2["at"])
        if t1["expiry"] != t2["expiry"]:
            raise TrackError("track 1 and track 2 carry different expiry dates", 2, t2["at"])
    tracks = []
    for t in (1, 2, 3):
        if t in found:
            tracks.append(t)
    return StripeCard(
        main["pan"],
        main["expiry"],
        t1["name"] if t1 else None,
        main["service"],
        tuple(tracks),
    )
