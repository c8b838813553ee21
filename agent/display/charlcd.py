"""HD44780-compatible character LCDs (16x2, 20x4): rendering above, the bus below.

CharLcd renders a screen (agent/display/screens.py) into the display's DDRAM: for each row a
"set DDRAM address" command (0x80 | address) and the row's bytes, every cell written (no
clear command: no flicker, no 1.5 ms wait). A bus implements only

    write_cmd(byte)      one instruction (RS = 0)
    write_data(buf)      character codes (RS = 1)

and owns the wiring and the power-up sequence (4-bit GPIO, a PCF8574 I2C backpack, ...), as
micropython-lib's ssd1306 buses do. RecordingBus keeps DDRAM like the controller does, for
tests and for simulators.

Persian: the common HD44780 character generator ROMs (A00 Japanese, A02 European) have no
Persian glyphs, and its 8 user-defined characters cannot hold the ~100 letter forms. So a
Persian terminal shows the English screens on a character LCD (Latin digits), unless the
module has a Persian character ROM: pass rom=<function from shaped visual-order text to
bytes> (agent/printing/iran_system.encode_visual for a ROM laid out as Iran System); the
screens are then shaped, reordered and right-aligned. docs/display.md explains the rule.
"""

from agent.display.screens import render
from agent.printing.bidi import display
from agent.printing.shaping import shape

SET_DDRAM = 0x80
ROW_ADDRESSES = {
    (16, 2): (0x00, 0x40),
    (20, 2): (0x00, 0x40),
    (16, 4): (0x00, 0x40, 0x10, 0x50),
    (20, 4): (0x00, 0x40, 0x14, 0x54),
}
# A00 ROM: 0x5C is a yen sign and 0x7E an arrow; print what looks closest instead.
ASCII_FIXES = {"\\": "/", "~": "-"}


def ascii_bytes(text):
    out = bytearray()
    for ch in text:
        ch = ASCII_FIXES.get(ch, ch)
        o = ord(ch)
        if 0x06F0 <= o <= 0x06F9:  # Persian digits -> ASCII digits
            o -= 0x06F0 - 0x30
        out.append(o if 0x20 <= o < 0x7F else 0x3F)
    return bytes(out)


class CharLcd:
    """A display port for an HD44780 character LCD of cols x rows (16x2, 20x4)."""

    def __init__(self, bus, cols=20, rows=4, lang="en", rom=None):
        if (cols, rows) not in ROW_ADDRESSES:
            raise ValueError(f"unsupported character LCD geometry {cols}x{rows}")
        self.bus = bus
        self.cols = cols
        self.rows = rows
        self.lang = lang
        self.rom = rom
        self.lines = [""] * rows

    @property
    def screen_language(self):
        """The language the screens are shown in: Persian needs a Persian ROM."""
        return "fa" if self.lang == "fa" and self.rom is not None else "en"

    def measure(self, text):
        return len(shape(text)) if self.screen_language == "fa" else len(text)

    def row_bytes(self, line):
        if self.screen_language == "fa":
            data = self.rom(display(line, True))
            return b" " * (self.cols - len(data)) + data  # right-aligned
        data = ascii_bytes(line)
        return data + b" " * (self.cols - len(data))

    def show(self, screen, **params):
        lang = self.screen_language
        self.lines = render(screen, params, lang, self.rows, self.cols, self.measure)
        addresses = ROW_ADDRESSES[(self.cols, self.rows)]
        for row, line in enumerate(self.lines):
            self.bus.write_cmd(SET_DDRAM | addresses[row])
            self.bus.write_data(self.row_bytes(line)[: self.cols])


class RecordingBus:
    """An HD44780 as far as CharLcd uses it: DDRAM (128 bytes) and the address counter."""

    def __init__(self):
        self.ddram = bytearray(b" " * 128)
        self.address = 0
        self.commands = []

    def write_cmd(self, cmd):
        self.commands.append(cmd)
        if cmd & 0x80:
            self.address = cmd & 0x7F
        elif cmd == 0x01:
            self.ddram[:] = b" " * 128
            self.address = 0

    def write_data(self, buf):
        for b in buf:
            self.ddram[self.address] = b
            self.address = (self.address + 1) & 0x7F

    def row(self, address, cols):
        return bytes(self.ddram[address : address + cols])

    def rows(self, cols, rows):
        return [self.row(a, cols) for a in ROW_ADDRESSES[(cols, rows)]]
