"""Void and refund of a split sale (docs/protocol.md 5.11): each leg goes back where it came
from, the credit by the club, the remainder by the bank leg or the cashier."""

from simulator.club_server import accounts
from simulator.club_server.ledger import ledger_check
from simulator.club_server.seed import CARD_B, CARD_LOW
from simulator.club_server.server import ClubServer
from tests.club_server.client import Terminal
from tests.club_server.support import balance, ledger_of, settlements, txn

CLUB, STORE = "006000", "007000"
SPLIT, BANK_REF, ORIGINAL_RRN = 0x17, 0x05, 0x06


def bank_split(terminal, card=CARD_B, amount=3_000_000):
    """A confirmed split: CARD_B's 2,000,000 of club credit, tier B (10 %, fee 5,000): payable
    2,705,000 = 2,000,000 credit + 705,000 on the bank leg; refundable 2,700,000."""
    msg, first = terminal.authorize(CLUB, amount, card, {SPLIT: "40"})
    assert first.code == "10"
    assert terminal.confirm(msg, first, card, {BANK_REF: "PSP-1"}).code == "00"
    return msg, first


def refund(terminal, proc, amount, card, rrn):
    msg, first = terminal.authorize(proc, amount, card, {ORIGINAL_RRN: rrn})
    return msg, first


def test_void_gives_the_credit_part_back_and_voids_the_remainder_leg(server, terminal):
    msg, sale = bank_split(terminal)
    assert balance(server, CARD_B) == (0, 0)
    r = terminal.reverse(msg, CARD_B, sale.rrn, "VD")
    assert r.code == "00"
    assert balance(server, CARD_B) == (2_000_000, 0)
    assert ("void", "club", 2_000_000) in ledger_of(server, sale.rrn)
    row = txn(server, sale.rrn)
    assert row["state"] == "voided" and row["reason"] == "VD"
    assert (row["remainder"], row["remainder_tender"], row["bank_ref"]) == (705_000, "40", "PSP-1")
    assert settlements(server, sale.rrn) == [("purchase", 1_995_000), ("void", -1_995_000)]
    # the void counts once in the debit reversals, at field 4
    total = 3_000_000
    r = terminal.reconcile({"76": 1, "88": total, "77": 1, "89": total, "97": "C" + "0" * 16})
    assert r.code == "00"


def test_refunds_of_a_whole_sale_in_three_parts_return_each_leg_exactly(server, terminal):
    _, sale = bank_split(terminal)
    shares = []
    for amount in (1_000_000, 1_000_000, 700_000):
        msg, first = refund(terminal, "200060", amount, CARD_B, sale.rrn)
        assert first.code == "00"
        credit, remainder = first.amounts["60P1"], first.amounts["40P1"]
        assert credit + remainder == amount
        before = balance(server, CARD_B)[0]
        assert first.amounts["6002"] == before + credit  # available once confirmed
        second = terminal.confirm(msg, first, CARD_B)
        assert second.code == "00"
        assert balance(server, CARD_B) == (before + credit, 0)  # the credit share only
        assert second.amounts == {"6002": before + credit}
        assert settlements(server, first.rrn) == [("refund", -credit)]
        row = txn(server, first.rrn)
        assert (row["remainder"], row["remainder_tender"]) == (remainder, "40")
        shares.append((credit, remainder))
    # in proportion (credit 2,000,000 of 2,705,000 paid), rounded down; the last one capped
    assert shares[0] == (739_371, 260_629) and shares[1] == (739_371, 260_629)
    assert shares[2] == (516_258, 183_742)
    # every leg back exactly: the bank leg's 705,000, the credit less the club's fee
    assert sum(c for c, _ in shares) == 1_995_000
    assert sum(r for _, r in shares) == 705_000
    assert balance(server, CARD_B) == (1_995_000, 0)
    _, more = refund(terminal, "200060", 1, CARD_B, sale.rrn)
    assert more.code == "13"  # nothing left


