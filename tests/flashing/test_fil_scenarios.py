"""Firmware in the loop, the scenario library: the scenarios of scenarios/ that a cashier's ECR
commands, a chip card, a swiped card, the keypad and the bank leg can express, run by the
scenario runner against the flashed bundle under the unix MicroPython
(simulator/fil.firmware_factory) instead of the emulated terminal: 109 of the 111.

Left out, for what the device cannot express:
- "sign-on and echo" (flows.yaml): network management (0800) is the terminal's own; the ECR
  protocol has no command for it (docs/ecr.md 3.2);
- "the PIN changed at the terminal" (pins.yaml): the cardholder's own, at the terminal's keypad;
  no ECR command starts it (a PIN never crosses the ECR link, docs/ecr.md 3.5);

"no card presented" waits 2 s for a card (the scenario sets the device's card_wait_ms)."""

import pytest

from flashing.targets import micropython_binary
from simulator.fil import firmware_factory
from simulator.pos_emulator.scenario import load_all, run_scenario
from tests.flashing.support import REPO

SUBSET = {
    "bank_leg.yaml": (
        "bank declines, the club discount is reversed",
        "customer cancels on the bank terminal",
        "bank times out without charging",
        "bank charged but the answer was lost; the status inquiry finds it",
    ),
    "cards.yaml": (
        "blocked card is 62",
        "expired card is 54",
        "low balance is 51",
        "store credit of another store is 57",
        "a bank card outside bank-card purchase is refused by the terminal (the club would say 57)",
        "a card the club never issued is 14",
        "stock card without enrollment answers is 64",
        "clone, blank and garbage cards are refused before any message",
        "card pulled out after phase one is reversed",
    ),
    "codes.yaml": (
        "unregistered terminal VT000099 is 03",
        "refunds - unknown RRN 25, above the original 13, to another account 12",
    ),
    "campaigns.yaml": (  # the referrer asked at the device's keypad; the club's job beside it
        "referral at enrollment rewards both at the first confirmed purchase",
        "a referrer the club does not know - enrolled without a referral, nobody rewarded",
        "birthday gift credit from the campaigns job shows in the balance",
        "we miss you - the return offer is honoured once at the till",
        "the satisfaction survey SMS after a purchase, once the program asks for it",
    ),
    "concurrency.yaml": ("four terminals, three cash sales each",),
    "flows.yaml": (
        "club-credit purchase, then a refund of part of it",
        "store-credit purchase",
        "bank-card purchase with the club discount",
        "cash purchase earning points",
        "balance inquiry",
        "top-up of a prepaid pool card credits ten times",
        "enrollment at the first purchase with a stock card",
        "void of the last transaction",
        "close of day with balanced totals",
        "the customer cancels at the confirmation",
        "no card presented",
    ),
    "late_and_lost.yaml": (
        "0100 fault, amount 1,000,901",
        "0100 fault, amount 1,000,902",
        "0100 fault, amount 1,000,903",
        "0100 fault, amount 1,000,904",
        "0220 fault, amount 1,000,911",
        "0220 fault, amount 1,000,912",
        "0220 fault, amount 1,000,913",
        "0220 fault, amount 1,000,914",
        "0420 fault, amount 1,000,921 (the bank declines, the club's approval is reversed)",
        "0420 fault, amount 1,000,922 (the bank declines, the club's approval is reversed)",
        "0420 fault, amount 1,000,923 (the bank declines, the club's approval is reversed)",
        "0420 fault, amount 1,000,924 (the bank declines, the club's approval is reversed)",
    ),
    "magic_amounts.yaml": (
        "amount 1,000,003 is 03",
        "amount 1,000,005 is 05",
        "amount 1,000,051 is 51",
        "amount 1,000,054 is 54",
        "amount 1,000,062 is 62",
        "amount 1,000,096 is 96",
    ),
    "magic_cards.yaml": (
        "card 9879119000000056 is 05",
        "card 9879119000000510 is 51",
        "card 9879119000000916 answers late every time",
        "card 9879119000000924 never answers",
        "card 9879119000000932 answers twice",
        "card 9879119000000940 answers with a bad MAC",
    ),
    "stores.yaml": (
        "hypermarket's second terminal VT000002 sells like the first",
        "Abi Pool VT000003 sells a pool card - enrolled at its first top-up, credited x10",
        "Abi Pool - tier A pays 20 % less on club credit plus a 1 % fee, and earns pool points",
        "Abi Pool - from 1,000 points, every 500 points become 500,000 rials of store credit",
        "Abi Pool - store credit the pool gave is spent at the pool (57 at the hypermarket)",
        "Ketab Bookshop VT000004 - a bank-card purchase is 10 % off for tier A, no fee",
        "Ketab Bookshop - club credit earns points but no discount (bank cards only)",
        "Ketab Bookshop - above its 2,000,000,000 rials limit is 13; "
        "hypermarket store credit is 57",
    ),
    "pins.yaml": (  # PINs typed on the device's keypad (simulator/fil KeypadEndpoint)
        "club credit with the right PIN",
        "a wrong PIN, then the right one",
        "three wrong PINs block the PIN (75); nothing is spent",
        "a blocked PIN is 75 without asking",
        "the PIN entry cancelled holds nothing",
        "a card without a PIN pays club credit without one",
        "magic cards 9879119000000551 and 9879119000000759 are 55 and 75",
        "a lost 0110 to a PIN request; the repeat carries the same PIN",
        "points spent at the till need the PIN when the store chooses 80 (issue 13 section 2)",
    ),
    "coupons.yaml": (  # the code in the cashier's ECR sale (docs/ecr.md 3.2, tag 0A)
        "a coupon on a bank-card purchase - 10 % after the tier discount, shown and printed",
        "a coupon on club credit, store credit and cash",
        "coupon QA78UK is 78 UK, unknown code - nothing held, sold again without it",
        "coupon QA78DS is 78 DS, disabled by the operator - nothing held, sold again without it",
        "coupon QA78EX is 78 EX, expired - nothing held, sold again without it",
        "coupon QA78ST is 78 ST, not for this store - nothing held, sold again without it",
        "coupon QA78MB is 78 MB, for another member - nothing held, sold again without it",
        "coupon QA78MN is 78 MN, below the minimum purchase - nothing held, sold again without it",
        "coupon QA78US is 78 US, used up - nothing held, sold again without it",
        "a sale with a coupon cancelled at the confirmation holds nothing",
    ),
    "split.yaml": (  # the ECR sale with method C/S and split B/K (docs/ecr.md 3.6)
        "split, the rest by bank card - 10, the bank leg charges the remainder, both legs printed",
        "split, the bank leg declines - the credit hold is released, nothing paid",
        "split, the bank leg times out - reversed BT, the credit released",
        "split, the rest in cash - the cashier confirms the cash, no bank leg",
        "split of store credit, the rest in cash",
        "the customer refuses the split - 0420 CN, the credit released",
        "the cashier did not get the cash - 0420 CN, the credit released",
        "void of a split sale - the club gives the credit back, the bank leg's part is reversed "
        "there",
        "refund of a split sale - divided between the legs, the whole refund returns each leg",
        "the credit covers the sale - no split, a club-credit purchase with one leg",
        "the short-credit magic card makes a split at will",
    ),
    "chains.yaml": (  # terminal 5, the hypermarket's second store, provisioned like the others
        "the hypermarket's second store VT000005 sells under the chain's program",
        "chain scope - store credit the hypermarket gave is spent at its second store",
        "chain scope - more than the chain's store credit is 51",
        "chain scope - store credit of a store outside the chain is still 57",
        "chain scope - a void of a chain purchase puts the credit back where it was",
        "chain scope switched off by the operator - the hypermarket's credit is 57 at the branch",
    ),
    "register.yaml": (  # the operator's commands run on the club beside the device
        "a terminal deactivated by the operator is answered 03, and sells again once reactivated",
        "a store deactivated by the operator - every terminal of it is answered 03",
        "a lost card replaced - the old card is refused 62, the new one pays with its balances",
        "incentive points per tier - tier A earns 150 % once the program says so",
        "a bad program setting is refused with one line and nothing changes",
        "points spent at the till - the hypermarket gives a point 2,000 rials, 100,001 takes 51",
    ),
    "netfault.yaml": (
        "the 0110 is dropped; the repeat (0101) is answered",
        "the 0100 is sent twice; the club answers the copy with its recorded answer "
        "(protocol.md 6.2)",
        "the 0100 is sent twice and the first 0110 is lost; the copy's answer completes the sale",
    ),
}
# the rest of the library, each with why it cannot run on the device (the docstring's list)
LEFT_OUT = {
    "sign-on and echo": "no ECR command for network management",
    "the PIN changed at the terminal": "no ECR command: the cardholder's own, at the keypad",
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


def test_every_scenario_of_the_library_runs_here_or_is_left_out_with_its_reason():
    names = [sc.name for sc in load_all([REPO / "scenarios"])]
    assert sorted(names) == sorted([*SCENARIOS, *LEFT_OUT])


@pytest.mark.parametrize("name", sorted(n for names in SUBSET.values() for n in names))
def test_scenario_on_the_flashed_device(name, bundle):
    result = run_scenario(SCENARIOS[name], firmware_factory(bundle))
    assert result.ok, "\n".join(result.failures)
