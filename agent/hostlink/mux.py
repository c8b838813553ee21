"""The device's end of the host link: its serial port pumped into a Link, each channel a stream
that keeps pumping while it waits (docs/hostlink.md).

    mux = Mux(port, clock, rng)      # port: read(n, timeout_ms) -> bytes, write(data)
    stream = mux.connect("club", 5000)          # ChannelClosed("unreachable", ...) when not
    stream.write(data)
    stream.read(512, timeout_ms)                # b"" when nothing came in time
    listener = mux.listen("ecr")                # channels the gateway opens for a service
    stream = listener.accept(timeout_ms)        # or None
    mux.say("VAFA-READY ecr host")              # a console line (docs/hostlink.md section 6)

A single-threaded device does all its waiting in Mux.wait, so the link is served (frames
acknowledged, credit returned, keepalives sent) whenever the device waits for anything. `idle`,
when set, is called between pumps while waiting (the ECR server, so a cashier is answered
"busy" while a sale waits for the club); it is never re-entered.
"""

from agent.hostlink.errors import ChannelClosed, HostLinkError
from agent.hostlink.link import CLOSED, DEVICE, REFUSED, TIMEOUT, Link

DEFAULT_WINDOW = 1024
WINDOWS = {"ecr": 2048}  # what the device grants per service (docs/hostlink.md section 5)
STEP_MS = 20  # a wait pumps the line at least this often
READ_CHUNK = 256
WRITE_MS = 2000  # a write the gateway takes nothing of for this long gives up (05)
BACKLOG = 2  # channels a listener holds before it has taken them; more are refused


class Mux:
    def __init__(self, port, clock, rng, windows=None, **timers):
        self.port = port
        self.clock = clock
        self.link = Link(clock.ticks_ms, rng, DEVICE, **timers)
        self.windows = WINDOWS if windows is None else windows
        self.listeners = {}
        self.idle = None
        self._idling = False
        self.console = None

    def pump(self, wait_ms=0):
        """Read what the line has (waiting up to wait_ms for a first byte), act on it, run
        the timers, write what is due."""
        data = self.port.read(READ_CHUNK, wait_ms)
        while data:
            self.link.receive(data)
            data = self.port.read(READ_CHUNK, 0)
        self.link.poll()
        for c in list(self.link.incoming):
            listener = self.listeners.get(c.service)
            if listener is None or len(listener.pending) >= BACKLOG:
                self.link.close(c, REFUSED)
            elif self.link.accept(c, self.window(c.service)):
                listener.pending.append(c)
        self.flush()

    def flush(self):
        out = self.link.take_output()
        if out:
            self.port.write(out)

    def wait(self, ready, timeout_ms):
        """Pump until ready() is true or timeout_ms passed; whether it became true."""
        start = self.clock.ticks_ms()
        while not ready():
            left = timeout_ms - (self.clock.ticks_ms() - start)
            if left <= 0:
                return False
            self.pump(min(left, STEP_MS))
            if self.idle is not None and not self._idling:
                self._idling = True
                try:
                    self.idle()
                finally:
                    self._idling = False
        return True

    def window(self, service):
        return self.windows.get(service, DEFAULT_WINDOW)

    @property
    def up(self):
        return self.link.up

    def connect(self, service, timeout_ms):
        """A stream to `service` once the gateway accepted it; HostLinkError when the link
        does not come up in time, ChannelClosed (reason "unreachable", "refused", ...) when
        the gateway could not connect."""
        start = self.clock.ticks_ms()
        if not self.wait(lambda: self.link.up, timeout_ms):
            raise HostLinkError("host link down")
        c = self.link.open(service, self.window(service))
        self.flush()
        left = timeout_ms - (self.clock.ticks_ms() - start)
        self.wait(lambda: c.accepted or c.closed, max(left, 1))
        if c.closed:
            raise ChannelClosed(service, c.reason)
        if not c.accepted:
            self.link.close(c, TIMEOUT)
            self.flush()
            raise ChannelClosed(service, "no answer from the gateway")
        return Stream(self, c)

    def listen(self, service):
        listener = self.listeners.get(service)
        if listener is None:
            listener = self.listeners[service] = Listener(self, service)
        return listener

    def say(self, text):
        """One console line: on the console channel when the link is up, else printed on
        the line as text (the gateway logs text outside frames too)."""
        line = (text + "\n").encode()
        try:
            if self.console is None or self.console.closed:
                self.console = None
                if self.link.up:
                    self.console = self.connect("console", 1000)
            if self.console is not None:
                self.console.write(line, 1000)
                return
        except HostLinkError:
            self.console = None
        print(text)


class Listener:
    """Channels the gateway opened for one service, accepted as they come (BACKLOG)."""

    def __init__(self, mux, service):
        self.mux = mux
        self.service = service
        self.pending = []

    def accept(self, timeout_ms=0):
        """The next stream opened for this service, or None within timeout_ms."""
        if not self.pending:
            if timeout_ms > 0:
                self.mux.wait(lambda: self.pending, timeout_ms)
            else:
                self.mux.pump(0)
        return Stream(self.mux, self.pending.pop(0)) if self.pending else None


class Stream:
    """One channel as a byte stream. read() returns b"" when nothing came in time and raises
    ChannelClosed once the channel closed and nothing is left to read; write() waits for
    credit (at most its timeout, then closes the channel with reason 05)."""

    def __init__(self, mux, channel):
        self.mux = mux
        self.channel = channel

    @property
    def service(self):
        return self.channel.service

    @property
    def closed(self):
        return self.channel.closed

    def available(self):
        return len(self.channel.rx)

    def read(self, n=READ_CHUNK, timeout_ms=0):
        c = self.channel
        if not c.rx:
            if timeout_ms > 0 and not c.closed:
                self.mux.wait(lambda: c.rx or c.closed, timeout_ms)
            else:
                self.mux.pump(0)
        data = self.mux.link.read(c, n)
        if data:
            self.mux.flush()  # the credit
            return data
        if c.closed:
            raise ChannelClosed(c.service, c.reason)
        return b""

    def read_exact(self, n, timeout_ms):
        """n bytes, or None when the channel closed or timeout_ms passed first."""
        buf = b""
        start = self.mux.clock.ticks_ms()
        while len(buf) < n:
            left = timeout_ms - (self.mux.clock.ticks_ms() - start)
            if left <= 0:
                return None
            try:
                buf += self.read(n - len(buf), left)
            except ChannelClosed:
                return None
        return buf

    def write(self, data, timeout_ms=WRITE_MS):
        c = self.channel
        link = self.mux.link
        view = memoryview(data)
        start = self.mux.clock.ticks_ms()
        while len(view):
            taken = link.send(c, view)
            view = view[taken:]
            self.mux.flush()
            if not len(view):
                break
            left = timeout_ms - (self.mux.clock.ticks_ms() - start)
            room = lambda: c.closed or (c.credit > 0 and link.can_send())  # noqa: E731
            if left <= 0 or not self.mux.wait(room, left):
                self.close(TIMEOUT)
                raise ChannelClosed(c.service, "the gateway takes no data: write timed out")
        return len(data)

    def close(self, reason=CLOSED):
        self.mux.link.close(self.channel, reason)
        self.mux.flush()
