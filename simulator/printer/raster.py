"""Receipt lines as raster images (CPython, Pillow): Persian for printers without a Persian
code page, and the way back from ESC/POS bytes to a picture.

PillowRasterizer is the `rasterize` hook of agent/printing/escpos.py for "raster" profiles:
(segments, style, rtl) -> (bytes per row, rows, data) for GS v 0. Persian is laid out
correctly by one of two paths (docs/receipts.md):

    raqm   (Pillow built with libraqm, the default when present): the logical text with
           direction="rtl"; HarfBuzz shapes and FriBiDi reorders
    basic  arabic-reshaper + python-bidi: get_display(reshape(text)), drawn without shaping

Feeding reshaped text to raqm would reverse it again: each path gets its own input.
The font is found on the machine by simulator/printer/fonts.py (DejaVu Sans where the
distribution installs it, else fontconfig's face for Persian; FontError, one line, when none
draws Persian letters), or given.

preview(data, dots) decodes an ESC/POS stream (raster lines, native QR codes, feeds) into an
image, as the paper would look.
"""

from PIL import Image, ImageDraw, ImageFont, features

from agent.printing.bidi import bidi_class, paragraph_rtl
from agent.printing.decode import parse
from agent.printing.layout import BOLD, CENTER, DOUBLE, RIGHT
from simulator.printer.fonts import find_fonts

MARGIN = 4


def has_raqm():
    return bool(features.check("raqm"))


def _strong(text):
    return any(bidi_class(ch) in ("L", "R", "AL") for ch in text)


class PillowRasterizer:
    """Draws receipt lines dots wide with a TTF font; layout "raqm", "basic" or "auto".
    Without font (and bold_font), the fonts are looked for (fonts.find_fonts: FontError when
    none draws Persian)."""

    def __init__(self, dots=576, size=24, font=None, bold_font=None, layout="auto"):
        if font is None or bold_font is None:
            found = find_fonts(font, bold_font)
            font, bold_font = found
        if layout == "auto":
            layout = "raqm" if has_raqm() else "basic"
        if layout not in ("raqm", "basic"):
            raise ValueError(f"layout must be raqm, basic or auto, not {layout!r}")
        self.dots = dots
        self.size = size
        self.layout = layout
        self.paths = {False: font, True: bold_font}
        self._fonts = {}

    def font(self, bold, double):
        key = (bold, double)
        if key not in self._fonts:
            engine = ImageFont.Layout.RAQM if self.layout == "raqm" else ImageFont.Layout.BASIC
            size = self.size * 2 if double else self.size
            self._fonts[key] = ImageFont.truetype(self.paths[bold], size, layout_engine=engine)
        return self._fonts[key]

    def prepare(self, text, rtl):
        """(what to draw, keyword arguments for Pillow) for one piece of logical text."""
        direction_rtl = paragraph_rtl(text) if _strong(text) else rtl
        if self.layout == "raqm":
            return text, {"direction": "rtl" if direction_rtl else "ltr"}
        from arabic_reshaper import ArabicReshaper
        from bidi import get_display

        reshaper = ArabicReshaper(configuration={"ARABIC LIGATURE ALLAH": False})
        return get_display(reshaper.reshape(text), base_dir="R" if direction_rtl else "L"), {}

    def image(self, segments, style, rtl):
        """An "L" image (ink 255 on 0) of one receipt line."""
        double = bool(style & DOUBLE)
        font = self.font(bool(style & BOLD), double)
        height = round(self.size * (2.5 if double else 1.25))
        img = Image.new("L", (self.dots, height), 0)
        draw = ImageDraw.Draw(img)
        if segments is None:  # a rule
            draw.line((MARGIN, height // 2, self.dots - MARGIN, height // 2), fill=255, width=2)
            return img
        baseline = round(height * 0.78)
        for text, align in segments:
            shown, kwargs = self.prepare(text, rtl)
            width = font.getlength(shown, **kwargs)
            if align == CENTER:
                x = (self.dots - width) / 2
            elif align == RIGHT:
                x = self.dots - MARGIN - width
            else:
                x = MARGIN
            draw.text((round(x), baseline), shown, font=font, fill=255, anchor="ls", **kwargs)
        return img

    def __call__(self, segments, style, rtl):
        return pack(self.image(segments, style, rtl))


def pack(img):
    """An "L" image (ink > 127) -> (bytes per row, rows, data) for GS v 0, MSB leftmost."""
    bw = img.point(lambda p: 255 if p > 127 else 0).convert("1")
    width_bytes = (bw.width + 7) // 8
    if bw.width % 8:
        padded = Image.new("1", (width_bytes * 8, bw.height), 0)
        padded.paste(bw, (0, 0))
        bw = padded
    return width_bytes, bw.height, bw.tobytes()


def unpack(width_bytes, height, data):
    """GS v 0 data -> an "L" image, ink 255 on 0."""
    return Image.frombytes("1", (width_bytes * 8, height), bytes(data)).convert("L")


def raster_blocks(data):
    """The images of every GS v 0 command in an ESC/POS stream, in order."""
    images = []
    for name, cmd in parse(data):
        if name == "GS v 0":
            xb = cmd[4] + 256 * cmd[5]
            yb = cmd[6] + 256 * cmd[7]
            images.append(unpack(xb, yb, cmd[8:]))
    return images


def _qr_image(payload, module):
    import qrcode

    code = qrcode.QRCode(
        border=1, box_size=module, error_correction=qrcode.constants.ERROR_CORRECT_M
    )
    code.add_data(payload)
    code.make(fit=True)
    return code.make_image(fill_color="white", back_color="black").get_image().convert("L")


def preview(data, dots=576, line_height=30):
    """A picture of the paper an ESC/POS stream prints: black ink on white.

    Raster lines are pasted as sent; native QR codes (GS ( k) are drawn with the qrcode
    package; feeds (LF, ESC d) leave space; text bytes are shown as grey bars (their glyphs
    are in the printer's ROM, not here)."""
    pieces = []
    module = 6
    stored = b""
    for name, cmd in parse(data):
        if name == "GS v 0":
            pieces.append(unpack(cmd[4] + 256 * cmd[5], cmd[6] + 256 * cmd[7], cmd[8:]))
        elif name == "GS ( k":
            fn = cmd[6]
            if fn == 0x43:
                module = cmd[7]
            elif fn == 0x50:
                stored = cmd[8:]
            elif fn == 0x51:
                pieces.append(_centered(_qr_image(stored.decode(), module), dots))
        elif name == "ESC d":
            pieces.append(Image.new("L", (dots, line_height * cmd[2]), 0))
        elif name == "text":
            bar = Image.new("L", (dots, line_height), 0)
            ImageDraw.Draw(bar).rectangle((MARGIN, 8, MARGIN + 12 * len(cmd), 20), fill=128)
            pieces.append(bar)
    height = sum(p.height for p in pieces) or 1
    page = Image.new("L", (dots, height), 0)
    y = 0
    for p in pieces:
        page.paste(p, (0, y))
        y += p.height
    return page.point(lambda v: 255 - v)


def _centered(img, dots):
    line = Image.new("L", (dots, img.height + 8), 0)
    line.paste(img, ((dots - img.width) // 2, 4))
    return line
