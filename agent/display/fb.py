"""A 1-bit framebuffer for the pixel panel: MicroPython's framebuf where it exists, else a
small pure-Python one with the same memory layout (MONO_VLSB, as ssd1306 panels use).

framebuf is imported lazily, inside new_framebuffer(): CPython has no framebuf module.
"""


class MonoFrameBuffer:
    """MONO_VLSB: byte (y // 8) * width + x holds 8 vertical pixels, bit 0 at the top.

    strict=True raises IndexError for a pixel outside the panel (framebuf clips silently):
    the tests use it to prove every screen stays within the panel.
    """

    def __init__(self, width, height, strict=False, buffer=None):
        self.width = width
        self.height = height
        self.strict = strict
        self.buffer = buffer if buffer is not None else bytearray(width * ((height + 7) // 8))

    def fill(self, c):
        value = 0xFF if c else 0
        for i in range(len(self.buffer)):
            self.buffer[i] = value

    def pixel(self, x, y, c=None):
        if not (0 <= x < self.width and 0 <= y < self.height):
            if self.strict:
                raise IndexError(f"pixel ({x}, {y}) outside {self.width}x{self.height}")
            return None
        i = (y >> 3) * self.width + x
        bit = 1 << (y & 7)
        if c is None:
            return 1 if self.buffer[i] & bit else 0
        if c:
            self.buffer[i] |= bit
        else:
            self.buffer[i] &= ~bit & 0xFF
        return None

    def fill_rect(self, x, y, w, h, c):
        for yy in range(y, y + h):
            for xx in range(x, x + w):
                self.pixel(xx, yy, c)

    def show(self):
        pass

    def rows(self):
        """The picture as text, "#" for a lit pixel (for tests and debugging)."""
        out = []
        for y in range(self.height):
            out.append("".join("#" if self.pixel(x, y) else "." for x in range(self.width)))
        return out


def new_framebuffer(width, height):
    """(framebuffer, its bytearray): framebuf.FrameBuffer(MONO_VLSB) on MicroPython,
    MonoFrameBuffer elsewhere; both lay the pixels out the same way in the bytearray."""
    buf = bytearray(width * ((height + 7) // 8))
    try:
        import framebuf
    except ImportError:
        return MonoFrameBuffer(width, height, buffer=buf), buf
    return framebuf.FrameBuffer(buf, width, height, framebuf.MONO_VLSB), buf
