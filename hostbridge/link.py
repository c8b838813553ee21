"""The link layer, cashier side (docs/ecr.md section 4): frames out with ACK/NAK and bounded
retransmission, frames in (ACKed, duplicates dropped), over one Transport.

This is hostbridge's own implementation (the terminal's is agent/ecr/link.py): the stream is
searched for the three marks (STX, ACK, NAK) with a regular expression and whole frames are
parsed by the construct declaration in hostbridge/protocol.py.
"""

import re
import time
from collections import deque
from dataclasses import dataclass, field

from hostbridge.deadline import Deadline
from hostbridge.errors import FrameError, LinkError, MessageError, NoAck
from hostbridge.protocol import (
    ACK,
    MAX_PAYLOAD,
    MIN_PAYLOAD,
    NAK,
    build_ack,
    build_frame,
    build_payload,
    parse_frame,
    parse_payload,
)

_MARKS = re.compile(rb"[\x02\x06\x15]")


def _response_timers():
    return {
        "sale": 180.0,
        "refund": 180.0,
        "void": 60.0,
        "balance": 60.0,
        "settlement": 120.0,
        "status": 10.0,
        "print": 30.0,
        "show": 10.0,
        "topup": 180.0,
    }


@dataclass
class Timers:
    """docs/ecr.md 4.2, in seconds."""

    ack_s: float = 1.0  # T1, plus the frame's wire time on a serial line
    interbyte_s: float = 0.5  # T0
    tries: int = 3  # transmissions of one frame at most
    response_s: dict = field(default_factory=_response_timers)  # T2 per command
    status_pause_s: float = 2.0  # T3: between status inquiries while "in progress"
    recover_s: float = 60.0  # how long to keep asking for the status of a lost answer
    busy_s: float = 15.0  # how long to keep sending again a command answered busy (0: don't)
    busy_pause_s: float = 0.5  # between those tries


class Hunter:
    """Events from the byte stream: ("frame", payload), ("bad", FrameError), ("ack", seq),
    ("nak", None). Noise is skipped and counted."""

    def __init__(self, interbyte_s=0.5):
        self.interbyte_s = interbyte_s
        self.buf = bytearray()
        self.last = 0.0
        self.noise = 0

    def feed(self, data, now):
        if data:
            self.buf += data
            self.last = now
        return self._scan(flush=False)

    def expire(self, now):
        if self.buf and now - self.last >= self.interbyte_s:
            return self._scan(flush=True)
        return []

    def _scan(self, flush):
        buf = self.buf
        events = []
        pos = 0
        while True:
            found = _MARKS.search(buf, pos)
            if found is None:
                self.noise += len(buf) - pos
                pos = len(buf)
                break
            self.noise += found.start() - pos
            pos = found.start()
            mark = buf[pos]
            if mark == NAK:
                events.append(("nak", None))
                pos += 1
                continue
            if len(buf) - pos < 3:  # an ACK or a frame header not all here yet
                if flush:
                    self.noise += 1
                    pos += 1
                    continue
                break
            if mark == ACK:
                if buf[pos + 2] == buf[pos + 1] ^ 0xFF:
                    events.append(("ack", buf[pos + 1]))
                    pos += 3
                else:
                    self.noise += 1
                    pos += 1
                continue
            length = int.from_bytes(buf[pos + 1 : pos + 3], "big")
            if not MIN_PAYLOAD <= length <= MAX_PAYLOAD:
                self.noise += 1
                pos += 1
                continue
            end = pos + 3 + length + 3
            if end > len(buf):
                if flush:  # abandoned after T0: maybe a stray STX; look behind it
                    self.noise += 1
                    pos += 1
                    continue
                break
            try:
                events.append(("frame", parse_frame(buf[pos:end])))
            except FrameError as e:
                events.append(("bad", e))
            pos = end
        del buf[:pos]
        return events


class FrameLink:
    def __init__(self, transport, timers=None, log=None):
        self.transport = transport
        self.timers = timers or Timers()
        self.hunter = Hunter(self.timers.interbyte_s)
        self.log = log
        self.seq = 0
        self.inbox = deque()
        self.last_rx = None
        self.stats = dict.fromkeys(
            ("frames_out", "retransmissions", "naks_in", "frames_in", "duplicates", "naks_out"),
            0,
        )
        self.stats["bad_messages"] = 0

    def send(self, msg_type, fields):
        """Send one message; returns its sequence number once ACKed. NoAck after `tries`
        transmissions without an ACK; a LinkError with `sent` False when the frame never went
        out (the port cannot be opened: PortError)."""
        self.seq = (self.seq + 1) & 0xFF
        seq = self.seq
        frame = build_frame(build_payload(seq, msg_type, fields))
        wait = self.timers.ack_s
        if self.transport.bits_per_s:
            wait += len(frame) * 10 / self.transport.bits_per_s
        why = "no ACK"
        for attempt in range(self.timers.tries):
            if attempt:
                self.stats["retransmissions"] += 1
            try:
                self._write(frame)
            except LinkError as e:
                if not attempt:  # the frame never went out whole: nothing happened
                    e.sent = False
                    raise
                why = f"link down: {e}"
                continue
            self.stats["frames_out"] += 1
            outcome = self._await_ack(seq, Deadline(wait))
            if outcome == "ack":
                return seq
            why = outcome
        raise NoAck(
            f"no ACK from the terminal: {self.timers.tries} transmissions, none acknowledged "
            f"(last: {why})"
        )

    def receive(self, deadline):
        """The next message from the terminal before the deadline, or None."""
        while True:
            if self.inbox:
                return self.inbox.popleft()
            if deadline.expired():
                return None
            self._pump(deadline.slice(0.05))

    # -- inside ----------------------------------------------------------------------------

    def _write(self, frame):
        try:
            self.transport.write(frame)
        except LinkError:
            # a connection that broke since the last use (an idle TCP close): open it again
            # once; a port that cannot be opened at all raises from here
            self.transport.write(frame)

    def _await_ack(self, seq, deadline):
        while not deadline.expired():
            try:
                events = self._pump(deadline.slice(0.05))
            except LinkError as e:
                return f"link down: {e}"
            for kind, value in events:
                if kind == "ack" and value == seq:
                    return "ack"
                if kind == "nak":
                    self.stats["naks_in"] += 1
                    return "NAK"
        return "no ACK within T1"

    def _pump(self, timeout):
        """Read once; ACK/NAK what came in; returns the ACK and NAK events."""
        data = self.transport.read(timeout)
        now = time.monotonic()
        events = self.hunter.feed(data, now) + self.hunter.expire(now)
        control = []
        for kind, value in events:
            if kind == "frame":
                self._frame(value)
            elif kind == "bad":
                self.stats["naks_out"] += 1
                self.transport.write(bytes((NAK,)))
            else:
                control.append((kind, value))
        return control

    def _frame(self, payload):
        self.transport.write(build_ack(payload[0]))
        self.stats["frames_in"] += 1
        if payload == self.last_rx:
            self.stats["duplicates"] += 1
            return
        self.last_rx = payload
        try:
            self.inbox.append(parse_payload(payload))
        except MessageError as e:
            self.stats["bad_messages"] += 1
            if self.log:
                self.log(f"message skipped: {e}")
