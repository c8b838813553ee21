"""The cashier's coupon code on the emulator (docs/protocol.md 5.10, coupon_keys.py): K, the
code typed as letters and digits (a scanner types it so), OK; the next purchase carries it, the
display shows the coupon, the receipt prints it; a refused code shows why and holds nothing.
Driven through Textual's pilot against the demo club, as tests/emulator_ui/test_pin_entry."""

import asyncio

import pytest

pytest.importorskip("textual")

from simulator.pos_emulator.ui.app import EmulatorApp
from tests.emulator_ui.test_discoverable import terminal, until  # noqa: F401


def coupon_sale(terminal, typed):  # noqa: F811 (the fixture)
    async def scenario():
        app = EmulatorApp(terminal, lang="en")
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("k", *typed)
            entry = list(app.lines)
            await pilot.press("enter")
            kept = app.coupon
            await pilot.press("i", "f2", *"500000", "enter")  # the active card, club credit
            await until(pilot, lambda: app.waiting == "confirm" or not app.busy)
            if app.waiting == "confirm":
                await pilot.press("enter")
            await until(pilot, lambda: not app.busy)
            return app, entry, kept

    return asyncio.run(scenario())


def test_a_code_keyed_in_goes_with_the_next_purchase_and_is_printed(terminal):  # noqa: F811
    app, entry, kept = coupon_sale(terminal, "nowruz10")
    assert entry[:2] == ["Coupon code", "NOWRUZ10"]  # letters that are keys elsewhere (n, r)
    assert kept == "NOWRUZ10" and app.coupon is None  # taken by the sale, once
    assert app.lines[0] == "APPROVED"
    paper = app.paper_text()
    assert "Coupon NOWRUZ10" in paper and "Nowruz 10% off" in paper
    log = "\n".join(app.event_lines)
    assert "coupon: NOWRUZ10 kept for the next purchase" in log
    assert "result: club_credit approved (00)" in log


def test_a_refused_code_shows_why_and_nothing_is_printed(terminal):  # noqa: F811
    app, _entry, kept = coupon_sale(terminal, "QA78EX")
    assert kept == "QA78EX"
    assert app.lines[:3] == ["Coupon refused", "QA78EX", "Code expired"]
    assert app.paper_text() == ""
    assert "result: club_credit declined (78)" in "\n".join(app.event_lines)
