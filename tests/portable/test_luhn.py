"""Luhn check digits (ISO/IEC 7812-1 Annex B) and keyed card entry (agent/card_io/luhn.py,
manual.py): published and seeded numbers, the exact errors."""

from agent.card_io.errors import CardError, EntryError, LuhnError
from agent.card_io.luhn import check_digit, luhn_valid, validate_pan
from agent.card_io.manual import keyed_expiry, manual_card, valid_yymm
from tests.portable.support import raises

# number -> Luhn-valid?  (79927398713: the classic worked example of the Luhn formula;
# the 4111... and 5555... numbers: card schemes' published test cards)
LUHN = (
    ("79927398713", True),
    ("79927398710", False),
    ("4111111111111111", True),
    ("4111111111111112", False),
    ("5555555555554444", True),
    ("6037990000000014", True),  # seeded bank card
    ("9879110000000014", True),  # seeded club card
    ("9879110000000998", True),  # seeded unknown club card
    ("9879110000000015", False),
    ("0", True),
    ("18", True),
)

# partial number -> check digit
CHECK_DIGITS = (
    ("7992739871", "3"),
    ("987911000000001", "4"),
    ("987911000000099", "8"),
    ("603799000000000", "6"),
    ("603799000000000001", "6"),
)

# typed (pan, expiry) -> (pan, expiry)
MANUAL_GOOD = (
    (("6037990000000014", None), ("6037990000000014", None)),
    (("6037990000000014", "2912"), ("6037990000000014", "2912")),
    (("6037 9900 0000 0014", "12/29"), ("6037990000000014", "2912")),
    (("6037-9900-0000-0014", ""), ("6037990000000014", None)),
    ((" 9879110000000014 ", " 2912 "), ("9879110000000014", "2912")),
    (("۹۸۷۹۱۱۰۰۰۰۰۰۰۰۱۴", "۲۹۱۲"), ("9879110000000014", "2912")),  # Persian digits
    (("٩٨٧٩١١٠٠٠٠٠٠٠٠١٤", None), ("9879110000000014", None)),  # Arabic-Indic digits
    (("603799000000000001" + "6", None), ("6037990000000000016", None)),  # 19 digits
    (("603799000006", None), ("603799000006", None)),  # 12 digits
    (("603799000000008", None), ("603799000000008", None)),  # 15 digits
)

# typed (pan, expiry) -> (error class, exact message)
MANUAL_BAD = (
    (
        ("6037990000000015", None),
        (
            LuhnError,
            "card number check digit is wrong (Luhn, ISO/IEC 7812-1): a typing error?"
            " (field pan, offset 15)",
        ),
    ),
    (
        ("60379900000", None),
        (EntryError, "card number has 11 digits; 12 to 19 expected (field pan)"),
    ),
    (
        ("60379900000000000000", None),
        (EntryError, "card number has 20 digits; 12 to 19 expected (field pan)"),
    ),
    (("", None), (EntryError, "card number has 0 digits; 12 to 19 expected (field pan)")),
    (
        ("603799000000001A", None),
        (EntryError, "only digits may be typed here (field pan, offset 15)"),
    ),
    (
        ("6037.9900.0000.0014", None),
        (EntryError, "only digits may be typed here (field pan, offset 4)"),
    ),
    (
        ("6037990000000014", "2913"),
        (EntryError, "expiry month must be 01 to 12 (YYMM) (field expiry, offset 2)"),
    ),
    (
        ("6037990000000014", "291"),
        (EntryError, "expiry has 3 digits; 4 expected (YYMM) (field expiry)"),
    ),
    (
        ("6037990000000014", "29/12"),
        (EntryError, "expiry month must be 01 to 12 (MM/YY) (field expiry, offset 0)"),
    ),
    (
        ("6037990000000014", "12/2x"),
        (EntryError, "only digits may be typed here (field expiry, offset 4)"),
    ),
    (
        ("6037990000000014", "1/29"),
        (EntryError, "expiry with a slash must be MM/YY, as on the card (field expiry)"),
    ),
    (
        ("6037990000000014", "29-12"),
        (EntryError, "only digits may be typed here (field expiry, offset 2)"),
    ),
    ((None, None), (EntryError, "card number must be text (field pan)")),
)


def test_luhn_known_answers():
    for number, valid in LUHN:
        assert luhn_valid(number) is valid, number
    assert luhn_valid("") is False


def test_check_digits():
    for partial, digit in CHECK_DIGITS:
        assert check_digit(partial) == digit, partial
        assert luhn_valid(partial + digit)


def test_validate_pan():
    assert validate_pan("6037990000000014") == "6037990000000014"
    e = raises(LuhnError, validate_pan, "6037990000000015")
    assert e.field == "pan" and e.offset == 15
    assert isinstance(e, EntryError) and isinstance(e, CardError) and isinstance(e, ValueError)
    e = raises(EntryError, validate_pan, "60379900000x0014")
    assert str(e) == "card number must be digits only (field pan, offset 11)"


def test_manual_entry_good():
    for (pan, expiry), (want_pan, want_expiry) in MANUAL_GOOD:
        card = manual_card(pan, expiry)
        assert (card.pan, card.expiry, card.entry) == (want_pan, want_expiry, "012"), pan


def test_manual_entry_bad():
    for (pan, expiry), (cls, message) in MANUAL_BAD:
        e = raises(cls, manual_card, pan, expiry)
        assert str(e) == message, (pan, expiry, str(e))


def test_every_single_digit_typo_is_caught():
    good = "9879110000000014"
    for i in range(len(good)):
        for d in "0123456789":
            if d != good[i]:
                typo = good[:i] + d + good[i + 1 :]
                raises(LuhnError, manual_card, typo)


def test_expiry_helpers():
    assert valid_yymm("2912") and not valid_yymm("2900") and not valid_yymm("29a2")
    assert keyed_expiry("  ") is None
    assert keyed_expiry("01/30") == "3001"
