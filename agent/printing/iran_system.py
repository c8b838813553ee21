"""The Iran System code page: shaped, visual-order text -> bytes.

Iran System (the DOS Persian code page of the Iran System corporation) keeps ASCII / CP437 in
0x00-0x7F and stores Persian as visual glyph forms in the upper half; the text is sent in
visual order (left to right as printed). Layout used here (Wikipedia, "Iran System encoding",
after the "IRAN SYSTEM to Unicode" table; the same bytes as the classic UnicodeToIransystem
converters, checked against real Iran System data in tests/portable/test_escpos.py):

    80-89  ۰ ۱ ۲ ۳ ۴ ۵ ۶ ۷ ۸ ۹          8A ،  8B ـ  8C ؟  8D ﺁ  8E ﺋ (initial/medial)  8F ﺀ
    90 ﺍ  91 ﺎ  92/93 beh  94/95 peh  96/97 teh  98/99 theh  9A/9B jeem  9C/9D tcheh
    9E/9F hah  A0/A1 khah  A2 dal  A3 thal  A4 reh  A5 zain  A6 jeh  A7/A8 seen  A9/AA sheen
    AB/AC sad  AD/AE dad  AF tah (all forms)  B0-DF box drawing (as CP437)  E0 zah (all forms)
    E1-E4 ain isolated/final/medial/initial  E5-E8 ghain the same  E9/EA feh  EB/EC qaf
    ED/EE keheh  EF/F0 gaf  F1 lam  F2 ﻻ  F3 lam initial/medial  F4/F5 meem  F6/F7 noon  F8 waw
    F9 heh isolated/final  FA heh medial  FB heh initial  FC ﯽ yeh final  FD ﯼ yeh isolated
    FE ﯾ yeh initial/medial  FF no-break space
    (pairs: first = isolated/final form, second = initial/medial form)

Letters the code page lacks are printed as their nearest form: Arabic kaf and yeh as keheh
and Farsi yeh, hamza-carrying alefs as alef, teh marbuta and heh with yeh as heh, lam with a
hamza/madda alef as ﻻ. Anything else becomes "?".
"""

from agent.printing.bidi import display

