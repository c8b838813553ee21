"""Visual order for one line of mixed right-to-left and left-to-right text.

A compact implementation of the Unicode Bidirectional Algorithm (UAX #9) for a single
paragraph without explicit embeddings, overrides or isolates, which is what receipts and
screens contain: Persian words, numbers (with ٬ / , separators, %, +, -), Latin words and
punctuation. Rules applied: P2-P3 (paragraph direction from the first strong character
unless given), W1-W7, N0 (bracket pairs), N1-N2, I1-I2, L1 (trailing spaces at the
paragraph level), L2 (reversal) and L4 (mirrored brackets at odd levels). Boundary
neutrals (ZWJ, ZWNJ) are removed from the output; LRM and RLM count as strong marks.

    >>> visual("abc") == "abc"
    True
    >>> visual("\\u0627\\u0628 12") == "12 \\u0628\\u0627"
    True

tests/display/test_shaping_oracle.py compares it with python-bidi on a corpus of lines.
"""

from agent.printing.shaping import is_rtl_char, is_transparent

MIRROR = {"(": ")", ")": "(", "[": "]", "]": "[", "{": "}", "}": "{", "<": ">", ">": "<",
          "\u00ab": "\u00bb", "\u00bb": "\u00ab"}  # fmt: skip
OPENING = {"(": ")", "[": "]", "{": "}"}
CLOSING = (")", "]", "}")
_ES = "+-"
_ET = "#$%\u00a2\u00a3\u00a4\u00a5\u00b0\u00b1\u066a\u2030\u2031\u20ac\ufdfc"
_CS = ",.:/\u00a0\u060c"
_BN = "\u200b\u200c\u200d\ufeff"


def bidi_class(ch):
    """The bidi class of one character, for the characters a terminal prints."""
    o = ord(ch)
    if 0x30 <= o <= 0x39 or 0x06F0 <= o <= 0x06F9:
        return "EN"
    if 0x0660 <= o <= 0x0669 or o == 0x066B or o == 0x066C:
        return "AN"
    if ch == " ":
        return "WS"
    if ch in _ES:
        return "ES"
    if ch in _ET:
        return "ET"
    if ch in _CS:
        return "CS"
    if o == 0x200E:
        return "L"
    if o == 0x200F:
        return "R"
    if is_transparent(ch):
        return "NSM"
    if is_rtl_char(ch):
        return "R" if o < 0x0600 or 0xFB1D <= o <= 0xFB4F else "AL"
    if 0x41 <= o <= 0x5A or 0x61 <= o <= 0x7A or (0xC0 <= o <= 0x24F and o != 0xD7 and o != 0xF7):
        return "L"
    if ch == "\t":
        return "S"
    return "ON"


def paragraph_rtl(text):
    """P2-P3: True when the first strong character is right-to-left (False when none)."""
    for ch in text:
        c = bidi_class(ch)
        if c == "L":
            return False
        if c == "R" or c == "AL":
            return True
    return False


def _bracket_pairs(chars, types):
    """BD16: (open, close) index pairs of matching brackets among ON characters."""
    pairs = []
    stack = []
    for i in range(len(chars)):
        if types[i] != "ON":
            continue
        ch = chars[i]
        if ch in OPENING:
            if len(stack) == 63:
                break
            stack.append((OPENING[ch], i))
        elif ch in CLOSING:
            for k in range(len(stack) - 1, -1, -1):
                if stack[k][0] == ch:
                    pairs.append((stack[k][1], i))
                    del stack[k:]
                    break
    pairs.sort()
    return pairs


