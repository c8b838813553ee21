"""Enrollment answers checked on the terminal (agent/enrollment.py, agent/steps.py
collect_enrollment): known answers, and a wrong answer asked again instead of sent.

Runs under pytest and under MicroPython. tests/test_enrollment.py checks the Jalali dates
against jdatetime and the whole enrollment against the reference club server on CPython.
"""

from agent import enrollment
from agent.enrollment import birth_date, check, phone
from agent.enrollment_questions import collect_enrollment
from agent.ports import ManualClock, RecordingDisplay
from agent.protocol import messages as m

TODAY = (2025, 6, 1)  # 1404-03-11
# 2025-05-31 21:00 UTC: already 2025-06-01 00:30 in Tehran
TEHRAN_JUST_AFTER_MIDNIGHT = 1748725200
GOOD = {"phone": "09121234567", "gender": "F", "birth_date": "13690230", "education": "4"}
SENT = {m.TAG_PHONE: "09121234567", m.TAG_GENDER: "F", m.TAG_BIRTH_DATE: "19900520"}
SENT[m.TAG_EDUCATION] = "4"

PHONES = (
    ("09121234567", "09121234567"),
    ("09901234567", "09901234567"),
    ("0912ABC", None),  # went to the club and came back "system error"
    ("0912123456", None),  # 10 digits
    ("091212345678", None),  # 12 digits
    ("9121234567", None),
    ("+989121234567", None),
    ("02112345678", None),  # a landline
    ("0912123456\u00b2", None),  # "²".isdigit() is True
    ("\u06f0\u06f9\u06f1\u06f2\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7", None),  # Persian
    (" 09121234567", None),
    ("", None),
)

# typed -> sent (Gregorian YYYYMMDD) or None; Jalali answers from jdatetime
DATES = (
    ("13690230", "19900520"),  # the date that was stored as 1369-02-30 AD
    ("13781011", "20000101"),
    ("13000101", "19210321"),
    ("13571122", "19790211"),
    ("14031230", "20250320"),  # 1403 is leap: Esfand 30
    ("13690631", "19900922"),  # the first six months have 31 days
    ("14040311", "20250601"),  # today
    ("12840311", "19050601"),  # 120 years ago, to the day
    ("19900321", "19900321"),  # Gregorian, taken as it is
    ("20000229", "20000229"),
    ("20250601", "20250601"),
    ("19050601", "19050601"),
    ("14021230", None),  # 1402 is not leap
    ("13690731", None),  # Mehr has 30 days
    ("13691301", None),
    ("13690100", None),
    ("14040312", None),  # tomorrow
    ("12840310", None),  # 120 years and a day
    ("19900230", None),
    ("20230229", None),
    ("19901301", None),
    ("20250602", None),
    ("19050531", None),
    ("00000000", None),
    ("1369023", None),
    ("1369/02/30", None),
    ("136902300", None),
    ("1369023\u00b2", None),
    ("\u06f1\u06f3\u06f6\u06f9\u06f0\u06f2\u06f3\u06f0", None),  # Persian digits
    ("", None),
)


def test_phones():
    for typed, sent in PHONES:
        assert phone(typed) == sent, typed


def test_birth_dates_jalali_or_gregorian_by_the_year():
    for typed, sent in DATES:
        assert birth_date(typed, TODAY) == sent, typed


def test_choices_and_the_screens_that_ask_again():
    assert check("gender", "M", TODAY) == ("M", None)
    assert check("gender", "X", TODAY) == (None, "enroll_invalid")
    assert check("education", "6", TODAY) == ("6", None)
    assert check("education", "7", TODAY) == (None, "enroll_invalid")
    assert check("phone", "0912ABC", TODAY) == (None, "enroll_phone")
    assert check("birth_date", "13690230", TODAY) == ("19900520", None)
    assert check("birth_date", "19900230", TODAY) == (None, "enroll_date")


