"""Serial stripe readers (RS-232, USB CDC): track data as ASCII lines, over pyserial (CPython).

Many stripe readers send each swipe as one line of ASCII: the tracks with their sentinels
(ISO/IEC 7813, agent/card_io/track.py), then CR, LF or CR LF:

    %B6037990000000014^AHMADI/ALI^2912101000000?;6037990000000014=29121010000000000?\\r\\n

    reader = SerialStripeReader("/dev/ttyUSB0", baudrate=9600)
    card = reader.read(timeout_ms=30000)  # a StripeCard; None when nothing came in time

read() raises TrackError for a line that is not a swipe (bytes that are not printable ASCII,
line noise, a garbled or cut swipe) and the reader carries on: the next read() returns the next
swipe. LineAssembler (pure, no pyserial) turns the bytes into swipes:
- a line ends at CR or LF (CR LF counts once); empty lines are skipped;
- a line with no end arrives as a swipe once the line has been quiet for `idle_ms` (readers
  configured without a terminator), so noise without a line end never sticks to the next swipe;
- readers that end every track with its own line end ("%...?\\r\\n;...?\\r\\n") give one swipe:
  a line that is a track (start sentinel ... end sentinel, and LRC) is held `join_ms` for the
  next track on the next line (track 2 after track 1, "+" track 3 after track 2);
- more than `max_line` bytes without a line end: TrackError, and the rest up to the next line
  end is dropped.

pyserial is imported when the port is opened, never at module level: this module imports on
MicroPython too, where a board's UART can feed LineAssembler directly.
"""

from agent.card_io.errors import TrackError
from agent.card_io.track import decode_line, parse_swipe

CR = 13
LF = 10
ES = 0x3F  # '?'
STARTS = (0x25, 0x3B, 0x2B)  # '%' ';' '+'

MAX_LINE = 512
IDLE_MS = 300
JOIN_MS = 50


class LineAssembler:
    """Bytes with their arrival time in, swipes out: push(data, t_ms) and poll(t_ms) return
    lists whose items are bytes (one swipe's text, no line ends) or a TrackError."""

    def __init__(self, max_line=MAX_LINE, idle_ms=IDLE_MS, join_ms=JOIN_MS):
        self.max_line = max_line
        self.idle_ms = idle_ms
        self.join_ms = join_ms
        self._buf = bytearray()
        self._last_rx = 0
        self._held = []  # lines of one swipe waiting for a next track
        self._held_at = 0
        self._skipping = False

    def push(self, data, t_ms):
        out = []
        self._flush_due(t_ms, out)
        for b in data:
            if b in (CR, LF):
                if self._skipping:
                    self._skipping = False
                elif self._buf:
                    line = bytes(self._buf)
                    self._buf = bytearray()
                    self._line(line, t_ms, out)
                continue
            if self._skipping:
                continue
            self._buf.append(b)
            if len(self._buf) > self.max_line:
                self._release(out)
                self._buf = bytearray()
                self._skipping = True
                out.append(
                    TrackError(
                        f"no line end after {self.max_line} bytes: line noise or a wrong baud"
                        " rate? (the rest of the line is dropped)"
                    )
                )
        if data:
            self._last_rx = t_ms
        return out

    def poll(self, t_ms):
        out = []
        self._flush_due(t_ms, out)
        return out

    def deadline(self):
        """When poll() next has something to do, or None."""
        times = []
        if self._held:
            times.append(self._held_at + self.join_ms)
        if self._buf or self._skipping:
            times.append(self._last_rx + self.idle_ms)
        return min(times) if times else None

    def pending(self):
        return bool(self._held or self._buf)

    # -- inside ----------------------------------------------------------------------------

    def _flush_due(self, t_ms, out):
        if self._held and t_ms - self._held_at >= self.join_ms:
            self._release(out)
        if (self._buf or self._skipping) and t_ms - self._last_rx >= self.idle_ms:
            self._skipping = False
            if self._buf:
                line = bytes(self._buf)
                self._buf = bytearray()
                self._line(line, t_ms, out)
                self._release(out)

    def _line(self, line, t_ms, out):
        if self._held and _next_track(self._held, line):
            self._held.append(line)  # the next track of the same swipe
        else:
            self._release(out)
            self._held = [line]
        self._held_at = t_ms
        if not _ends_track(line):
            self._release(out)

    def _release(self, out):
        if self._held:
            out.append(b"".join(self._held))
            self._held = []


