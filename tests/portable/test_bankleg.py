"""The bank leg over a byte stream (agent/links/bankleg.py, docs/bank_leg.md "On a device"):
frames, late answers, and every way an answer can fail to come, on scripted connections."""

import json

from agent.links import LinkError
from agent.links.bankleg import SocketBankLeg, decode, encode
from agent.ports import Card
from tests.portable.support import raises

PAN = "6037990000000014"
TXN = "VT000001000123" + "1123104500"


class Conn:
    """A scripted connection: `reads` items are bytes (arrive), None (nothing within the
    timeout) or an exception (raised: the peer closed); `idle` is what read(0) does."""

    def __init__(self, reads=(), idle=b""):
        self.reads = list(reads)
        self.idle = idle
        self.written = []
        self.closed = False

    def write(self, data):
        self.written.append(bytes(data))

    def read(self, timeout_ms):
        if timeout_ms == 0 and not self.written:
            if isinstance(self.idle, Exception):
                raise self.idle
            return self.idle
        if not self.reads:
            return b""
        item = self.reads.pop(0)
        if isinstance(item, Exception):
            raise item
        return item or b""

    def close(self):
        self.closed = True

    def requests(self):
        return [decode(w[2:]) for w in self.written]


class Connector:
    def __init__(self, *conns):
        self.conns = list(conns)
        self.opened = 0

    def __call__(self):
        self.opened += 1
        if not self.conns:
            raise OSError("connection refused")
        return self.conns.pop(0)


def answer(op, status, reference=None, txn=TXN):
    return encode({"op": op, "id": txn, "status": status, "reference": reference})


def test_pay_approved_sends_the_last_4_digits_only():
    conn = Conn([answer("pay", "approved", "PSP000000001")])
    bank = SocketBankLeg(Connector(conn))
    out = bank.pay(1085000, Card(PAN), TXN)
    assert out["status"] == "approved" and out["reference"] == "PSP000000001"
    (request,) = conn.requests()
    assert request == {"op": "pay", "id": TXN, "amount": 1085000, "last4": "0014"}
    assert PAN.encode() not in conn.written[0]
    assert conn.written[0][:2] == bytes((0, len(conn.written[0]) - 2))  # 2-byte length


def test_answers_split_across_reads_and_late_answers_are_discarded():
    late = answer("pay", "approved", "PSP000000007", txn="VT000001000122")
    frame = answer("pay", "declined", "PSP000000009")
    conn = Conn([late + frame[:5], None, frame[5:]])
    out = SocketBankLeg(Connector(conn)).pay(50000, Card(PAN), TXN)
    assert out == {"status": "declined", "reference": None, "message": ""}


def test_pay_on_a_dropped_connection_is_a_timeout_then_status_reconnects():
    first = Conn([OSError("closed")])
    second = Conn([answer("status", "approved", "PSP000000002")])
    connect = Connector(first, second)
    bank = SocketBankLeg(connect)
    assert bank.pay(1000092, Card(PAN), TXN)["status"] == "timeout"
    assert first.closed
    out = bank.status(TXN)
    assert out["status"] == "approved" and out["reference"] == "PSP000000002"
    assert connect.opened == 2 and second.requests() == [{"op": "status", "id": TXN}]


def test_pay_without_an_answer_in_time_is_a_timeout_and_closes():
    conn = Conn([None] * 1000)
    bank = SocketBankLeg(Connector(conn), pay_ms=30)
    assert bank.pay(1000091, Card(PAN), TXN)["status"] == "timeout"
    assert conn.closed and bank.conn is None  # a late answer can never be read as the next


def test_unreachable_bank_leg():
    bank = SocketBankLeg(Connector())
    assert bank.pay(1000, Card(PAN), TXN)["status"] == "timeout"
    assert raises(LinkError, bank.status, TXN)
    assert raises(OSError, bank.status, TXN)  # what the engine's status inquiry catches


def test_status_answers_and_unusable_ones():
    bank = SocketBankLeg(Connector(Conn([answer("status", "unknown")])))
    assert bank.status(TXN)["status"] == "unknown"
    bad = Conn([answer("status", "timeout")])
    assert raises(LinkError, SocketBankLeg(Connector(bad)).status, TXN)
    assert bad.closed
    garbage = Conn([bytes((0, 3)) + b"{]x"])
    assert SocketBankLeg(Connector(garbage)).pay(1, Card(PAN), TXN)["status"] == "timeout"


def test_an_idle_connection_closed_by_the_psp_is_replaced_before_paying():
    stale = Conn([answer("pay", "approved", "PSP000000001")])
    fresh = Conn([answer("pay", "approved", "PSP000000002")])
    connect = Connector(stale, fresh)
    bank = SocketBankLeg(connect)
    assert bank.pay(1000, Card(PAN), TXN)["reference"] == "PSP000000001"
    stale.written = []
    stale.idle = OSError("closed while idle")
    assert bank.pay(2000, Card(PAN), TXN)["reference"] == "PSP000000002"
    assert stale.closed and stale.written == [] and connect.opened == 2


def test_frames_are_json_objects():
    assert decode(encode({"op": "status", "id": "1"})[2:]) == {"op": "status", "id": "1"}
    assert raises(Exception, decode, b"[1]")
    assert json.loads(encode({"a": 1})[2:]) == {"a": 1}


def test_reverse_sends_the_id_and_amount_and_a_lost_answer_is_a_timeout():
    conn = Conn([answer("reverse", "reversed", "PSP000000001")])
    bank = SocketBankLeg(Connector(conn))
    out = bank.reverse(TXN, 1085000)
    assert out["status"] == "reversed" and out["reference"] == "PSP000000001"
    assert conn.requests() == [{"op": "reverse", "id": TXN, "amount": 1085000}]
    assert SocketBankLeg(Connector()).reverse(TXN, 1)["status"] == "timeout"
    dropped = Conn([OSError("closed")])
    assert SocketBankLeg(Connector(dropped)).reverse(TXN, 1)["status"] == "timeout"
    refused = Conn([answer("reverse", "declined")])
    assert SocketBankLeg(Connector(refused)).reverse(TXN, 1)["status"] == "declined"
