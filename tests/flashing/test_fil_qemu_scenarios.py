"""Firmware in the loop on the emulated Arm board: scenarios of the library run by the scenario
runner against the mps2-an385 firmware under QEMU (simulator/fil/qemu.py, each scenario a
fresh board with a blank flash, everything over the host link), as `vafa emulator --scenario
FILE --firmware mps2-an385` runs them.

The whole library passes on the board but for sign-on and echo (62 of 63 in 4 min 55 s on a
2-core machine; run it with VAFA_ARM_LIBRARY=1 or the command above). CI runs SUBSET (about
100 s): every flow, every way the bank leg and the card can fail, one fault of each message
kind, the network faults' repeat, a silent club, a bad MAC, two stores' programs and four
boards at once. Each of the others is listed in NOT_IN_CI with why it adds nothing the
subset does not show on this board; LEFT_OUT cannot run on any device.

Without the MicroPython source these skip, except under CI, where they fail."""

import os
import subprocess
import sys

import pytest

from flashing import firmware
from simulator.fil.qemu import qemu_factory
from simulator.pos_emulator.scenario import load_all, run_scenario
from tests.flashing.support import REPO
from tests.flashing.test_fil_qemu import elf  # noqa: F401 (the session's firmware fixture)
from tests.flashing.test_fil_scenarios import LEFT_OUT

