"""Persian shaping: contextual letter forms and the lam-alef ligature, in logical order.

shape(text) replaces each Arabic-script letter by its presentation form (Unicode blocks
FB50-FDFF and FE70-FEFF) chosen by the joining types of Unicode's ArabicShaping.txt:

    D  dual-joining    joins on both sides (beh, seen, lam, yeh ...)
    R  right-joining   joins only to the letter before it (alef, dal, reh, waw ...)
    C  join-causing    tatweel U+0640 and ZWJ U+200D
    U  non-joining     hamza, ZWNJ U+200C, everything else
    T  transparent     harakat: skipped when looking at the neighbours

A letter joins the one before it when it is D, R or C and the previous (non-transparent)
character is D or C; it joins the one after it when it is D or C and the next is D, R or C.
Both -> medial, only after -> initial, only before -> final, neither -> isolated. Lam followed
by an alef (آ أ إ ا) becomes one ligature (final when the lam joins the letter before it).
ZWNJ and ZWJ do their job and are removed; harakat are dropped (receipts and small panels
have no room for them). The result is still in logical order: agent.printing.bidi reorders.

    >>> shape("سلام") == "\\ufeb3\\ufefc\\ufee1"
    True
"""

# Each letter and its forms: isolated, final, initial, medial ("\0" where the letter has no
# such form). Joining type: 4 forms = dual-joining (D), 2 = right-joining (R), 1 = non-joining.
# Kept as two strings, not a dict: a few hundred bytes of heap under MicroPython.
# fmt: off
LETTERS = (
    "\u0621"  # hamza (U: one form)
    "\u0622"  # alef with madda
    "\u0623"  # alef with hamza above
    "\u0624"  # waw with hamza
    "\u0625"  # alef with hamza below
    "\u0626"  # yeh with hamza
    "\u0627"  # alef
    "\u0628"  # beh
    "\u0629"  # teh marbuta
    "\u062a"  # teh
    "\u062b"  # theh
    "\u062c"  # jeem
    "\u062d"  # hah
    "\u062e"  # khah
    "\u062f"  # dal
    "\u0630"  # thal
    "\u0631"  # reh
    "\u0632"  # zain
    "\u0633"  # seen
    "\u0634"  # sheen
    "\u0635"  # sad
    "\u0636"  # dad
    "\u0637"  # tah
    "\u0638"  # zah
    "\u0639"  # ain
    "\u063a"  # ghain
    "\u0641"  # feh
    "\u0642"  # qaf
    "\u0643"  # Arabic kaf
    "\u0644"  # lam
    "\u0645"  # meem
    "\u0646"  # noon
    "\u0647"  # heh
    "\u0648"  # waw
    "\u0649"  # alef maksura
    "\u064a"  # Arabic yeh
    "\u067e"  # peh
    "\u0686"  # tcheh
    "\u0698"  # jeh
    "\u06a9"  # keheh (Persian kaf)
    "\u06af"  # gaf
    "\u06c0"  # heh with yeh above
    "\u06cc"  # Farsi yeh
)
FORMS_TABLE = (
    "\ufe80\u0000\u0000\u0000"  # hamza (U: one form)
    "\ufe81\ufe82\u0000\u0000"  # alef with madda
    "\ufe83\ufe84\u0000\u0000"  # alef with hamza above
    "\ufe85\ufe86\u0000\u0000"  # waw with hamza
    "\ufe87\ufe88\u0000\u0000"  # alef with hamza below
    "\ufe89\ufe8a\ufe8b\ufe8c"  # yeh with hamza
    "\ufe8d\ufe8e\u0000\u0000"  # alef
    "\ufe8f\ufe90\ufe91\ufe92"  # beh
    "\ufe93\ufe94\u0000\u0000"  # teh marbuta
    "\ufe95\ufe96\ufe97\ufe98"  # teh
    "\ufe99\ufe9a\ufe9b\ufe9c"  # theh
    "\ufe9d\ufe9e\ufe9f\ufea0"  # jeem
    "\ufea1\ufea2\ufea3\ufea4"  # hah
    "\ufea5\ufea6\ufea7\ufea8"  # khah
    "\ufea9\ufeaa\u0000\u0000"  # dal
    "\ufeab\ufeac\u0000\u0000"  # thal
    "\ufead\ufeae\u0000\u0000"  # reh
    "\ufeaf\ufeb0\u0000\u0000"  # zain
    "\ufeb1\ufeb2\ufeb3\ufeb4"  # seen
    "\ufeb5\ufeb6\ufeb7\ufeb8"  # sheen
    "\ufeb9\ufeba\ufebb\ufebc"  # sad
    "\ufebd\ufebe\ufebf\ufec0"  # dad
    "\ufec1\ufec2\ufec3\ufec4"  # tah
    "\ufec5\ufec6\ufec7\ufec8"  # zah
    "\ufec9\ufeca\ufecb\ufecc"  # ain
    "\ufecd\ufece\ufecf\ufed0"  # ghain
    "\ufed1\ufed2\ufed3\ufed4"  # feh
    "\ufed5\ufed6\ufed7\ufed8"  # qaf
    "\ufed9\ufeda\ufedb\ufedc"  # Arabic kaf
    "\ufedd\ufede\ufedf\ufee0"  # lam
    "\ufee1\ufee2\ufee3\ufee4"  # meem
    "\ufee5\ufee6\ufee7\ufee8"  # noon
    "\ufee9\ufeea\ufeeb\ufeec"  # heh
    "\ufeed\ufeee\u0000\u0000"  # waw
    "\ufeef\ufef0\ufbe8\ufbe9"  # alef maksura
    "\ufef1\ufef2\ufef3\ufef4"  # Arabic yeh
    "\ufb56\ufb57\ufb58\ufb59"  # peh
    "\ufb7a\ufb7b\ufb7c\ufb7d"  # tcheh
    "\ufb8a\ufb8b\u0000\u0000"  # jeh
    "\ufb8e\ufb8f\ufb90\ufb91"  # keheh (Persian kaf)
    "\ufb92\ufb93\ufb94\ufb95"  # gaf
    "\ufba4\ufba5\u0000\u0000"  # heh with yeh above
    "\ufbfc\ufbfd\ufbfe\ufbff"  # Farsi yeh
)
# fmt: on


