"""ESC/POS bytes for a receipt layout (agent/printing/layout.py), for one printer profile.

Commands used (Epson ESC/POS; hex):

    ESC @            1B 40              initialize
    ESC t n          1B 74 n            select the character code table (profile "codepage")
    ESC a n          1B 61 n            justification: 0 left, 1 center, 2 right
    ESC E n          1B 45 n            emphasized (bold) on 1 / off 0
    GS ! n           1D 21 n            character size: 0x11 double width and height, 0 normal
    LF               0A                 print the line and feed
    ESC d n          1B 64 n            print and feed n lines
    GS ( k           1D 28 6B pL pH cn fn ...   QR code (cn 0x31): fn 0x41 model 2,
                                        0x43 module size, 0x45 error correction (M),
                                        0x50 store the data, 0x51 print it
    GS v 0 m xL xH yL yH d...           raster bit image, xL+xH*256 bytes a row, yL+yH*256 rows
    GS V m n         1D 56 m n          feed to the cutter and cut (m 65 full, 66 partial)
    DLE EOT 4        10 04 04           real-time status: the roll paper sensor (one byte back)

Text goes out per the profile's text mode: "ascii" (printable ASCII, anything else "?"),
"iran_system" (shaped, reordered and mapped by agent/printing/iran_system.py), or "raster"
(each line drawn by a rasterizer handed in: rasterize(segments, style, rtl) -> (bytes per
row, rows, data), with segments a list of (logical text, align), or None for a rule).
"""

from agent.printing.bidi import bidi_class, display, paragraph_rtl
from agent.printing.digits import ascii_digits
from agent.printing.iran_system import encode_visual
from agent.printing.layout import (
    BOLD,
    CENTER,
    DOUBLE,
    LEFT,
    RIGHT,
    cells,
    wrap,
)
from agent.printing.profiles import profile as get_profile

INIT = b"\x1b\x40"
LF = b"\x0a"
STATUS_PAPER = b"\x10\x04\x04"  # DLE EOT 4
STATUS_PRINTER = b"\x10\x04\x01"  # DLE EOT 1
QR_EC_M = 0x31


class RenderError(ValueError):
    """A receipt that cannot be rendered for the profile (the line kind says where)."""


def select_codepage(n):
    return b"\x1b\x74" + bytes((n,))


def justify(align):
    return b"\x1b\x61" + bytes((align,))


def emphasized(on):
    return b"\x1b\x45" + (b"\x01" if on else b"\x00")


def char_size(double):
    return b"\x1d\x21" + (b"\x11" if double else b"\x00")


def feed(n):
    return b"\x1b\x64" + bytes((n,))


def cut(mode, n=0):
    return b"\x1d\x56" + bytes((mode, n))


def _qr_fn(fn, data):
    n = len(data) + 2  # cn and fn, then the parameters
    return b"\x1d\x28\x6b" + bytes((n & 0xFF, n >> 8, 0x31, fn)) + data


def qr(data, size=6, ec=QR_EC_M):
    """Model 2 QR code: select the model, module size and error correction, store, print."""
    if isinstance(data, str):
        data = data.encode()
    if len(data) > 7089:
        raise RenderError("qr: data longer than 7089 bytes")
    return (
        b"\x1d\x28\x6b\x04\x00\x31\x41\x32\x00"  # fn 65: model 2
        + b"\x1d\x28\x6b\x03\x00\x31\x43" + bytes((size,))  # fn 67: module size
        + b"\x1d\x28\x6b\x03\x00\x31\x45" + bytes((ec,))  # fn 69: error correction
        + _qr_fn(0x50, b"\x30" + data)  # fn 80: store (m = 48)
        + b"\x1d\x28\x6b\x03\x00\x31\x51\x30"  # fn 81: print
    )  # fmt: skip


def raster(width_bytes, height, data, mode=0):
    """GS v 0: a raster image, rows of width_bytes bytes, most significant bit leftmost."""
    if len(data) != width_bytes * height:
        raise RenderError(f"raster: {len(data)} bytes for {width_bytes} x {height}")
    head = bytes((mode, width_bytes & 0xFF, width_bytes >> 8, height & 0xFF, height >> 8))
    return b"\x1d\x76\x30" + head + bytes(data)


