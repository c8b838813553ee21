"""The bank leg and the stripe reader over sockets under CPython: the device's side
(agent/links/bankleg.py over agent/device/peripherals.py BankConn, ChipOrStripe) against the
host's (simulator/fil/endpoints.py BankEndpoint, StripeEndpoint). docs/bank_leg.md "On a
device: the bank leg over a socket"."""

import time

import pytest

from agent.card_io.serial_reader import SerialStripeReader
from agent.card_io.track import build_track2
from agent.device.peripherals import BankConn, ChipOrStripe, StreamUart, TcpStream
from agent.links import LinkError
from agent.links.bankleg import SocketBankLeg
from agent.ports import Card, SystemClock
from simulator.bank import BankSimulator
from simulator.fil.endpoints import BankEndpoint, StripeEndpoint

PAN = "6037990000000014"
TXN = "VT000001000123" + "1123104500"


@pytest.fixture
def psp():
    endpoint = BankEndpoint()
    yield endpoint
    endpoint.close()


def leg(endpoint, **kw):
    return SocketBankLeg(lambda: BankConn("127.0.0.1", endpoint.port), **kw)


def test_approved_payment_is_charged_once_and_a_repeated_id_is_not_charged_again(psp):
    bank = leg(psp)
    first = bank.pay(1_085_000, Card(PAN), TXN)
    assert first["status"] == "approved" and first["reference"].startswith("PSP")
    again = bank.pay(1_085_000, Card(PAN), TXN)
    assert again["reference"] == first["reference"]
    assert len(psp.bank.charges(TXN)) == 1
    assert psp.bank.payments[0]["card"] == "0014"
    assert all(PAN not in str(r) for r in psp.requests)  # only the last 4 digits travel
    assert bank.status(TXN)["status"] == "approved"
    assert bank.status("VT000001999999")["status"] == "unknown"


@pytest.mark.parametrize(
    ("outcome", "status", "charged"),
    [("timeout", "declined", 0), ("timeout_charged", "approved", 1)],
)
def test_no_answer_drops_the_connection_and_the_status_inquiry_decides(outcome, status, charged):
    psp = BankEndpoint(BankSimulator([outcome]))
    try:
        bank = leg(psp)
        started = time.monotonic()
        assert bank.pay(500_000, Card(PAN), TXN)["status"] == "timeout"
        assert time.monotonic() - started < 5  # the dropped connection, not the 120 s window
        assert bank.status(TXN)["status"] == status
        assert len(psp.bank.charges()) == charged
        assert [r["op"] for r in psp.requests] == ["pay", "status"]
    finally:
        psp.close()


def test_a_silent_psp_times_out_in_the_pay_window():
    psp = BankEndpoint(BankSimulator(["timeout"]), lost="silent")
    try:
        bank = leg(psp, pay_ms=300)
        started = time.monotonic()
        assert bank.pay(500_000, Card(PAN), TXN)["status"] == "timeout"
        assert 0.25 < time.monotonic() - started < 3
        assert bank.conn is None
        assert bank.status(TXN)["status"] == "declined"
    finally:
        psp.close()


def test_unreachable_psp(psp):
    port = psp.port
    psp.close()
    bank = SocketBankLeg(lambda: BankConn("127.0.0.1", port))
    assert bank.pay(1000, Card(PAN), TXN)["status"] == "timeout"
    with pytest.raises(LinkError):
        bank.status(TXN)


def test_stripe_reader_sends_the_swipe_once_armed():
    reader = StripeEndpoint()
    try:
        stream = TcpStream("127.0.0.1", reader.port)
        clock = SystemClock()
        stripe = SerialStripeReader(serial=StreamUart(stream), clock=clock)
        either = ChipOrStripe(None, stream, stripe, clock)
        reader.present(build_track2(PAN, "2912"))
        card = either.read(3000)
        assert card.pan == PAN and card.expiry == "2912" and card.entry == "021"
        assert either.present(card)
        assert either.read(3000).pan == PAN  # presented again at the next arming
        reader.present(None)
        started = time.monotonic()
        assert either.read(300) is None
        assert time.monotonic() - started >= 0.25
        assert reader.arms == 3
        stream.close()
    finally:
        reader.close()


def test_reverse_gives_the_payment_back_once_over_the_socket(psp):
    bank = leg(psp)
    paid = bank.pay(1_085_000, Card(PAN), TXN)
    assert bank.reverse(TXN, 1_000_000)["status"] == "declined"  # not the amount charged
    for _ in range(2):  # asked again (a timeout, a power cut): answered alike, credited once
        out = bank.reverse(TXN, 1_085_000)
        assert out["status"] == "reversed" and out["reference"] == paid["reference"]
    assert len(psp.bank.reversals) == 1 and psp.bank.net_total() == 0
    assert bank.reverse("VT000001999999", 1)["status"] == "declined"  # never charged
