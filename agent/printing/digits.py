"""Numbers as a Persian or English reader expects them.

Persian: Persian digits ۰-۹ (U+06F0..U+06F9) and the Arabic thousands separator ٬ (U+066C);
English: ASCII digits and a comma. Amounts are rials, grouped by three.

    >>> money(1200000, "fa") == "۱٬۲۰۰٬۰۰۰"
    True
    >>> money(-5000, "en")
    '-5,000'
"""

PERSIAN_ZERO = 0x06F0
PERSIAN_SEPARATOR = "\u066c"


def persian_digits(text):
    """ASCII and Arabic-Indic digits -> Persian digits; everything else unchanged."""
    out = []
    for ch in str(text):
        o = ord(ch)
        if 0x30 <= o <= 0x39:
            out.append(chr(PERSIAN_ZERO + o - 0x30))
        elif 0x0660 <= o <= 0x0669:
            out.append(chr(PERSIAN_ZERO + o - 0x0660))
        else:
            out.append(ch)
    return "".join(out)


def ascii_digits(text):
    """Persian and Arabic-Indic digits -> ASCII digits (for parsing keyed input)."""
    out = []
    for ch in str(text):
        o = ord(ch)
        if 0x06F0 <= o <= 0x06F9:
            out.append(chr(0x30 + o - 0x06F0))
        elif 0x0660 <= o <= 0x0669:
            out.append(chr(0x30 + o - 0x0660))
        else:
            out.append(ch)
    return "".join(out)


def group(value, separator=","):
    """An integer with a separator every three digits."""
    digits = str(abs(int(value)))
    parts = []
    while len(digits) > 3:
        parts.append(digits[-3:])
        digits = digits[:-3]
    parts.append(digits)
    text = separator.join(reversed(parts))
    return "-" + text if value < 0 else text


def money(value, lang="en"):
    """An amount in rials: grouped digits in the language's digits and separator."""
    if lang == "fa":
        return persian_digits(group(value, PERSIAN_SEPARATOR))
    return group(value, ",")


def localize(text, lang="en"):
    """A value for display: digits become Persian in Persian, unless it holds Latin letters
    (terminal and merchant ids stay as printed on the terminal)."""
    text = str(text)
    if lang != "fa":
        return text
    for ch in text:
        if "A" <= ch <= "Z" or "a" <= ch <= "z":
            return text
    return persian_digits(text)
