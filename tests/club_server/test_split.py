"""Split payment on the club side (docs/protocol.md 5.11): the partial approval 10 that holds
all the available credit, its two phases, every way the sale ends without its remainder, and
the hold window. Void and refund of a split sale: test_split_returns.py."""

import time

from simulator.club_server import accounts
from simulator.club_server.ledger import ledger_check
from simulator.club_server.outcomes import magic_card
from simulator.club_server.seed import CARD_A, CARD_B, CARD_C, CARD_LOW
from simulator.club_server.server import ClubServer
from tests.club_server.client import Terminal
from tests.club_server.support import balance, ledger_of, settlements, txn

CASH, BANK, CLUB, STORE = "000000", "004000", "006000", "007000"
SPLIT = 0x17
BANK_REF = 0x05
BANK_TENDER, CASH_TENDER = "40", "00"


def test_short_club_credit_with_tag_17_is_a_partial_approval_holding_all_of_it(server, terminal):
    # CARD_LOW: 10,000 rials of club credit, tier C: 5 % off, fee 5,000 -> payable 100,000
    msg, first = terminal.authorize(CLUB, 100_000, CARD_LOW, {SPLIT: BANK_TENDER})
    assert first.code == "10"
    assert first.amounts == {
        "60D1": 5_000,
        "60F1": 5_000,
        "60P1": 10_000,  # the credit part
        "40P1": 90_000,  # the remainder, on the bank leg
        "6002": 0,
    }
    assert first.message["4"] == f"{100_000:012d}"  # field 4 stays the whole sale
    assert len(first.rrn) == 12 and len(first.message["38"]) == 6
    assert first.tags[3] == "C"
    assert balance(server, CARD_LOW) == (10_000, 10_000)  # all of it held
    row = txn(server, first.rrn)
    assert (row["payable"], row["remainder"], row["remainder_tender"]) == (100_000, 90_000, "40")
    assert row["state"] == "approved"
    assert msg["48"]  # the request carried tag 17


def test_without_tag_17_short_credit_is_still_51(server, terminal):
    _, first = terminal.authorize(CLUB, 100_000, CARD_LOW)
    assert first.code == "51" and first.amounts == {"6002": 10_000}
    assert balance(server, CARD_LOW) == (10_000, 0)


def test_enough_credit_with_tag_17_is_a_plain_00(server, terminal):
    msg, first = terminal.authorize(CLUB, 1_200_000, CARD_A, {SPLIT: BANK_TENDER})
    assert first.code == "00"
    assert first.amounts == {"60D1": 180_000, "60F1": 5_000, "60P1": 1_025_000, "6002": 3_975_000}
    row = txn(server, first.rrn)
    assert row["remainder"] == 0 and row["remainder_tender"] is None
    second = terminal.confirm(msg, first, CARD_A)  # no tag 05 needed: no bank leg
    assert second.code == "00"
    assert balance(server, CARD_A) == (3_975_000, 0)


def test_no_credit_at_all_with_tag_17_is_51(server, terminal):
    _, first = terminal.authorize(CLUB, 100_000, CARD_C, {SPLIT: CASH_TENDER})
    assert first.code == "51" and first.rrn is None


def test_tag_17_in_any_other_0100_is_12_and_a_wrong_tender_is_30(server, terminal):
    for proc in (CASH, BANK, "210060"):
        _, r = terminal.authorize(proc, 100_000, CARD_A, {SPLIT: BANK_TENDER})
        assert r.code == "12", proc
    _, r = terminal.authorize("200060", 100_000, CARD_A, {SPLIT: BANK_TENDER, 0x06: "1"})
    assert r.code == "12"
    for tender in ("60", "4", "", "70"):
        _, r = terminal.authorize(CLUB, 100_000, CARD_LOW, {SPLIT: tender})
        assert r.code == "30", tender
    assert balance(server, CARD_LOW) == (10_000, 0)


def test_a_repeat_gets_the_recorded_10_and_holds_once(server, terminal):
    msg, first = terminal.authorize(CLUB, 100_000, CARD_LOW, {SPLIT: BANK_TENDER})
    again = terminal.exchange(dict(msg, t="0101"), terminal.secrets(CARD_LOW))
    assert again.message["t"] == "0110"
    for key in ("37", "38", "39", "54", "48", "4"):
        assert again.message[key] == first.message[key]
    assert again.code == "10"
    assert balance(server, CARD_LOW) == (10_000, 10_000)


