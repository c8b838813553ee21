"""Firmware in the loop, the scenario library: a subset of scenarios/ (the ones a cashier's ECR
command, a chip card and the keypad can express) run by the scenario runner against the flashed
bundle under the unix MicroPython (simulator/fil.firmware_factory), instead of the emulated
terminal. Left out: bank-card flows (no bank leg on the device), swiped and typed cards (the
device's reader is a chip reader), refunds, voids, balance, top-up and close of day (the runner
maps only sales to ECR), expectations on `confirmed` (not an ECR field), and "no card
presented" (the device waits its full 30 s for a card)."""

import pytest

from flashing.targets import micropython_binary
from simulator.fil import firmware_factory
from simulator.pos_emulator.scenario import load_all, run_scenario
from tests.flashing.support import REPO

SUBSET = {
    "cards.yaml": (
        "blocked card is 62",
        "expired card is 54",
        "low balance is 51",
        "store credit of another store is 57",
        "clone, blank and garbage cards are refused before any message",
        "card pulled out after phase one is reversed",
    ),
    "flows.yaml": (
        "cash purchase earning points",
        "the customer cancels at the confirmation",
    ),
}
SCENARIOS = {
    sc.name: sc
    for sc in load_all([REPO / "scenarios" / name for name in SUBSET])
    if sc.name in SUBSET[sc.file.rsplit("/", 1)[-1]]
}

try:
    micropython_binary()
    HAVE_MP = True
except Exception:
    HAVE_MP = False
pytestmark = pytest.mark.skipif(not HAVE_MP, reason="needs the unix micropython")


def test_the_subset_is_in_the_library():
    assert sorted(SCENARIOS) == sorted(n for names in SUBSET.values() for n in names)


@pytest.mark.parametrize("name", sorted(n for names in SUBSET.values() for n in names))
def test_scenario_on_the_flashed_device(name, bundle):
    result = run_scenario(SCENARIOS[name], firmware_factory(bundle))
    assert result.ok, "\n".join(result.failures)
