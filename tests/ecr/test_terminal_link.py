"""The ECR link end to end: the emulated terminal (the real engine, the demo club server, the
bank simulator) behind a real ECR port, over TCP and over a socat pty pair, driven by
hostbridge's EcrClient or by a raw cashier writing exact bytes.

Every command (a top-up on its own: kept by invoice, a credit in the settlement); noise between
frames; split and merged frames; a lost ACK both ways; NAK storms; a busy terminal; a cable
pulled mid-sale and the status inquiry that recovers it, with the sale charged once.
"""

import socket
import threading
import time

from hostbridge.client import EcrClient
from hostbridge.link import Timers
from hostbridge.protocol import build_ack, parse_payload
from simulator.club_server import seed
from tests.ecr.support import RawCashier

NOISE = b"\x00\xff\x13\x11 line noise \x7f\x02\xff\xff\x06\x06\x06\xfe"


def client(url, **timers):
    return EcrClient(url, timers=Timers(**timers))


def test_every_command(emulator):
    with client(emulator.cashier) as ecr:
        sale = ecr.sale(1_200_000, "INV-1", "07")
        assert sale.ok and sale.command == "sale" and sale.invoice == "INV-1"
        assert sale.discount == 180_000 and sale.fee == 5_000 and sale.payable == 1_025_000
        assert sale.card == "****0014" and sale.bank_reference.startswith("PSP")
        assert sale.points_earned > 0 and "customer copy" in sale.receipt
        assert len(sale.stan) == 6 and len(sale.rrn) == 12

        credit = ecr.sale(300_000, "INV-2", "07", method="club")
        assert credit.ok and credit.flow == "club_credit" and credit.club_balance is not None

        cash = ecr.sale(450_000, "INV-3", "07", method="cash")
        assert cash.ok and cash.flow == "cash" and cash.discount == 0

        balance = ecr.balance("07")
        assert balance.ok and balance.club_balance > 0 and balance.points_balance > 0
        assert balance.amount is None

        refund = ecr.refund(50_000, "R-1", "07", credit.rrn)
        assert refund.ok and refund.flow == "refund"

        void = ecr.void("V-1", "07", original_invoice="R-1")
        assert void.ok and void.flow == "void", void.to_dict()

        status = ecr.status("INV-1")
        assert status.ok and status.command == "status" and status.status_of == "sale"
        assert status.payable == sale.payable and status.rrn == sale.rrn

        unknown = ecr.status("INV-404")
        assert unknown.result == "12" and not unknown.recovered

        printed = ecr.print_text("Thank you\nfor shopping")
        assert printed.ok
        time.sleep(0.1)
        assert "receipt:\n    | Thank you\n    | for shopping" in emulator.lines

        shown = ecr.show_text("Welcome", seconds=3)
        assert shown.ok
        time.sleep(0.1)
        assert "screen: Welcome" in emulator.lines

        close = ecr.settlement("Z-1", "07")
        assert close.ok, close.to_dict()
        assert close.debit_count == 3 and close.debit_amount == 1_200_000 + 300_000 + 450_000

    # the bank leg charged only the bank-card sale
    assert [p["amount"] for p in emulator.bank.charges()] == [1_025_000]


def test_topup_is_credited_kept_by_invoice_and_settled_as_a_credit(emulator):
    with client(emulator.cashier) as ecr:
        before = ecr.balance("07").club_balance
        topup = ecr.topup(200_000, "T-1", "07")
        assert topup.ok and topup.command == "topup" and topup.flow == "top_up", topup.to_dict()
        assert topup.amount == 200_000 and topup.payable == 200_000 and topup.confirmed == "Y"
        assert topup.club_balance > before and topup.card == "****0014" and len(topup.rrn) == 12
        assert "customer copy" in topup.receipt

        again = ecr.topup(200_000, "T-1", "07")  # the same invoice and content: kept, not rerun
        assert again.ok and again.stan == topup.stan and not again.recovered
        assert ecr.topup(300_000, "T-1", "07").result == "14"
        assert ecr.sale(200_000, "T-1", "07").result == "14"

        status = ecr.status("T-1")
        assert status.ok and status.status_of == "topup" and status.rrn == topup.rrn
        assert ecr.balance("07").club_balance == topup.club_balance

        close = ecr.settlement("Z-1", "07")
        assert close.ok, close.to_dict()
        assert (close.credit_count, close.credit_amount) == (1, 200_000)
        assert close.debit_count == 0
    assert emulator.bank.charges() == []  # cash at the counter: no bank leg