def test_bank_remainder_approved_debits_exactly_the_credit_part(server, terminal):
    # CARD_B: 2,000,000 club credit, tier B: 10 % off, fee 5,000 -> payable 2,705,000
    msg, first = terminal.authorize(CLUB, 3_000_000, CARD_B, {SPLIT: BANK_TENDER})
    assert first.code == "10"
    assert first.amounts == {
        "60D1": 300_000,
        "60F1": 5_000,
        "60P1": 2_000_000,
        "40P1": 705_000,
        "6002": 0,
    }
    assert first.tags[1] == "270"  # points on the whole sale (amount - discount)
    second = terminal.confirm(msg, first, CARD_B, {BANK_REF: "PSP-778899"})
    assert second.code == "00"
    assert second.amounts == {"6002": 0}
    assert second.tags[1] == "270"
    assert balance(server, CARD_B) == (0, 0)
    assert ("purchase", "club", -2_000_000) in ledger_of(server, first.rrn)
    row = txn(server, first.rrn)
    assert row["state"] == "confirmed" and row["bank_ref"] == "PSP-778899"
    assert (row["remainder"], row["remainder_tender"]) == (705_000, "40")
    # the club owes the store the credit leg only: amount - discount - remainder
    assert settlements(server, first.rrn) == [("purchase", 1_995_000)]
    again = terminal.confirm(msg, first, CARD_B, {BANK_REF: "PSP-778899"})
    assert again.code == "00" and again.amounts == second.amounts  # changes nothing
    assert balance(server, CARD_B) == (0, 0)


def test_a_bank_split_confirmed_without_its_bank_reference_is_30(server, terminal):
    msg, first = terminal.authorize(CLUB, 100_000, CARD_LOW, {SPLIT: BANK_TENDER})
    assert terminal.confirm(msg, first, CARD_LOW).code == "30"
    assert balance(server, CARD_LOW) == (10_000, 10_000)  # still held, nothing debited
    assert txn(server, first.rrn)["state"] == "approved"
    assert terminal.confirm(msg, first, CARD_LOW, {BANK_REF: "R1"}).code == "00"
    assert balance(server, CARD_LOW) == (0, 0)


def test_cash_remainder_is_confirmed_without_a_bank_reference(server, terminal):
    msg, first = terminal.authorize(CLUB, 100_000, CARD_LOW, {SPLIT: CASH_TENDER})
    assert first.code == "10" and first.amounts["00P1"] == 90_000
    assert first.amounts["60P1"] == 10_000
    second = terminal.confirm(msg, first, CARD_LOW)
    assert second.code == "00"
    assert balance(server, CARD_LOW) == (0, 0)
    row = txn(server, first.rrn)
    assert row["state"] == "confirmed" and row["remainder_tender"] == "00"
    assert settlements(server, first.rrn) == [("purchase", 5_000)]  # 100,000 - 5,000 - 90,000


def test_store_credit_split(server, terminal):
    # CARD_LOW: 5,000 rials of store credit here; store credit has no discount nor fee
    msg, first = terminal.authorize(STORE, 50_000, CARD_LOW, {SPLIT: CASH_TENDER})
    assert first.code == "10"
    assert first.amounts == {"70P1": 5_000, "00P1": 45_000, "7002": 0}
    # gift credit earns no points here (earn_on_redemption: no); the cash remainder does
    assert first.tags[1] == "4"  # 45,000 // 10,000
    assert balance(server, CARD_LOW, accounts.STORE) == (5_000, 5_000)
    assert terminal.confirm(msg, first, CARD_LOW).code == "00"
    assert balance(server, CARD_LOW, accounts.STORE) == (0, 0)
    assert settlements(server, first.rrn) == []  # the store carries its own gift credit


def test_a_0420_after_10_releases_the_hold_for_every_reason_and_a_late_0220_is_12(server, terminal):
    for reason in ("CN", "BD", "BT", "PF", "DL", "TO", "NF", "MC", "PR", "ER"):  # 2.3 tag 0B
        msg, first = terminal.authorize(CLUB, 100_000, CARD_LOW, {SPLIT: BANK_TENDER})
        assert first.code == "10" and balance(server, CARD_LOW) == (10_000, 10_000)
        assert terminal.reverse(msg, CARD_LOW, first.rrn, reason).code == "00"
        assert balance(server, CARD_LOW) == (10_000, 0), reason
        row = txn(server, first.rrn)
        assert (row["state"], row["reason"]) == ("reversed", reason)
        late = terminal.confirm(msg, first, CARD_LOW, {BANK_REF: "R1"})
        assert late.code == "12"
        assert balance(server, CARD_LOW) == (10_000, 0)
        assert settlements(server, first.rrn) == []


