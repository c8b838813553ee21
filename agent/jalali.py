"""The Jalali (Solar Hijri) calendar without datetime: conversions, leap years, month names.

Arithmetic 33-year cycle: year y is leap when y % 33 is one of 1, 5, 9, 13, 17, 22, 26, 30
(8 leap years in 33, 12053 days a cycle), anchored at 1 Farvardin 979 = 20 March 1600
(Gregorian). This is FarsiWeb's jalali.c rule, the one jdatetime and most Iranian software use;
it agrees with the official (astronomical) calendar over the years a terminal will see
(tests/display/test_jalali_oracle.py checks every day of 1900-2100 against jdatetime).
1403 is leap: 2024-03-20 = 1403-01-01 and 1403-12-30 = 2025-03-20.

Days are counted from 1970-01-01 with Howard Hinnant's days_from_civil (proleptic Gregorian),
the inverse of agent.timeutil.civil.
"""

from agent.timeutil import TEHRAN_OFFSET_S, civil

MONTHS_EN = (
    "Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar",
    "Mehr", "Aban", "Azar", "Dey", "Bahman", "Esfand",
)  # fmt: skip
MONTHS_FA = (
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
    "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
)  # fmt: skip
# Saturday first, as the Iranian week: weekday(...) indexes these.
WEEKDAYS_EN = ("Shanbeh", "Yekshanbeh", "Doshanbeh", "Seshanbeh", "Chaharshanbeh",
               "Panjshanbeh", "Jomeh")  # fmt: skip
WEEKDAYS_FA = ("شنبه", "یکشنبه", "دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه")

LEAP_REMAINDERS = (1, 5, 9, 13, 17, 22, 26, 30)
CYCLE_YEARS = 33
CYCLE_DAYS = 12053  # 33 * 365 + 8
ANCHOR_YEAR = 979  # 979 % 33 == 22: a leap year opens the cycle, then every 4th year
BLOCK_DAYS = 1461  # 4 years, the first of them leap


def days_from_civil(y, m, d):
    """Days from 1970-01-01 to the proleptic Gregorian date (negative before)."""
    if m <= 2:
        y -= 1
    era = y // 400  # floor division: also right before year 0
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


ANCHOR_DAY = days_from_civil(1600, 3, 20)  # 979-01-01


def is_leap(jy):
    return jy % CYCLE_YEARS in LEAP_REMAINDERS


def is_gregorian_leap(gy):
    return gy % 4 == 0 and (gy % 100 != 0 or gy % 400 == 0)


def month_length(jy, jm):
    if jm <= 6:
        return 31
    if jm <= 11:
        return 30
    return 30 if is_leap(jy) else 29


def _check_gregorian(gy, gm, gd):
    if not 1 <= gm <= 12:
        raise ValueError(f"Gregorian month out of range: {gm}")
    days = (31, 29 if is_gregorian_leap(gy) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if not 1 <= gd <= days[gm - 1]:
        raise ValueError(f"Gregorian day out of range: {gy}-{gm}-{gd}")


def jalali_day_number(jy, jm, jd):
    """Days from 1970-01-01 to the Jalali date."""
    if not 1 <= jm <= 12:
        raise ValueError(f"Jalali month out of range: {jm}")
    if not 1 <= jd <= month_length(jy, jm):
        raise ValueError(f"Jalali day out of range: {jy}/{jm}/{jd}")
    cycles, offset = divmod(jy - ANCHOR_YEAR, CYCLE_YEARS)
    days = cycles * CYCLE_DAYS + offset * 365 + (offset + 3) // 4
    days += (jm - 1) * 31 if jm <= 7 else 186 + (jm - 7) * 30
    return ANCHOR_DAY + days + jd - 1


def jalali_from_day_number(n):
    """(year, month, day) of the day n days after 1970-01-01."""
    cycles, d = divmod(n - ANCHOR_DAY, CYCLE_DAYS)
    block, d = divmod(d, BLOCK_DAYS)
    year = ANCHOR_YEAR + cycles * CYCLE_YEARS + block * 4
    if d >= 366:  # past the block's leap year: then 365-day years
        d -= 366
        year += 1 + d // 365
        d %= 365
    if d < 186:
        return year, d // 31 + 1, d % 31 + 1
    d -= 186
    return year, d // 30 + 7, d % 30 + 1


def gregorian_to_jalali(gy, gm, gd):
    """(year, month, day) Gregorian -> Jalali.

    >>> gregorian_to_jalali(2024, 3, 20)
    (1403, 1, 1)
    """
    _check_gregorian(gy, gm, gd)
    return jalali_from_day_number(days_from_civil(gy, gm, gd))


def jalali_to_gregorian(jy, jm, jd):
    """(year, month, day) Jalali -> Gregorian.

    >>> jalali_to_gregorian(1403, 12, 30)
    (2025, 3, 20)
    """
    y, m, d, _h, _mi, _s = civil(jalali_day_number(jy, jm, jd) * 86400)
    return y, m, d


def weekday(jy, jm, jd):
    """0 = Saturday (shanbeh) ... 6 = Friday (jomeh)."""
    return (jalali_day_number(jy, jm, jd) + 5) % 7  # 1970-01-01 was a Thursday (5)


def from_epoch(epoch_s, offset_s=TEHRAN_OFFSET_S):
    """UTC seconds -> local (jy, jm, jd, hour, minute, second); Tehran time by default."""
    local = int(epoch_s) + offset_s
    days, rest = divmod(local, 86400)
    jy, jm, jd = jalali_from_day_number(days)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return jy, jm, jd, hour, minute, second


def stamp(epoch_s, offset_s=TEHRAN_OFFSET_S):
    """'YYYY/MM/DD hh:mm' in Jalali local time, ASCII digits (callers localize digits)."""
    jy, jm, jd, h, mi, _s = from_epoch(epoch_s, offset_s)
    return f"{jy:04d}/{jm:02d}/{jd:02d} {h:02d}:{mi:02d}"