def test_declines_and_personas_come_through(tmp_path):
    from tests.ecr.support import start_emulator

    emu = start_emulator("tcp", tmp_path, card="blocked")
    try:
        with client(emu.cashier) as ecr:
            result = ecr.sale(90_000, "INV-B", "07", method="club")
        assert result.result == "01" and result.response_code == "62"
        assert result.card == "****" + seed.CARD_BLOCKED[-4:]
    finally:
        emu.stop()


def test_club_outcome_table_comes_through(emulator_tcp):
    with client(emulator_tcp.cashier) as ecr:
        result = ecr.sale(1_000_051, "M-51", "07")
    assert result.result == "01" and result.response_code == "51"
    assert emulator_tcp.bank.charges() == []


def test_repeated_invoice_is_not_run_twice(emulator):
    with client(emulator.cashier) as ecr:
        first = ecr.sale(700_000, "INV-9", "07")
        again = ecr.sale(700_000, "INV-9", "07")
        other = ecr.sale(800_000, "INV-9", "07")
    assert first.ok and again.to_dict() == first.to_dict()
    assert other.result == "14"
    assert len(emulator.bank.charges()) == 1


def test_noise_between_frames(emulator):
    raw = RawCashier(emulator.cashier)
    try:
        raw.write(NOISE + raw.frame(1, "status", invoice="X-1") + NOISE)
        _, seen = raw.wait_for(lambda e: e[0] == "frame")
        assert ("ack", 1) in seen
        raw.write(NOISE * 3)
        raw.send(2, "balance")
        answer = raw.answer()
        assert answer["type"] == 0x82 and answer["fields"]["result"] == "00"
    finally:
        raw.close()


def test_split_and_merged_frames(emulator):
    raw = RawCashier(emulator.cashier)
    try:
        frame = raw.frame(1, "status", invoice="S-1")
        for i in range(len(frame)):  # one byte at a time, as a slow line delivers it
            raw.write(frame[i : i + 1])
            time.sleep(0.005)
        assert raw.answer()["fields"]["result"] == "12"
        # two commands in one write: both acknowledged, both answered
        raw.write(raw.frame(2, "status", invoice="S-2") + raw.frame(3, "status", invoice="S-3"))
        answers = [raw.answer(), raw.answer()]
        assert sorted(a["fields"]["invoice"] for a in answers) == ["S-2", "S-3"]
    finally:
        raw.close()


def test_lost_ack_of_a_command_runs_it_once(emulator):
    """The cashier did not see the ACK of its sale and sends the same frame again."""
    raw = RawCashier(emulator.cashier)
    try:
        frame = raw.frame(1, "sale", amount=600_000, invoice="L-1", cashier="07")
        raw.write(frame)
        raw.write(frame)  # the retransmission
        event, seen = raw.wait_for(lambda e: e[0] == "frame", 30)
        assert seen.count(("ack", 1)) == 2  # both copies acknowledged
        assert parse_payload(event[1])["fields"]["result"] == "00"
        assert not [e for e in raw.read(1.5) if e[0] == "frame"]  # answered once
    finally:
        raw.close()
    assert len(emulator.bank.charges()) == 1


def test_lost_ack_of_an_answer_is_retransmitted(emulator):
    """The terminal does not get the cashier's ACK of its answer: it sends it again, the same
    frame; the cashier's ACK of the repeat ends it."""
    raw = RawCashier(emulator.cashier)
    try:
        raw.send(1, "status", invoice="A-1")
        first, _ = raw.wait_for(lambda e: e[0] == "frame", ack=False)
        again, _ = raw.wait_for(lambda e: e[0] == "frame", seconds=3, ack=False)
        assert again == first  # same sequence number, same bytes
        raw.write(build_ack(first[1][0]))
        assert not [e for e in raw.read(2.5) if e[0] == "frame"]
    finally:
        raw.close()


