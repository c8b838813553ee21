"""The bitmap font of agent/display/glyphs.py: measure and draw visual-order text.

Glyphs are looked up by character in glyphs.CHARS (a linear find over ~260 characters: a
screen has at most ~80 to draw); a character without a glyph is drawn as "?". Drawing uses
only fb.pixel(x, y, c), which framebuf.FrameBuffer, ssd1306 and agent/display/fb.py have.
"""

from agent.display import glyphs

HEIGHT = glyphs.HEIGHT
_MISSING = glyphs.CHARS.find("?")


def glyph(ch):
    """(offset into DATA, width) of a character's glyph."""
    i = glyphs.CHARS.find(ch)
    if i < 0:
        i = _MISSING
    i *= 3
    index = glyphs.INDEX
    return (index[i] << 8) | index[i + 1], index[i + 2]


def width(text):
    """Pixel width of visual-order text."""
    total = 0
    for ch in text:
        total += glyph(ch)[1]
    return total


def draw(fb, x, y, text, color=1):
    """Draw visual-order text with its top-left corner at (x, y); returns the x after it."""
    data = glyphs.DATA
    for ch in text:
        offset, w = glyph(ch)
        for col in range(w):
            lo = data[offset + 2 * col]
            hi = data[offset + 2 * col + 1]
            bits = lo | (hi << 8)
            row = 0
            while bits:
                if bits & 1:
                    fb.pixel(x + col, y + row, color)
                bits >>= 1
                row += 1
        x += w
    return x
