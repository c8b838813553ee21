"""The cardholder's PIN on the emulator's keypad (docs/protocol.md 4.5): typed as digits, shown
as stars, never a digit on the screen, in the event log or the display's lines; the club takes
it and the sale goes on. Driven through Textual's pilot, as tests/emulator_ui/test_discoverable."""

import asyncio

import pytest

pytest.importorskip("textual")

from simulator.club_server import seed
from simulator.pos_emulator.ui.app import EmulatorApp
from tests.emulator_ui.test_discoverable import screen_lines, terminal, until  # noqa: F401

PIN = seed.DEMO_PIN


def run_pin_sale(terminal, typed):  # noqa: F811 (the fixture)
    async def scenario():
        app = EmulatorApp(terminal, lang="en")
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"300000", "f2", *seed.CARD_PIN, "enter")  # keyed in
            await until(pilot, lambda: app.waiting == "pin")
            prompt = list(app.lines)
            await pilot.press(*typed)
            shown = "\n".join(screen_lines(app))
            entry = app.entry_shown()
            await pilot.press("enter")
            await until(pilot, lambda: app.waiting in ("confirm", "pin") or not app.busy)
            state = app.waiting
            if state == "confirm":
                await pilot.press("enter")
            else:
                await pilot.press("escape")
            await until(pilot, lambda: not app.busy)
            return app, prompt, shown, entry, state

    return asyncio.run(scenario())


def test_the_pin_is_stars_on_the_screen_and_the_sale_goes_on(terminal):  # noqa: F811
    app, prompt, shown, entry, state = run_pin_sale(terminal, PIN)
    assert prompt[0] == "Enter card PIN"
    assert entry == "****"
    assert "> ****" in shown and PIN not in shown
    assert state == "confirm"
    assert app.lines[0] == "APPROVED"
    assert app.entry == ""
    assert not any(PIN in line for line in app.event_lines)


def test_a_wrong_pin_asks_again_with_the_tries_left(terminal):  # noqa: F811
    app, _, _, _, state = run_pin_sale(terminal, "9999")
    assert state == "pin"  # asked again; Esc then cancels
    events = "\n".join(app.event_lines)
    assert "screen pin_wrong: Wrong PIN | Tries left 2 | Enter card PIN" in events
    assert "result: club_credit cancelled (55)" in events
    assert app.lines[:2] == ["PIN entry", "cancelled"]
