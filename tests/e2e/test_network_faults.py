"""Network faults on every message: the engine (in this process) -> FaultProxy -> club server.

Each case is a fresh world (tests/e2e/support.py: a seeded club database, the terminal's
FileStorage, the bank's journal) with one fault on one message (simulator/netfault: the plan is
keyed by direction and the message's index in that direction):

- a bank-card purchase (004000) and a club-credit purchase (006000, which holds credit):
  0100 (up 0), 0110 (down 0), 0220 (up 1), 0230 (down 1);
- the reversal path, a bank-card purchase the bank leg declines: 0420 (up 1), 0430 (down 1);

and each action: drop, delay past the terminal's response timer (500 ms; the proxy holds the
frame 700 ms, and every frame behind it on that connection), duplicate, truncate (half a frame,
then the connection closes) and reset (the connection closes instead of the frame). Two more
cases hold the 0100 or the 0110 past the timers of both the 0100 and its repeat (the terminal
reverses with TO while the late messages are still on their way). And RANDOM_PLANS seeded random
plans of 1 to 3 faults anywhere in the first five messages each way, over both sales, where any
outcome may do as long as the club, the bank and the terminal agree.

Each case: the first sale (the fault's), the queue drained (as the idle loop would, without
waiting for the backoff), a second bank-card sale on the same connection, which must not take a
duplicated or late answer of the first for its own, the queue drained, then a restart over the
same storage whose recover() must find nothing to do. Asserted:

- one repeat rescues any single fault: the purchase is approved, the declined payment reversed
  (BD); a spare or late answer was seen and discarded (duplicate, delay);
- the engine's result matches the club: approved -> confirmed (exactly once: the ledger check),
  with the payable the engine reports; reversed -> reversed; failed -> unknown to the club; the
  second sale's STAN, RRN and amount are the club's record of it;
- no hold and no approval left open, without waiting for the hold window; the ledger check
  passes now and once the window has passed; club credit moved once, by the payable;
- the bank charged each sale at most once, every charge is confirmed at the club with its
  reference, and nothing is confirmed without a charge; no 0220 answered 12 (conflict);
- no card number in clear in the terminal's files.
"""

import random
import time

import pytest

from agent.ports import Card
from simulator.club_server import seed
from simulator.crashlab.agent_main import TERMINAL_ID, Agent
from simulator.netfault import FaultProxy, Plan
from simulator.netfault.proxy import DOWN, UP
from tests.e2e.support import World, scan_for_pans

TIMEOUT_MS = 500  # the terminal's response timer in these tests
DELAY_S = 0.7  # the proxy's delay: past one timer, well within the repeat's
LONG_DELAY_S = 1.2  # past the timer of a 0100 and of its repeat (0101)
ACTIONS = ("drop", "delay", "duplicate", "truncate", "reset")
SALE = 1_200_000
SECOND_SALE = 700_000
CREDIT_SALE = 300_000
RANDOM_PLANS = 8
RANDOM_SEED = 8583

# (scenario, message) -> (direction, index): the message's place in its direction's stream
# when the messages before it pass
MESSAGES = {
    ("purchase", "0100"): (UP, 0),
    ("purchase", "0110"): (DOWN, 0),
    ("purchase", "0220"): (UP, 1),
    ("purchase", "0230"): (DOWN, 1),
    ("credit", "0100"): (UP, 0),
    ("credit", "0110"): (DOWN, 0),
    ("credit", "0220"): (UP, 1),
    ("credit", "0230"): (DOWN, 1),
    ("reversal", "0420"): (UP, 1),
    ("reversal", "0430"): (DOWN, 1),
}
CASES = [(scenario, mti, action) for (scenario, mti) in MESSAGES for action in ACTIONS]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    return World.seeded(tmp_path_factory.mktemp("netfault") / "seeded")


def card(pan=seed.CARD_A):
    return Card(pan, None, "051")


