"""The project's Persian shaping and reordering against arabic-reshaper + python-bidi, and its
Iran System table against the published layout.

arabic-reshaper is configured like agent/printing/shaping.py: harakat dropped, only the
lam-alef ligatures (no "Allah" ligature). python-bidi does not mirror brackets (UAX #9 rule
L4); agent/printing/bidi.py does, so brackets are compared as one neutral symbol here and
mirroring is checked in tests/portable/test_shaping.py.
"""

import pytest

from agent.printing.bidi import display
from agent.printing.iran_system import byte_for, encode

arabic_reshaper = pytest.importorskip("arabic_reshaper")
bidi = pytest.importorskip("bidi")

RESHAPER = arabic_reshaper.ArabicReshaper(configuration={"ARABIC LIGATURE ALLAH": False})

CORPUS = (
    "سلام",
    "با تشکر از خرید شما",
    "مبلغ ۱٬۲۰۰٬۰۰۰ ریال",
    "قابل پرداخت ۱٬۰۸۵٬۰۰۰",
    "کارت ****۷۸۹۰",
    "شماره پیگیری: 000123",
    "تاریخ ۱۴۰۳/۰۱/۰۱ ۱۲:۳۰",
    "پایانه VT000001",
    "سطح A",
    "A سطح",
    "Vafa وفا club",
    "خرید 12,000 تومان - 10%",
    "می‌شود",
    "لا الله آلات لآلی",
    "گل‌های زیبا؟",
    "ژاله، چای و گز",
    "پرداخت (کارت بانکی)",
    "١٢٣ ٤٥",
    "مبلغ: 1,200,000 ریال.",
    "  فاصله  ",
    "a-b +12 -3",
    "عضو جدید: تاریخ تولد را وارد کنید",
    "امتیاز این خرید ۱۲۰ - مانده امتیاز ۱٬۵۲۰",
    "ئ ؤ أ إ ة ۀ ك ي ى",
    "بـــــا",
    "اعتبار شما تا ۱۴۰۴/۰۶/۳۱ معتبر است",
    "برگشت ارسال شد (PR)",
    "رد شد (۵۱)",
    "abc (سلام) def",
    "سلام (abc) دنیا",
    "سلام [abc (دنیا) x] پایان",
    "(کارت) abc",
    "Credit (rials): ۱۲۰",
)


def neutral_brackets(text):
    for ch in "()[]":
        text = text.replace(ch, "|")
    return text


@pytest.mark.parametrize("text", CORPUS)
def test_display_matches_arabic_reshaper_and_python_bidi(text):
    reference = bidi.get_display(RESHAPER.reshape(text)).replace("\u200c", "")
    assert neutral_brackets(display(text)) == neutral_brackets(reference)


@pytest.mark.parametrize("text", CORPUS)
def test_display_in_an_ltr_paragraph_matches_too(text):
    reference = bidi.get_display(RESHAPER.reshape(text), base_dir="L").replace("\u200c", "")
    assert neutral_brackets(display(text, False)) == neutral_brackets(reference)


# The upper half of Iran System as published (Wikipedia, "Iran System encoding"): the byte and
# the presentation form it shows. B0-DF are box drawing, as in code page 437.
PUBLISHED = {
    0x80: 0x06F0, 0x81: 0x06F1, 0x82: 0x06F2, 0x83: 0x06F3, 0x84: 0x06F4, 0x85: 0x06F5,
    0x86: 0x06F6, 0x87: 0x06F7, 0x88: 0x06F8, 0x89: 0x06F9, 0x8A: 0x060C, 0x8B: 0x0640,
    0x8C: 0x061F, 0x8D: 0xFE81, 0x8E: 0xFE8B, 0x8F: 0xFE80,
    0x90: 0xFE8D, 0x91: 0xFE8E, 0x92: 0xFE8F, 0x93: 0xFE91, 0x94: 0xFB56, 0x95: 0xFB58,
    0x96: 0xFE95, 0x97: 0xFE97, 0x98: 0xFE99, 0x99: 0xFE9B, 0x9A: 0xFE9D, 0x9B: 0xFE9F,
    0x9C: 0xFB7A, 0x9D: 0xFB7C, 0x9E: 0xFEA1, 0x9F: 0xFEA3,
    0xA0: 0xFEA5, 0xA1: 0xFEA7, 0xA2: 0xFEA9, 0xA3: 0xFEAB, 0xA4: 0xFEAD, 0xA5: 0xFEAF,
    0xA6: 0xFB8A, 0xA7: 0xFEB1, 0xA8: 0xFEB3, 0xA9: 0xFEB5, 0xAA: 0xFEB7, 0xAB: 0xFEB9,
    0xAC: 0xFEBB, 0xAD: 0xFEBD, 0xAE: 0xFEBF, 0xAF: 0xFEC1,
    0xE0: 0xFEC5, 0xE1: 0xFEC9, 0xE2: 0xFECA, 0xE3: 0xFECC, 0xE4: 0xFECB, 0xE5: 0xFECD,
    0xE6: 0xFECE, 0xE7: 0xFED0, 0xE8: 0xFECF, 0xE9: 0xFED1, 0xEA: 0xFED3, 0xEB: 0xFED5,
    0xEC: 0xFED7, 0xED: 0xFB8E, 0xEE: 0xFB90, 0xEF: 0xFB92,
    0xF0: 0xFB94, 0xF1: 0xFEDD, 0xF2: 0xFEFB, 0xF3: 0xFEDF, 0xF4: 0xFEE1, 0xF5: 0xFEE3,
    0xF6: 0xFEE5, 0xF7: 0xFEE7, 0xF8: 0xFEED, 0xF9: 0xFEE9, 0xFA: 0xFEEC, 0xFB: 0xFEEB,
    0xFC: 0xFBFD, 0xFD: 0xFBFC, 0xFE: 0xFBFE, 0xFF: 0x00A0,
}  # fmt: skip


def test_iran_system_table_matches_the_published_layout():
    for byte, form in PUBLISHED.items():
        assert byte_for(chr(form)) == byte, (hex(byte), hex(form))


def test_every_persian_word_of_the_screens_and_receipts_prints_without_question_marks():
    from agent.display.screens import SCREENS
    from agent.printing import receipt_fa

    texts = list(receipt_fa.TITLES.values()) + list(receipt_fa.LABELS.values())
    for entry in SCREENS.values():
        texts.extend(entry["fa"])
    for text in texts:
        plain = text
        for name in ("{", "}"):
            plain = plain.replace(name, "")
        assert b"?" not in encode(plain) or "?" in plain or "؟" in plain, text