def paper_status(answer):
    """The answer to DLE EOT 4 -> "ok", "near_end", "out", or None when it is no status byte.

    Bits: 2-3 set = roll paper near its end, 5-6 set = roll paper end; bits 1 and 4 are
    always 1, bits 0 and 7 always 0.
    """
    if not answer:
        return None
    b = answer[0]
    if b & 0x93 != 0x12:
        return None
    if b & 0x60:
        return "out"
    if b & 0x0C:
        return "near_end"
    return "ok"


def _ascii(text):
    data = text.encode()
    if len(data) == len(text):  # ASCII only (UTF-8 bytes = characters): no copy per char
        for o in data:
            if o < 0x20 or o == 0x7F:
                break
        else:
            return data
    out = bytearray()
    for ch in ascii_digits(text):
        o = ord(ch)
        out.append(o if 0x20 <= o < 0x7F else 0x3F)
    return bytes(out)


class _Renderer:
    def __init__(self, doc, prof, rasterize):
        self.doc = doc
        self.prof = prof
        self.mode = prof["text"]
        self.rasterize = rasterize
        self.out = bytearray(INIT)
        if self.mode == "raster" and rasterize is None:
            raise RenderError("a raster profile needs a rasterizer")

    def visual(self, text, rtl=None):
        """Visual-order printer bytes for one logical line (code page modes)."""
        if self.mode == "ascii":
            return _ascii(text)
        if rtl is None:
            rtl = paragraph_rtl(text) if _strong(text) else self.doc.rtl
        return encode_visual(display(text, rtl))

    def image(self, segments, style):
        width_bytes, height, data = self.rasterize(segments, style, self.doc.rtl)
        self.out += raster(width_bytes, height, data)

    def styled(self, style, on):
        if style & BOLD:
            self.out += emphasized(on)
        if style & DOUBLE:
            self.out += char_size(on)

    def text(self, text, align, style):
        width = self.prof["width"] // 2 if style & DOUBLE else self.prof["width"]
        parts = wrap(text, width)
        if self.mode == "raster":
            for part in parts:
                self.image([(part, align)], style)
            return
        self.out += justify(align)
        self.styled(style, True)
        for part in parts:
            self.out += self.visual(part) + LF
        self.styled(style, False)

    def row(self, label, value, style):
        width = self.prof["width"] // 2 if style & DOUBLE else self.prof["width"]
        start, end = (RIGHT, LEFT) if self.doc.rtl else (LEFT, RIGHT)
        n_label = cells(label)
        n_value = cells(value)
        fits = n_label + 1 + n_value <= width
        if self.mode == "raster":
            if fits:
                self.image([(label, start), (value, end)], style)
            else:
                self.image([(label, start)], style)
                self.image([(value, end)], style)
            return
        self.out += justify(LEFT)
        self.styled(style, True)
        if fits:
            gap = b" " * (width - n_label - n_value)
            a = self.visual(label)
            b = self.visual(value)
            self.out += (b + gap + a if self.doc.rtl else a + gap + b) + LF
        else:
            for part, align in ((label[:width], start), (value[:width], end)):
                self.out += justify(align) + self.visual(part) + LF
        self.styled(style, False)

    def line(self, line):
        kind = line[0]
        if kind == "text":
            self.text(line[1], line[2], line[3])
        elif kind == "row":
            self.row(line[1], line[2], line[3])
        elif kind == "sep":
            if self.mode == "raster":
                self.image(None, 0)
            else:
                self.out += justify(LEFT) + self.visual(line[1] * self.prof["width"]) + LF
        elif kind == "qr":
            if self.prof["qr"]:
                self.out += justify(CENTER) + qr(line[1], line[2]) + LF + justify(LEFT)
            else:
                self.text(line[1], CENTER, 0)
        elif kind == "feed":
            self.out += feed(line[1])
        elif kind == "cut":
            if self.prof["cut"] is None:
                self.out += feed(4)
            else:
                self.out += cut(self.prof["cut"])
        else:
            raise RenderError(f"unknown line kind {kind!r}")


def _strong(text):
    # a loop, not any(): no generator object per line under MicroPython
    for ch in text:  # noqa: SIM110
        if bidi_class(ch) in ("L", "R", "AL"):
            return True
    return False


def render(doc, profile="ascii-58", rasterize=None):
    """ESC/POS bytes for a Receipt on a printer profile (a name or a profile dict)."""
    prof = get_profile(profile)
    r = _Renderer(doc, prof, rasterize)
    if prof["codepage"] is not None and prof["text"] != "raster":
        r.out += select_codepage(prof["codepage"])
    for line in doc.lines:
        r.line(line)
    return bytes(r.out)
