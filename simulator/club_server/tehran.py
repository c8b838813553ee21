"""Tehran local time and the Jalali calendar, for dates the club shows or counts (working days
and hours: workcal.py).

Iran has kept UTC+03:30 all year since 2022 (daylight saving time was abolished), so a fixed
offset is exact for current dates. Times in storage are Unix seconds (UTC); only reports, SMS
texts and card expiry look at the local date.
"""

import datetime as dt

TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30), "IRST")
DAY = 86400.0

# Working week of Iranian offices and banks: Saturday..Wednesday. Python weekday(): Monday=0,
# so Thursday=3 and Friday=4 are the weekend.
WEEKEND = (3, 4)  # when a settlement is due: workcal.py


def local(ts):
    """Unix seconds -> aware datetime in Tehran."""
    return dt.datetime.fromtimestamp(ts, TEHRAN)


def local_date(ts):
    return local(ts).date()


def day_bounds(date):
    """[start, end) Unix seconds of a Tehran calendar day."""
    start = dt.datetime(date.year, date.month, date.day, tzinfo=TEHRAN).timestamp()
    return start, start + DAY


def yymm(ts):
    """The card-expiry form YYMM of a time."""
    return local(ts).strftime("%y%m")


def add_months_yymm(ts, months):
    """YYMM `months` after the month of `ts` (a card issued now is valid through that month)."""
    d = local(ts)
    index = d.year * 12 + d.month - 1 + months
    return f"{index // 12 % 100:02d}{index % 12 + 1:02d}"


def expired(expiry_yymm, ts):
    """A card is valid through the last day of its expiry month (Tehran)."""
    return bool(expiry_yymm) and yymm(ts) > expiry_yymm


def yyyymmdd(ts):
    return local(ts).strftime("%Y%m%d")
