"""The host link's state machine (docs/hostlink.md sections 3-5): no I/O, the clock and the
random source handed in, so the same code is the device's end and the gateway's.

    link = Link(clock_ms, rng, DEVICE)       # down; poll() starts sending SYNC
    link.receive(data)                       # bytes read from the serial line
    link.poll()                              # timers: SYNC, retransmission, keepalive, DEAD
    port.write(link.take_output())           # bytes for the serial line
    ch = link.open("club", 1024)             # then ch.accepted, or ch.reason once refused
    n = link.send(ch, data)                  # bytes taken: the credit and the frame window allow
    data = link.read(ch, 512)                # what arrived; returns credit as it goes
    link.close(ch)
    link.incoming                            # channels the peer opened: accept() or close()

Every channel of a link that resets (the peer restarted, DEAD passed) gets reason "link down"
at once; what it received stays readable. Nothing sent before a reset is sent after it.
"""

from agent.hostlink import frame as f
from agent.hostlink.errors import ChannelClosed, HostLinkError

DEVICE = (1, 127)  # the channel ids each end opens (docs/hostlink.md 4.1)
GATEWAY = (128, 255)

RTO_MS = 300
KEEPALIVE_MS = 1000
DEAD_MS = 10000
SYNC_MS = 1000
WINDOW = 4  # unacknowledged frames this end keeps (the protocol allows up to 8)
MAX_WINDOW = 8

CLOSED, REFUSED, UNREACHABLE, BROKEN, OVERFLOW, TIMEOUT = 0, 1, 2, 3, 4, 5
REASONS = {
    CLOSED: "closed",
    REFUSED: "refused",
    UNREACHABLE: "unreachable",
    BROKEN: "broken",
    OVERFLOW: "overflow",
    TIMEOUT: "timeout",
}
LINK_DOWN = "link down"


class Channel:
    """One byte stream. `rx` holds what arrived and was not read; `credit` what this end may
    still send; `reason` is None while open, else why it closed (a REASONS name, or
    LINK_DOWN)."""

    def __init__(self, ch, service, window, incoming):
        self.id = ch
        self.service = service
        self.window = window  # what this end grants the other
        self.incoming = incoming  # opened by the peer
        self.accepted = False
        self.credit = 0
        self.rx = bytearray()
        self.consumed = 0  # bytes read since the last CREDIT
        self.sent_close = False
        self.got_close = False
        self.reason = None

    @property
    def closed(self):
        """Nothing more will arrive or may be sent (rx may still hold bytes to read)."""
        return self.reason is not None or self.sent_close or self.got_close

    def __repr__(self):
        return "<channel " + str(self.id) + " " + self.service + ">"


