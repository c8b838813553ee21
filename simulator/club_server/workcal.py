"""The club's working calendar: Iranian working days, official holidays and working hours, and
when a settlement falls due (docs/club_server.md "Settlement").

Pure: no I/O. A `WorkCalendar` is built from the settings rows the operator keeps
(`calendar.hours`, `calendar.settlement_hours`, `calendar.holidays`; settlement_store.py loads
them) or by hand in tests. Times are Unix seconds; days are Tehran calendar days.

Working days are Saturday to Wednesday (Thursday and Friday are the weekend) that are not in
the holiday table; working hours are one span a day, Tehran time: by default the whole day
(00:00-24:00, so 24 working hours are one working day, as the club always counted), or the
span the operator sets (08:00-16:00: office hours only, 24 working hours are three days).
A settlement recorded at time t is due `settlement_hours` working hours later: only time
inside working hours of working days counts. Recorded outside working hours, the count
starts at the next opening.

>>> cal = WorkCalendar(holidays=(), opens=8 * 3600, closes=16 * 3600)
>>> import datetime as dt
>>> t = dt.datetime(2026, 12, 5, 10, 0, tzinfo=tehran.TEHRAN).timestamp()  # Saturday 10:00
>>> tehran.local(cal.due(t, 8)).isoformat()
'2026-12-06T10:00:00+03:30'
"""

import datetime as dt
from functools import lru_cache

from simulator.club_server import tehran

HOUR = 3600
DEFAULT_OPENS = 0
DEFAULT_CLOSES = 24 * HOUR
DEFAULT_SETTLEMENT_HOURS = 24
MAX_DAYS = 366 * 2  # a calendar with no working day in two years is a mistake, not a wait

# settings rows (the settings table; written by settlement_store, read by the request path)
HOURS_KEY = "calendar.hours"  # "00:00-24:00" (the default), "08:00-16:00"
SETTLEMENT_HOURS_KEY = "calendar.settlement_hours"  # "24"
HOLIDAYS_KEY = "calendar.holidays"  # "2026-03-21,2026-03-22,..." (Gregorian ISO, Tehran days)


class CalendarError(ValueError):
    """A working-hours span or a holiday that cannot be used; names what was wrong."""


class WorkCalendar:
    def __init__(self, holidays=(), opens=DEFAULT_OPENS, closes=DEFAULT_CLOSES,
                 weekend=tehran.WEEKEND):  # fmt: skip
        if not 0 <= opens < closes <= 24 * HOUR:
            raise CalendarError(f"working hours {opens}-{closes} s: opening must be before closing")
        self.holidays = frozenset(holidays)
        self.opens = opens
        self.closes = closes
        self.weekend = tuple(weekend)
        self._spans = {}  # date -> (opening, closing) as Unix seconds: due() per settlement

    def is_working_day(self, date):
        return date.weekday() not in self.weekend and date not in self.holidays

    def _at(self, date, seconds):
        start = dt.datetime(date.year, date.month, date.day, tzinfo=tehran.TEHRAN)
        return (start + dt.timedelta(seconds=seconds)).timestamp()

    def due(self, ts, hours=DEFAULT_SETTLEMENT_HOURS):
        """The moment `hours` working hours after `ts`."""
        left = hours * HOUR
        date = tehran.local_date(ts)
        for _ in range(MAX_DAYS):
            if self.is_working_day(date):
                span = self._spans.get(date)
                if span is None:
                    if len(self._spans) > 64:
                        self._spans.clear()
                    span = self._spans[date] = (
                        self._at(date, self.opens),
                        self._at(date, self.closes),
                    )
                start = max(ts, span[0])
                end = span[1]
                if start < end:
                    if start + left <= end:
                        return start + left
                    left -= end - start
            date += dt.timedelta(days=1)
        raise CalendarError(f"no working hours within {MAX_DAYS} days of {tehran.local(ts)}")

    def working_days(self, first, last):
        """The working days from `first` to `last` (dates, inclusive)."""
        out = []
        while first <= last:
            if self.is_working_day(first):
                out.append(first)
            first += dt.timedelta(days=1)
        return out


def parse_hours(text):
    """'08:00-16:00' -> (opens, closes) in seconds after midnight; CalendarError otherwise."""
    words = f"working hours {text!r}: expected HH:MM-HH:MM, e.g. 08:00-16:00"
    try:
        first, second = str(text).strip().split("-")
        spans = []
        for part in (first, second):
            hh, mm = part.strip().split(":")
            if not (hh.isdigit() and mm.isdigit() and int(mm) < 60):
                raise ValueError
            spans.append(int(hh) * HOUR + int(mm) * 60)
    except ValueError:
        raise CalendarError(words) from None
    if not 0 <= spans[0] < spans[1] <= 24 * HOUR:
        raise CalendarError(words + " (opening before closing, at most 24:00)")
    return spans[0], spans[1]


def format_hours(opens, closes):
    def hhmm(seconds):
        return f"{seconds // HOUR:02d}:{seconds % HOUR // 60:02d}"

    return f"{hhmm(opens)}-{hhmm(closes)}"


@lru_cache(maxsize=8)
def _from_rows(hours_text, holidays_text):
    opens, closes = parse_hours(hours_text)
    days = [dt.date.fromisoformat(d) for d in holidays_text.split(",") if d]
    return WorkCalendar(days, opens, closes)


def from_settings(settings):
    """The calendar the settings rows describe (defaults where a row is missing). Cached by
    the rows' text: the request path calls this for every settlement it records."""
    return _from_rows(
        settings.get(HOURS_KEY) or format_hours(DEFAULT_OPENS, DEFAULT_CLOSES),
        settings.get(HOLIDAYS_KEY) or "",
    )


def settlement_hours(settings):
    return int(settings.get(SETTLEMENT_HOURS_KEY) or DEFAULT_SETTLEMENT_HOURS)


def settlement_due(ts, settings):
    """When a settlement recorded at `ts` is due, by the club's calendar settings."""
    return from_settings(settings).due(ts, settlement_hours(settings))
