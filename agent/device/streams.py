"""The device's peripherals as byte streams, whatever carries the bytes: the classes of
agent/device/peripherals.py that need no socket, for a device whose streams are host link
channels (agent/device/hostwire.py) and that has no `socket` module at all (the QEMU MPS2
board). A stream has write(data) and read(n, timeout_ms) -> bytes (b"" when nothing came).

The byte formats are docs/flashing.md "Firmware in the loop". peripherals.py imports them from
here for its socket peripherals.
"""

from agent.firmware import provision

LCD_CMD, LCD_DATA = 0x43, 0x44  # "C" + instruction byte, "D" + character code
STRIPE_ARM = b"\x1br"  # ESC "r": the stripe reader sends the next swipe (MSR605-style arming)
LCD_SIZES = {"charlcd-16x2": (16, 2), "charlcd-20x4": (20, 4)}
PRINTER_PROFILES = {"generic-58": "ascii-58", "generic-80": "ascii-80"}
IMK = provision.ROOT + "/keys/imk"


def issuer_key(path=IMK):
    """The club card scheme's issuer master key (vafa/keys/imk, hex): ClubCardReader checks
    INTERNAL AUTHENTICATE with it. The demo's is TEST ONLY; a production reader keeps it in a
    SAM or secure element instead."""
    return provision._read_hex(path)


class FramedLcdBus:
    """The HD44780 bus of agent/display/charlcd.py as bytes: every instruction is "C" + byte,
    every character code "D" + byte (the register-select line made explicit)."""

    def __init__(self, stream):
        self.stream = stream

    def write_cmd(self, cmd):
        self.stream.write(bytes((LCD_CMD, cmd)))

    def write_data(self, buf):
        out = bytearray(2 * len(buf))
        for i, b in enumerate(buf):
            out[2 * i] = LCD_DATA
            out[2 * i + 1] = b
        self.stream.write(out)


class StreamKeypad:
    """The keypad port over a byte stream: keys come in as ASCII ("0".."9", Enter "\\r",
    Cancel "\\x1b"). Before waiting, the device writes the prompt as one line: "!SCREEN\\n" for
    a confirmation (Enter or Cancel), "?FIELD\\n" for a question (digits then Enter), as a
    PIN pad is told what to prompt; a plain keypad ignores it. A PIN entry is prompted
    "*SCREEN\\n" (agent/ports.py Keypad.pin): its digits are never echoed back; `display`, when
    set, is shown the screen with one star per digit typed."""

    ENTER = (0x0D, 0x0A)
    CANCEL = (0x1B, 0x43)  # Esc or "C"

    def __init__(self, stream, timeout_ms=30000, display=None):
        self.stream = stream
        self.timeout_ms = timeout_ms
        self.display = display

    def _key(self):
        data = self.stream.read(1, self.timeout_ms)
        return data[0] if data else None

    def confirm(self, screen, **params):
        self.stream.write(b"!" + screen.encode() + b"\n")
        key = self._key()
        return key is not None and key in self.ENTER

    def ask(self, field, kind="digits"):
        self.stream.write(b"?" + field.encode() + b"\n")
        typed = bytearray()
        while True:
            key = self._key()
            if key is None or key in self.CANCEL:
                return None
            if key in self.ENTER:
                return bytes(typed).decode() or None
            typed.append(key)

    def pin(self, screen, **params):
        self.stream.write(b"*" + screen.encode() + b"\n")
        typed = bytearray()
        while True:
            key = self._key()
            if key is None or key in self.CANCEL:
                return None
            if key in self.ENTER:
                pin = bytes(typed).decode() or None
                for i in range(len(typed)):  # the digits leave no copy here
                    typed[i] = 0
                return pin
            if 0x30 <= key <= 0x39 and len(typed) < 12:
                typed.append(key)
                if self.display is not None:
                    params["masked"] = "*" * len(typed)
                    self.display.show(screen, **params)


class StreamUart:
    """A byte stream as the pyserial-like object SerialStripeReader reads (read(n) within
    `timeout` seconds, in_waiting)."""

    in_waiting = 0

    def __init__(self, stream):
        self.stream = stream
        self.timeout = 0

    def read(self, n=1):
        return self.stream.read(n, int(self.timeout * 1000))

    def close(self):
        self.stream.close()


class ChipOrStripe:
    """The CardReader port (agent/ports.py) of a terminal with a chip slot and a stripe reader
    on a byte stream: read() arms the stripe reader (ESC "r", after dropping bytes of an earlier
    swipe) and returns the first card presented, a chip card inserted (ClubCardReader) or a
    swipe (a StripeCard; TrackError for a bad one). A swiped card is not held by the terminal:
    present() is the chip reader's, which is True for a card it did not read."""

    def __init__(self, chip, stream, stripe, clock, poll_ms=50):
        self.chip = chip
        self.stream = stream
        self.stripe = stripe
        self.clock = clock
        self.poll_ms = poll_ms

    def read(self, timeout_ms=30000):
        while self.stream.read(64, 0):
            pass  # a swipe counts only once the reader is armed
        self.stream.write(STRIPE_ARM)
        start = self.clock.ticks_ms()
        while True:
            left = timeout_ms - (self.clock.ticks_ms() - start)
            if self.chip is not None and self.chip.reader.card_present():
                return self.chip.read(max(left, self.poll_ms))
            card = self.stripe.read(max(min(left, self.poll_ms), 0))
            if card is not None or left <= 0:
                return card

    def present(self, card=None):
        return True if self.chip is None else self.chip.present(card)

    def release(self):
        if self.chip is not None:
            self.chip.release()