def test_refunds_of_a_cash_split_in_two_parts(server, terminal):
    # CARD_LOW: 100,000 = 10,000 credit + 90,000 cash; fee 5,000, discount 5,000
    msg, sale = terminal.authorize(CLUB, 100_000, CARD_LOW, {SPLIT: "00"})
    terminal.confirm(msg, sale, CARD_LOW)
    msg, first = refund(terminal, "200060", 50_000, CARD_LOW, sale.rrn)
    assert (first.amounts["60P1"], first.amounts["00P1"]) == (5_000, 45_000)
    terminal.confirm(msg, first, CARD_LOW)
    msg, second = refund(terminal, "200060", 45_000, CARD_LOW, sale.rrn)
    # the credit leg is refunded already (its 5,000 less the fee): all to cash
    assert (second.amounts["60P1"], second.amounts["00P1"]) == (0, 45_000)
    terminal.confirm(msg, second, CARD_LOW)
    assert balance(server, CARD_LOW) == (5_000, 0)


def test_a_split_is_refunded_only_to_its_credit_account(server, terminal):
    _, sale = bank_split(terminal)
    for proc in ("200040", "200000", "200070"):
        _, r = refund(terminal, proc, 100_000, CARD_B, sale.rrn)
        assert r.code == "12", proc


def test_a_reversed_refund_gives_its_shares_back_to_what_is_left(server, terminal):
    _, sale = bank_split(terminal)
    msg, first = refund(terminal, "200060", 2_700_000, CARD_B, sale.rrn)
    assert (first.amounts["60P1"], first.amounts["40P1"]) == (1_995_000, 705_000)
    assert terminal.reverse(msg, CARD_B, first.rrn, "CN").code == "00"
    msg, again = refund(terminal, "200060", 2_700_000, CARD_B, sale.rrn)
    assert again.code == "00"
    assert (again.amounts["60P1"], again.amounts["40P1"]) == (1_995_000, 705_000)


def test_void_of_a_split_refund_takes_back_only_its_credit_share(server, terminal):
    _, sale = bank_split(terminal)
    msg, first = refund(terminal, "200060", 1_000_000, CARD_B, sale.rrn)
    terminal.confirm(msg, first, CARD_B)
    assert balance(server, CARD_B) == (739_371, 0)
    assert terminal.reverse(msg, CARD_B, first.rrn, "VD").code == "00"
    assert balance(server, CARD_B) == (0, 0)
    assert txn(server, sale.rrn)["refunded"] == 0
    msg, again = refund(terminal, "200060", 1_000_000, CARD_B, sale.rrn)
    assert (again.amounts["60P1"], again.amounts["40P1"]) == (739_371, 260_629)


def test_store_credit_split_refund(server, terminal):
    msg, sale = terminal.authorize(STORE, 50_000, CARD_LOW, {SPLIT: "40"})
    terminal.confirm(msg, sale, CARD_LOW, {BANK_REF: "R"})
    msg, first = refund(terminal, "200070", 50_000, CARD_LOW, sale.rrn)
    assert first.amounts == {"70P1": 5_000, "40P1": 45_000, "7002": 5_000}
    terminal.confirm(msg, first, CARD_LOW)
    assert balance(server, CARD_LOW, accounts.STORE) == (5_000, 0)
    assert settlements(server, first.rrn) == []


def test_the_ledger_check_finds_nothing_after_every_kind_of_split(db_path):
    """A split's account pays its credit part, not the payable: the check knows it."""
    with ClubServer(db_path).run_in_thread() as server:
        t = Terminal(server.port).connect()
        msg, sale = bank_split(t)
        msg2, part = refund(t, "200060", 1_000_000, CARD_B, sale.rrn)
        t.confirm(msg2, part, CARD_B)
        msg, cash = t.authorize(CLUB, 100_000, CARD_LOW, {SPLIT: "00"})
        t.confirm(msg, cash, CARD_LOW)
        assert t.reverse(msg, CARD_LOW, cash.rrn, "VD").code == "00"
        msg, store = t.authorize(STORE, 50_000, CARD_LOW, {SPLIT: "40"})
        t.confirm(msg, store, CARD_LOW, {BANK_REF: "R"})
        msg, open_one = t.authorize(CLUB, 100_000, CARD_LOW, {SPLIT: "40"})
        t.reverse(msg, CARD_LOW, open_one.rrn, "BD")
        t.close()
    report = ledger_check(db_path, grace=0)
    assert report.ok, report.findings
