"""Bank charged, club refused: the bank leg gives the money back (agent/bankback.py,
docs/terminal.md "Bank payment given back"), end to end against the reference club server and
the BankSimulator.

The club refuses the 0220 (12) because its hold window lapsed before the 0220 arrived: the
server runs with a short hold window and the customer takes longer than that at the PSP.
"""

import time

import pytest

from agent.ports import Card
from simulator.bank import BankSimulator
from tests.test_engine_club_server import World

seed = pytest.importorskip("simulator.club_server.seed")
server_module = pytest.importorskip("simulator.club_server.server")

HOLD_S = 0.3  # the club's hold window in these tests
SLOW_S = 0.9  # how long the customer takes at the PSP: the hold lapses meanwhile
AMOUNT = 1200000
PAYABLE = 1200000 - 180000 + 5000  # tier A: 15 % off, fee 5,000


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "club.db")
    seed.seed_demo(path)
    return path


@pytest.fixture
def club(db):
    handle = server_module.run_in_thread(db, hold_window=HOLD_S)
    yield handle
    handle.stop()


class SlowCustomer:
    """The BankSimulator, with a customer who takes SLOW_S at the PSP's screen; `reverse`
    only when the PSP application offers it (reverse=False: a port without it)."""

    def __init__(self, bank, reverse=True, before_pay=None):
        self.bank = bank
        self.before_pay = before_pay
        if reverse:
            self.reverse = bank.reverse

    def pay(self, amount, card, txn_id):
        time.sleep(SLOW_S)
        if self.before_pay is not None:
            self.before_pay()
        return self.bank.pay(amount, card, txn_id)

    def status(self, txn_id):
        return self.bank.status(txn_id)


def card():
    return Card(seed.CARD_A, None, "051")


def sale(club, bank):
    w = World(club.port, bank=bank)
    w.engine.recover()
    return w, w.engine.purchase_bank(AMOUNT, card())


def test_refused_during_the_sale_the_bank_gives_the_charge_back(club):
    sim = BankSimulator()
    w, res = sale(club, SlowCustomer(sim))
    assert (res["outcome"], res["response_code"], res["confirmed"]) == ("declined", "12", False)
    assert res["bank_reversal"] == "reversed", res
    assert "given back" in res["message"]
    assert sim.charged_total() == PAYABLE and sim.net_total() == 0
    assert len(sim.reversals) == 1 and sim.reversals[0]["reference"] == res["bank_reference"]
    assert w.display.shown[-1][0] == "bank_reversed"
    assert w.printer.printed == []  # no receipt says APPROVED, no refund slip is needed
    day = w.engine.close_day()
    report = "\n".join(w.printer.printed[-1])
    assert day["bank_back"][0]["st"] == "reversed"
    assert "  Given back ****0014" in report
    assert "1,025,000\n    bank ref " + res["bank_reference"] in report
    # a later sale (a quick customer) is unaffected, and the reversal is never asked again
    w.engine.bank = sim
    res = w.engine.purchase_bank(1000000, card())
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert w.engine.ledger.owed == [] and len(sim.reversals) == 1


@pytest.mark.parametrize("how", ["no_reverse", "declined"])
def test_a_bank_leg_that_cannot_give_back_says_so_on_screen_slip_and_day_report(club, how):
    sim = BankSimulator(reverse_script=["decline"])
    w, res = sale(club, SlowCustomer(sim, reverse=how != "no_reverse"))
    assert res["outcome"] == "declined" and res["bank_reversal"] == how, res
    ref = res["bank_reference"]
    assert "refund 1,025,000 rials on the bank card, reference " + ref in res["message"]
    assert w.display.shown[-1] == (
        "bank_refund_due",
        {"amount": PAYABLE, "reference": ref},
    )
    slip = "\n".join(w.printer.printed[-1])
    assert "REFUND DUE ON THE BANK CARD" in slip and "Refund 1,025,000 rials" in slip
    assert ref in slip and "0014" in slip and seed.CARD_A not in slip
    assert sim.net_total() == PAYABLE  # nothing given back: the cashier must
    w.engine.close_day()
    report = "\n".join(w.printer.printed[-1])
    assert "  TO REFUND ****0014" in report and "1,025,000\n    bank ref " + ref in report


def test_refused_later_from_the_queue_the_bank_gives_back(db):
    """The 0220 cannot be sent (the club is down), stays queued, and the club refuses it when
    it comes back (the hold lapsed meanwhile): the give-back happens from the queue."""
    first = server_module.run_in_thread(db, hold_window=HOLD_S)
    sim = BankSimulator()
    w = World(first.port, bank=SlowCustomer(sim, before_pay=first.stop))
    w.engine.recover()
    res = w.engine.purchase_bank(AMOUNT, card())
    assert (res["outcome"], res["confirmed"]) == ("approved", False), res  # queued
    assert sim.net_total() == PAYABLE
    again = server_module.run_in_thread(db, hold_window=HOLD_S)
    try:
        time.sleep(HOLD_S * 2)
        w2 = w.restart(again.port)
        w2.engine.recover()  # the queue is drained: 0221 answered 12
        assert w2.engine.pending() == 0 and w2.engine.ledger.conflicts == 1
        assert sim.net_total() == 0 and len(sim.reversals) == 1
        assert w2.display.shown[-1][0] == "bank_reversed"
        day = w2.engine.close_day()
        assert [d["st"] for d in day["bank_back"]] == ["reversed"]
    finally:
        again.stop()


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_power_cut_around_the_reversal_is_finished_at_power_up(club, when):
    """Cut after the "br" record, before the bank leg acted (or after it reversed, before the
    "brd"): the next power-up asks again; the bank gives the money back exactly once."""

    class Cut(BaseException):  # a power cut: no code of the engine's runs after it
        pass

    sim = BankSimulator()
    bank = SlowCustomer(sim)

    def cut(txn_id, amount):
        if when == "after":
            sim.reverse(txn_id, amount)
        raise Cut()

    bank.reverse = cut
    w = World(club.port, bank=bank)
    w.engine.recover()
    with pytest.raises(Cut):
        w.engine.purchase_bank(AMOUNT, card())
    assert w.engine.ledger.owed[0]["asked"] == 1  # the "br" was journaled before the ask
    assert sim.net_total() == (0 if when == "after" else PAYABLE)
    bank.reverse = sim.reverse
    w2 = w.restart(club.port)
    w2.engine.recover()
    assert sim.net_total() == 0 and len(sim.reversals) == 1
    assert w2.engine.ledger.owed == [] and w2.engine.ledger.bank_back[0]["asked"] == 2
    assert w2.engine.ledger.bank_back[0]["st"] == "reversed"
    assert w2.display.shown[-1][0] == "bank_reversed"
    # the PSP reverses once per id: asked again, it answers as before and credits nothing
    assert sim.reverse(sim.payments[0]["txn_id"], PAYABLE)["status"] == "reversed"
    assert sim.net_total() == 0 and len(sim.reversals) == 1


@pytest.mark.parametrize(
    ("answers", "status", "given_back"),
    [(["timeout"], "reversed", True), (["timeout", "timeout"], "timeout", False)],
)
def test_a_reverse_without_an_answer_is_asked_once_more(club, answers, status, given_back):
    sim = BankSimulator(reverse_script=answers)
    w, res = sale(club, SlowCustomer(sim))
    assert res["bank_reversal"] == status, res
    assert sim.net_total() == (0 if given_back else PAYABLE)
    assert bool(w.printer.printed) is not given_back  # the slip only when not given back
