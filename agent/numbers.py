"""Numbers from outside the terminal (the club link, a card, an ECR frame): ASCII digits only.

Python's str.isdigit() and int() accept more than "0".."9": "²".isdigit() is True and then
int("²") raises ValueError, and int("۱۲") is 12 (Persian digits). Every number crossing an
interface here is ISO 8583 "n", ISO/IEC 7812 or an ECR "n" field: ASCII digits, nothing else.
str.strip with a set of characters behaves the same on MicroPython and CPython.
"""

DIGITS = "0123456789"
DIGIT_BYTES = b"0123456789"


def is_digits(text):
    """True for a non-empty str or bytes made of ASCII digits only."""
    if not text:
        return False
    if isinstance(text, str):
        return not text.strip(DIGITS)
    return not bytes(text).strip(DIGIT_BYTES)


def to_int(text, default=None):
    """int(text) when it is ASCII digits, else `default`."""
    return int(text) if is_digits(text) else default