def drain(agent, deadline_s=10.0):
    end = time.monotonic() + deadline_s
    while agent.engine.pending() and time.monotonic() < end:
        agent.engine.saf.drain(force=True)
    return agent.engine.pending()


def club_row(world, res):
    """The club's transaction of a sale result: by RRN when the 0110 came, else by STAN."""
    if res.get("rrn"):
        rows = world.query("SELECT * FROM txns WHERE rrn = ?", res["rrn"])
    else:
        rows = world.query(
            "SELECT * FROM txns WHERE terminal_id = ? AND stan = ?", TERMINAL_ID, res["stan"]
        )
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def check_consistent(world, res, where):
    row = club_row(world, res)
    if res["outcome"] == "approved":
        assert row is not None and row["state"] == "confirmed", (where, res, row)
        assert row["payable"] == res["payable"], (where, res, row)
    elif res["outcome"] in ("reversed", "cancelled"):
        assert row is None or row["state"] == "reversed", (where, res, row)
    elif res["outcome"] == "failed":
        assert row is None, (where, res, row)
    else:
        raise AssertionError(f"{where}: unexpected outcome {res}")
    return row


class Outcome:
    """What one faulty run gave: both sales' results and what the terminal saw."""

    def __init__(self, plan):
        self.plan = plan
        self.first = self.second = None
        self.late = self.conflicts = 0


def run_sales(world, plan, decline=False, credit=False):
    """The first sale (the fault's: a bank-card purchase, or with credit a club-credit one),
    the queue drained, a second sale (bank card) on the same connection, the queue drained,
    then a restart over the same storage that must find nothing to do."""
    out = Outcome(plan)
    out.balance = world.accounts(seed.CARD_A)[("club", "")][0]
    club = world.server()
    proxy = FaultProxy("127.0.0.1", club.port, plan).start_in_thread()
    try:
        agent = Agent(world.agent, proxy.port, world.bank_journal, timeout_ms=TIMEOUT_MS)
        agent.engine.recover()
        if decline:
            agent.bank.script.append("decline")
        if credit:
            out.first = agent.engine.purchase_club_credit(CREDIT_SALE, card())
        else:
            out.first = agent.engine.purchase_bank(SALE, card())
        if out.first["confirmed"]:  # the 0230 came back: the club has it confirmed already
            assert club_row(world, out.first)["state"] == "confirmed", out.first
        assert drain(agent) == 0
        # the second sale on the same connection: a spare or late answer of the first sale
        # may still be on its way or in the link's buffer
        out.second = agent.engine.purchase_bank(SECOND_SALE, card())
        assert drain(agent) == 0
        out.late = agent.engine.club.stats["late"]
        out.conflicts = agent.engine.ledger.conflicts
        agent.close()
        agent = Agent(world.agent, proxy.port, world.bank_journal, timeout_ms=TIMEOUT_MS)
        report = agent.engine.recover()
        assert (report["actions"], report["pending"], report["parked"]) == ([], 0, 0), report
        agent.close()
        club.sweep()
    finally:
        proxy.stop()
        club.stop()
    return out


