"""The ECR link layer (agent/ecr/link.py, docs/ecr.md section 4) with time handed in: ACKs,
retransmission on NAK and on silence, giving up after 3 transmissions, duplicates, a lost ACK,
NAK storms, noise. Two Links talk through an in-memory wire that can lose or damage bytes.

Runs under pytest and under MicroPython.
"""

from agent.ecr.frame import ack, decode_frame, encode_frame, nak
from agent.ecr.link import Link
from agent.ecr.message import encode_body
from tests.portable.support import hexu

BODY = encode_body(0x01, {"amount": 120000, "invoice": "INV-1001", "cashier": "07"})
ANSWER = encode_body(0x81, {"invoice": "INV-1001", "result": "00"})


def test_send_writes_a_frame_and_waits_for_its_ack():
    link = Link()
    link.send(BODY, 0)
    out = link.take_output()
    assert decode_frame(out) == b"\x01" + BODY
    assert not link.idle
    assert link.feed(ack(1), 10) == []
    assert link.idle and link.take_output() == b""


def test_received_frames_are_acked_and_delivered_once():
    link = Link()
    frame = encode_frame(b"\x07" + BODY)
    assert link.feed(frame, 0) == [b"\x07" + BODY]
    assert hexu(link.take_output()) == "0607F8"
    # the peer did not get our ACK and sends the same frame again: ACKed, not delivered again
    assert link.feed(frame, 1500) == []
    assert hexu(link.take_output()) == "0607F8"
    assert link.stats["duplicates"] == 1
    # the next frame (next sequence number) is new
    assert link.feed(encode_frame(b"\x08" + BODY), 1600) == [b"\x08" + BODY]


def test_same_sequence_number_with_other_content_is_new():
    link = Link()
    link.feed(encode_frame(b"\x07" + BODY), 0)
    assert link.feed(encode_frame(b"\x07" + ANSWER), 10) == [b"\x07" + ANSWER]


def test_damaged_frame_is_naked():
    link = Link()
    frame = bytearray(encode_frame(b"\x01" + BODY))
    frame[8] ^= 0x40
    assert link.feed(bytes(frame), 0) == []
    assert link.take_output() == nak()
    assert link.stats["naks_out"] == 1


def test_no_ack_retransmits_then_gives_up_after_three():
    link = Link(ack_ms=1000)
    link.send(BODY, 0)
    first = link.take_output()
    link.poll(999)
    assert link.take_output() == b""
    link.poll(1000)
    assert link.take_output() == first  # same frame, same sequence number
    link.poll(2000)
    assert link.take_output() == first
    link.poll(3000)
    assert link.take_output() == b""
    assert link.take_failed() == [BODY]
    assert link.idle and link.stats["retransmissions"] == 2 and link.stats["given_up"] == 1


def test_nak_storm_is_bounded():
    link = Link()
    link.send(BODY, 0)
    frames = [link.take_output()]
    for t in range(1, 50):
        link.feed(nak(), t)
        frames.append(link.take_output())
    sent = [f for f in frames if f]
    assert len(sent) == 3  # the first transmission and 2 retransmissions, then it gives up
    assert link.take_failed() == [BODY]
    assert link.stats["naks_in"] == 49


def test_stale_ack_is_ignored():
    link = Link()
    link.send(BODY, 0)
    link.take_output()
    link.feed(ack(7), 5)  # not ours
    assert not link.idle
    link.feed(ack(1), 6)
    assert link.idle


def test_one_frame_in_flight_the_next_waits():
    link = Link()
    link.send(BODY, 0)
    link.send(ANSWER, 0)
    assert decode_frame(link.take_output())[0] == 1
    link.feed(ack(1), 1)
    assert decode_frame(link.take_output()) == b"\x02" + ANSWER


def test_wire_time_is_added_to_the_ack_timer():
    link = Link(ack_ms=1000, bits_per_s=9600)
    link.send(BODY, 0)
    size = len(link.take_output())  # 33 bytes: 34 ms on the wire at 9600 baud
    link.poll(1000)
    assert link.take_output() == b""
    link.poll(1000 + size * 10000 // 9600)
    assert link.take_output() != b""


def test_reset_forgets_the_old_connection():
    link = Link()
    link.feed(encode_frame(b"\x07" + BODY), 0)
    link.send(ANSWER, 0)
    link.reset()
    assert link.take_output() == b"" and link.idle
    assert link.take_failed() == [ANSWER]
    assert link.feed(encode_frame(b"\x07" + BODY), 1) == [b"\x07" + BODY]


class Wire:
    """Two links and the bytes between them; `lose` drops the next chunk from a side."""

    def __init__(self):
        self.a = Link()
        self.b = Link()
        self.now = 0
        self.lose = {"a": 0, "b": 0}
        self.noise = b""
        self.got = {"a": [], "b": []}

    def step(self, ms=10):
        self.now += ms
        for side, src, dst, other in (("a", self.a, self.b, "b"), ("b", self.b, self.a, "a")):
            data = src.take_output()
            if data and self.lose[side]:
                self.lose[side] -= 1
                data = b""
            self.got[other] += dst.feed(self.noise + data, self.now)
        self.got["a"] += self.a.poll(self.now)
        self.got["b"] += self.b.poll(self.now)

    def run(self, ms):
        for _ in range(ms // 10):
            self.step()


def test_lost_ack_is_recovered_without_a_duplicate():
    wire = Wire()
    wire.lose["b"] = 1  # b's first output, the ACK, is lost
    wire.a.send(BODY, 0)
    wire.run(3000)
    assert wire.got["b"] == [b"\x01" + BODY]  # delivered once
    assert wire.a.idle and not wire.a.take_failed()
    assert wire.a.stats["retransmissions"] == 1 and wire.b.stats["duplicates"] == 1


def test_lost_frame_is_retransmitted():
    wire = Wire()
    wire.lose["a"] = 1
    wire.a.send(BODY, 0)
    wire.run(1500)
    assert wire.got["b"] == [b"\x01" + BODY]
    assert wire.a.idle


def test_noise_on_the_line_both_ways():
    wire = Wire()
    wire.noise = b"\x00\x17\xfe\x03junk"
    wire.a.send(BODY, 0)
    wire.b.send(ANSWER, 0)
    wire.run(200)
    assert wire.got["b"] == [b"\x01" + BODY]
    assert wire.got["a"] == [b"\x01" + ANSWER]
    assert wire.a.idle and wire.b.idle