SUBSET = {
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
    "bank_leg.yaml": (
        "bank declines, the club discount is reversed",
        "bank charged but the answer was lost; the status inquiry finds it",
    ),
    "cards.yaml": (
        "blocked card is 62",
        "clone, blank and garbage cards are refused before any message",
        "card pulled out after phase one is reversed",
    ),
    "codes.yaml": ("unregistered terminal VT000099 is 03",),
    "concurrency.yaml": ("four terminals, three cash sales each",),
    "late_and_lost.yaml": (
        "0100 fault, amount 1,000,901",
        "0220 fault, amount 1,000,913",
        "0420 fault, amount 1,000,923 (the bank declines, the club's approval is reversed)",
    ),
    "magic_cards.yaml": (
        "card 9879119000000924 never answers",
        "card 9879119000000940 answers with a bad MAC",
    ),
    "campaigns.yaml": (  # the optional referrer question on the board's keypad (tag 1D)
        "referral at enrollment rewards both at the first confirmed purchase",
    ),
    "netfault.yaml": ("the 0110 is dropped; the repeat (0101) is answered",),
    "split.yaml": (  # the split on the board's keypad, the rest on the bank leg or in cash
        "split, the rest by bank card - 10, the bank leg charges the remainder, both legs printed",
        "split, the rest in cash - the cashier confirms the cash, no bank leg",
        "void of a split sale - the club gives the credit back, the bank leg's part is reversed "
        "there",
    ),
    "chains.yaml": (  # a fifth terminal's store, its chain's store credit
        "chain scope - store credit the hypermarket gave is spent at its second store",
    ),
    "register.yaml": (  # the operator's change seen at the board's next request
        "a lost card replaced - the old card is refused 62, the new one pays with its balances",
    ),
    "coupons.yaml": (  # the code in the ECR sale, its line on the board's receipt
        "a coupon on a bank-card purchase - 10 % after the tier discount, shown and printed",
        "coupon QA78EX is 78 EX, expired - nothing held, sold again without it",
    ),
    "pins.yaml": (  # the PIN block made by the board's AES, the keypad's masked entry
        "a wrong PIN, then the right one",
        "three wrong PINs block the PIN (75); nothing is spent",
    ),
    "stores.yaml": (
        "Abi Pool - tier A pays 20 % less on club credit plus a 1 % fee, and earns pool points",
        "Ketab Bookshop VT000004 - a bank-card purchase is 10 % off for tier A, no fee",
    ),
}
SAME_CODE = "a club answer code the board shows and passes on: the path of the subset's 62 and 03"
FAULT = "the same fault, on the same message, as the subset's one: another amount of its table"
SLOW_FAULT = FAULT + " (and 9 s of the resend timer)"
REPEAT = "the club's repeat handling; the board's side is the subset's netfault case"
# the rest of the library, each with why CI need not run it on the board
COUPON_REFUSAL = "another refusal reason: the path of the subset's QA78EX (78, final)"
CLUB_RULE = "the club's rule; the board's side is the subset's sale or refusal"
SPLIT = "the subset's split sale: another outcome of the same ECR sale (all pass on the board)"
NOT_IN_CI = {
    "split, the bank leg declines - the credit hold is released, nothing paid": SPLIT,
    "split, the bank leg times out - reversed BT, the credit released": SPLIT,
    "split of store credit, the rest in cash": SPLIT,
    "the customer refuses the split - 0420 CN, the credit released": SPLIT,
    "the cashier did not get the cash - 0420 CN, the credit released": SPLIT,
    "refund of a split sale - divided between the legs, the whole refund returns each leg": (
        "an ECR refund of the subset's split sale: the shares are the club's (all pass on the "
        "board)"
    ),
    "the credit covers the sale - no split, a club-credit purchase with one leg": SPLIT,
    "the short-credit magic card makes a split at will": SPLIT,
    "the hypermarket's second store VT000005 sells under the chain's program": (
        "the subset's chain scenario sells on VT000005 too"
    ),
    "chain scope - more than the chain's store credit is 51": CLUB_RULE,
    "chain scope - store credit of a store outside the chain is still 57": CLUB_RULE,
    "chain scope - a void of a chain purchase puts the credit back where it was": CLUB_RULE,
    "chain scope switched off by the operator - the hypermarket's credit is 57 at the branch": (
        CLUB_RULE
    ),
    "a terminal deactivated by the operator is answered 03, and sells again once reactivated": (
        "a 03, as the subset's unregistered terminal"
    ),
    "a store deactivated by the operator - every terminal of it is answered 03": (
        "a 03, as the subset's unregistered terminal"
    ),
    "incentive points per tier - tier A earns 150 % once the program says so": CLUB_RULE,
    "a bad program setting is refused with one line and nothing changes": (
        "the operator's command; the board only sells afterwards"
    ),
    "a coupon on club credit, store credit and cash": "the subset's coupon, on other flows",
    "coupon QA78UK is 78 UK, unknown code - nothing held, sold again without it": COUPON_REFUSAL,
    "coupon QA78DS is 78 DS, disabled by the operator - nothing held, sold again without it": (
        COUPON_REFUSAL
    ),
    "coupon QA78ST is 78 ST, not for this store - nothing held, sold again without it": (
        COUPON_REFUSAL
    ),
    "coupon QA78MB is 78 MB, for another member - nothing held, sold again without it": (
        COUPON_REFUSAL
    ),
    "coupon QA78MN is 78 MN, below the minimum purchase - nothing held, sold again without it": (
        COUPON_REFUSAL
    ),
    "coupon QA78US is 78 US, used up - nothing held, sold again without it": COUPON_REFUSAL,
    "a sale with a coupon cancelled at the confirmation holds nothing": (
        "the subset's cancel at the confirmation, with a code"
    ),
    "a referrer the club does not know - enrolled without a referral, nobody rewarded": (
        "the subset's referral, with the club's answer to an unknown number"
    ),
    "birthday gift credit from the campaigns job shows in the balance": (
        "the club's campaigns job; the board's part is the subset's balance inquiry"
    ),
    "we miss you - the return offer is honoured once at the till": (
        "the club's job and pricing; the board shows the subset's bank-card discount path"
    ),
    "the satisfaction survey SMS after a purchase, once the program asks for it": (
        "an SMS of the club's; the board's part is a cash sale"
    ),
    "customer cancels on the bank terminal": "a bank leg answer like the subset's decline",
    "bank times out without charging": "the status inquiry path of the subset's lost answer",
    "expired card is 54": SAME_CODE,
    "low balance is 51": SAME_CODE,
    "store credit of another store is 57": SAME_CODE,
    "a bank card outside bank-card purchase is refused by the terminal (the club would say 57)": (
        "the terminal's own refusal before any message, as the subset's clone card"
    ),
    "a card the club never issued is 14": SAME_CODE,
    "stock card without enrollment answers is 64": "enrollment refused: the keypad's Cancel path",
    "refunds - unknown RRN 25, above the original 13, to another account 12": SAME_CODE,
    "0100 fault, amount 1,000,902": FAULT,
    "0100 fault, amount 1,000,903": FAULT,
    "0100 fault, amount 1,000,904": FAULT,
    "0220 fault, amount 1,000,911": SLOW_FAULT,
    "0220 fault, amount 1,000,912": SLOW_FAULT,
    "0220 fault, amount 1,000,914": SLOW_FAULT,
    "0420 fault, amount 1,000,921 (the bank declines, the club's approval is reversed)": SLOW_FAULT,
    "0420 fault, amount 1,000,922 (the bank declines, the club's approval is reversed)": SLOW_FAULT,
    "0420 fault, amount 1,000,924 (the bank declines, the club's approval is reversed)": SLOW_FAULT,
    "amount 1,000,003 is 03": SAME_CODE,
    "amount 1,000,005 is 05": SAME_CODE,
    "amount 1,000,051 is 51": SAME_CODE,
    "amount 1,000,054 is 54": SAME_CODE,
    "amount 1,000,062 is 62": SAME_CODE,
    "amount 1,000,096 is 96": SAME_CODE,
    "card 9879119000000056 is 05": SAME_CODE,
    "card 9879119000000510 is 51": SAME_CODE,
    "card 9879119000000916 answers late every time": "a late answer: the silent club's timer",
    "card 9879119000000932 answers twice": "the repeat handling of the subset's netfault case",
    "club credit with the right PIN": "the subset's wrong-then-right PIN ends the same way",
    "a blocked PIN is 75 without asking": SAME_CODE,
    "the PIN entry cancelled holds nothing": "the keypad's Cancel path, as enrollment's",
    "a card without a PIN pays club credit without one": "the subset's club-credit sale",
    "magic cards 9879119000000551 and 9879119000000759 are 55 and 75": SAME_CODE,
    "points spent at the till - the hypermarket gives a point 2,000 rials, 100,001 takes 51": (
        "the ECR sale's method P, as the subset's other sales; the unix device runs it"
    ),
    "points spent at the till need the PIN when the store chooses 80 (issue 13 section 2)": (
        "the subset's wrong-then-right PIN, on the points flow (the unix device runs it)"
    ),
    "a lost 0110 to a PIN request; the repeat carries the same PIN": (
        "the subset's repeat, with the PIN re-enciphered as in the wrong-then-right case"
    ),
    "hypermarket's second terminal VT000002 sells like the first": "another terminal number",
    "Abi Pool VT000003 sells a pool card - enrolled at its first top-up, credited x10": (
        "the subset's top-up and enrollment, at another store"
    ),
    "Abi Pool - from 1,000 points, every 500 points become 500,000 rials of store credit": (
        "the club's points rule: the board sends the same messages as for any sale"
    ),
    "Abi Pool - store credit the pool gave is spent at the pool (57 at the hypermarket)": (
        "the subset's store-credit sale, at another store"
    ),
    "Ketab Bookshop - club credit earns points but no discount (bank cards only)": (
        "the club's program rule, the subset's club-credit sale"
    ),
    "Ketab Bookshop - above its 2,000,000,000 rials limit is 13; hypermarket store credit is 57": (
        SAME_CODE
    ),
    "the 0100 is sent twice; the club answers the copy with its recorded answer "
    "(protocol.md 6.2)": REPEAT,
    "the 0100 is sent twice and the first 0110 is lost; the copy's answer completes the sale": (
        REPEAT
    ),
}
EVERYTHING = os.environ.get("VAFA_ARM_LIBRARY") == "1"
LIBRARY = {sc.name: sc for sc in load_all([REPO / "scenarios"])}
CHOSEN = sorted(LIBRARY) if EVERYTHING else sorted(n for names in SUBSET.values() for n in names)
CHOSEN = [name for name in CHOSEN if name not in LEFT_OUT]


def test_the_subset_is_in_the_library():
    subset = {sc.name: sc.file for sc in LIBRARY.values()}
    for file, names in SUBSET.items():
        for name in names:
            assert subset.get(name, "").endswith(file), name


def test_every_scenario_runs_on_the_board_or_is_listed_with_its_reason():
    chosen = [n for names in SUBSET.values() for n in names]
    listed = [*chosen, *NOT_IN_CI, *LEFT_OUT]
    assert sorted(listed) == sorted(LIBRARY)
    assert len(listed) == len(set(listed))


@pytest.mark.parametrize("name", CHOSEN)
def test_scenario_on_the_emulated_board(name, elf):  # noqa: F811 (the fixture)
    result = run_scenario(LIBRARY[name], qemu_factory(elf))
    assert result.ok, "\n".join(result.failures)


def test_without_a_source_the_board_is_one_line_and_exit_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != firmware.ENV_SOURCE}
    argv = [sys.executable, "-m", "vafa", "emulator", "--scenario",
            str(REPO / "scenarios" / "flows.yaml"), "--firmware", "mps2-an385"]  # fmt: skip
    run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith("vafa emulator: --firmware mps2-an385: no MicroPython source")
    assert firmware.ENV_SOURCE in run.stderr
