"""What the emulator tells QA it can do (issue 12 section 3), driven through Textual's pilot at
the sizes of a small and an ordinary terminal: every key in the footer / Keys panel / command
palette, the keypad and flow buttons on screen, a card number keyed in, any card number
presented, the magic numbers listed, a screenshot from the palette, Persian as drawn."""

import asyncio
import io
import time

import pytest

pytest.importorskip("textual")

from rich.console import Console
from textual.widgets import Button

from simulator.club_server import magic
from simulator.pos_emulator.terminal import EmulatedTerminal, start_demo_club
from simulator.pos_emulator.ui import bidi, keys
from simulator.pos_emulator.ui.app import EmulatorApp
from simulator.pos_emulator.ui.devices import visual_line

SMALL, ORDINARY = (80, 24), (120, 40)


@pytest.fixture
def terminal(tmp_path):
    club = start_demo_club(tmp_path / "club.db")
    term = EmulatedTerminal(tmp_path / "terminal", club.port)
    term.engine.recover()
    yield term
    term.close()
    club.stop()


async def until(pilot, condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the emulator")
        await pilot.pause(0.05)


def screen_lines(app):
    """The screen as the terminal's cells hold it, one string per row."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def keys_panel_text(app):
    panel = app.screen.query_one("BindingsTable")  # inside the Keys panel (HelpPanel)
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(panel.render_bindings_table())
    return console.export_text()


@pytest.mark.parametrize("size", [SMALL, ORDINARY])
def test_every_button_is_on_screen_and_every_key_listed(terminal, size):
    async def scenario():
        app = EmulatorApp(terminal, lang="en")
        async with app.run_test(size=size) as pilot:
            hidden = []
            buttons = len(app.query(Button))
            for button in app.query(Button):
                region = button.region
                x, y = region.x + region.width // 2, region.y
                on_top = app.screen.get_widget_at(x, y)[0]
                inside = app.screen.region.contains_region(region) and region.area > 0
                if not (inside and button in (on_top, *on_top.ancestors)):
                    hidden.append(button.id)
            await until(pilot, lambda: "F1" in screen_lines(app)[-1])  # the footer is drawn
            footer = screen_lines(app)[-1]
            await pilot.press("question_mark")  # the Keys panel
            await pilot.pause(0.1)
            panel = keys_panel_text(app)
        return buttons, hidden, panel, footer

    buttons, hidden, panel, footer = asyncio.run(scenario())
    assert buttons == 12 + 10 + 4  # keypad, flows, card slot
    assert hidden == []
    rows = [" ".join(line.split()) for line in panel.splitlines()]
    for key, label in (("F1", "Bank"), ("F7", "Refund"), ("F9", "Close"), ("i", "Insert"),
                       ("t", "Tap"), ("s", "Swipe"), ("p", "Pull out"), ("0-9", "Digits"),
                       ("esc", "Cancel"), ("n", "Card number"), ("m", "Magic"),
                       ("^s", "Screenshot")):  # fmt: skip
        assert any(row.startswith(f"{key} {label} ") for row in rows), (key, panel)
    for _keys, _action, label, what, _shown in keys.KEYS:
        assert any(f"{label} {what}" in row for row in rows), label  # with what it does
    if size == ORDINARY:  # the footer's one line holds the flows and the card keys
        for part in ("F1 Bank", "F7 Refund", "F9 Close", "i Insert", "t Tap", "s Swipe",
                     "p Pull out"):  # fmt: skip
            assert part in footer, (part, footer)
    else:
        assert "F1 Bank" in footer


def test_the_palette_lists_the_keys_and_its_screenshot_is_saved(terminal, tmp_path):
    shots = tmp_path / "shots"

    async def scenario():
        app = EmulatorApp(terminal, lang="fa", screenshots=shots)
        async with app.run_test(size=SMALL) as pilot:
            titles = [c.title for c in app.get_system_commands(app.screen)]
            await pilot.press("ctrl+p")
            await pilot.press(*"screenshot")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await until(pilot, lambda: list(shots.glob("*.svg")))
            await pilot.press("ctrl+p", *"magic", "enter")
            await pilot.pause(0.2)
            tab = app.query_one("#panels").active
        return app, titles, tab

    app, titles, tab = asyncio.run(scenario())
    for key in ("F1 Bank", "F9 Close", "i Insert", "p Pull out", "n Card number", "m Magic",
                "Screenshot", "Keys"):  # fmt: skip
        assert key in titles, key
    assert tab == "magic"  # the palette ran the Magic command
    (svg,) = shots.glob("*.svg")
    text = svg.read_text()
    assert f"screenshot: {svg}" in "\n".join(app.event_lines)
    assert bidi.SVG_RULE in text  # a browser draws the cells in order, as the terminal does
    # the display's first line as drawn: shaped, in display order (spaces are &#160; in SVG)
    assert visual_line("باشگاه وفا").replace(" ", "&#160;") in text


def test_a_card_number_keyed_in_while_the_terminal_asks_for_a_card(terminal):
    async def scenario():
        app = EmulatorApp(terminal, lang="en")
        async with app.run_test(size=SMALL) as pilot:
            await pilot.press(*"250000", "f4")
            await until(pilot, lambda: app.screen_id == "card")
            await pilot.press(*"9879110000000023", "enter")  # a typo: wrong check digit
            wrong = "\n".join(app.event_lines)
            assert app.busy and app.screen_id == "card"  # still asking
            await pilot.press("backspace", "2")
            shown = app.display_text() + "\n".join(screen_lines(app))
            await pilot.press("enter")
            await until(pilot, lambda: not app.busy)
        return app, wrong, shown

    app, wrong, shown = asyncio.run(scenario())
    assert "key in: card number check digit is wrong" in wrong
    assert "************0022" in shown and "9879110000000022" not in shown
    assert app.lines[0] == "APPROVED"
    assert not any(line.startswith("Credit") for line in app.lines)  # cash: no credit line
    log = "\n".join(app.event_lines)
    assert "card: *0022 keyed in" in log
    assert "result: cash approved (00)" in log
    assert "9879110000000022" not in log and "9879110000000023" not in log


def test_any_card_number_joins_the_list_and_a_magic_card_declines(terminal):
    async def scenario():
        app = EmulatorApp(terminal, lang="en")
        async with app.run_test(size=SMALL) as pilot:
            await pilot.press("n")
            await pilot.pause(0.1)
            await pilot.press(*"9879119000000056", "enter")  # the magic card answered 05
            await pilot.pause(0.1)
            chosen = app.names[app.selected]
            await pilot.press("i", *"40000", "f4")
            await until(pilot, lambda: not app.busy)
        return app, chosen

    app, chosen = asyncio.run(scenario())
    assert chosen == "keyed-0056"
    assert app.lines[0] == "DECLINED (05)"
    log = "\n".join(app.event_lines)
    assert "card: keyed-0056 *0056 added to the card list" in log
    assert "result: cash declined (05)" in log
    assert "9879119000000056" not in log


def test_the_magic_panel_lists_the_club_outcome_table(terminal):
    async def scenario():
        app = EmulatorApp(terminal, lang="en")
        async with app.run_test(size=ORDINARY) as pilot:
            await pilot.press("m")
            await pilot.pause(0.1)
            return app.query_one("#panels").active, "\n".join(screen_lines(app))

    tab, screen = asyncio.run(scenario())
    assert tab == "magic"
    for row in magic.rows()[:10]:  # as many as the panel shows without scrolling
        assert f"{row['amount']:,}" in screen
    assert "answers 03: terminal not registered" in screen


def test_persian_cells_are_shaped_and_in_display_order(terminal):
    reshaper = pytest.importorskip("arabic_reshaper")
    algorithm = pytest.importorskip("bidi.algorithm")

    async def scenario():
        app = EmulatorApp(terminal, lang="fa")
        async with app.run_test(size=SMALL) as pilot:
            await pilot.pause(0.1)
            return screen_lines(app)

    lines = asyncio.run(scenario())
    for word in ("باشگاه وفا", "آماده"):  # the ready screen
        drawn = algorithm.get_display(reshaper.reshape(word))
        row = next(line for line in lines if drawn in line)
        # right-aligned in the 20 columns of the display (its border and padding: 2 cells)
        assert row.index(drawn) + len(drawn) == 2 + 20


class RecordingDriver:
    is_headless = False

    def __init__(self):
        self.written = []

    def write(self, data):
        self.written.append(data)


@pytest.mark.parametrize(("mode", "start"), [("visual", "\x1b[8l"), ("logical", "\x1b[8h")])
def test_the_terminal_is_told_who_reorders_persian(terminal, mode, start):
    app = EmulatorApp(terminal, bidi=mode)
    driver = RecordingDriver()
    app._driver = driver
    app._terminal_mode(0)
    app._terminal_mode(1)
    assert driver.written == [start, "\x1b[8h"]  # implicit (the terminal's default) on exit


def test_docs_list_every_key():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs/testing.md").read_text()
    section = doc[doc.index("## The interactive emulator") :]
    section = section[: section.index("### Cards, keyed-in numbers")]
    for keys_, _action, _label, _what, _shown in keys.KEYS:
        for name in keys.key_names(keys_).split(", "):
            shown = name if len(name) > 1 or name == "?" else f"`{name}`"
            if name[0] == "F" and name[1:].isdigit():
                shown = f"F1 .. F{len(keys.FLOWS)}"
            assert shown in section, name


def test_enrollment_answers_take_letters_that_are_also_card_keys(terminal):
    async def scenario():
        app = EmulatorApp(terminal, lang="en")
        async with app.run_test(size=SMALL) as pilot:
            app.choose_card("stock")  # unissued: the first purchase asks the member's details
            await pilot.press("i", *"50000", "f4")
            await until(pilot, lambda: app.waiting == "ask")
            asked = app.lines[1]
            await pilot.press("t", "p", "0", "9")  # the answer's letters, not tap / pull out
            typed = (app.entry, app.slot.tapped, app.slot.inside)
            await pilot.press("backspace")
            after_backspace = app.entry
            await pilot.press("escape")  # Cancel: the member does not enroll now
            await until(pilot, lambda: not app.busy)
        return app, asked, typed, after_backspace

    app, asked, typed, after_backspace = asyncio.run(scenario())
    assert asked == "Enter phone"
    assert typed == ("TP09", False, "stock")
    assert after_backspace == "TP0"
    assert app.lines[0] != "APPROVED"
    assert "result: cash approved" not in "\n".join(app.event_lines)
