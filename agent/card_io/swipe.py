"""Telling a keyboard-wedge card swipe from a person typing: pure and portable.

A keyboard-wedge stripe reader "types" the track data: tens of keys in a fast, even burst,
framed by sentinels ("%B...?;...?", ISO/IEC 7813, agent/card_io/track.py), usually ending with
Enter. A person types slowly and irregularly, without sentinels. SwipeDetector is fed the keys
with their times, `feed(char, t_ms)`, and groups them into runs: a run is keys each within
`max_gap_ms` of the one before. A run ends at a longer gap (seen by the next key, or by
`poll(t_ms)`), or at Enter unless the next key, within the gap, starts another track. Each run
ends as events:

- Event("text", text): typed by a person: a run shorter than `min_keys`, whatever it holds
  (a person may type "50%" quickly), or any run without a start sentinel that is short;
- Event("swipe", text): a run from a start sentinel ('%' or ';') to an end sentinel '?' (and at
  most one LRC character), with Enters between tracks dropped: the text for
  track.parse_swipe, which checks the rest;
- Event("reject", error=SwipeError): a fast burst that is neither: a swipe cut off by a gap
  (no end sentinel), keys after the end sentinel, Enter inside a track, a long burst without
  a start sentinel (the rest of a cut swipe, or another wedge device such as a barcode scanner),
  or a burst longer than `max_keys`.

A swipe mixed with typing is separated or rejected, never silently merged:
- up to `max_prefix` keys typed right before the swipe (within the gap of its start sentinel)
  come out as a "text" event of their own, then the swipe (its `note` says so); more is rejected;
- a key typed during the swipe either breaks the burst (a gap: "reject" for the part before,
  "text" for the key, "reject" for the rest) or sits inside the track text, where the track
  parser rejects it (a non-digit, a wrong check digit, a wrong length or LRC: TrackError).

Defaults: a gap of 50 ms (readers send a key every 2-20 ms; people rarely type two keys within
50 ms and never ten in a row), 10 keys at least (the shortest track 2 is longer), 256 keys at
most (three tracks, 226 characters, plus Enters). Times are milliseconds from a clock that does
not wrap (agent.ports Clock.ticks_ms).
"""

from agent.card_io.errors import SwipeError

TEXT = "text"
SWIPE = "swipe"
REJECT = "reject"

STARTS = "%;"  # a swipe starts with track 1 or track 2 (ISO/IEC 7813)
ES = "?"
ENTER = "\r\n"
TRACK_STARTS = "%;+"  # what may follow an Enter inside a swipe (the next track)

MAX_GAP_MS = 50
MIN_KEYS = 10
MAX_KEYS = 256
MAX_PREFIX = 3


class Event:
    """One outcome of the detector: kind TEXT, SWIPE or REJECT (see the module docstring)."""

    def __init__(self, kind, text=None, error=None, start_ms=None, end_ms=None, note=None):
        self.kind = kind
        self.text = text
        self.error = error
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.note = note

    def __repr__(self):
        if self.kind == TEXT:
            return f"Event(text, {self.text!r})"
        if self.kind == SWIPE:  # the track text holds a card number: never shown
            return f"Event(swipe, {len(self.text)} characters)"
        return f"Event(reject, {self.error})"