def _next_track(held, line):
    """True when `line` is the next track of the swipe in `held`: track 2 (';') after a lone
    track 1 ('%'), or track 3 ('+') after track 2. Two track 2 lines are two swipes (a reader
    with a memory sends its stored swipes in one go)."""
    if line[0] == 0x3B:
        return len(held) == 1 and held[0][0] == 0x25 and b"?;" not in held[0]
    if line[0] == 0x2B:
        return b";" in b"".join(held)
    return False


def _ends_track(line):
    """True when the line is a track: it starts with a start sentinel and ends with an end
    sentinel (or an end sentinel and an LRC)."""
    n = len(line)
    if line[0] not in STARTS:
        return False
    return line[n - 1] == ES or (n >= 2 and line[n - 2] == ES)


class SerialStripeReader:
    """The CardReader port over a serial stripe reader: read(timeout_ms) -> StripeCard or None.

    `port` is a device path or any pyserial URL ("/dev/ttyUSB0", "COM3", "socket://host:port",
    "loop://"); `serial` an already open pyserial-like object instead (tests, a board's UART
    wrapper: read(n), in_waiting, timeout). `clock` gives ticks_ms() (agent.ports.SystemClock
    by default).
    """

    def __init__(
        self,
        port=None,
        baudrate=9600,
        serial=None,
        clock=None,
        max_line=MAX_LINE,
        idle_ms=IDLE_MS,
        join_ms=JOIN_MS,
    ):
        if clock is None:
            from agent.ports import SystemClock

            clock = SystemClock()
        self.port = port
        self.baudrate = baudrate
        self.clock = clock
        self._serial = serial
        self._lines = LineAssembler(max_line, idle_ms, join_ms)
        self._ready = []
        self._timeout = None

    def open(self):
        if self._serial is None:
            import serial  # pyserial: CPython only, and only when a port is opened

            self._serial = serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=0)
        return self

    def close(self):
        if self._serial is not None:
            self._serial.close()
            self._serial = None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    def read(self, timeout_ms=30000):
        """The next swipe as a StripeCard; None when none came within timeout_ms.

        Raises TrackError for a line that is not a swipe; the next call reads on."""
        self.open()
        clock = self.clock
        deadline = clock.ticks_ms() + timeout_ms
        while True:
            if self._ready:
                item = self._ready.pop(0)
                if isinstance(item, TrackError):
                    raise item
                return parse_swipe(decode_line(item))
            now = clock.ticks_ms()
            due = self._lines.deadline()
            wait = deadline - now
            if due is not None:
                wait = due - now  # a swipe is arriving: finish it, even past the deadline
            data = self._receive(max(wait, 0))
            now = clock.ticks_ms()
            if data:
                self._ready.extend(self._lines.push(data, now))
                continue
            self._ready.extend(self._lines.poll(now))
            if not self._ready and now >= deadline and self._lines.deadline() is None:
                return None

    def cards(self, timeout_ms=None, on_error=None):
        """Yield StripeCards as they are swiped; stop after timeout_ms without one (None: never).

        A line that is not a swipe goes to on_error(TrackError) and reading goes on; without
        on_error the TrackError is raised (a new cards() call carries on)."""
        while True:
            try:
                card = self.read(30000 if timeout_ms is None else timeout_ms)
            except TrackError as e:
                if on_error is None:
                    raise
                on_error(e)
                continue
            if card is not None:
                yield card
            elif timeout_ms is not None:
                return

    def _receive(self, wait_ms):
        ser = self._serial
        timeout = min(wait_ms, 1000) / 1000
        if timeout != self._timeout:
            ser.timeout = timeout
            self._timeout = timeout
        data = ser.read(1)
        if data:
            waiting = ser.in_waiting
            if waiting:
                data += ser.read(waiting)
        return data
