"""A split sale from the emulator's keypad (split_keys.py; docs/testing.md keys): X chooses the
rest's tender for the next F2/F3, the terminal shows the split (screen split) and, for cash, asks
the cashier to confirm the cash (screen collect_cash); the log lists the legs, the receipt prints
them. Driven through Textual's pilot against the demo club (tier A member: store credit 500,000
at the hypermarket, club credit 5,000,000), as tests/emulator_ui/test_coupon_entry."""

import asyncio

import pytest

pytest.importorskip("textual")

from simulator.pos_emulator.ui.app import EmulatorApp
from tests.emulator_ui.test_discoverable import terminal, until  # noqa: F401


def split_sale(terminal, presses, flow_key, amount, answers=None):  # noqa: F811 (the fixture)
    """X pressed `presses` times, the card inserted, the flow with the amount; each question on
    the keypad answered from `answers` (screen -> True OK / False Esc; OK otherwise). Returns
    the app, the screens asked about, and the status line after X."""

    async def scenario():
        app = EmulatorApp(terminal, lang="en")
        app.shown_at = {}
        asked = []
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*("x" * presses))
            status = app.status_text()
            await pilot.press("i", flow_key, *str(amount), "enter")
            keypad, display = app.keypad, app.display_port  # set in the engine's thread
            while True:
                await until(pilot, lambda: app.waiting == keypad.waiting == "confirm"
                            or not app.busy)  # fmt: skip
                if not app.busy:
                    break
                screen = display.screen
                asked.append(screen)
                app.shown_at[screen] = list(display.lines)  # what the display said then
                await pilot.press("enter" if (answers or {}).get(screen, True) else "escape")
                await until(
                    pilot, lambda s=screen: keypad.waiting != "confirm" or display.screen != s
                )
            return app, asked, status

    return asyncio.run(scenario())


def log_of(app):
    return "\n".join(app.event_lines)


def test_store_credit_then_bank_card_from_the_keypad(terminal):  # noqa: F811
    app, asked, status = split_sale(terminal, 1, "f3", 1_200_000)
    assert status == "Split: F2/F3 pays the rest by bank card (X changes)"
    assert "split" in asked and "collect_cash" not in asked
    assert app.shown_at["split"][:2] == ["Credit 500,000", "Bank 700,000"]  # no store discount
    log = log_of(app)
    assert "split: the next F2/F3 purchase pays its rest by bank card" in log
    assert "result: split approved (10)" in log, log
    assert "legs: store credit 500,000 + bank card " in log
    assert app.split_tender is None  # taken by the sale, once
    assert app.last_sale[1] == "70"  # F7 refunds to the credit leg's account
    assert terminal.bank.charges(), "the rest was paid on the bank leg"


def test_club_credit_then_cash_confirmed_by_the_cashier(terminal):  # noqa: F811
    app, asked, _status = split_sale(terminal, 2, "f2", 7_000_000)
    assert "split" in asked and "collect_cash" in asked
    rest = 7_000_000 * 85 // 100 + 5_000 - 5_000_000  # tier A: 15 % off, a 5,000 fee
    assert app.shown_at["split"][:2] == ["Credit 5,000,000", f"Cash {rest:,}"]
    assert app.shown_at["collect_cash"][:2] == ["Take in cash", f"{rest:,}"]
    log = log_of(app)
    assert "split: the next F2/F3 purchase pays its rest by cash" in log
    assert "result: split approved (10)" in log and "legs: club credit 5,000,000 + cash " in log
    assert not terminal.bank.charges()


def test_the_split_refused_on_the_terminal_spends_nothing(terminal):  # noqa: F811
    app, asked, _status = split_sale(terminal, 1, "f3", 1_200_000, {"split": False})
    assert "split" in asked
    log = log_of(app)
    assert "result: split approved" not in log and "legs:" not in log, log
    assert not terminal.bank.charges() and app.paper_text() == ""


def test_x_three_times_is_no_split(terminal):  # noqa: F811
    app, _asked, status = split_sale(terminal, 3, "f2", 100_000)
    assert status.startswith("Ready:") and "split: off" in log_of(app)
    assert "result: club_credit approved (00)" in log_of(app)
