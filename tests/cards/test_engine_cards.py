"""The engine with a chip reader over the in-process virtual cards: a card refused before any
message (clone, blank, garbage), a card pulled out after phase one reversed, first against the
in-test host of tests/portable/fakehost.py (its message log), then end to end against the
reference club server (its ledger: the hold released, ledger_check ok).

The same flows through real pcscd are in test_pcsc.py.
"""

import pytest

from agent.card_io.clubcard import ClubCardReader
from agent.card_io.inprocess import InProcessReader
from simulator.cards.personas import TEST_IMK, issued_card, make_card
from simulator.club_server.ledger import ledger_check
from tests.cards.card_support import ChipTerminal, club_txn, club_txn_count
from tests.portable.fakehost import Terminal

PAN = "9879110000000014"


# -- against the in-test club host of tests/portable/fakehost.py --------------------------


def chip_terminal(card):
    t = Terminal()
    t.engine.reader = ClubCardReader(InProcessReader(card), TEST_IMK, None, t.clock)
    t.engine.recover()
    return t


def mtis(t):
    return [e[0] for e in t.host.log]


def test_engine_reads_the_chip():
    t = chip_terminal(issued_card("9879110000000014"))
    res = t.engine.purchase_cash(200000)
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert res["card_last4"] == "0014"
    assert mtis(t) == ["0100", "0220"] and t.host.pans == [PAN, PAN]


def test_engine_refuses_clone_blank_and_garbage_before_any_message():
    screens = {
        "clone": "Card not genuine",
        "blank": "Card not issued",
        "garbage": "Card unreadable",
    }
    for name, text in screens.items():
        t = chip_terminal(make_card(name))
        res = t.engine.purchase_club_credit(100000)
        assert res["outcome"] == "failed" and res["stan"] is None, (name, res)
        assert res["message"].startswith("Card refused: "), res["message"]
        assert t.display.last == ("card_error", {"message": text}), t.display.last
        assert mtis(t) == [] and t.engine.pending() == 0


@pytest.mark.parametrize("flow", ["purchase_club_credit", "purchase_cash", "top_up"])
def test_engine_reverses_when_the_card_is_pulled_after_phase_one(flow):
    t = chip_terminal(make_card("pulled-out"))
    res = getattr(t.engine, flow)(100000)
    assert res["outcome"] == "reversed" and res["reason"] == "CN", (flow, res)
    assert res["message"] == "Card removed before completion; reversed"
    assert mtis(t) == ["0100", "0420"], (flow, mtis(t))
    assert t.host.log[-1][3] == "CN"
    assert t.engine.pending() == 0 and t.printer.printed == []
    assert t.engine.ledger.open == []  # nothing left half-done


def test_engine_bank_purchase_with_a_pulled_chip_is_reversed_before_the_bank():
    t = chip_terminal(make_card("pulled-out"))
    res = t.engine.purchase_bank(1200000)
    assert res["outcome"] == "reversed", res
    assert t.bank.payments == [] and mtis(t) == ["0100", "0420"]


def test_engine_balance_with_a_pulled_card_needs_no_reversal():
    t = chip_terminal(make_card("pulled-out"))
    res = t.engine.balance()
    assert res["outcome"] == "approved" and mtis(t) == ["0100"]


# -- end to end against the reference club server ------------------------------------------


@pytest.fixture
def chip(card_club):
    handle, db = card_club
    slot = InProcessReader()
    terminal = ChipTerminal(handle.port, slot)
    yield terminal, slot, db
    terminal.close()


@pytest.mark.parametrize("flow", ["club_credit", "cash", "top_up"])
def test_pulled_out_card_is_reversed_at_the_club(chip, flow):
    terminal, slot, db = chip
    slot.insert(make_card("pulled-out"))
    eng = terminal.engine
    call = {"club_credit": eng.purchase_club_credit, "cash": eng.purchase_cash,
            "top_up": eng.top_up}[flow]  # fmt: skip
    res = call(150000)
    assert (res["outcome"], res["reason"], res["confirmed"]) == ("reversed", "CN", False), res
    assert res["rrn"] and res["card_last4"] == "0022"
    txn, open_holds = club_txn(db, res["rrn"])
    assert txn["state"] == "reversed" and txn["reason"] == "CN", dict(txn)
    assert open_holds == []
    assert eng.pending() == 0 and eng.ledger.open == []
    assert terminal.printer.printed == [] and terminal.bank.payments == []
    report = ledger_check(db)
    assert report.ok, report.findings


def test_genuine_card_then_pulled_card_then_genuine_card(chip):
    terminal, slot, db = chip
    slot.insert(make_card("active"))
    res = terminal.engine.purchase_club_credit(100000)
    assert res["outcome"] == "approved" and res["confirmed"], res
    slot.insert(make_card("pulled-out"))
    assert terminal.engine.purchase_club_credit(100000)["outcome"] == "reversed"
    slot.insert(make_card("active"))
    res = terminal.engine.purchase_cash(100000)
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert ledger_check(db).ok


@pytest.mark.parametrize(
    "persona, screen",
    [("clone", "Card not genuine"), ("blank", "Card not issued"), ("garbage", "Card unreadable")],
)
def test_refused_cards_send_nothing_to_the_club(chip, persona, screen):
    terminal, slot, db = chip
    slot.insert(make_card(persona))
    res = terminal.engine.purchase_club_credit(100000)
    assert res["outcome"] == "failed" and res["stan"] is None, res
    assert terminal.display.last == ("card_error", {"message": screen})
    assert club_txn_count(db) == 0
    assert terminal.engine.club.stats["sent"] == 0


@pytest.mark.parametrize(
    "persona, code",
    [("active", "00"), ("blocked", "62"), ("expired", "54"), ("low-balance", "51"),
     ("prepaid", "00")],
)  # fmt: skip
def test_personas_get_their_club_answer(chip, persona, code):
    terminal, slot, db = chip
    slot.insert(make_card(persona))
    res = terminal.engine.purchase_club_credit(200000)
    assert res["response_code"] == code, res
    assert ledger_check(db).ok


def test_no_card_in_the_reader(chip):
    terminal, _slot, _db = chip
    terminal.reader.poll_ms = 10
    res = terminal.engine.purchase_cash(100000)
    assert (res["outcome"], res["message"]) == ("failed", "No card")
