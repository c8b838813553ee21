"""The hold window, credit validity, and end-of-day reconciliation (docs/protocol.md 5.8)."""

import time

from simulator.club_server.ledger import ledger_check
from simulator.club_server.seed import CARD_A, CARD_C
from simulator.club_server.server import ClubServer
from tests.club_server.client import Terminal
from tests.club_server.support import balance, txn

CLUB = "006000"


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_an_unconfirmed_hold_is_released_after_the_window(db_path):
    with ClubServer(db_path, hold_window=0.3, sweep_interval=0.05).run_in_thread() as server:
        t = Terminal(server.port).connect()
        msg, first = t.authorize(CLUB, 1_200_000, CARD_A)
        assert balance(server, CARD_A) == (5_000_000, 1_025_000)
        assert wait_for(lambda: balance(server, CARD_A) == (5_000_000, 0))
        row = txn(server, first.rrn)
        assert row["state"] == "released" and row["reason"] == "HW"
        assert t.confirm(msg, first, CARD_A).code == "12"  # too late
        t.close()
    assert ledger_check(db_path, grace=0).ok


def test_holds_left_open_while_down_are_released_at_startup(db_path):
    with ClubServer(db_path).run_in_thread() as server:
        t = Terminal(server.port).connect()
        _, first = t.authorize(CLUB, 1_200_000, CARD_A)
        t.close()
    later = time.time() + 3600
    assert not ledger_check(db_path, now=later).ok  # the sweeper has not run: a finding
    with ClubServer(db_path, clock=lambda: later).run_in_thread() as server:
        assert balance(server, CARD_A) == (5_000_000, 0)
        assert txn(server, first.rrn)["state"] == "released"
    assert ledger_check(db_path, now=later).ok


def test_a_released_refund_frees_what_is_left_to_refund(db_path):
    with ClubServer(db_path, hold_window=0.3, sweep_interval=0.05).run_in_thread() as server:
        t = Terminal(server.port).connect()
        first, _ = t.purchase("000000", 100_000, CARD_C)
        _, r1 = t.authorize("200000", 100_000, CARD_C, {0x06: first.rrn})
        assert r1.code == "00"
        _, r2 = t.authorize("200000", 1, CARD_C, {0x06: first.rrn})
        assert r2.code == "13"  # all of it is being refunded
        assert wait_for(lambda: txn(server, first.rrn)["refund_held"] == 0)
        _, r3 = t.authorize("200000", 100_000, CARD_C, {0x06: first.rrn})
        assert r3.code == "00"
        t.close()


def test_credit_past_its_validity_is_written_off(db_path):
    in_400_days = time.time() + 400 * 86400
    with ClubServer(db_path, clock=lambda: in_400_days).run_in_thread() as server:
        t = Terminal(server.port).connect()
        _, r = t.authorize("310000", 0, CARD_A)
        assert r.amounts == {"6002": 0, "7002": 0}  # one-year club credit, 90-day gift credit
        assert balance(server, CARD_A) == (0, 0)
        t.close()
    assert ledger_check(db_path, now=in_400_days).ok


def totals(debits=(0, 0), credits=(0, 0), debit_rev=(0, 0), credit_rev=(0, 0)):
    net = credits[1] - debits[1] - credit_rev[1] + debit_rev[1]
    return {
        "74": credits[0],
        "75": credit_rev[0],
        "76": debits[0],
        "77": debit_rev[0],
        "86": credits[1],
        "87": credit_rev[1],
        "88": debits[1],
        "89": debit_rev[1],
        "97": ("C" if net >= 0 else "D") + f"{abs(net):016d}",
    }


def test_reconciliation_in_balance_and_out_of_balance(server, terminal):
    cash, _ = terminal.purchase("000000", 100_000, CARD_A)
    terminal.purchase(CLUB, 1_200_000, CARD_A)
    terminal.purchase("210060", 100_000, CARD_C)
    refund_msg, refund = terminal.authorize("200000", 50_000, CARD_A, {0x06: cash.rrn})
    terminal.confirm(refund_msg, refund, CARD_A)
    assert terminal.reverse(refund_msg, CARD_A, refund.rrn, "VD").code == "00"  # a void
    terminal.authorize(CLUB, 300_000, CARD_A)  # approved, never confirmed: not counted
    ours = totals(debits=(2, 1_300_000), credits=(2, 150_000), credit_rev=(1, 50_000))
    assert ours["97"] == "D0000000001200000"
    r = terminal.reconcile(ours)
    assert r.code == "00" and r.tags[0x0E] == "5"
    for key, value in ours.items():
        assert r.message[key] == (value if key == "97" else f"{value:0{len(r.message[key])}d}")
    # the window closed at the 0510
    assert terminal.reconcile(totals()).code == "00"
    terminal.purchase("000000", 70_000, CARD_A)
    wrong = terminal.reconcile(totals(debits=(1, 7_000)))
    assert wrong.code == "95"
    assert (wrong.message["76"], wrong.message["88"]) == ("0000000001", "0000000000070000")
    assert wrong.message["97"] == "D0000000000070000"
    batches = server.call(lambda store: store._all("SELECT result FROM recon_batches"))
    assert [b["result"] for b in batches] == ["00", "00", "95"]