def _resolve(types, rtl, chars=None):
    n = len(types)
    sos = "R" if rtl else "L"
    # W1: non-spacing marks take the type of what precedes them
    prev = sos
    for i in range(n):
        if types[i] == "NSM":
            types[i] = prev
        prev = types[i]
    # W2: European numbers after Arabic letters become Arabic numbers; W3: AL -> R
    last = sos
    for i in range(n):
        t = types[i]
        if t == "L" or t == "R" or t == "AL":
            last = t
        elif t == "EN" and last == "AL":
            types[i] = "AN"
    for i in range(n):
        if types[i] == "AL":
            types[i] = "R"
    # W4: one separator between two numbers of the same kind joins them
    for i in range(1, n - 1):
        t = types[i]
        a = types[i - 1]
        b = types[i + 1]
        if t == "ES" and a == "EN" and b == "EN":
            types[i] = "EN"
        elif t == "CS" and a == b and a in ("EN", "AN"):
            types[i] = a
    # W5: terminators next to European numbers become European numbers
    i = 0
    while i < n:
        if types[i] == "ET":
            j = i
            while j < n and types[j] == "ET":
                j += 1
            if (i > 0 and types[i - 1] == "EN") or (j < n and types[j] == "EN"):
                for k in range(i, j):
                    types[k] = "EN"
            i = j
        else:
            i += 1
    # W6: the separators and terminators left are neutral
    for i in range(n):
        if types[i] in ("ES", "ET", "CS"):
            types[i] = "ON"
    # W7: European numbers after left-to-right text are left-to-right
    last = sos
    for i in range(n):
        t = types[i]
        if t == "L" or t == "R":
            last = t
        elif t == "EN" and last == "L":
            types[i] = "L"
    # N0: a bracket pair takes the direction of the strong text inside it (the paragraph's
    # when that is there, else the other one when the text before the pair agrees)
    if chars is not None:
        for start, end in _bracket_pairs(chars, types):
            inside = [_strong(t) for t in types[start + 1 : end] if t in ("L", "R", "EN", "AN")]
            if not inside:
                continue
            fill = sos
            if sos not in inside:  # only the other direction inside: follow the text before
                for k in range(start - 1, -1, -1):
                    if types[k] in ("L", "R", "EN", "AN"):
                        fill = _strong(types[k])
                        break
            types[start] = fill
            types[end] = fill
    # N1, N2: neutrals between two of the same direction take it, others the paragraph's
    i = 0
    while i < n:
        if types[i] in ("ON", "WS", "S"):
            j = i
            while j < n and types[j] in ("ON", "WS", "S"):
                j += 1
            before = sos if i == 0 else _strong(types[i - 1])
            after = sos if j == n else _strong(types[j])
            fill = before if before == after else sos
            for k in range(i, j):
                types[k] = fill
            i = j
        else:
            i += 1
    return types


def _strong(t):
    return "R" if t in ("R", "EN", "AN") else "L"


def visual(text, rtl=None):
    """The characters of one line in display order (left to right)."""
    chars = [c for c in text if c not in _BN]
    if rtl is None:
        rtl = paragraph_rtl(chars)
    original = [bidi_class(c) for c in chars]
    types = _resolve(list(original), rtl, chars)
    base = 1 if rtl else 0
    levels = []
    for t in types:
        if base == 0:
            levels.append(1 if t == "R" else (2 if t in ("AN", "EN") else 0))
        else:
            levels.append(2 if t in ("L", "EN", "AN") else 1)
    # L1: trailing whitespace goes back to the paragraph level
    i = len(chars) - 1
    while i >= 0 and original[i] in ("WS", "S"):
        levels[i] = base
        i -= 1
    for i in range(len(chars)):
        if original[i] == "S":
            levels[i] = base
            j = i - 1
            while j >= 0 and original[j] == "WS":
                levels[j] = base
                j -= 1
    # L4 before L2: mirror brackets that end up right-to-left
    for i in range(len(chars)):
        if levels[i] & 1 and chars[i] in MIRROR:
            chars[i] = MIRROR[chars[i]]
    # L2: reverse every run at level >= k, from the highest level down to the lowest odd one
    if chars:
        top = max(levels)
        low = 1
        for lv in levels:
            if lv & 1 and lv < low:
                low = lv
        k = top
        while k >= low:
            i = 0
            n = len(chars)
            while i < n:
                if levels[i] >= k:
                    j = i
                    while j < n and levels[j] >= k:
                        j += 1
                    chars[i:j] = chars[i:j][::-1]
                    levels[i:j] = levels[i:j][::-1]
                    i = j
                else:
                    i += 1
            k -= 1
    return "".join(chars)


def display(text, rtl=None):
    """Shaped and reordered: what a left-to-right device must draw for text.

    >>> display("سلام") == "\\ufee1\\ufefc\\ufeb3"
    True
    """
    from agent.printing.shaping import shape

    if rtl is None:
        rtl = paragraph_rtl(text)
    return visual(shape(text), rtl)
