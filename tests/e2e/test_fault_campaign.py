"""A randomized network-fault campaign: thousands of transactions of every kind through a faulty
network, then the terminal's beliefs compared with the club's database and the bank's journal.

Wiring: the real engine (agent.engine.Engine, in this process, FileStorage, the bank simulator
with its journal) -> simulator/netfault's FaultProxy with a RandomPlan -> the real club server
(TCP, SQLite). Every frame, each way, gets a fault with probability RATE (about 15 %): drop,
delay past the response timer (one timer, or the timers of a request and its repeat), duplicate,
truncate, reset, bit flips, and for requests "delivered twice, the first answer dropped" (the
network repeats a request byte for byte and loses the answer to the first copy: the terminal sees
only the club's answer to the copy). The transactions, drawn from a seeded generator: bank-card
purchases (004000, the bank leg approving, declining, cancelling, timing out with or without the
charge), club-credit (006000), store-credit (007000) and cash (000000) purchases, top-ups
(210060), refunds (2000xx) of earlier approved purchases, voids of the last, balance inquiries
(310000), and split sales (club or store credit first, the rest by bank card or in cash,
tests/e2e/campaign_split.py, which says what the comparison expects of them).

Then, as a later idle loop would, with the faults off: the late frames flushed, the queue
drained until empty, the terminal restarted over the same storage (recover() must find nothing
to do), the day closed (the 0510 must say the totals agree). The hold window is an hour: every
approval must have been closed by the terminal itself. Compared, per transaction and overall
(every mismatch is listed with the transaction, its faults and both sides' view):

- the terminal's belief (the flow's result, and its journal, every record appended as it was
  written: a 0220 completed 00 -> confirmed; a 0420 -> reversed; an "end" -> closed) is the
  club's state of that transaction (confirmed, or voided after a void the club accepted;
  reversed or unknown; nothing for a decline); an approved result has the club's payable, RRN
  and amount; no 0220 answered 12 (conflict), nothing parked;
- no approval and no hold left open at the club; the ledger check passes, now and once the hold
  window has passed;
- the bank charged each payment id at most once; every charge is confirmed at the club with its
  reference and nothing is confirmed without a charge; a charge goes with an approved result;
- the club credit of every card moved exactly by the payables and credits of what the terminal
  believes approved (and not voided);
- no card number in clear in the terminal's files.

VAFA_CAMPAIGN_TXNS sets the number of transactions (default sized for CI), VAFA_CAMPAIGN_SEED
the seed, VAFA_CAMPAIGN_RATE the fault rate per frame. Run with -s for the counts.
"""

import random
import time

import pytest

from simulator.club_server import seed
from simulator.netfault import Plan
from simulator.netfault.proxy import DOWN, UP
from tests.e2e.campaign import CLUB_CARDS, SEED, TXNS
from tests.e2e.campaign_split import SplitCampaign as Campaign
from tests.e2e.support import World


@pytest.mark.slow
def test_fault_campaign(tmp_path):
    world = World.seeded(tmp_path / "world")
    balances = {pan: world.accounts(pan).get(("club", ""), (0, 0))[0] for pan in CLUB_CARDS}
    campaign = Campaign(world, random.Random(SEED))
    start = time.monotonic()
    campaign.run(TXNS)
    elapsed = time.monotonic() - start
    problems = campaign.compare(balances)
    print()
    print(campaign.counts(elapsed, problems))
    for _, text in problems[:40]:
        print("  - " + text)
    assert not problems, f"{len(problems)} mismatches, first: {problems[0][1]}"


class FieldFlip(Plan):
    """`flip` inverts bit 0x40 of one byte of the body: byte 20 is field 4's third digit in a
    0100/0101 (MTI 4 + bitmap 8 + field 3 6). A club that checks the format before the MAC
    answers that 30; this one checks the MAC first and answers 63 (docs/protocol.md 4.3):
    neither is the club's decision on the request."""

    def flip(self, direction, frame):
        body = bytearray(frame[2:])
        body[20] ^= 0x40
        return frame[:2] + bytes(body)


def sale(kind, amount, bank=None):
    return {"kind": kind, "card": seed.CARD_A, "amount": amount, "bank": bank}


def split(tender, bank=None, amount=3_000_000):
    """A split of card B's 2,000,000 of club credit, the rest by `tender` (5.11)."""
    return {"kind": "split", "card": seed.CARD_B, "amount": amount, "bank": bank,
            "account": "60", "tender": tender}  # fmt: skip


# name -> (plan, the faulted sale); a cash sale follows each, faults off by then
KNOWN = {
    # the reported case: the club approves the first copy, answers the copy 63 (replayed KSN),
    # the terminal must not take that for a decline and leave the approval open
    "0100 twice, first 0110 lost (club credit)": (
        Plan({(UP, 0): "twice_drop_answer"}),
        sale("club_credit", 300_000),
    ),
    "0100 twice, first 0110 lost (bank card)": (
        Plan({(UP, 0): "twice_drop_answer"}),
        sale("bank", 1_200_000, "approve"),
    ),
    "0110 lost, then the 0101 twice and its first 0110 lost": (
        Plan({(DOWN, 0): "drop", (UP, 1): "twice_drop_answer"}),
        sale("club_credit", 300_000),
    ),
    "0230 lost, then the 0221 twice and its first 0230 lost": (
        Plan({(DOWN, 1): "drop", (UP, 2): "twice_drop_answer"}),
        sale("club_credit", 300_000),
    ),
    # the club approved the 0100; its repeat arrives corrupted and is refused (30 by a club
    # that checks the format first, 63 here): not the club's decision on this request
    "0110 lost, the 0101 corrupted in flight": (
        FieldFlip({(DOWN, 0): "drop", (UP, 1): "flip"}),
        sale("club_credit", 300_000),
    ),
    # split sales (5.11): the 10 lost, the repeat gets the recorded 10 and the bank leg pays
    # the remainder once; the 10 never arrives: reversed, the credit released, nothing charged
    "split: 0110 (10) lost, the 0101 answered 10": (
        Plan({(DOWN, 0): "drop"}),
        split("40", "approve"),
    ),
    "split: 0100 twice, first 0110 (10) lost": (
        Plan({(UP, 0): "twice_drop_answer"}),
        split("40", "approve"),
    ),
    "split: no 0110 at all (0100 and 0101 lost)": (
        Plan({(UP, 0): "drop", (UP, 1): "drop"}),
        split("40", "approve"),
    ),
    "split: 0230 lost after the bank paid the rest": (
        Plan({(DOWN, 1): "drop"}),
        split("40", "approve"),
    ),
    "split: the bank leg times out having charged": (Plan({}), split("40", "timeout_charged")),
    "split: cash rest, 0230 lost twice": (
        Plan({(DOWN, 1): "drop", (DOWN, 2): "drop"}),
        split("00"),
    ),
}


@pytest.mark.parametrize("name", list(KNOWN))
def test_known_fault_sequences(tmp_path, name):
    """Fault sequences the campaign (or its review) found, replayed one by one: the same
    comparison as the campaign's, after one faulty sale and a clean one."""
    plan, faulty = KNOWN[name]
    world = World.seeded(tmp_path / "world")
    balances = {pan: world.accounts(pan).get(("club", ""), (0, 0))[0] for pan in CLUB_CARDS}
    campaign = Campaign(world, None, plan)
    campaign.run([faulty, sale("cash", 100_000)])
    problems = campaign.compare(balances)
    if plan.faults:
        assert any(action != "pass" for _, _, action, _ in plan.log), plan.log  # it fired
    assert not problems, "\n".join(text for _, text in problems)
