"""The Jalali calendar (agent/jalali.py): known dates, Nowruz boundaries, leap years.

Runs under pytest and under MicroPython. tests/display/test_jalali_oracle.py checks every
day of 1900-2100 against jdatetime on CPython.
"""

from agent.jalali import (
    MONTHS_EN,
    MONTHS_FA,
    from_epoch,
    gregorian_to_jalali,
    is_leap,
    jalali_to_gregorian,
    month_length,
    stamp,
    weekday,
)
from tests.portable.support import raises

# (Gregorian, Jalali, weekday: 0 = Saturday ... 6 = Friday), from jdatetime / the calendar
KNOWN = (
    ((2024, 3, 20), (1403, 1, 1), 4),  # Nowruz 1403, a Wednesday
    ((2024, 3, 19), (1402, 12, 29), 3),  # the last day of 1402 (a common year)
    ((2025, 3, 20), (1403, 12, 30), 5),  # 1403 is leap: Esfand has 30 days
    ((2025, 3, 21), (1404, 1, 1), 6),
    ((2021, 3, 20), (1399, 12, 30), 0),  # 1399 leap
    ((2021, 3, 21), (1400, 1, 1), 1),
    ((2022, 3, 21), (1401, 1, 1), 2),
    ((2023, 3, 21), (1402, 1, 1), 3),
    ((2029, 3, 20), (1408, 1, 1), 3),  # after 1403 the next leap year is 1408 (5 years)
    ((2030, 3, 20), (1408, 12, 30), 4),
    ((2030, 3, 21), (1409, 1, 1), 5),
    ((2024, 2, 29), (1402, 12, 10), 5),  # a Gregorian leap day
    ((1970, 1, 1), (1348, 10, 11), 5),
    ((2000, 1, 1), (1378, 10, 11), 0),
    ((1979, 2, 11), (1357, 11, 22), 1),
    ((1921, 3, 21), (1300, 1, 1), 2),
    ((1991, 3, 21), (1370, 1, 1), 5),
    ((1900, 1, 1), (1278, 10, 11), 2),
    ((2100, 12, 31), (1479, 10, 10), 6),
)


def test_known_dates_both_ways():
    for g, j, wd in KNOWN:
        assert gregorian_to_jalali(*g) == j, g
        assert jalali_to_gregorian(*j) == g, j
        assert weekday(*j) == wd, j


def test_leap_years_and_month_lengths():
    leaps = [y for y in range(1390, 1420) if is_leap(y)]
    assert leaps == [1391, 1395, 1399, 1403, 1408, 1412, 1416]
    assert month_length(1403, 12) == 30 and month_length(1402, 12) == 29
    assert [month_length(1403, m) for m in range(1, 12)] == [31] * 6 + [30] * 5
    assert sum(month_length(1403, m) for m in range(1, 13)) == 366


def test_every_day_of_1399_to_1405_round_trips_and_is_consecutive():
    g = jalali_to_gregorian(1399, 1, 1)
    assert g == (2020, 3, 20)
    count = 0
    for jy in range(1399, 1406):
        for jm in range(1, 13):
            for jd in range(1, month_length(jy, jm) + 1):
                g = jalali_to_gregorian(jy, jm, jd)
                assert gregorian_to_jalali(*g) == (jy, jm, jd)
                count += 1
    assert count == 366 * 2 + 365 * 5  # 1399 and 1403 are leap
    assert jalali_to_gregorian(1406, 1, 1) == (2027, 3, 21)


def test_invalid_dates_are_refused():
    raises(ValueError, gregorian_to_jalali, 2023, 2, 29)
    raises(ValueError, gregorian_to_jalali, 2024, 13, 1)
    raises(ValueError, jalali_to_gregorian, 1402, 12, 30)  # 1402 is not leap
    raises(ValueError, jalali_to_gregorian, 1403, 7, 31)
    raises(ValueError, jalali_to_gregorian, 1403, 0, 1)


def test_tehran_local_time_and_stamp():
    # 2024-03-19 20:29:59 UTC is 23:59:59 in Tehran, still 1402; a second later it is Nowruz
    assert from_epoch(1710880199) == (1402, 12, 29, 23, 59, 59)
    assert from_epoch(1710880200) == (1403, 1, 1, 0, 0, 0)
    assert stamp(1710923400) == "1403/01/01 12:00"
    assert stamp(0, 0) == "1348/10/11 00:00"


def test_month_names():
    assert len(MONTHS_EN) == len(MONTHS_FA) == 12
    assert MONTHS_EN[0] == "Farvardin" and MONTHS_EN[11] == "Esfand"
    assert MONTHS_FA[0] == "فروردین" and MONTHS_FA[11] == "اسفند"
