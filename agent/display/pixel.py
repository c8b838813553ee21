"""128x64 (or any size) 1-bit pixel panels, through framebuf: rendering above, the panel below.

PixelDisplay draws a screen (agent/display/screens.py) with the built-in bitmap font
(agent/display/font.py, 16-pixel rows: 4 rows on a 64-pixel panel) onto any object with
fill(c) and pixel(x, y, c), and calls its show() when it has one: micropython-lib's SSD1306
(a framebuf.FrameBuffer subclass whose show() sends the buffer over I2C or SPI), a bare
framebuf.FrameBuffer, or agent/display/fb.py's MonoFrameBuffer on CPython.

Persian is drawn properly here: each line is shaped (contextual forms, lam-alef), reordered
to visual order (agent/printing/bidi.py) and right-aligned; digits are Persian. Lines are
measured in pixels, wrapped into spare rows, and cut so that nothing is drawn off the panel.
"""

from agent.display import font
from agent.display.screens import render
from agent.printing.bidi import display
from agent.printing.shaping import has_rtl


def visual_width(text, rtl):
    return font.width(display(text, rtl) if rtl or has_rtl(text) else text)


class PixelDisplay:
    """A display port for a 1-bit pixel panel of width x height pixels."""

    def __init__(self, fb, width=128, height=64, lang="en", margin=1):
        self.fb = fb
        self.width = width
        self.height = height
        self.lang = lang
        self.margin = margin
        self.rows = height // font.HEIGHT
        self.lines = [""] * self.rows

    def measure(self, text):
        return visual_width(text, self.lang == "fa")

    def show(self, screen, **params):
        room = self.width - 2 * self.margin
        self.lines = render(screen, params, self.lang, self.rows, room, self.measure)
        self.fb.fill(0)
        rtl = self.lang == "fa"
        for row, line in enumerate(self.lines):
            text = display(line, rtl) if rtl or has_rtl(line) else line
            w = font.width(text)
            x = self.width - self.margin - w if rtl else self.margin
            font.draw(self.fb, x, row * font.HEIGHT, text)
        if hasattr(self.fb, "show"):
            self.fb.show()