class SwipeDetector:
    """Feed keys as (char, t_ms); get lists of Events. Not thread-safe: feed from one thread."""

    def __init__(
        self, max_gap_ms=MAX_GAP_MS, min_keys=MIN_KEYS, max_keys=MAX_KEYS, max_prefix=MAX_PREFIX
    ):
        self.max_gap_ms = max_gap_ms
        self.min_keys = min_keys
        self.max_keys = max_keys
        self.max_prefix = max_prefix
        self._keys = []
        self._open = False  # a run is open (it may hold no keys after an overflow)
        self._overflow = False
        self._first = None
        self._last = None

    def feed(self, char, t_ms):
        """One key: a 1-character string ("\\n" or "\\r" for Enter) at time t_ms."""
        if len(char) != 1:
            raise ValueError("feed one character at a time")
        out = []
        if self._open:
            if t_ms - self._last > self.max_gap_ms:
                self._close(out)
            elif self._keys and self._keys[-1] in ENTER and char not in TRACK_STARTS + ENTER:
                self._close(out)  # Enter ended the run: this key starts the next one
        if not self._open:
            self._open = True
            self._first = t_ms
        self._last = t_ms
        if self._overflow:
            return out  # the rest of an over-long burst: dropped until a gap
        self._keys.append(char)
        if len(self._keys) > self.max_keys:
            message = f"burst longer than {self.max_keys} keys: not a card swipe"
            out.append(self._reject(message, t_ms))
            self._keys = []
            self._overflow = True
        return out

    def poll(self, t_ms):
        """Close the open run when its gap has passed by t_ms; the events that produces."""
        out = []
        if self._open and t_ms - self._last > self.max_gap_ms:
            self._close(out)
        return out

    def deadline(self):
        """The time after which poll() closes the open run, or None when nothing is open."""
        if not self._open:
            return None
        return self._last + self.max_gap_ms + 1

    def flush(self):
        """Close the open run now, whatever the time (end of input)."""
        out = []
        if self._open:
            self._close(out)
        return out

    def pending(self):
        """Number of keys held in the open run."""
        return len(self._keys)

    # -- inside ----------------------------------------------------------------------------

    def _reject(self, message, t_ms, keys=None):
        return Event(REJECT, None, SwipeError(message, keys), self._first, t_ms)

    def _close(self, out):
        keys = self._keys
        overflow = self._overflow
        self._keys = []
        self._open = False
        self._overflow = False
        if not overflow:
            self._classify("".join(keys), out)

    def _classify(self, text, out):
        first, last = self._first, self._last
        n = len(text)
        start = -1
        for i in range(n):
            if text[i] in STARTS:
                start = i
                break
        if n < self.min_keys:
            out.append(Event(TEXT, text, None, first, last))
            return
        if start < 0 and _foreign(text) * 2 > n:
            out.append(
                self._reject(
                    "fast burst of keys that are not ASCII: is a Persian keyboard layout on? A"
                    " card reader types through the English (US) layout",
                    last,
                    n,
                )
            )
            return
        if start < 0:
            out.append(
                self._reject(
                    "fast burst without a start sentinel: not typed by a person and not a whole"
                    " swipe (the rest of a cut swipe, or another device such as a barcode"
                    " scanner)",
                    last,
                    n,
                )
            )
            return
        prefix = text[:start]
        if len(prefix) > self.max_prefix:
            out.append(
                self._reject(
                    f"{len(prefix)} keys came right before the start sentinel: swipe again"
                    " without typing",
                    last,
                    n,
                )
            )
            return
        body = text[start:]
        end = len(body)
        while end and body[end - 1] in ENTER:
            end -= 1
        body = body[:end]
        es = body.rfind(ES)
        if es < 0:
            cut = "Enter came before the end sentinel '?'" if end < len(text) - start else ""
            if not cut:
                cut = "no end sentinel '?' before a pause in the keys"
            out.append(self._reject("swipe cut off: " + cut, last, n))
            return
        if len(body) - es - 1 > 1:
            out.append(
                self._reject(
                    "keys after the end sentinel '?': typing mixed into the swipe", last, n
                )
            )
            return
        clean = []
        i = 0
        while i < len(body):
            c = body[i]
            if c not in ENTER:
                clean.append(c)
                i += 1
                continue
            # some readers end every track with Enter (CR, LF or both): allowed right after an
            # end sentinel (or after its LRC) when the next track follows
            j = i
            while j < len(body) and body[j] in ENTER:
                j += 1
            after_es = body[i - 1] == ES or (i > 1 and body[i - 2] == ES)
            if not (after_es and j < len(body) and body[j] in TRACK_STARTS):
                out.append(
                    self._reject("Enter inside a track: typing mixed into the swipe", last, n)
                )
                return
            i = j
        note = None
        if prefix:
            out.append(Event(TEXT, prefix, None, first, first))
            note = f"{len(prefix)} key(s) typed right before the swipe were separated"
        out.append(Event(SWIPE, "".join(clean), None, first, last, note))


def _foreign(text):
    """How many characters of `text` are not ASCII."""
    count = 0
    for c in text:
        if ord(c) > 127:
            count += 1
    return count
