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


def wrap(text, width):
    """Word-wrap logical text into lines of at most width cells; long words are cut."""
    lines = []
    for para in text.split("\n"):
        line = ""
        for word in para.split():
            if line and cells(line) + 1 + cells(word) > width:
                lines.append(line)
                line = ""
            while cells(word) > width:
                cut = width
                while cut > 1 and cells(word[:cut]) > width:
                    cut -= 1
                if line:
                    lines.append(line)
                    line = ""
                lines.append(word[:cut])
                word = word[cut:]
            line = line + " " + word if line else word
        lines.append(line)
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
    room = width - cells(value) - 1
    if room >= 1 and cells(label) <= room:
        return [label + " " * (width - cells(label) - cells(value)) + value]
    if room >= 1:
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
