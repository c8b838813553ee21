"""The interactive emulator (simulator/pos_emulator/ui) driven through Textual's pilot: keys
pressed, a card chosen and presented, the engine running in its worker against a demo club."""

import asyncio
import re
import time

import pytest

pytest.importorskip("textual")

from simulator.pos_emulator.terminal import EmulatedTerminal, start_demo_club
from simulator.pos_emulator.ui.app import EmulatorApp
from simulator.pos_emulator.ui.devices import CARDS

SIZE = (160, 50)


@pytest.fixture
def terminal(tmp_path):
    club = start_demo_club(tmp_path / "club.db")
    term = EmulatedTerminal(tmp_path / "terminal", club.port)
    term.engine.recover()
    yield term
    term.close()
    club.stop()


async def until(pilot, condition, timeout=20.0):
    """Let the UI run until condition() holds (the engine works in a thread)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the emulator")
        await pilot.pause(0.05)


def full_numbers():
    return [pan for _what, pan, _chip in CARDS.values() if pan]


def assert_no_card_numbers(app):
    log = "\n".join(app.event_lines)
    for pan in full_numbers():
        assert pan not in log


def test_bank_purchase_through_the_ui(terminal, tmp_path):
    async def scenario():
        app = EmulatorApp(terminal, lang="en")
        async with app.run_test(size=SIZE) as pilot:
            assert app.names[app.selected] == "active"
            await pilot.press("up")  # the list wraps: the magic cards are the last ones
            assert app.names[app.selected] == "magic-94"
            app.choose_card("bank")
            await pilot.press(*"1200000")
            assert "1,200,000" in app.display_text()
            await pilot.press("f1")
            await until(pilot, lambda: app.screen_id == "card")
            assert "type its number and OK" in app.status_text()
            await pilot.press("s")  # swipe
            await until(pilot, lambda: not app.busy)
            shot = app.export_screenshot()
        return app, shot

    app, shot = asyncio.run(scenario())
    display = app.display_text()
    assert display.startswith("APPROVED")
    assert "Credit" not in display  # a bank sale moves no club credit: no bare "Credit" line
    payable = re.search(r"Paid ([\d,]+)", display).group(1)
    assert int(payable.replace(",", "")) < 1_200_000  # the club's discount applied
    paper = app.paper_text()
    assert len(app.receipts) == 2  # merchant and customer copies
    assert "BANK CARD PURCHASE" in paper
    assert re.search(rf"Payable +{payable}", paper)
    assert "****0014" in paper and "6037990000000014" not in paper
    log = "\n".join(app.event_lines)
    assert "card: bank *0014 swiped" in log
    assert "flow: Bank purchase 1,200,000 rials" in log
    assert f"screen bank: Pay on bank terminal | {payable}" in log
    assert re.search(rf"result: bank approved \(00\) .*payable {payable}.* card \*0014", log)
    assert_no_card_numbers(app)
    path = tmp_path / "bank.svg"
    path.write_text(shot)
    assert payable in path.read_text()


def test_club_credit_purchase_in_persian(terminal, tmp_path):
    async def scenario():
        app = EmulatorApp(terminal, lang="fa")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("i")  # insert the selected card: "active", tier A
            assert app.slot.inside == "active"
            await pilot.press("f2")
            assert app.pending == "f2"
            await pilot.press(*"300000", "enter")
            await until(pilot, lambda: app.waiting == "confirm")
            confirm = app.display_text()
            await pilot.press("enter")  # OK: the customer accepts
            await until(pilot, lambda: not app.busy)
            shot = app.export_screenshot()
        return app, confirm, shot

    app, confirm, shot = asyncio.run(scenario())
    assert confirm.startswith("پرداخت ")
    assert app.display_text().startswith("تایید شد")
    payable = app.lines[1].split(" ", 1)[1]  # "پرداخت ۲۷۰٬۰۰۰" (Persian digits)
    assert re.fullmatch(r"[۰-۹٬]+", payable)
    paper = app.paper_text()
    assert "خرید با اعتبار باشگاه" in paper
    assert payable in paper and "۰۰۱۴" in paper
    log = "\n".join(app.event_lines)
    assert "card: active *0014 inserted" in log
    assert "card: read *0014 (standard) by chip" in log
    assert "result: club_credit approved (00)" in log
    assert_no_card_numbers(app)
    assert app.last_sale is not None  # a refund (F7) would refund this one
    path = tmp_path / "club_credit.svg"
    path.write_text(shot)
    # the payable as drawn: a number stays left-to-right inside the reordered line
    assert payable in path.read_text()


def test_card_pulled_out_before_ok_reverses(terminal):
    async def scenario():
        app = EmulatorApp(terminal, lang="en")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(*"300000", "i", "f2")
            await until(pilot, lambda: app.waiting == "confirm")
            assert app.display_text().startswith("Pay ")
            await pilot.press("p")  # the customer pulls the card out
            assert app.slot.inside is None
            await pilot.press("enter")
            await until(pilot, lambda: not app.busy)
        return app

    app = asyncio.run(scenario())
    assert app.lines[0] == "NOT COMPLETED"
    assert "Reversal sent (CN)" in app.display_text()
    assert app.receipts == []
    log = "\n".join(app.event_lines)
    assert "card: active pulled out" in log
    assert "screen reversed: NOT COMPLETED" in log
    assert "result: club_credit reversed" in log
    assert_no_card_numbers(app)


def test_pulled_out_persona_leaves_by_itself(terminal):
    async def scenario():
        app = EmulatorApp(terminal, lang="en")
        async with app.run_test(size=SIZE) as pilot:
            app.choose_card("pulled-out")
            await pilot.press("i", *"90000", "f2")
            await until(pilot, lambda: app.waiting == "confirm")
            await pilot.press("enter")
            await until(pilot, lambda: not app.busy)
        return app

    app = asyncio.run(scenario())
    assert app.lines[0] == "NOT COMPLETED"
    assert "card: pulled-out left the reader" in "\n".join(app.event_lines)
    assert app.slot.inside is None


def test_cancel_while_waiting_for_a_card(terminal):
    async def scenario():
        app = EmulatorApp(terminal, lang="en")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(*"50000", "f4")
            await until(pilot, lambda: app.screen_id == "card")
            await pilot.press("escape")
            await until(pilot, lambda: not app.busy)
        return app

    app = asyncio.run(scenario())
    assert app.lines[0] == "No card"
    assert "result: cash failed" in "\n".join(app.event_lines)


def test_balance_by_tap_and_the_card_leaves_the_field(terminal):
    async def scenario():
        app = EmulatorApp(terminal, lang="en")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t", "f5")  # tap the active card, then the balance inquiry
            await until(pilot, lambda: not app.busy)
        return app

    app = asyncio.run(scenario())
    assert app.lines[0].startswith("Points ")
    assert app.lines[3] == "Tier A"
    assert app.slot.inside is None  # a tapped card is gone once the flow is over


def test_the_log_shows_the_sign_on_after_power_up_and_the_store(tmp_path):
    club = start_demo_club(tmp_path / "club.db")
    term = EmulatedTerminal(tmp_path / "terminal", club.port, number=3)
    term.power_up()

    async def scenario():
        app = EmulatorApp(term, lang="en")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.05)
        return app

    try:
        app = asyncio.run(scenario())
    finally:
        term.close()
        club.stop()
    assert "terminal VT000003 at Abi Pool" in app.sub_title
    assert any(line.endswith("sign-on: approved (00)") for line in app.event_lines)


def test_a_sale_the_club_does_not_answer_says_why(tmp_path):
    club = start_demo_club(tmp_path / "club.db")
    term = EmulatedTerminal(tmp_path / "terminal", club.port, number=1001)  # not registered
    term.power_up()

    async def scenario():
        app = EmulatorApp(term, lang="en")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("i", *"50000", "f4")
            await until(pilot, lambda: not app.busy)
        return app

    try:
        app = asyncio.run(scenario())
    finally:
        term.close()
        club.stop()
    log = "\n".join(app.event_lines)
    assert "sign-on: no answer: the club closed the connection on the first message" in log
    assert "result: cash" in log
    assert "why: the club closed the connection without answering" in log