class Link:
    def __init__(self, clock, rng, ids=DEVICE, window=WINDOW, **timers):
        self.clock = clock
        self.rng = rng
        self.ids = ids
        self.window = min(window, MAX_WINDOW)
        self.rto_ms = timers.get("rto_ms", RTO_MS)
        self.keepalive_ms = timers.get("keepalive_ms", KEEPALIVE_MS)
        self.dead_ms = timers.get("dead_ms", DEAD_MS)
        self.sync_ms = timers.get("sync_ms", SYNC_MS)
        self.decoder = f.Decoder()
        self.out = bytearray()
        self.up = False
        self.peer = None
        self.nonce = bytes(rng(4))
        self.resets = 0  # times the link went down after being up
        self.retransmits = 0
        self.channels = {}
        self._clear()
        now = clock()
        self.last_rx = self.last_tx = now
        self.sync_at = now

    # -- the serial line -----------------------------------------------------------------

    def receive(self, data):
        """Bytes read from the line; frames are acted on at once."""
        for frame in self.decoder.feed(data):
            self._on_frame(frame)

    def poll(self):
        """Run the timers (docs/hostlink.md 3.2)."""
        now = self.clock()
        if not self.up:
            if now - self.sync_at >= 0:
                self._raw(f.SYNC, bytes((f.VERSION,)) + self.nonce)
                self.sync_at = now + self.sync_ms
            return
        if now - self.last_rx >= self.dead_ms:
            self.down()
            return
        if self.unacked and now - self.retry_at >= 0:
            for seq, kind, ch, body in self.unacked:  # go-back-N: all of them, in order
                self._emit(kind, ch, seq, body)
            self.retransmits += len(self.unacked)
            self.retry_at = now + self.rto_ms
        if now - self.last_tx >= self.keepalive_ms:
            self.owe_ack = True

    def take_output(self):
        """The bytes to write on the line (an ACK is added when one is owed)."""
        if self.up and self.owe_ack:
            self._raw(f.ACK, b"", self.recv_seq)
        out, self.out = self.out, bytearray()
        return out

    def down(self):
        """Declare the link down (DEAD passed, or this end restarts its link): every channel
        is gone, a new nonce, SYNC at the next poll."""
        if self.up:
            self.resets += 1
        self._clear()
        self.up = False
        self.peer = None
        self.nonce = bytes(self.rng(4))
        self.sync_at = self.clock()

    # -- channels ------------------------------------------------------------------------

    def open(self, service, window):
        """A channel to `service` (OPEN sent); HostLinkError when the link is down or every id
        of this end's range is taken."""
        if not self.up:
            raise HostLinkError("host link down")
        lo, hi = self.ids
        ch = lo
        while ch in self.channels:
            ch += 1
            if ch > hi:
                raise HostLinkError("no free channel id")
        c = Channel(ch, service, window, False)
        self.channels[ch] = c
        self._queue(f.OPEN, ch, f.pack16(window) + service.encode())
        return c

    def accept(self, c, window):
        """Serve a channel the peer opened; False when it closed meanwhile."""
        if c in self.incoming:
            self.incoming.remove(c)
        if c.closed:
            return False
        c.window = window
        c.accepted = True
        self._queue(f.ACCEPT, c.id, f.pack16(window))
        return True

    def send(self, c, data):
        """Queue stream bytes: returns how many were taken (0 before ACCEPT, when the credit
        is used up or the frame window is full); ChannelClosed once the channel closed."""
        if c.closed:
            raise ChannelClosed(c.service, c.reason or REASONS[CLOSED])
        if not c.accepted:
            return 0
        take = min(len(data), c.credit)
        slots = self.window - len(self.unacked) - len(self.pending)
        taken = 0
        while taken < take and slots > 0:
            size = min(f.MAX_BODY, take - taken)
            self._queue(f.DATA, c.id, bytes(data[taken : taken + size]))
            taken += size
            slots -= 1
        c.credit -= taken
        return taken

    def can_send(self):
        """Whether a frame more may be queued now (the frame window has room)."""
        return self.up and len(self.unacked) + len(self.pending) < self.window

    def read(self, c, n):
        """Up to n bytes that arrived on c (b"" when none); the credit goes back as the
        reader consumes (docs/hostlink.md section 5)."""
        if not c.rx:
            return b""
        data = bytes(c.rx[:n])
        c.rx[: len(data)] = b""
        c.consumed += len(data)
        if not c.closed and (2 * c.consumed >= c.window or not c.rx):
            self._queue(f.CREDIT, c.id, f.pack16(c.consumed))
            c.consumed = 0
        return data

    def close(self, c, reason=CLOSED):
        """Close c (CLOSE sent with `reason`), or refuse a channel the peer opened. What it
        held unread is dropped."""
        if c in self.incoming:
            self.incoming.remove(c)
        c.rx = bytearray()
        if c.sent_close:
            return
        c.sent_close = True
        if c.reason is None:
            c.reason = REASONS.get(reason, REASONS[CLOSED])
        if self.channels.get(c.id) is not c:
            return  # gone with a reset
        self._queue(f.CLOSE, c.id, bytes((reason,)))
        if c.got_close or (c.incoming and not c.accepted):
            del self.channels[c.id]  # answered, or an OPEN refused: closed both ways

    # -- inside --------------------------------------------------------------------------

    def _clear(self):
        for c in self.channels.values():
            if c.reason is None:
                c.reason = LINK_DOWN
        self.channels = {}
        self.incoming = []
        self.send_seq = 0
        self.recv_seq = 0
        self.unacked = []  # [seq, type, ch, body], oldest first
        self.pending = []  # (type, ch, body) waiting for room in the frame window
        self.owe_ack = False
        self.retry_at = 0

    def _raw(self, kind, body, ack=0):
        self.out += f.encode(kind, 0, 0, ack, body)
        self.last_tx = self.clock()
        if kind == f.ACK:
            self.owe_ack = False

    def _emit(self, kind, ch, seq, body):
        self.out += f.encode(kind, ch, seq, self.recv_seq, body)
        self.owe_ack = False
        self.last_tx = self.clock()

    def _queue(self, kind, ch, body):
        if self.up:
            self.pending.append((kind, ch, body))
            self._flush()

    def _flush(self):
        while self.pending and len(self.unacked) < self.window:
            kind, ch, body = self.pending.pop(0)
            seq = self.send_seq
            self.send_seq = (seq + 1) & 0xFF
            if not self.unacked:
                self.retry_at = self.clock() + self.rto_ms
            self.unacked.append((seq, kind, ch, body))
            self._emit(kind, ch, seq, body)

    def _on_frame(self, frame):
        kind, ch, seq, ack, body = frame
        handler = LINK_FRAMES.get(kind)
        if handler is not None:
            handler(self, body)
            return
        if not self.up:
            return  # docs/hostlink.md 3.1: only SYNC and SYNC_OK count while down
        self.last_rx = self.clock()
        self._acked(ack)
        if kind == f.ACK:
            return
        self.owe_ack = True
        if seq != self.recv_seq:
            return  # a repeat, or behind a lost frame: dropped, acknowledged again
        self.recv_seq = (seq + 1) & 0xFF
        CHANNEL_FRAMES[kind](self, ch, body)

    def _acked(self, ack):
        if not self.unacked:
            return
        k = (ack - self.unacked[0][0]) & 0xFF
        if k == 0 or k > len(self.unacked):
            return  # nothing new, or a frame never sent
        self.unacked = self.unacked[k:]
        self.retry_at = self.clock() + self.rto_ms
        self._flush()

    def _on_sync(self, body):
        if body[0] != f.VERSION:
            return
        nonce = bytes(body[1:5])
        if not (self.up and nonce == self.peer):
            self._start(nonce)  # the peer (re)started
        self.last_rx = self.clock()
        self._raw(f.SYNC_OK, bytes((f.VERSION,)) + nonce + self.nonce)

    def _on_sync_ok(self, body):
        if body[0] != f.VERSION or bytes(body[1:5]) != self.nonce:
            return  # the answer to another end's SYNC, or to one this end no longer sends
        nonce = bytes(body[5:9])
        if not (self.up and nonce == self.peer):
            self._start(nonce)
        self.last_rx = self.clock()

    def _start(self, peer):
        if self.up:
            self.resets += 1
        self._clear()
        self.up = True
        self.peer = peer
        self.last_tx = self.clock()

    def _on_open(self, ch, body):
        lo, hi = self.ids
        if lo <= ch <= hi or ch in self.channels:
            return  # not the peer's id to open: ignored
        c = Channel(ch, bytes(body[2:]).decode(), 0, True)
        c.credit = f.u16(body)
        self.channels[ch] = c
        self.incoming.append(c)

    def _on_accept(self, ch, body):
        c = self.channels.get(ch)
        if c is not None and not c.incoming and not c.accepted:
            c.accepted = True
            c.credit = f.u16(body)

    def _on_data(self, ch, body):
        c = self.channels.get(ch)
        if c is None or not c.accepted or c.sent_close:
            return
        if len(c.rx) + c.consumed + len(body) > c.window:
            self.close(c, OVERFLOW)
            return
        c.rx += body

    def _on_credit(self, ch, body):
        c = self.channels.get(ch)
        if c is not None:
            c.credit += f.u16(body)

    def _on_close(self, ch, body):
        c = self.channels.get(ch)
        if c is None:
            return
        c.got_close = True
        if c.reason is None:
            c.reason = REASONS.get(body[0], REASONS[CLOSED])
        if c in self.incoming:
            self.incoming.remove(c)
        if not c.sent_close and (c.accepted or c.incoming):
            c.sent_close = True  # the answering CLOSE (docs/hostlink.md 4.2)
            self._queue(f.CLOSE, ch, bytes((CLOSED,)))
        del self.channels[ch]  # closed both ways now, or an OPEN of this end refused


# frame type -> handler: link frames act in any state, channel frames only while up
LINK_FRAMES = {f.SYNC: Link._on_sync, f.SYNC_OK: Link._on_sync_ok}
CHANNEL_FRAMES = {
    f.OPEN: Link._on_open,
    f.ACCEPT: Link._on_accept,
    f.DATA: Link._on_data,
    f.CREDIT: Link._on_credit,
    f.CLOSE: Link._on_close,
}
