"""Split payment end to end (agent/split.py against the reference club server over TCP, with
the bank leg simulator): each path of docs/protocol.md 5.11 as the terminal drives it, the
club's books after it (balances, holds, the remainder leg, the ledger check), and a power cut
between the legs.

Cards (simulator/club_server/seed.py): CARD_B holds 2,000,000 rials of club credit, tier B
(10 % off, fee 5,000): a 3,000,000 sale is payable 2,705,000, 2,000,000 from the credit and
705,000 the remainder. CARD_LOW holds 10,000 of club credit and 5,000 of store credit.
"""

import pytest

from agent.ports import MemoryStorage
from tests.club_server.support import balance, txn
from tests.test_engine_club_server import World, card

seed = pytest.importorskip("simulator.club_server.seed")
ledger = pytest.importorskip("simulator.club_server.ledger")
server_module = pytest.importorskip("simulator.club_server.server")

SALE = 3_000_000
PAYABLE = 2_705_000
CREDIT = 2_000_000
REST = PAYABLE - CREDIT


@pytest.fixture
def club(tmp_path):
    db = str(tmp_path / "club.db")
    seed.seed_demo(db)
    handle = server_module.run_in_thread(db)
    yield handle
    handle.stop()


def books_ok(club):
    report = ledger.ledger_check(club.server.db_path, grace=0)
    assert report.ok, report.findings


def test_bank_remainder_approved(club):
    w = World(club.port)
    res = w.engine.purchase_split(SALE, "60", "40", card(seed.CARD_B))
    assert (res["outcome"], res["response_code"], res["confirmed"]) == ("approved", "10", True)
    ref = w.bank.charges()[0]["reference"]
    assert res["legs"] == [
        {"account": "60", "amount": CREDIT},
        {"account": "40", "amount": REST, "bank_reference": ref},
    ]
    assert res["payable"] == PAYABLE and res["discount"] == 300_000 and res["fee"] == 5_000
    assert [c["amount"] for c in w.bank.charges()] == [REST]
    assert balance(club, seed.CARD_B) == (0, 0)
    row = txn(club, res["rrn"])
    assert (row["state"], row["bank_ref"], row["remainder"]) == ("confirmed", ref, REST)
    assert res["points_earned"] == 270  # on the whole sale
    books_ok(club)


def test_bank_remainder_declined_releases_the_credit(club):
    w = World(club.port)
    w.bank.script = ["decline"]
    res = w.engine.purchase_split(SALE, "60", "40", card(seed.CARD_B))
    assert (res["outcome"], res["reason"], res["legs"]) == ("reversed", "BD", [])
    assert balance(club, seed.CARD_B) == (CREDIT, 0)  # the hold released
    assert w.bank.charges() == []
    books_ok(club)


def test_cash_remainder_and_store_credit(club):
    w = World(club.port)
    res = w.engine.purchase_split(100_000, "60", "00", card(seed.CARD_LOW))
    assert res["outcome"] == "approved" and res["confirmed"], res
    # tier C: 5 % off, fee 5,000: payable 100,000; 10,000 of credit, 90,000 in cash
    assert res["legs"] == [{"account": "60", "amount": 10_000}, {"account": "00", "amount": 90_000}]
    assert w.keypad.asked[-2:] == ["split", "collect_cash"] and w.bank.charges() == []
    store = w.engine.purchase_split(50_000, "70", "00", card(seed.CARD_LOW))
    assert store["legs"] == [
        {"account": "70", "amount": 5_000},
        {"account": "00", "amount": 45_000},
    ]
    books_ok(club)


def test_customer_refuses_the_split(club):
    w = World(club.port)
    w.keypad.confirms = [False]
    res = w.engine.purchase_split(SALE, "60", "40", card(seed.CARD_B))
    assert (res["outcome"], res["reason"]) == ("cancelled", "CN")
    assert balance(club, seed.CARD_B) == (CREDIT, 0) and w.bank.charges() == []
    books_ok(club)


def test_credit_that_covers_it_is_a_credit_purchase(club):
    w = World(club.port)
    res = w.engine.purchase_split(300_000, "60", "40", card(seed.CARD_A))
    assert (res["outcome"], res["response_code"]) == ("approved", "00")
    assert res["legs"] == [{"account": "60", "amount": res["payable"]}]
    assert w.bank.charges() == []


def test_void_and_refund_give_each_leg_back(club):
    w = World(club.port)
    w.engine.purchase_split(SALE, "60", "40", card(seed.CARD_B))
    void = w.engine.void_last()
    assert void["outcome"] == "approved" and void["confirmed"], void
    assert [leg["account"] for leg in void["legs"]] == ["60", "40"]
    assert void["legs"][1]["bank_reference"] == w.bank.charges()[0]["reference"]
    assert balance(club, seed.CARD_B) == (CREDIT, 0)  # the credit part is back
    assert w.display.shown[-1][0] == "legs_bank"
    sale = w.engine.purchase_split(SALE, "60", "00", card(seed.CARD_B))
    refund = w.engine.refund(1_000_000, sale["rrn"], "60", card(seed.CARD_B))
    assert refund["outcome"] == "approved" and refund["confirmed"], refund
    share = 1_000_000 * CREDIT // PAYABLE  # docs/protocol.md 5.11
    assert refund["legs"] == [
        {"account": "60", "amount": share},
        {"account": "00", "amount": 1_000_000 - share},
    ]
    assert balance(club, seed.CARD_B) == (share, 0)
    assert w.display.shown[-1][0] == "legs_cash"
    books_ok(club)


def test_end_of_day_agrees_and_shows_each_leg(club):
    w = World(club.port)
    w.engine.purchase_split(SALE, "60", "40", card(seed.CARD_B))
    w.engine.purchase_split(100_000, "60", "00", card(seed.CARD_LOW))
    res = w.engine.close_day()
    assert res["response_code"] == "00", res  # the club's totals agree: each sale once
    assert res["totals"]["da"] == SALE + 100_000
    assert res["leg_totals"] == {"60": CREDIT + 10_000, "40": REST, "00": 90_000}
    assert "Sales by leg:" in "\n".join(w.printer.printed[-1])


def test_power_cut_between_the_legs_finishes_both(club):
    """The bank leg charged the remainder, then the power went before the 0220 was queued:
    recovery asks the bank leg and confirms the split with its reference."""
    storage = MemoryStorage()
    w = World(club.port, storage)

    def cut(*args, **kwargs):
        raise SystemExit("power cut")  # not an Exception: the engine may not handle it

    original = w.engine.saf.add
    w.engine.saf.add = cut
    with pytest.raises(SystemExit):
        w.engine.purchase_split(SALE, "60", "40", card(seed.CARD_B))
    w.engine.saf.add = original
    assert len(w.bank.charges()) == 1 and balance(club, seed.CARD_B) == (CREDIT, CREDIT)
    w2 = w.restart(club.port)
    report = w2.engine.recover()
    assert [a for a, _ in report["actions"]] == ["confirmed"], report
    assert balance(club, seed.CARD_B) == (0, 0)
    stan = report["actions"][0][1]
    assert w2.engine.ledger.last["q"]["legs"] == [["60", CREDIT], ["40", REST]], stan
    books_ok(club)
