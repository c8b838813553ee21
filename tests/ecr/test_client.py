"""hostbridge's link and client against scripted terminals on real sockets and pyserial's
loop://: ACK timers, bounded retransmission, NAK storms, no answer, late answers set aside,
ports that cannot be opened; the stream hunter; the deadline helper.
"""

import socket
import threading
import time

import pytest

from hostbridge.client import EcrClient, Result
from hostbridge.deadline import Deadline
from hostbridge.errors import BridgeError, LinkError, NoAck, ResponseTimeout
from hostbridge.link import FrameLink, Hunter, Timers
from hostbridge.protocol import build_ack, build_frame, build_payload, parse_frame
from hostbridge.transport import Transport

FAST = {"ack_s": 0.2, "recover_s": 0}


class ScriptedTerminal:
    """A TCP peer: `behave(chunk, sock)` is called with every chunk received."""

    def __init__(self, behave):
        self.behave = behave
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.received = b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"socket://127.0.0.1:{self.listener.getsockname()[1]}"

    def _run(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            while True:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                self.received += chunk
                self.behave(chunk, conn)

    def close(self):
        self.listener.close()


def frames_in(data):
    return [value for kind, value in Hunter().feed(data, 0) if kind == "frame"]


def test_no_ack_three_transmissions_then_noack():
    term = ScriptedTerminal(lambda chunk, sock: None)  # a deaf terminal
    try:
        with EcrClient(term.url, timers=Timers(**FAST)) as ecr:
            started = time.monotonic()
            with pytest.raises(NoAck, match="3 transmissions, none acknowledged"):
                ecr.balance()
            assert 0.55 < time.monotonic() - started < 2.0
            assert ecr.link.stats["frames_out"] == 3
            assert ecr.link.stats["retransmissions"] == 2
        time.sleep(0.05)
        sent = frames_in(term.received)
        assert len(sent) == 3 and len(set(sent)) == 1  # the same frame, same sequence number
    finally:
        term.close()


def test_nak_storm_is_bounded():
    term = ScriptedTerminal(lambda chunk, sock: sock.sendall(b"\x15"))
    try:
        with EcrClient(term.url, timers=Timers(**FAST)) as ecr:
            with pytest.raises(NoAck, match="last: NAK"):
                ecr.status("INV-1")
            assert ecr.link.stats["naks_in"] == 3 and ecr.link.stats["frames_out"] == 3
    finally:
        term.close()


def test_acked_but_never_answered():
    def ack_only(chunk, sock):
        for payload in frames_in(chunk):
            sock.sendall(build_ack(payload[0]))

    term = ScriptedTerminal(ack_only)
    try:
        timers = Timers(**FAST)
        timers.response_s["balance"] = 0.3
        match = r"no answer to balance within 0\.3 s"
        with EcrClient(term.url, timers=timers) as ecr, pytest.raises(ResponseTimeout, match=match):
            ecr.balance()
    finally:
        term.close()


def test_a_late_answer_for_another_invoice_is_set_aside():
    def answer(chunk, sock):
        for payload in frames_in(chunk):
            sock.sendall(build_ack(payload[0]))
            late = build_payload(9, 0x85, {"invoice": "OLD-1", "result": "00"})
            right = build_payload(10, 0x85, {"invoice": "NEW-1", "result": "12"})
            sock.sendall(build_frame(late) + b"noise" + build_frame(right))

    term = ScriptedTerminal(answer)
    seen = []
    try:
        with EcrClient(term.url, timers=Timers(**FAST), log=seen.append) as ecr:
            result = ecr.status("NEW-1")
        assert result.invoice == "NEW-1" and result.result == "12"
        assert seen == ["set aside: a late answer to status OLD-1"]
        time.sleep(0.05)
        assert term.received.count(b"\x06") >= 2  # both answers were ACKed
    finally:
        term.close()


def test_duplicate_answer_is_delivered_once():
    def twice(chunk, sock):
        for payload in frames_in(chunk):
            sock.sendall(build_ack(payload[0]))
            frame = build_frame(build_payload(4, 0x82, {"result": "00", "club_balance": 5}))
            sock.sendall(frame + frame)  # our ACK was "lost": the terminal repeats it

    term = ScriptedTerminal(twice)
    try:
        with EcrClient(term.url, timers=Timers(**FAST)) as ecr:
            assert ecr.balance().club_balance == 5
            time.sleep(0.1)
            ecr.link._pump(0.1)
            assert ecr.link.stats["frames_in"] == 2 and ecr.link.stats["duplicates"] == 1
            assert not ecr.link.inbox
    finally:
        term.close()


def test_port_that_cannot_be_opened():
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    for url in (f"socket://127.0.0.1:{port}", "/nonexistent/tty", "nosuch://x"):
        with EcrClient(url) as ecr, pytest.raises(LinkError, match="cannot open"):
            ecr.balance()


def test_loop_transport_echoes_frames_through_the_link():
    """pyserial's loop://: our own frame comes back; the link ACKs it, the ACK comes back and
    acknowledges the send: the whole link path without a peer."""
    link = FrameLink(Transport("loop://"), Timers(ack_s=0.5))
    seq = link.send("sale", {"amount": 5, "invoice": "L-1", "cashier": "1"})
    message = link.receive(Deadline(1))
    assert message == {"seq": seq, "type": 1,
                       "fields": {"amount": 5, "invoice": "L-1", "cashier": "1"}}  # fmt: skip
    assert link.stats["frames_in"] == 1 and link.stats["retransmissions"] == 0
    link.transport.close()


def test_hunter_split_merged_noise():
    one = build_frame(build_payload(1, "status", {"invoice": "A"}))
    two = build_frame(build_payload(2, "status", {"invoice": "B"}))
    stream = b"\x00junk\x02\xff\xff" + one + build_ack(7) + b"\x15" + two
    for cut in range(len(stream) + 1):
        hunter = Hunter()
        events = hunter.feed(stream[:cut], 0) + hunter.feed(stream[cut:], 0)
        assert [k for k, _ in events] == ["frame", "ack", "nak", "frame"], cut
        assert events[1] == ("ack", 7)
        assert hunter.noise == 8


def test_hunter_abandons_a_stray_stx_after_t0():
    one = build_frame(build_payload(1, "status", {"invoice": "A"}))
    hunter = Hunter(0.5)
    assert hunter.feed(b"\x02\x00\x40" + one, 10.0) == []
    assert hunter.expire(10.4) == []
    assert hunter.expire(10.5) == [("frame", parse_frame(one))]


def test_hunter_reports_damaged_frames():
    one = bytearray(build_frame(build_payload(1, "status", {"invoice": "A"})))
    one[6] ^= 0x20
    events = Hunter().feed(bytes(one), 0)
    assert events[0][0] == "bad" and "wrong checksum" in str(events[0][1])


def test_result_object():
    result = Result("sale", {"result": "00", "payable": 5, "invoice": "I"})
    assert result.ok and not result.busy and result.payable == 5 and result.rrn is None
    assert result.to_dict() == {"command": "sale", "result": "00", "result_text": "approved",
                                "payable": 5, "invoice": "I", "recovered": False}  # fmt: skip
    assert Result("sale", {"result": "10"}).busy
    assert issubclass(NoAck, LinkError) and issubclass(LinkError, BridgeError)
    assert issubclass(ResponseTimeout, TimeoutError) and issubclass(LinkError, OSError)


def test_deadline():
    assert Deadline(None).left() is None and not Deadline(None).expired()
    assert Deadline(0).expired() and Deadline(0).left() == 0
    deadline = Deadline(10)
    assert 9 < deadline.left() <= 10 and deadline.slice(0.05) == 0.05
    assert Deadline(None).slice(0.05) == 0.05


class _BusyThenDone(EcrClient):
    """The exchange answers busy a given number of times, then the real answer."""

    def __init__(self, busy_times, timers):
        self.timers = timers
        self.log = None
        self.sent = 0
        self.busy_times = busy_times

    def _request_once(self, command, fields, recover):
        self.sent += 1
        code = "10" if self.sent <= self.busy_times else "00"
        return Result(command, {"result": code, "invoice": fields.get("invoice")})


def test_busy_answers_are_sent_again_within_the_busy_timer():
    timers = Timers()
    timers.busy_pause_s = 0.01
    client = _BusyThenDone(3, timers)
    assert client.sale(1000, "BZ-1", "07").ok and client.sent == 4
    timers.busy_s = 0.05
    stubborn = _BusyThenDone(10**6, timers)
    assert stubborn.sale(1000, "BZ-2", "07").busy  # gives up when the timer runs out
    timers.busy_s = 0
    assert _BusyThenDone(1, timers).sale(1000, "BZ-3", "07").busy  # 0: no second try
