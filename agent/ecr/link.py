"""The ECR link layer (docs/ecr.md section 4), sans-I/O: bytes and ticks in, bytes out.

    link = Link()
    payloads = link.feed(data, now_ms)     # intact new frames from the peer (each ACKed)
    link.send(body, now_ms)                # queue TYPE + TLV; the link adds the sequence number
    payloads += link.poll(now_ms)          # timers: retransmission, abandoned partial frames
    port.write(link.take_output())         # ACKs, NAKs and frames to write, in order

One frame is in flight at a time; it is sent at most `tries` times (on NAK, or when no ACK came
within the ACK timer), then given up (`failed`). A frame received again with the same sequence
number and payload (its ACK was lost) is ACKed again and not delivered twice.
"""

from agent.ecr.frame import ACKED, BAD, FRAME, NAKED, Scanner, ack, encode_frame, nak
from agent.ecr.spec import ACK_TIMEOUT_MS, INTERBYTE_MS, TRIES


class Link:
    def __init__(
        self, ack_ms=ACK_TIMEOUT_MS, tries=TRIES, interbyte_ms=INTERBYTE_MS, bits_per_s=None
    ):
        self.ack_ms = ack_ms
        self.tries = tries
        self.bits_per_s = bits_per_s  # a serial line's rate: adds each frame's wire time to T1
        self.scanner = Scanner(interbyte_ms)
        self.out = []
        self.queue = []  # bodies waiting for the frame in flight
        self.inflight = None  # [frame, seq, transmissions, deadline_ms, body]
        self.seq = 0
        self.last_rx = None  # the payload last delivered (duplicate detection)
        self.failed = []  # bodies given up after `tries` transmissions
        self.stats = {
            "frames_in": 0,
            "duplicates": 0,
            "naks_in": 0,
            "naks_out": 0,
            "frames_out": 0,
            "retransmissions": 0,
            "given_up": 0,
        }

    @property
    def idle(self):
        """Nothing in flight and nothing queued."""
        return self.inflight is None and not self.queue

    def send(self, body, now_ms=0):
        self.queue.append(bytes(body))
        self._next(now_ms)

    def feed(self, data, now_ms=0):
        return self._handle(self.scanner.feed(data, now_ms), now_ms)

    def poll(self, now_ms):
        delivered = self._handle(self.scanner.expire(now_ms), now_ms)
        flight = self.inflight
        if flight is not None and now_ms - flight[3] >= 0:
            self._retry(now_ms)
        return delivered

    def take_output(self):
        data = b"".join(self.out)
        self.out = []
        return data

    def reset(self):
        """A new connection: forget partial input and duplicates; what was waiting to be sent
        belonged to the old connection and is given up."""
        self.scanner.reset()
        self.last_rx = None
        if self.inflight is not None:
            self.failed.append(self.inflight[4])
        self.failed.extend(self.queue)
        self.inflight = None
        self.queue = []
        self.out = []

    def take_failed(self):
        failed, self.failed = self.failed, []
        return failed

    # -- inside ----------------------------------------------------------------------------

    def _handle(self, events, now_ms):
        delivered = []
        for kind, value in events:
            if kind == FRAME:
                self.out.append(ack(value[0]))
                self.stats["frames_in"] += 1
                if value == self.last_rx:
                    self.stats["duplicates"] += 1
                    continue
                self.last_rx = value
                delivered.append(value)
            elif kind == BAD:
                self.out.append(nak())
                self.stats["naks_out"] += 1
            elif kind == ACKED:
                flight = self.inflight
                if flight is not None and flight[1] == value:
                    self.inflight = None
                    self._next(now_ms)
            elif kind == NAKED:
                self.stats["naks_in"] += 1
                if self.inflight is not None:
                    self._retry(now_ms)
        return delivered

    def _deadline(self, frame, now_ms):
        wait = self.ack_ms
        if self.bits_per_s:
            wait += len(frame) * 10000 // self.bits_per_s
        return now_ms + wait

    def _next(self, now_ms):
        if self.inflight is not None or not self.queue:
            return
        body = self.queue.pop(0)
        self.seq = (self.seq + 1) & 0xFF
        frame = encode_frame(bytes((self.seq,)) + body)
        self.inflight = [frame, self.seq, 1, self._deadline(frame, now_ms), body]
        self.out.append(frame)
        self.stats["frames_out"] += 1

    def _retry(self, now_ms):
        flight = self.inflight
        if flight[2] >= self.tries:
            self.inflight = None
            self.failed.append(flight[4])
            self.stats["given_up"] += 1
            self._next(now_ms)
            return
        flight[2] += 1
        flight[3] = self._deadline(flight[0], now_ms)
        self.out.append(flight[0])
        self.stats["retransmissions"] += 1
