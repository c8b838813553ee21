"""The holder's details typed at enrollment (docs/protocol.md 5.6), checked before they are sent.

Pure logic for agent/enrollment_questions.collect_enrollment: a wrong answer is asked again
under a screen that says what is expected, instead of reaching the club (which answers 77 to a
phone or birth date it refuses, 30 to a choice outside the list: docs/protocol.md 2.3 tags
07-0A).

Digits are ASCII digits (agent/numbers.py): str.isdigit() is True for "²" and "۱".

A birth date is typed YYYYMMDD. A Persian terminal asks for it in the Jalali calendar and sends
it converted to Gregorian (agent/jalali.py). The year tells the calendars apart: a birth date
at most 120 years old has a Jalali year of about 1284-1404 and a Gregorian one of 1905-2025,
so a year before 1700 is Jalali (Jalali 1700 is Gregorian 2321) and a later one Gregorian.
There is nothing to configure, and a Gregorian date typed anywhere is taken as it is.

After the four details the terminal asks, optionally, for the mobile number of the member who
referred the new one (tag 1D, docs/protocol.md 2.3): no answer, or TRIES wrong ones, enrolls
without a referrer; the club rewards both at the new member's first confirmed purchase.

>>> birth_date("13690230", (2025, 1, 1))
'19900520'
>>> birth_date("19900230", (2025, 1, 1)) is None
True
"""

from agent.jalali import gregorian_to_jalali, jalali_to_gregorian
from agent.numbers import is_digits

OLDEST_YEARS = 120  # a birth date longer ago is a typing mistake
JALALI_BEFORE = 1700
TRIES = 3  # wrong answers to one question before the enrollment is given up
GENDERS = ("M", "F")
EDUCATION = ("1", "2", "3", "4", "5", "6")
TAG_REFERRER = 0x1D  # the referrer's mobile number (docs/protocol.md 2.3)
# optional questions after the four details: (field, keypad kind, tag); no answer skips one
OPTIONAL = (("referrer", "digits", TAG_REFERRER),)


def phone(text, today=None):
    """Tag 07: an Iranian mobile number, 09 and 9 more digits, or None."""
    if len(text) == 11 and text[:2] == "09" and is_digits(text):
        return text
    return None


def birth_date(text, today):
    """Tag 09 (YYYYMMDD, Gregorian) of a typed Jalali or Gregorian YYYYMMDD, or None when it is
    no day, after `today` or more than OLDEST_YEARS before it. today: local (y, m, d)."""
    if len(text) != 8 or not is_digits(text):
        return None
    born = (int(text[:4]), int(text[4:6]), int(text[6:]))
    try:
        if born[0] < JALALI_BEFORE:
            born = jalali_to_gregorian(*born)
        else:
            gregorian_to_jalali(*born)  # ValueError unless a Gregorian day
    except ValueError:
        return None
    today = tuple(today)
    if born > today or born < (today[0] - OLDEST_YEARS, today[1], today[2]):
        return None
    return f"{born[0]:04d}{born[1]:02d}{born[2]:02d}"


def referrer(text, today=None):
    """Tag 1D: the referrer's mobile number, checked like the holder's own."""
    return phone(text, today)


def gender(text, today=None):
    return text if text in GENDERS else None


def education(text, today=None):
    return text if text in EDUCATION else None


# field -> (check returning the value to send or None, the screen shown when it is None)
CHECKS = {
    "phone": (phone, "enroll_phone"),
    "gender": (gender, "enroll_invalid"),
    "birth_date": (birth_date, "enroll_date"),
    "education": (education, "enroll_invalid"),
    "referrer": (referrer, "enroll_phone"),
}


def check(field, text, today):
    """(value to send, None) or (None, the id of the screen that says what is expected)."""
    test, screen = CHECKS[field]
    value = test(text, today)
    return (value, None) if value is not None else (None, screen)
