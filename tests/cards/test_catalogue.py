"""One list of card names (simulator/cards/catalogue.py): `vafa card personas`, `vafa card
emulate --persona`, `vafa emulator --card`, the emulator's card list and scenarios' `card:`
steps take the same names for the same cards."""

import json
import subprocess
import sys

from simulator.cards import catalogue, personas
from simulator.club_server import outcomes
from simulator.pos_emulator.scenario.schema import card_names
from simulator.pos_emulator.terminal import PERSONAS as EMULATOR_CARDS
from simulator.pos_emulator.ui.devices import CARDS as UI_CARDS

VAFA = [sys.executable, "-m", "vafa"]


def test_every_tool_takes_the_same_names_for_the_same_numbers():
    cards = catalogue.catalogue()
    command = [*VAFA, "card", "personas", "--json"]
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=30)
    listed = json.loads(done.stdout)
    rows = listed if isinstance(listed, list) else listed["personas"]
    assert {r["persona"]: r["card"] for r in rows} == {n: e.number for n, e in cards.items()}
    assert list(UI_CARDS) == list(cards)
    assert {name: pan for name, (_what, pan, _chip) in UI_CARDS.items()} == {
        n: e.number for n, e in cards.items()
    }
    assert card_names() == sorted(cards)
    for name, (_what, pan, _entry) in EMULATOR_CARDS.items():  # vafa emulator --card
        assert cards[name].number == pan, name
    for name in personas.PERSONAS:
        assert cards[name].kind == "chip persona"


def test_the_magic_cards_are_the_outcome_table_cards():
    magic = {n: e.number for n, e in catalogue.catalogue().items() if e.kind == "magic card"}
    rules = [rule.value for rule in outcomes.RULES if rule.trigger == "card"]
    assert sorted(magic.values()) == sorted(rules)
    assert magic["magic-05"] == outcomes.magic_card("05")


def test_a_name_reads_as_its_card():
    cards = catalogue.catalogue()
    assert cards["bank"].chip is None  # a stripe only
    assert "bank" not in catalogue.chip_names()
    for name in ("member-b", "magic-92", "active"):
        card = cards[name].chip()
        assert card.pan() == cards[name].number
    assert catalogue.number("blank") is None and catalogue.number("nope") is None


def test_a_scenario_takes_a_magic_card_by_name(tmp_path):
    scenario = tmp_path / "magic.yaml"
    scenario.write_text(
        "name: magic-05 by name\n"
        "steps:\n"
        "  - card: magic-05\n"
        "  - flow: cash\n"
        "    amount: 100000\n"
        '    expect: {outcome: declined, response_code: "05"}\n'
    )
    command = [*VAFA, "emulator", "--scenario", str(scenario), "--data-dir", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "scenarios: 1 passed, 0 failed" in done.stdout


def test_the_headless_emulator_presents_a_magic_card_by_name(tmp_path):
    import argparse

    from simulator.pos_emulator import cli
    from simulator.pos_emulator.terminal import EmulatedTerminal, start_demo_club

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    assert parser.parse_args(["--card", "magic-05"]).card == "magic-05"
    assert set(cli.card_names()) <= set(catalogue.names())
    club = start_demo_club(tmp_path / "club.db")
    term = EmulatedTerminal(tmp_path / "terminal", club.port, card="magic-05")
    try:
        term.engine.recover()
        res = term.engine.purchase_cash(100_000)
    finally:
        term.close()
        club.stop()
    assert (res["outcome"], res["response_code"]) == ("declined", "05")
    assert res["card_last4"] == "0056"