class SequenceKeypad:
    """Answers each field from its own list, one answer per question."""

    def __init__(self, answers):
        self.answers = {}
        for field in answers:
            value = answers[field]
            self.answers[field] = list(value) if isinstance(value, list) else [value]
        self.asked = []

    def ask(self, field, kind="digits"):
        self.asked.append(field)
        left = self.answers.get(field)
        return left.pop(0) if left else None


class Eng:
    """What collect_enrollment uses of the engine."""

    def __init__(self, answers, now=TEHRAN_JUST_AFTER_MIDNIGHT):
        self.keypad = SequenceKeypad(answers)
        self.display = RecordingDisplay()
        self.clock = ManualClock(now)
        self.offset_s = 12600


def answers(**changes):
    found = dict(GOOD)
    found.update(changes)
    return found


def test_good_answers_are_sent_with_the_jalali_date_converted():
    eng = Eng(GOOD)
    assert collect_enrollment(eng) == SENT
    assert eng.display.screens() == ["enroll"] * 5
    assert eng.keypad.asked == ["phone", "gender", "birth_date", "education", "referrer"]


def test_a_wrong_answer_is_asked_again_under_a_screen_saying_what_is_expected():
    eng = Eng(answers(phone=["0912ABC", "09121234567"], birth_date=["13690732", "13690230"]))
    assert collect_enrollment(eng) == SENT
    assert eng.display.screens() == [
        "enroll",
        "enroll_phone",
        "enroll",
        "enroll",
        "enroll_date",
        "enroll",
        "enroll",
    ]
    assert eng.display.shown[1] == ("enroll_phone", {"field": "phone"})
    asked = ["phone", "phone", "gender", "birth_date", "birth_date", "education", "referrer"]
    assert eng.keypad.asked == asked


def test_wrong_answers_give_up_after_three_tries():
    wrong = ["0912ABC"] * enrollment.TRIES + ["09121234567"]
    eng = Eng(answers(phone=wrong))
    assert collect_enrollment(eng) is None
    assert eng.keypad.asked == ["phone"] * enrollment.TRIES
    eng = Eng(answers(gender=["X", "M"]))
    assert collect_enrollment(eng)[m.TAG_GENDER] == "M"
    assert "enroll_invalid" in eng.display.screens()


def test_a_cancelled_question_cancels():
    eng = Eng(answers(birth_date=["13690732", None]))
    assert collect_enrollment(eng) is None
    assert eng.keypad.asked == ["phone", "gender", "birth_date", "birth_date"]


def test_today_is_the_terminal_local_day():
    # 00:30 in Tehran on 2025-06-01 while it is still 31 May in UTC: today is a valid birth date
    assert collect_enrollment(Eng(answers(birth_date="20250601")))[m.TAG_BIRTH_DATE] == "20250601"
    eng = Eng(answers(birth_date=["20250602", None]))
    assert collect_enrollment(eng) is None
    assert "enroll_date" in eng.display.screens()


def test_the_referrer_is_optional_checked_and_sent_as_tag_1d():
    eng = Eng(answers(referrer="09120000001"))
    with_referrer = dict(SENT)  # (MicroPython has no {**d} displays)
    with_referrer[enrollment.TAG_REFERRER] = "09120000001"
    assert collect_enrollment(eng) == with_referrer
    eng = Eng(answers(referrer=""))  # no answer: enrolled without a referrer
    assert collect_enrollment(eng) == SENT
    eng = Eng(answers(referrer=["0912ABC", "09120000001"]))  # asked again, like the phone
    assert collect_enrollment(eng)[enrollment.TAG_REFERRER] == "09120000001"
    assert eng.display.screens()[-1] == "enroll_phone"
    eng = Eng(answers(referrer=["12"] * enrollment.TRIES))  # wrong every time: none, not cancel
    assert collect_enrollment(eng) == SENT
    assert eng.keypad.asked.count("referrer") == enrollment.TRIES