def forms_of(ch):
    """The forms of a letter (isolated, final[, initial, medial]), or None."""
    i = LETTERS.find(ch)
    if i < 0:
        return None
    forms = FORMS_TABLE[4 * i : 4 * i + 4]
    end = forms.find("\0")
    return forms if end < 0 else forms[:end]


# alef variant -> lam-alef ligature (isolated, final)
LAM = "\u0644"
LAM_ALEF = {
    "\u0622": "\ufef5\ufef6",
    "\u0623": "\ufef7\ufef8",
    "\u0625": "\ufef9\ufefa",
    "\u0627": "\ufefb\ufefc",
}
TATWEEL = "\u0640"
ZWNJ = "\u200c"
ZWJ = "\u200d"


def is_transparent(ch):
    o = ord(ch)
    return 0x064B <= o <= 0x065F or o == 0x0670


def joining_type(ch):
    """'D', 'R', 'C', 'U' or 'T' for one character."""
    i = LETTERS.find(ch)
    if i >= 0:  # the table read in place: a slice (forms_of) is a new string under MicroPython
        if FORMS_TABLE[4 * i + 2] != "\0":
            return "D"
        return "R" if FORMS_TABLE[4 * i + 1] != "\0" else "U"
    if ch in (TATWEEL, ZWJ):
        return "C"
    if is_transparent(ch):
        return "T"
    return "U"


def shape(text):
    """Presentation forms for the Arabic-script letters of text, logical order kept."""
    chars = [c for c in text if not is_transparent(c)]
    types = [joining_type(c) for c in chars]
    out = []
    n = len(chars)
    i = 0
    while i < n:
        ch = chars[i]
        t = types[i]
        before = i > 0 and types[i - 1] in ("D", "C") and t in ("D", "R", "C")
        if ch == LAM and i + 1 < n and chars[i + 1] in LAM_ALEF:
            out.append(LAM_ALEF[chars[i + 1]][1 if before else 0])
            i += 2
            continue
        k = LETTERS.find(ch)
        if k < 0:
            if ch != ZWNJ and ch != ZWJ:
                out.append(ch)
            i += 1
            continue
        k *= 4  # the letter's forms: FORMS_TABLE[k:k + 4], per its joining type t (D, R, U)
        after = t == "D" and i + 1 < n and types[i + 1] in ("D", "R", "C")
        if after:
            out.append(FORMS_TABLE[k + 3] if before else FORMS_TABLE[k + 2])
        elif t != "U" and before:
            out.append(FORMS_TABLE[k + 1])
        else:
            out.append(FORMS_TABLE[k])
        i += 1
    return "".join(out)


def is_rtl_char(ch):
    """Strong right-to-left: Hebrew and Arabic script letters and their presentation forms."""
    o = ord(ch)
    if 0x0590 <= o <= 0x08FF:
        return not (0x0660 <= o <= 0x066C or 0x06F0 <= o <= 0x06F9 or is_transparent(ch))
    return 0xFB1D <= o <= 0xFDFF or 0xFE70 <= o <= 0xFEFC


def has_rtl(text):
    # a loop, not any(): no generator object per call under MicroPython
    for ch in text:  # noqa: SIM110
        if ord(ch) >= 0x0590 and is_rtl_char(ch):
            return True
    return False
