"""Coupons end to end: the agent's engine against the reference club server over TCP
(docs/protocol.md 5.10). The coupon's use is held with the 0110, consumed by the 0220, given
back by a 0420 (cancel, power cut then recovery) and by a void; a refusal (78) closes the sale
with nothing held, and the same sale without the coupon goes through."""

import pytest

from simulator.club_server import coupons
from simulator.club_server.seed import seed_demo
from simulator.club_server.server import run_in_thread
from tests.test_engine_club_server import World, card


@pytest.fixture
def club(tmp_path):
    db = str(tmp_path / "club.db")
    seed_demo(db)
    handle = run_in_thread(db)
    yield handle
    handle.stop()


class PowerCut(BaseException):
    """Not an Exception: nothing in the engine runs after it, as after a real cut."""


class CutKeypad:
    """The customer's confirmation never comes: the power goes first."""

    def ask(self, field, kind="digits"):
        return None

    def confirm(self, screen, **params):
        raise PowerCut


def add(club, code, **kw):
    kw.setdefault("description", "Nowruz 10% off")
    kw.setdefault("kind", "percent")
    kw.setdefault("value", 1000)
    return club.call(lambda store: coupons.add(store, code, **kw))


def uses(club, code):
    row = club.call(lambda store: coupons.coupon(store, code))
    return {"held": row["held"], "consumed": row["consumed"], "released": row["released"]}


def test_a_bank_sale_with_a_coupon_shows_and_prints_it(club):
    """NOWRUZ10: the demo club's seeded 10 % coupon (docs/testing.md)."""
    w = World(club.port)
    res = w.engine.purchase_bank(1_200_000, card(), coupon="nowruz-10")
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert (res["coupon"], res["coupon_discount"]) == ("NOWRUZ10", 102_000)
    assert res["coupon_text"] == "Nowruz 10% off"
    assert res["discount"] == 180_000 + 102_000  # tier A 15 %, then 10 % of the rest
    assert w.bank.charged_total() == res["payable"] == 1_200_000 - 282_000 + 5_000
    screens = [s for s, _ in w.display.shown]
    assert screens.index("coupon") < screens.index("payable")
    receipt = "\n".join(w.printer.printed[0])
    assert "Coupon NOWRUZ10" in receipt and "102,000" in receipt
    assert "Nowruz 10% off" in receipt
    assert uses(club, "NOWRUZ10") == {"held": 0, "consumed": 1, "released": 0}


@pytest.mark.parametrize("reason", ["UK", "DS", "EX", "ST", "MB", "MN", "US"])
def test_a_refused_coupon_is_final_holds_nothing_and_the_sale_goes_on_without(club, reason):
    w = World(club.port)
    res = w.engine.purchase_club_credit(200_000, card(), coupon="QA78" + reason)
    assert (res["outcome"], res["response_code"]) == ("declined", "78"), res
    assert res["coupon_reason"] == reason and res["message"].startswith("Coupon refused: ")
    assert w.display.last[0] == "coupon_refused"
    assert w.engine.pending() == 0 and not w.printer.printed  # no 0420, no receipt
    res = w.engine.purchase_club_credit(200_000, card())
    assert res["outcome"] == "approved" and "coupon" not in res


def test_a_cancelled_sale_gives_the_coupon_back(club):
    add(club, "ONCE", kind="fixed", value=20_000)
    w = World(club.port)
    w.keypad.confirms = [False]  # the customer says no to the payable
    res = w.engine.purchase_club_credit(200_000, card(), coupon="ONCE")
    assert (res["outcome"], res["reason"]) == ("cancelled", "CN")
    assert uses(club, "ONCE") == {"held": 0, "consumed": 0, "released": 1}
    res = w.engine.purchase_club_credit(200_000, card(), coupon="ONCE")
    assert res["outcome"] == "approved", res
    assert (res["coupon_discount"], res["discount"]) == (20_000, 30_000 + 20_000)
    assert uses(club, "ONCE") == {"held": 0, "consumed": 1, "released": 1}
    res = w.engine.purchase_cash(100_000, card(), coupon="ONCE")
    assert (res["response_code"], res["coupon_reason"]) == ("78", "US")


def test_a_power_cut_between_the_phases_gives_the_coupon_back_at_power_up(club):
    add(club, "CUT1", kind="fixed", value=20_000)
    w = World(club.port)
    w.engine.keypad = CutKeypad()
    with pytest.raises(PowerCut):
        w.engine.purchase_club_credit(200_000, card(), coupon="CUT1")
    assert uses(club, "CUT1")["held"] == 1
    w2 = w.restart(club.port)
    report = w2.engine.recover()
    assert [a for a, _ in report["actions"]] == ["reversed"]
    assert uses(club, "CUT1") == {"held": 0, "consumed": 0, "released": 1}
    res = w2.engine.purchase_club_credit(200_000, card(), coupon="CUT1")
    assert res["outcome"] == "approved" and res["coupon_discount"] == 20_000


def test_a_void_gives_the_coupon_back(club):
    add(club, "VOID1", kind="fixed", value=20_000)
    w = World(club.port)
    assert w.engine.purchase_cash(300_000, card(), coupon="VOID1")["confirmed"]
    res = w.engine.void_last()
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert uses(club, "VOID1") == {"held": 0, "consumed": 0, "released": 1}


def test_a_code_that_is_no_code_is_refused_before_anything_is_sent(club):
    w = World(club.port)
    w.engine.recover()
    before = club.call(lambda store: store.table_counts()["requests"])
    for bad in ("AB", "TOO-LONG-CODE-FOR-ANY-TILL", "NOWRÜZ"):
        with pytest.raises(ValueError, match="coupon code"):
            w.engine.purchase_cash(100_000, card(), coupon=bad)
    assert club.call(lambda store: store.table_counts()["requests"]) == before
    assert not w.engine.ledger.open
