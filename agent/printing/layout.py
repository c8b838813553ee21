"""The receipt layout model: a list of typed lines, independent of the printer.

    doc = Receipt(rtl=False)
    doc.text("VAFA", CENTER, BOLD | DOUBLE)
    doc.row("Total", "1,000")
    doc.sep()
    doc.qr("vafa:T=VT000001;S=000001")
    doc.cut()

Each line is a tuple whose first item is its kind:

    ("text", text, align, style)   align LEFT / CENTER / RIGHT, style BOLD | DOUBLE
    ("row", label, value, style)   two columns: label at the start, value at the end
                                   (start = left in an LTR receipt, right in an RTL one)
    ("sep", char)                  a full-width rule
    ("qr", data, size)             a QR code (model 2), module size in dots
    ("feed", n)                    n blank lines
    ("cut",)                       paper cut

Text is logical Unicode; renderers shape and reorder it (agent/printing/escpos.py for ESC/POS
bytes, text_lines() here for plain text, simulator/printer/raster.py for images).
"""

from agent.printing.shaping import has_rtl, shape

LEFT = 0
CENTER = 1
RIGHT = 2
BOLD = 1
DOUBLE = 2


class Receipt:
    """A receipt as typed lines; rtl=True for a Persian receipt (start = right)."""

    def __init__(self, rtl=False):
        self.rtl = rtl
        self.lines = []

    @property
    def start(self):
        return RIGHT if self.rtl else LEFT

    def text(self, text, align=None, style=0):
        self.lines.append(("text", text, self.start if align is None else align, style))
        return self

    def row(self, label, value, style=0):
        self.lines.append(("row", label, str(value), style))
        return self

    def sep(self, char="-"):
        self.lines.append(("sep", char))
        return self

    def qr(self, data, size=6):
        self.lines.append(("qr", data, size))
        return self

    def feed(self, n=1):
        self.lines.append(("feed", n))
        return self

    def cut(self):
        self.lines.append(("cut",))
        return self

    def __len__(self):
        return len(self.lines)


def cells(text):
    """Printer character cells text takes (lam-alef pairs print as one glyph)."""
    return len(shape(text)) if has_rtl(text) else len(text)


def _measure(word):
    """(has RTL, len, len shaped) of one word. A line's cells add up word by word: shaping only
    drops or merges characters inside a word (harakat, ZWNJ/ZWJ, lam-alef), never a space."""
    return has_rtl(word), len(word), len(shape(word))


def wrap(text, width):
    """Word-wrap logical text into lines of at most width cells; long words are cut."""
    if not has_rtl(text):
        return _wrap_plain(text, width)
    lines = []
    for para in text.split("\n"):
        line = ""
        # cells(line) without scanning it again: line is shaped (its cells are `shaped`) when
        # any of its words has RTL letters, else counted as is (`plain`)
        rtl = False
        plain = shaped = 0
        for word in para.split():
            w_rtl, w_plain, w_shaped = _measure(word)
            n = shaped if rtl else plain
            if line and n + 1 + (w_shaped if w_rtl else w_plain) > width:
                lines.append(line)
                line = ""
            while (w_shaped if w_rtl else w_plain) > width:
                cut = width
                while cut > 1 and cells(word[:cut]) > width:
                    cut -= 1
                if line:
                    lines.append(line)
                    line = ""
                lines.append(word[:cut])
                word = word[cut:]
                w_rtl, w_plain, w_shaped = _measure(word)
            if line:
                line = line + " " + word
                rtl = rtl or w_rtl
                plain += 1 + w_plain
                shaped += 1 + w_shaped
            else:
                line = word
                rtl, plain, shaped = w_rtl, w_plain, w_shaped
        lines.append(line)
    return lines


def _wrap_plain(text, width):
    """wrap() for text without RTL letters: cells are characters, lines joined once."""
    lines = []
    for para in text.split("\n"):
        words = para.split()
        if len(para) <= width:
            lines.append(" ".join(words))  # one line (the usual receipt line)
            continue
        line = []
        n = 0
        for word in words:
            if line and n + 1 + len(word) > width:
                lines.append(" ".join(line))
                line = []
            while len(word) > width:
                if line:
                    lines.append(" ".join(line))
                    line = []
                lines.append(word[:width])
                word = word[width:]
            n = n + 1 + len(word) if line else len(word)
            line.append(word)
        lines.append(" ".join(line))
    return lines


def pad(text, width, align):
    """Logical text padded with spaces to width cells (or cut to it)."""
    n = cells(text)
    if n > width:
        return text[:width]
    room = width - n
    if align == CENTER:
        return " " * (room // 2) + text + " " * (room - room // 2)
    if align == RIGHT:
        return " " * room + text
    return text + " " * room


def two_columns(label, value, width):
    """One line with label at the start and value at the end, or two lines when too long."""
    n_value = cells(value)
    room = width - n_value - 1
    if room >= 1:
        n_label = cells(label)
        if n_label <= room:
            return [label + " " * (width - n_label - n_value) + value]
        return [label[:room] + " " + value]
    return [label[:width], value[:width]]


def text_lines(doc, width):
    """The receipt as plain text lines (logical order, no styles, QR and cut left out)."""
    out = []
    for line in doc.lines:
        kind = line[0]
        if kind == "text":
            w = width // 2 if line[3] & DOUBLE else width
            for part in wrap(line[1], w):
                if line[2] == LEFT or (doc.rtl and line[2] == RIGHT):
                    out.append(part)
                else:
                    out.append(pad(part, width, line[2]).rstrip())
        elif kind == "row":
            out.extend(two_columns(line[1], line[2], width))
        elif kind == "sep":
            out.append(line[1] * width)
        elif kind == "feed":
            out.extend([""] * line[1])
    return out