def check_club(world, out, where, single_fault=True):
    """The club agrees with the engine, exactly once; the bank charged each sale at most once,
    every charge is confirmed with its reference and nothing is confirmed without a charge.
    With single_fault, the second sale (which the fault did not touch) must have gone through."""
    first, second = out.first, out.second
    if single_fault:
        assert second["outcome"] == "approved" and second["confirmed"], (where, second)
        assert second["stan"] != first["stan"] and second["rrn"] != first["rrn"], (where, second)
    assert out.conflicts == 0, where
    assert world.open_holds() == [], where
    assert world.open_approvals() == [], where
    assert world.ledger_findings() == [], where
    row1 = check_consistent(world, first, where + ", first sale")
    row2 = check_consistent(world, second, where + ", second sale")
    if row2 is not None:
        assert row2["amount"] == SECOND_SALE and row2["stan"] == second["stan"], (where, row2)
        assert row1 is None or row1["id"] != row2["id"], where
    charges = world.charges()
    ids = [c["txn_id"] for c in charges]
    assert len(ids) == len(set(ids)), (where, charges)
    confirmed = world.query("SELECT * FROM txns WHERE proc = '004000' AND state = 'confirmed'")
    assert sorted(c["reference"] for c in charges) == sorted(r["bank_ref"] for r in confirmed), (
        where,
        charges,
        confirmed,
    )
    paid = [r for r in (first, second) if r["flow"] == "bank" and r["outcome"] == "approved"]
    assert len(charges) == len(paid), (where, charges)
    # club credit moved once, by the payable, only for an approved club-credit sale
    spent = 0
    if first["flow"] == "club_credit" and row1 is not None and row1["state"] == "confirmed":
        spent = first["payable"]
    assert world.accounts(seed.CARD_A)[("club", "")] == (out.balance - spent, 0), where
    assert scan_for_pans(world.agent) == [], where


def fired(plan):
    return [(d, i, a) for d, i, a, _ in plan.log if a != "pass"]


@pytest.mark.slow
@pytest.mark.parametrize(("scenario", "mti", "action"), CASES)
def test_fault_on_every_message(seeded, tmp_path, scenario, mti, action):
    where = f"{action} {mti} ({scenario})"
    world = seeded.copy(tmp_path / "world")
    plan = Plan({MESSAGES[scenario, mti]: action}, delay_s=DELAY_S)
    out = run_sales(world, plan, decline=scenario == "reversal", credit=scenario == "credit")
    assert fired(plan) == [(*MESSAGES[scenario, mti], action)], (where, plan.log)
    # one repeat rescues any single fault
    if scenario != "reversal":
        assert out.first["outcome"] == "approved", (where, out.first)
    else:
        assert (out.first["outcome"], out.first["reason"]) == ("reversed", "BD"), where
    if action in ("duplicate", "delay"):
        # the spare copy (or the answer to the spare copy, a 63 for a replayed KSN), or the
        # late answer, reached the terminal and was discarded, not taken for another's answer
        assert out.late >= 1, (where, out.late)
    check_club(world, out, where)


@pytest.mark.slow
@pytest.mark.parametrize("mti", ["0100", "0110"])
def test_delay_past_the_repeat_reverses(seeded, tmp_path, mti):
    """The 0100 or its 0110 held past the timer of the 0100 and of its 0101: the terminal
    reverses (TO) while the late messages are still on their way; the club ends reversed."""
    where = f"long delay {mti}"
    world = seeded.copy(tmp_path / "world")
    plan = Plan({MESSAGES["purchase", mti]: "delay"}, delay_s=LONG_DELAY_S)
    out = run_sales(world, plan)
    assert (out.first["outcome"], out.first["reason"]) == ("reversed", "TO"), (where, out.first)
    assert out.late >= 1, (where, out.late)
    check_club(world, out, where)


@pytest.mark.slow
@pytest.mark.parametrize("case", range(RANDOM_PLANS))
def test_random_fault_plans(seeded, tmp_path, case):
    """Seeded random plans of 1 to 3 faults anywhere in the first five messages each way, over
    both sales: any outcome may do, as long as the club, the bank and the terminal agree."""
    rng = random.Random(f"{RANDOM_SEED}-{case}")
    faults = {}
    for _ in range(rng.randint(1, 3)):
        faults[rng.choice((UP, DOWN)), rng.randint(0, 4)] = rng.choice(ACTIONS)
    delay_s = rng.choice((DELAY_S, LONG_DELAY_S))
    scenario = rng.choice(("purchase", "credit", "reversal"))
    where = f"{scenario}, delay {delay_s} s, {sorted(faults.items())}"
    world = seeded.copy(tmp_path / "world")
    plan = Plan(faults, delay_s=delay_s)
    out = run_sales(world, plan, decline=scenario == "reversal", credit=scenario == "credit")
    check_club(world, out, where, single_fault=False)