# KEYS[i] prints as VALUES[i]: presentation forms, and the plain letters and digits that
# stand for themselves. Two literals, not a dict: MicroPython keeps a module's constants for
# as long as the module lives, and a dict of 181 entries would take ~10 KB of its heap.
# fmt: off
KEYS = (
    "\u00ab\u00bb"  # 22 left-pointing double angle quotation mark
    "\u066c"  # 2C thousands separator
    "\u066b"  # 2E decimal separator
    "\u06f0\u0660"  # 80 extended arabic-indic digit zero
    "\u06f1\u0661"  # 81 extended arabic-indic digit one
    "\u06f2\u0662"  # 82 extended arabic-indic digit two
    "\u06f3\u0663"  # 83 extended arabic-indic digit three
    "\u06f4\u0664"  # 84 extended arabic-indic digit four
    "\u06f5\u0665"  # 85 extended arabic-indic digit five
    "\u06f6\u0666"  # 86 extended arabic-indic digit six
    "\u06f7\u0667"  # 87 extended arabic-indic digit seven
    "\u06f8\u0668"  # 88 extended arabic-indic digit eight
    "\u06f9\u0669"  # 89 extended arabic-indic digit nine
    "\u060c"  # 8A comma
    "\u0640"  # 8B tatweel
    "\u061f"  # 8C question mark
    "\ufe81\ufe82\u0622"  # 8D alef with madda above isolated
    "\ufe8b\ufe8c"  # 8E yeh with hamza above initial
    "\ufe80\u0621"  # 8F hamza isolated
    "\ufe8d\ufe83\ufe87"  # 90 alef isolated
    "\ufe8e\ufe84\ufe88"  # 91 alef final
    "\ufe8f\ufe90"  # 92 beh isolated
    "\ufe91\ufe92"  # 93 beh initial
    "\ufb56\ufb57"  # 94 peh isolated
    "\ufb58\ufb59"  # 95 peh initial
    "\ufe95\ufe96"  # 96 teh isolated
    "\ufe97\ufe98"  # 97 teh initial
    "\ufe99\ufe9a"  # 98 theh isolated
    "\ufe9b\ufe9c"  # 99 theh initial
    "\ufe9d\ufe9e"  # 9A jeem isolated
    "\ufe9f\ufea0"  # 9B jeem initial
    "\ufb7a\ufb7b"  # 9C tcheh isolated
    "\ufb7c\ufb7d"  # 9D tcheh initial
    "\ufea1\ufea2"  # 9E hah isolated
    "\ufea3\ufea4"  # 9F hah initial
    "\ufea5\ufea6"  # A0 khah isolated
    "\ufea7\ufea8"  # A1 khah initial
    "\ufea9\ufeaa"  # A2 dal isolated
    "\ufeab\ufeac"  # A3 thal isolated
    "\ufead\ufeae"  # A4 reh isolated
    "\ufeaf\ufeb0"  # A5 zain isolated
    "\ufb8a\ufb8b"  # A6 jeh isolated
    "\ufeb1\ufeb2"  # A7 seen isolated
    "\ufeb3\ufeb4"  # A8 seen initial
    "\ufeb5\ufeb6"  # A9 sheen isolated
    "\ufeb7\ufeb8"  # AA sheen initial
    "\ufeb9\ufeba"  # AB sad isolated
    "\ufebb\ufebc"  # AC sad initial
    "\ufebd\ufebe"  # AD dad isolated
    "\ufebf\ufec0"  # AE dad initial
    "\ufec1\ufec2\ufec3\ufec4"  # AF tah isolated
    "\ufec5\ufec6\ufec7\ufec8"  # E0 zah isolated
    "\ufec9"  # E1 ain isolated
    "\ufeca"  # E2 ain final
    "\ufecc"  # E3 ain medial
    "\ufecb"  # E4 ain initial
    "\ufecd"  # E5 ghain isolated
    "\ufece"  # E6 ghain final
    "\ufed0"  # E7 ghain medial
    "\ufecf"  # E8 ghain initial
    "\ufed1\ufed2"  # E9 feh isolated
    "\ufed3\ufed4"  # EA feh initial
    "\ufed5\ufed6"  # EB qaf isolated
    "\ufed7\ufed8"  # EC qaf initial
    "\ufb8e\ufb8f\ufed9\ufeda"  # ED keheh isolated
    "\ufb90\ufb91\ufedb\ufedc"  # EE keheh initial
    "\ufb92\ufb93"  # EF gaf isolated
    "\ufb94\ufb95"  # F0 gaf initial
    "\ufedd\ufede"  # F1 lam isolated
    "\ufefb\ufefc\ufef5\ufef6\ufef7\ufef8\ufef9\ufefa"  # F2 ligature lam with alef isolated
    "\ufedf\ufee0"  # F3 lam initial
    "\ufee1\ufee2"  # F4 meem isolated
    "\ufee3\ufee4"  # F5 meem initial
    "\ufee5\ufee6"  # F6 noon isolated
    "\ufee7\ufee8"  # F7 noon initial
    "\ufeed\ufeee\ufe85\ufe86"  # F8 waw isolated
    "\ufee9\ufeea\ufe93\ufe94\ufba4\ufba5"  # F9 heh isolated
    "\ufeec"  # FA heh medial
    "\ufeeb"  # FB heh initial
    "\ufbfd\ufef2\ufef0\ufe8a"  # FC farsi yeh final
    "\ufe89\ufbfc\ufef1\ufeef"  # FD yeh with hamza above isolated
    "\ufbfe\ufbff\ufef3\ufef4\ufbe8\ufbe9"  # FE farsi yeh initial
    "\u00a0"  # FF no-break space
)
VALUES = (
    b"\x22\x22"
    b"\x2c"
    b"\x2e"
    b"\x80\x80"
    b"\x81\x81"
    b"\x82\x82"
    b"\x83\x83"
    b"\x84\x84"
    b"\x85\x85"
    b"\x86\x86"
    b"\x87\x87"
    b"\x88\x88"
    b"\x89\x89"
    b"\x8a"
    b"\x8b"
    b"\x8c"
    b"\x8d\x8d\x8d"
    b"\x8e\x8e"
    b"\x8f\x8f"
    b"\x90\x90\x90"
    b"\x91\x91\x91"
    b"\x92\x92"
    b"\x93\x93"
    b"\x94\x94"
    b"\x95\x95"
    b"\x96\x96"
    b"\x97\x97"
    b"\x98\x98"
    b"\x99\x99"
    b"\x9a\x9a"
    b"\x9b\x9b"
    b"\x9c\x9c"
    b"\x9d\x9d"
    b"\x9e\x9e"
    b"\x9f\x9f"
    b"\xa0\xa0"
    b"\xa1\xa1"
    b"\xa2\xa2"
    b"\xa3\xa3"
    b"\xa4\xa4"
    b"\xa5\xa5"
    b"\xa6\xa6"
    b"\xa7\xa7"
    b"\xa8\xa8"
    b"\xa9\xa9"
    b"\xaa\xaa"
    b"\xab\xab"
    b"\xac\xac"
    b"\xad\xad"
    b"\xae\xae"
    b"\xaf\xaf\xaf\xaf"
    b"\xe0\xe0\xe0\xe0"
    b"\xe1"
    b"\xe2"
    b"\xe3"
    b"\xe4"
    b"\xe5"
    b"\xe6"
    b"\xe7"
    b"\xe8"
    b"\xe9\xe9"
    b"\xea\xea"
    b"\xeb\xeb"
    b"\xec\xec"
    b"\xed\xed\xed\xed"
    b"\xee\xee\xee\xee"
    b"\xef\xef"
    b"\xf0\xf0"
    b"\xf1\xf1"
    b"\xf2\xf2\xf2\xf2\xf2\xf2\xf2\xf2"
    b"\xf3\xf3"
    b"\xf4\xf4"
    b"\xf5\xf5"
    b"\xf6\xf6"
    b"\xf7\xf7"
    b"\xf8\xf8\xf8\xf8"
    b"\xf9\xf9\xf9\xf9\xf9\xf9"
    b"\xfa"
    b"\xfb"
    b"\xfc\xfc\xfc\xfc"
    b"\xfd\xfd\xfd\xfd"
    b"\xfe\xfe\xfe\xfe\xfe\xfe"
    b"\xff"
)
# fmt: on


def byte_for(ch):
    """The Iran System byte of one shaped character, or None."""
    o = ord(ch)
    if 0x20 <= o < 0x7F:
        return o
    i = KEYS.find(ch)
    return VALUES[i] if i >= 0 else None


def encode_visual(text):
    """Bytes for text that is already shaped and in visual order."""
    out = bytearray()
    for ch in text:
        b = byte_for(ch)
        out.append(0x3F if b is None else b)
    return bytes(out)


def encode(text, rtl=None):
    """Logical Unicode text -> Iran System bytes in visual order (shape, reorder, map).

    >>> encode("سلام")
    b'\\xf4\\xf2\\xa8'
    """
    return encode_visual(display(text, rtl))
