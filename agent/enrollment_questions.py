"""The enrollment questions on the terminal's keypad (docs/protocol.md 5.6), asked when the
club answers 64 (agent/steps.py authorize imports this only then: heap). Each answer is
checked by agent/enrollment.py's pure rules before anything is sent."""

from agent import enrollment
from agent.protocol import messages as m
from agent.timeutil import civil

# Enrollment questions (docs/protocol.md 5.6): (keypad field, kind, field 48 tag).
ENROLLMENT = (
    ("phone", "digits", m.TAG_PHONE),
    ("gender", "choice", m.TAG_GENDER),
    ("birth_date", "date", m.TAG_BIRTH_DATE),
    ("education", "choice", m.TAG_EDUCATION),
)


def collect_enrollment(eng):
    """{tag: value} for tags 07..0A (and 1D, the referrer, when given) from the keypad, or
    None when the customer cancels.

    Each answer is checked here (agent/enrollment.py): a wrong one is asked again under a
    screen saying what is expected, never sent; after enrollment.TRIES wrong answers to one
    question the enrollment is given up. A Jalali birth date is sent converted."""
    today = civil(eng.clock.now() + eng.offset_s)[:3]
    tags = {}
    for field, kind, tag in ENROLLMENT:
        eng.display.show("enroll", field=field)
        for _ in range(enrollment.TRIES):
            value = eng.keypad.ask(field, kind)
            if not value:
                return None
            value, screen = enrollment.check(field, str(value), today)
            if screen is None:
                break
            eng.display.show(screen, field=field)
        if value is None:
            return None
        tags[tag] = value
    for field, kind, tag in enrollment.OPTIONAL:  # no answer skips; never cancels
        eng.display.show("enroll", field=field)
        for _ in range(enrollment.TRIES):
            value = eng.keypad.ask(field, kind)
            if not value:
                break
            value, screen = enrollment.check(field, str(value), today)
            if screen is None:
                tags[tag] = value
                break
            eng.display.show(screen, field=field)
    return tags