def test_a_0420_without_rrn_after_a_lost_10_releases_the_hold(server, terminal):
    """The 0110 was lost (power cut, no answer): the terminal reverses by field 90 alone."""
    msg, first = terminal.authorize(CLUB, 100_000, CARD_LOW, {SPLIT: CASH_TENDER})
    assert terminal.reverse(msg, CARD_LOW, None, "PF").code == "00"
    assert balance(server, CARD_LOW) == (10_000, 0)
    assert txn(server, first.rrn)["state"] == "reversed"


def test_the_hold_window_releases_an_unfinished_split(db_path):
    with ClubServer(db_path, hold_window=0.3, sweep_interval=0.05).run_in_thread() as server:
        t = Terminal(server.port).connect()
        msg, first = t.authorize(CLUB, 100_000, CARD_LOW, {SPLIT: BANK_TENDER})
        assert first.code == "10"
        deadline = time.monotonic() + 5
        while balance(server, CARD_LOW) != (10_000, 0) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert balance(server, CARD_LOW) == (10_000, 0)
        row = txn(server, first.rrn)
        assert (row["state"], row["reason"]) == ("released", "HW")
        assert t.confirm(msg, first, CARD_LOW, {BANK_REF: "R1"}).code == "12"
        t.close()
    assert ledger_check(db_path, grace=0).ok


def test_a_split_counts_once_at_field_4_in_the_reconciliation(server, terminal):
    msg, first = terminal.authorize(CLUB, 3_000_000, CARD_B, {SPLIT: BANK_TENDER})
    terminal.confirm(msg, first, CARD_B, {BANK_REF: "R9"})
    msg, cash = terminal.authorize(CLUB, 100_000, CARD_LOW, {SPLIT: CASH_TENDER})
    terminal.confirm(msg, cash, CARD_LOW)
    total = 3_100_000
    r = terminal.reconcile({"76": 2, "88": total, "97": "D" + f"{total:016d}"})
    assert r.code == "00" and r.tags[0x0E] == "2"


def test_the_magic_short_credit_card_makes_a_split_at_will(server, terminal):
    card = magic_card("10")  # 100,000,000 seeded, 100,000 seen (docs/testing.md)
    _, short = terminal.authorize(CLUB, 1_000_000, card)
    assert short.code == "51" and short.amounts == {"6002": 100_000}
    for _ in range(2):  # always short, however much it holds
        msg, first = terminal.authorize(CLUB, 1_000_000, card, {SPLIT: CASH_TENDER})
        assert first.code == "10"
        assert (first.amounts["60P1"], first.amounts["00P1"]) == (
            100_000,
            855_000,
        )  # tier C: 955,000 payable
        assert terminal.confirm(msg, first, card).code == "00"
    assert balance(server, card) == (100_000_000 - 200_000, 0)
    _, small = terminal.authorize(CLUB, 50_000, card, {SPLIT: CASH_TENDER})
    assert small.code == "00"  # what it sees covers it: no split


def test_a_coupon_on_a_split_lowers_the_remainder_and_keeps_both_p1_items(server, terminal):
    from simulator.club_server import coupons

    server.call(
        lambda store: coupons.add(
            store, "SPLIT20K", description="20k off", kind="fixed", value=20_000, max_uses=2
        )
    )
    # store credit (5,000 here): no D1 of its own, the coupon's D1 is added before the P1s
    msg, first = terminal.authorize(STORE, 50_000, CARD_LOW, {SPLIT: CASH_TENDER, 0x0F: "SPLIT20K"})
    assert first.code == "10"
    assert first.amounts == {"70D1": 20_000, "70P1": 5_000, "00P1": 25_000, "7002": 0}
    assert first.tags[0x12] == "20000"
    assert terminal.confirm(msg, first, CARD_LOW).code == "00"
    # club credit (10,000): tier C 5 % = 5,000 + the coupon's 20,000 in D1; fee 5,000
    msg, first = terminal.authorize(CLUB, 100_000, CARD_LOW, {SPLIT: BANK_TENDER, 0x0F: "SPLIT20K"})
    assert first.code == "10"
    assert first.amounts == {
        "60D1": 25_000,
        "60F1": 5_000,
        "60P1": 10_000,
        "40P1": 70_000,
        "6002": 0,
    }
    assert terminal.reverse(msg, CARD_LOW, first.rrn, "BD").code == "00"
    row = server.call(lambda store: coupons.coupon(store, "SPLIT20K"))
    assert (row["consumed"], row["released"]) == (1, 1)  # the reversed split gave its use back
