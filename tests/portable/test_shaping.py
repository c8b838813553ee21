"""Persian shaping, visual reordering and the Iran System code page (agent/printing).

Runs under pytest and under MicroPython. Expected bytes are worked out by hand from the
Iran System table (agent/printing/iran_system.py docstring); علی, حسن and محمدحسین are
Iran System bytes found in real data (Iranian social security DBF files).
tests/display/test_shaping_oracle.py compares with arabic-reshaper and python-bidi.
"""

from agent.printing.bidi import display, paragraph_rtl, visual
from agent.printing.digits import ascii_digits, localize, money, persian_digits
from agent.printing.iran_system import KEYS, VALUES, byte_for, encode, encode_visual
from agent.printing.shaping import LAM_ALEF, LETTERS, forms_of, joining_type, shape
from tests.portable.support import hexu


def rev(text):
    """Reversed text (MicroPython's str has no [::-1])."""
    return "".join(reversed(list(text)))


def u(text):
    return " ".join(f"{ord(c):04X}" for c in text)


def test_contextual_forms():
    # beh alone, initial, medial, final: ب ببب
    assert u(shape("ب")) == "FE8F"
    assert u(shape("ببب")) == "FE91 FE92 FE90"
    # reh does not join the next letter: ربا -> reh isolated, beh initial, alef final
    assert u(shape("ربا")) == "FEAD FE91 FE8E"
    # Persian letters: پ چ ژ ک گ ی
    assert u(shape("پچژ")) == "FB58 FB7D FB8B"
    assert u(shape("کگی")) == "FB90 FB95 FBFD"
    assert u(shape("ی")) == "FBFC"
    # hamza joins nothing; tatweel joins both sides
    assert u(shape("بءب")) == "FE8F FE80 FE8F"
    assert u(shape("بـب")) == "FE91 0640 FE90"


def test_lam_alef_ligature():
    assert u(shape("لا")) == "FEFB"  # isolated
    assert u(shape("سلام")) == "FEB3 FEFC FEE1"  # after a joining letter: final; meem alone
    assert u(shape("لآ")) == "FEF5"
    assert u(shape("الله")) == "FE8D FEDF FEE0 FEEA"  # no Allah ligature: letters only


def test_zwnj_breaks_the_join_and_harakat_are_dropped():
    assert u(shape("می\u200cشود")) == "FEE3 FBFD FEB7 FEEE FEA9"  # yeh final, not medial
    assert u(shape("مي")) == u(shape("م\u064eي"))  # fatha dropped
    assert joining_type("\u200c") == "U" and joining_type("\u0640") == "C"


def test_every_letter_has_consistent_forms():
    for ch in LETTERS:
        forms = forms_of(ch)
        assert len(forms) in (1, 2, 4), ch
        assert joining_type(ch) == {1: "U", 2: "R", 4: "D"}[len(forms)]
    assert forms_of("a") is None


def test_visual_order():
    assert visual("abc") == "abc"
    assert visual("\u0627\u0628 12") == "12 \u0628\u0627"
    assert paragraph_rtl("12 سلام") and not paragraph_rtl("ab سلام")
    # numbers keep their left-to-right order inside right-to-left text, with separators
    assert display("۱۲٬۰۰۰ ریال") == rev(shape("ریال")) + " ۱۲٬۰۰۰"
    # Latin words too
    assert display("پایانه VT000001") == "VT000001 " + rev(shape("پایانه"))
    # brackets are mirrored in right-to-left runs
    assert display("(کارت)") == "(" + rev(shape("کارت")) + ")"
    # a left-to-right line with a Persian word keeps the word joined and reversed
    assert display("Vafa وفا club", False) == "Vafa " + rev(shape("وفا")) + " club"


def test_iran_system_salam_in_visual_order():
    # سلام: seen initial (A8), lam-alef final (F2), meem isolated (F4); printed left to right
    # as meem, lam-alef, seen.
    assert encode("سلام") == bytes((0xF4, 0xF2, 0xA8))


def test_iran_system_known_words():
    assert hexu(encode("علی")) == "FCF3E4"
    assert hexu(encode("حسن")) == "F6A89F"
    assert hexu(encode("محمدحسین")) == "F6FEA89FA2F59FF5"


def test_iran_system_mixed_persian_and_digits():
    # مبلغ ۱۲٬۰۰۰ ریال, right to left: "ریال" at the left end (lam F1, alef final 91,
    # yeh initial FE, reh A4), then the number left to right (digits 80-89, ٬ as ","),
    # then "مبلغ" (ghain final E6, lam medial F3, beh medial 93, meem initial F5).
    expected = "F1 91 FE A4 20 81 82 2C 80 80 80 20 E6 F3 93 F5"
    assert hexu(encode("مبلغ ۱۲٬۰۰۰ ریال")) == expected.replace(" ", "")
    # ASCII passes through; Latin digits stay Latin
    assert encode("RRN 123") == b"RRN 123"
    assert encode("شماره 123") == b"123 " + encode("شماره")


def test_iran_system_table():
    assert len(KEYS) == len(VALUES)
    for i in range(10):
        assert byte_for(chr(0x06F0 + i)) == 0x80 + i
        assert byte_for(chr(0x0660 + i)) == 0x80 + i
    assert byte_for("\u060c") == 0x8A and byte_for("\u061f") == 0x8C
    assert byte_for("\ufefb") == 0xF2 and byte_for("\ufefc") == 0xF2
    # ain and ghain have all four forms
    assert [byte_for(c) for c in "\ufec9\ufeca\ufecb\ufecc"] == [0xE1, 0xE2, 0xE4, 0xE3]
    assert [byte_for(c) for c in "\ufecd\ufece\ufecf\ufed0"] == [0xE5, 0xE6, 0xE8, 0xE7]
    # heh and yeh
    assert [byte_for(c) for c in "\ufee9\ufeea\ufeeb\ufeec"] == [0xF9, 0xF9, 0xFB, 0xFA]
    assert [byte_for(c) for c in "\ufbfc\ufbfd\ufbfe\ufbff"] == [0xFD, 0xFC, 0xFE, 0xFE]
    # every form the shaper produces has a byte (nothing prints as "?")
    for ch in LETTERS:
        for form in forms_of(ch):
            assert byte_for(form) is not None, hex(ord(form))
    for pair in LAM_ALEF.values():
        for form in pair:
            assert byte_for(form) == 0xF2
    assert encode_visual("\u4e2d") == b"?"
    assert byte_for("A") == 0x41


def test_digits_and_money():
    assert money(1200000, "fa") == "۱٬۲۰۰٬۰۰۰"
    assert money(1200000, "en") == "1,200,000"
    assert money(0, "fa") == "۰" and money(999, "en") == "999"
    assert money(-1234, "en") == "-1,234"
    assert persian_digits("1403/01/01") == "۱۴۰۳/۰۱/۰۱"
    assert ascii_digits("۱۲۳٤") == "1234"
    assert localize("000123", "fa") == "۰۰۰۱۲۳"
    assert localize("VT000001", "fa") == "VT000001"  # ids with Latin letters stay as printed
    assert localize("000123", "en") == "000123"
