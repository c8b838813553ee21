"""agent/jalali.py against jdatetime for every day of 1900-2100 (Gregorian), both ways."""

import datetime

import pytest

from agent.jalali import gregorian_to_jalali, jalali_to_gregorian, month_length, weekday

jdatetime = pytest.importorskip("jdatetime")


def test_every_day_1900_to_2100_matches_jdatetime():
    day = datetime.date(1900, 1, 1)
    end = datetime.date(2100, 12, 31)
    one = datetime.timedelta(days=1)
    count = 0
    while day <= end:
        j = jdatetime.date.fromgregorian(date=day)
        expected = (j.year, j.month, j.day)
        assert gregorian_to_jalali(day.year, day.month, day.day) == expected, day
        assert jalali_to_gregorian(*expected) == (day.year, day.month, day.day), expected
        assert weekday(*expected) == j.weekday(), day  # both count from Saturday
        count += 1
        day += one
    assert count == 73414


def test_leap_years_and_month_lengths_match_jdatetime():
    for jy in range(1278, 1480):
        assert (month_length(jy, 12) == 30) == jdatetime.date(jy, 1, 1).isleap(), jy
        for jm in range(1, 13):
            assert month_length(jy, jm) == jdatetime.j_days_in_month[jm - 1] + (
                1 if jm == 12 and jdatetime.date(jy, 1, 1).isleap() else 0
            )


def test_nowruz_1403_as_the_field_notes_say():
    assert gregorian_to_jalali(2024, 3, 20) == (1403, 1, 1)
    assert jdatetime.date.fromgregorian(date=datetime.date(2024, 3, 20)) == jdatetime.date(
        1403, 1, 1
    )
