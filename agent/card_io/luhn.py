"""Card numbers: the Luhn check digit and the shape of a PAN (pure, portable).

ISO/IEC 7812-1 (identification of issuers) makes the last digit of a primary account number a
check digit computed with the Luhn formula (ISO/IEC 7812-1 Annex B, "modulus 10"): from the
rightmost digit leftwards, double every second digit, subtract 9 from doubles over 9, add all;
the number is valid when the sum is a multiple of 10.

ISO/IEC 7812-1 allows 8 to 19 digits; Vafa takes 12 to 19 (every Iranian bank card and club
card has 16; shorter numbers are not card numbers a store will see).

>>> luhn_valid("6037990000000014")
True
>>> check_digit("987911000000001")
'4'
"""

from agent.card_io.errors import EntryError, LuhnError

PAN_MIN = 12
PAN_MAX = 19


def _digit_at(number, i):
    c = number[i]
    if not "0" <= c <= "9":
        raise EntryError("card number must be digits only", "pan", i)
    return ord(c) - 48


def luhn_sum(number):
    """The Luhn sum of a string of digits (the check digit included)."""
    total = 0
    double = False
    for i in range(len(number) - 1, -1, -1):
        d = _digit_at(number, i)
        if double:
            d += d
            if d > 9:
                d -= 9
        total += d
        double = not double
    return total


def luhn_valid(number):
    """True when `number` (digits, check digit last) passes the Luhn check."""
    return bool(number) and luhn_sum(number) % 10 == 0


def check_digit(partial):
    """The Luhn check digit to append to `partial` (digits, without a check digit)."""
    return str((10 - luhn_sum(partial + "0") % 10) % 10)


def validate_pan(pan):
    """Return `pan` when it is 12-19 digits with a right Luhn check digit.

    Raises EntryError (field "pan", offset of the first wrong character) for anything else,
    LuhnError (an EntryError) for a wrong check digit. Messages never repeat the number.
    """
    if not isinstance(pan, str):
        raise EntryError("card number must be text")
    for i in range(len(pan)):
        _digit_at(pan, i)
    n = len(pan)
    if n < PAN_MIN or n > PAN_MAX:
        raise EntryError(f"card number has {n} digits; {PAN_MIN} to {PAN_MAX} expected", "pan")
    if luhn_sum(pan) % 10:
        raise LuhnError(
            "card number check digit is wrong (Luhn, ISO/IEC 7812-1): a typing error?",
            "pan",
            n - 1,
        )
    return pan