def test_nak_storm(emulator):
    """Every frame from the terminal is NAKed: it sends the answer 3 times and gives up; the
    result stays kept and a status inquiry returns it."""
    raw = RawCashier(emulator.cashier)
    try:
        raw.write(b"\x15" * 50)  # NAKs while nothing is in flight change nothing
        raw.send(1, "sale", amount=650_000, invoice="N-1", cashier="07")
        frames = []
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            for event in raw.read(0.05):
                if event[0] == "frame":
                    frames.append(event[1])
                    raw.write(b"\x15\x15")
        assert len(frames) == 3 and len(set(frames)) == 1
        raw.send(2, "status", invoice="N-1")
        status = raw.answer()
        assert status["type"] == 0x85 and status["fields"]["result"] == "00"
        assert status["fields"]["amount"] == 650_000
    finally:
        raw.close()
    assert len(emulator.bank.charges()) == 1


def test_busy_while_a_sale_runs(emulator):
    emulator.gate.hold.set()
    raw = RawCashier(emulator.cashier)
    try:
        raw.send(1, "sale", amount=1_200_000, invoice="B-1", cashier="07")
        assert emulator.gate.entered.wait(10)  # the customer is paying on the bank leg
        raw.send(2, "balance")
        busy = raw.answer()
        assert busy["type"] == 0x82 and busy["fields"]["result"] == "10"
        raw.send(3, "sale", amount=5_000, invoice="B-2", cashier="07")
        assert raw.answer()["fields"]["result"] == "10"
        raw.send(4, "status", invoice="B-1")
        assert raw.answer()["fields"]["result"] == "11"
        emulator.gate.release()
        done = raw.answer(30)
        assert done["type"] == 0x81 and done["fields"]["invoice"] == "B-1"
        assert done["fields"]["result"] == "00"
    finally:
        raw.close()


def test_cable_pulled_mid_sale_then_status_inquiry(emulator):
    emulator.gate.hold.set()
    raw = RawCashier(emulator.cashier)
    raw.send(1, "sale", amount=1_200_000, invoice="C-1", cashier="07")
    raw.wait_for(lambda e: e == ("ack", 1))
    assert emulator.gate.entered.wait(10)
    raw.close()  # the cable is pulled while the customer pays
    emulator.gate.release()
    deadline = time.monotonic() + 20
    while emulator.session.busy and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    # plugged back in: the cashier does not guess, it asks
    with client(emulator.cashier) as ecr:
        status = ecr.status("C-1")
        assert status.ok and status.payable == 1_025_000 and status.status_of == "sale"
        again = ecr.sale(1_200_000, "C-1", "07")
        assert again.ok and again.rrn == status.rrn
    assert len(emulator.bank.charges()) == 1  # charged once
    assert emulator.bank.charges()[0]["amount"] == 1_025_000


def test_client_recovers_a_lost_answer_by_itself(emulator):
    """EcrClient.sale: the answer is lost (TCP: the connection breaks mid-sale; pty: no answer
    within the sale's timer); the client asks for the status (in progress, then the result)
    and returns the sale's result, recovered, charged once."""
    emulator.gate.hold.set()
    over_tcp = emulator.cashier.startswith("socket://")
    timers = Timers(status_pause_s=0.3, recover_s=30)
    if not over_tcp:
        timers.response_s["sale"] = 1.0
    ecr = EcrClient(emulator.cashier, timers=timers)
    out = {}
    worker = threading.Thread(target=lambda: out.update(r=ecr.sale(1_100_000, "R-9", "07")))
    worker.start()
    assert emulator.gate.entered.wait(10)
    if over_tcp:  # pulled: the connection breaks under the waiting client
        ecr.transport.port._socket.shutdown(socket.SHUT_RDWR)
    time.sleep(1.5)
    emulator.gate.release()
    worker.join(30)
    result = out["r"]
    assert result.ok and result.recovered and result.command == "sale"
    assert result.invoice == "R-9" and result.amount == 1_100_000
    assert len(emulator.bank.charges()) == 1
    ecr.close()
