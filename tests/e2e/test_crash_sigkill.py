"""Crash tests: a real agent process killed with SIGKILL inside each flow, then restarted.

Every kill point is a fresh copy of one prepared world (tests/e2e/support.py World: a seeded
club database, the terminal's provisioned storage, the bank's journal), with its own club server
(a real TCP server over that SQLite file). The agent process (simulator/crashlab/agent_main.py)
counts the steps of the flow: every storage write (write_atomic: STAN, DUKPT state, a journal
compaction; append: each journal record), every club link exchange and every bank payment.
VAFA_CRASH_AT="N:before" kills it with SIGKILL just before step N, "N:after" just after it (for
an exchange: the request was sent, its response not read yet; for a bank payment: the card was
charged and the bank journaled it, the agent has not seen the answer).

The flow is first run uncut to count its steps (and to learn what a confirmed sale changes on
the card's accounts); then, for each kill point: the flow process must die by SIGKILL (-9),
a second process recovers (engine.recover(), then the store-and-forward queue drained until
empty) and runs a follow-up cash sale with another card, and then:

- the club's ledger check passes, now and once the hold window has passed; no hold and no
  approval is left open (without waiting for the hold window: the terminal must close them);
- the bank charged at most once, and charged if and only if the club confirmed the sale, with
  the bank's reference (no lost confirmation, no double charge);
- the club's state matches what the terminal decided (its journal before the restart plus what
  recovery did): a queued 0220 -> exactly one confirmed transaction, and the card's accounts
  moved exactly as in the uncut run; a 0420 or nothing sent -> no confirmed transaction (reversed
  or never created) and the accounts unchanged; a void queued -> voided, else still confirmed;
- the terminal has nothing pending, open, parked or in conflict, and the next sale is approved;
- no card number in clear in any file of the agent's storage folder or the bank's journal.

Coverage: by default every step of every flow, before and after (the flows have 7 to 13 steps:
152 kill points, 304 agent processes), run two at a time. VAFA_CRASH_BUDGET=N caps the kill
points per flow: the first and the last EDGE steps are then always covered before and after,
and the other points are sampled evenly. The bank-card sale killed once its 0100 was sent, and
once the bank charged, also has its recovery killed at every one of recovery's own steps
(test_sigkill_during_recovery). Plus RANDOM_KILLS kills per flow from outside, for realism: the
test sends SIGKILL after a seeded random delay, which lands anywhere (between two steps, inside
a file write before its flush, in the engine's own code); the delays are seeded, where they land
is up to the scheduler.
"""

import os
import random
import shutil
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest

from simulator.club_server import seed
from simulator.crashlab.agent_main import Agent
from tests.e2e.support import World, run_agent, run_agent_killed_from_outside, scan_for_pans

SIGKILLED = -9
EDGE = 3  # with a budget: the first and last EDGE steps are always covered, before and after
BUDGET = int(os.environ.get("VAFA_CRASH_BUDGET", "0")) or None
WORKERS = 2  # kill points run concurrently (each has its own world and club server)
RANDOM_KILLS = 2  # per flow
RANDOM_SEED = 8583
FOLLOW_UP = {"flow": "cash", "amount": 20_000, "card": seed.CARD_C}
CLUB_CREDIT_SALE = {"flow": "club_credit", "amount": 300_000, "card": seed.CARD_A}

# flow -> what it runs, the card whose accounts are watched, a sale made while preparing the
# world (refund and void need a confirmed purchase) and the journal compaction threshold.
FLOWS = {
    "bank": {"spec": {"flow": "bank", "amount": 1_200_000, "card": seed.CARD_A}},
    "club_credit": {"spec": CLUB_CREDIT_SALE},
    "store_credit": {"spec": {"flow": "store_credit", "amount": 100_000, "card": seed.CARD_A}},
    # a bank sale with the demo club's coupon: its use held with the 0110, consumed by the 0220
    # or given back by the 0420 that recovery sends (check_world)
    "coupon": {
        "spec": {"flow": "bank", "amount": 1_000_000, "card": seed.CARD_A, "coupon": "NOWRUZ10"}
    },
    # a tiny threshold: the journal is compacted (atomically rewritten) at the end of the sale
    "cash": {"spec": {"flow": "cash", "amount": 200_000, "card": seed.CARD_B}, "compact": 256},
    "top_up": {"spec": {"flow": "top_up", "amount": 100_000, "card": seed.CARD_A}},
    # split sales (docs/protocol.md 5.11): card B's 2,000,000 of club credit short of the
    # payable (2,705,000), the remainder (705,000) on the bank leg; card LOW's 10,000 short of
    # 100,000, the rest in cash. A kill between the legs must end with both legs done (the
    # bank charged, the club confirmed with its reference and debited the credit) or neither.
    "split_bank": {
        "spec": {"flow": "split", "amount": 3_000_000, "card": seed.CARD_B, "tender": "40"}
    },
    "split_cash": {
        "spec": {"flow": "split", "amount": 100_000, "card": seed.CARD_LOW, "tender": "00"}
    },
    "refund": {
        "spec": {"flow": "refund", "amount": 50_000, "card": seed.CARD_A, "account": "60"},
        "prep": CLUB_CREDIT_SALE,
    },
    "void": {
        "spec": {"flow": "void"},
        "watch": seed.CARD_A,
        "prep": CLUB_CREDIT_SALE,
        "compact": 256,  # compacted at the end of the void, too
    },
}


class Template:
    """A prepared world for one flow, and what its uncut run showed."""

    def __init__(self, name, world, base):
        self.name = name
        self.flow = FLOWS[name]
        self.world = world
        self.base = base  # the folder the kill points' worlds go in
        self.spec = dict(self.flow["spec"])
        self.watch = self.flow.get("watch") or self.spec["card"]
        self.compact = self.flow.get("compact")
        self.prep_rrn = None
        self.steps = None
        self.elapsed_ms = None
        self.confirmed_delta = None

    def prepare(self):
        with self.world.server() as club:
            agent = Agent(self.world.agent, club.port, self.world.bank_journal)
            agent.engine.recover()
            if self.flow.get("prep"):
                res = agent.run(self.flow["prep"])
                assert res["outcome"] == "approved" and res["confirmed"], res
                self.prep_rrn = res["rrn"]
                if self.spec["flow"] == "refund":
                    self.spec["rrn"] = res["rrn"]
            agent.close()
        self.sale_stan = f"{self.world.last_stan() + 1:06d}"
        self.max_txn = self.world.max_txn_id()
        self.accounts = self.world.accounts(self.watch)
        self.card_c = self.world.card_id(seed.CARD_C)
        return self

    def delta(self, world):
        """{account: (balance change, held change)} of the watched card, non-zero only."""
        now = world.accounts(self.watch)
        out = {}
        for key in set(now) | set(self.accounts):
            b0, h0 = self.accounts.get(key, (0, 0))
            b1, h1 = now.get(key, (0, 0))
            if (b1 - b0, h1 - h0) != (0, 0):
                out[key] = (b1 - b0, h1 - h0)
        return out

    def fresh(self, label):
        return self.world.copy(self.base / label)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("crash")
    seeded = World.seeded(base / "seeded")
    templates = {}

    def template(name):
        if name not in templates:
            world = seeded.copy(base / name / "template")
            tpl = Template(name, world, base / name).prepare()
            profile_uncut(tpl)
            templates[name] = tpl
        return templates[name]

    return template


def profile_uncut(tpl):
    """Run the flow without a kill: count its steps, learn what a confirmed sale changes."""
    world = tpl.fresh("uncut")
    with world.server() as club:
        run = run_agent("flow", world, club.port, tpl.spec, compact_bytes=tpl.compact)
        assert run.returncode == 0 and run.result, run
        res = run.result["result"]
        assert res["outcome"] == "approved" and res["confirmed"], res
        assert res["stan"] == tpl.sale_stan or tpl.name == "void", (res, tpl.sale_stan)
        recovered = run_agent("recover", world, club.port, {"then": FOLLOW_UP})
    tpl.steps = run.result["steps"]
    tpl.elapsed_ms = run.result["elapsed_ms"]
    tpl.confirmed_delta = tpl.delta(world)
    assert tpl.confirmed_delta, (tpl.name, "a confirmed sale changes the card's accounts")
    check_world(tpl, world, recovered, label="uncut")


def kill_points(total, budget=BUDGET, edge=EDGE):
    """Every (step, when) of a flow of `total` steps, or a sample of `budget` of them that always
    holds the first and the last `edge` steps, before and after."""
    points = [(n, when) for n in range(1, total + 1) for when in ("before", "after")]
    if budget is None or len(points) <= budget:
        return points
    must = [p for p in points if p[0] <= edge or p[0] > total - edge]
    rest = [p for p in points if p not in must]
    room = max(budget - len(must), 0)
    if room and rest:
        stride = len(rest) / room
        must += [rest[int(i * stride)] for i in range(min(room, len(rest)))]
    return sorted(set(must))


def decision(tpl, records, actions):
    """What the terminal decided about the sale: its journal as the kill left it, plus what
    recovery did. "confirm", "reverse", "void", "none" (nothing reached the club) or None."""
    stan = tpl.sale_stan
    if tpl.spec["flow"] == "void":
        for r in records:
            if r.get("k") == "q" and r["id"] == stan and r.get("reason") == "VD":
                return "void"
            if r.get("k") == "snap" and (r.get("last") or {}).get("state") == "voided":
                return "void"  # compacted after its 0430: the snapshot keeps the last sale
        return "none"
    made = False
    for r in records:
        kind = r.get("k")
        if kind == "txn" and r["s"] == stan:
            made = True
        elif kind == "q" and r.get("txn") == stan:
            return "confirm" if r["mti"] == "0220" else "reverse"
        elif kind == "snap" and r.get("last") and r["last"]["q"].get("txn") == stan:
            return "confirm"  # compacted after its 0230: the snapshot keeps the last sale
    for action, s in actions:
        if s == stan:
            return {"confirmed": "confirm", "reversed": "reverse"}.get(action, action)
    return None if made else "none"


def check_world(tpl, world, recovered, label, records=None, actions=None):
    """The assertions of this module's docstring, for one world after its recovery."""
    where = f"{tpl.name} {label}"
    assert recovered.returncode == 0 and recovered.result, (where, recovered)
    out = recovered.result
    assert (out["pending"], out["open"], out["parked"], out["conflicts"]) == (0, 0, 0, 0), (
        where,
        out,
    )
    then = out["then"]
    assert then["outcome"] == "approved" and then["confirmed"], (where, then)
    assert world.open_holds() == [], where
    assert world.open_approvals() == [], where
    assert world.ledger_findings() == [], where
    if records is None:  # the uncut run: the sale went through
        decided = "void" if tpl.spec["flow"] == "void" else "confirm"
    else:
        decided = decision(tpl, records, actions)
    sales = [t for t in world.txns(tpl.max_txn) if t["card_id"] != tpl.card_c]
    states = [t["state"] for t in sales]
    charges = world.charges()
    assert len(charges) <= 1, (where, charges)
    if tpl.spec["flow"] == "void":
        original = world.query("SELECT state FROM txns WHERE rrn = ?", tpl.prep_rrn)[0]
        assert sales == [], (where, states)
        assert original["state"] == ("voided" if decided == "void" else "confirmed"), (
            where,
            decided,
            original,
        )
        confirmed = decided == "void"
    elif decided == "confirm":
        assert states == ["confirmed"], (where, decided, states)
        confirmed = True
    elif decided in ("reverse", "none"):
        # a reversal of an approval, or one that came first (the 0100 is then refused): never
        # confirmed; "none": the 0100 never left, so the club has nothing
        allowed = ["reversed"] if decided == "reverse" else []
        assert states in ([], allowed), (where, decided, states)
        confirmed = False
    else:
        raise AssertionError(f"{where}: the terminal left the sale undecided: {decided!r}")
    if tpl.spec["flow"] == "bank" or tpl.spec.get("tender") == "40":  # a bank leg was asked
        if charges:  # the customer paid: the club has the confirmation with the bank reference
            assert confirmed and sales[0]["bank_ref"] == charges[0]["reference"], (where, sales)
        else:
            assert not confirmed, (where, "confirmed without a bank charge", sales)
    else:
        assert charges == [], where
    expected = tpl.confirmed_delta if confirmed else {}
    if tpl.confirmed_delta is not None:
        assert tpl.delta(world) == expected, (where, decided)
    if tpl.spec.get("coupon"):  # docs/protocol.md 5.10: no use left held, one per sale
        uses = [u["state"] for u in world.query("SELECT state FROM coupon_uses ORDER BY id")]
        assert uses == (["consumed"] if confirmed else ["released"] * len(sales)), (where, uses)
    leaks = scan_for_pans(world.agent) + scan_for_pans(world.bank_journal)
    assert leaks == [], (where, leaks)
    return decided


def crash_and_recover(tpl, label, crash_at=None, delay_s=None, recovery_crash_at=None):
    """One kill point in a fresh world: the flow killed (and, with recovery_crash_at, the first
    recovery killed too), a recovery, the checks; (decided, returncode of the flow)."""
    world = tpl.fresh(label)
    with world.server() as club:
        if delay_s is None:
            run = run_agent(
                "flow", world, club.port, tpl.spec, crash_at=crash_at, compact_bytes=tpl.compact
            )
            assert run.returncode == SIGKILLED, (tpl.name, label, run)
        else:
            run = run_agent_killed_from_outside(
                world, club.port, tpl.spec, delay_s, compact_bytes=tpl.compact
            )
            assert run.returncode in (SIGKILLED, 0), (tpl.name, label, run)
        if recovery_crash_at:
            first = run_agent(
                "recover", world, club.port, crash_at=recovery_crash_at, compact_bytes=tpl.compact
            )
            assert first.returncode == SIGKILLED, (tpl.name, label, first)
        records = world.journal()
        recovered = run_agent(
            "recover", world, club.port, {"then": FOLLOW_UP}, compact_bytes=tpl.compact
        )
    actions = [tuple(a) for a in (recovered.result or {}).get("report", {}).get("actions", [])]
    decided = check_world(tpl, world, recovered, label, records, actions)
    shutil.rmtree(world.root)  # passed: only a failing kill point's world is kept to look at
    return decided, run.returncode


def run_all(jobs):
    """Run the jobs, WORKERS at a time; their results in order (the first failure raises)."""
    with ThreadPoolExecutor(WORKERS) as pool:
        return [f.result() for f in [pool.submit(job) for job in jobs]]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FLOWS))
def test_sigkill_at_every_step(lab, name):
    tpl = lab(name)
    total = len(tpl.steps)
    points = kill_points(total)
    jobs = [partial(crash_and_recover, tpl, f"kill-{n}-{w}", f"{n}:{w}") for n, w in points]
    decided = run_all(jobs)
    # every kind of outcome was exercised where the flow has it
    outcomes = {d for d, _ in decided}
    if name == "void":
        assert outcomes == {"none", "void"}, outcomes
    else:
        assert {"none", "reverse", "confirm"} <= outcomes, outcomes
    # the steps the flows are made of were all hit (see the module docstring)
    kinds = {step.split(" ")[0] for step in tpl.steps}
    assert {"write", "append", "exchange"} <= kinds, tpl.steps
    if name in ("bank", "split_bank"):
        assert "bank pay" in tpl.steps
    if tpl.compact:
        assert tpl.steps[-1] == "write journal", tpl.steps  # the compaction
    print(f"{name}: {total} steps, {len(points)} kill points: {tpl.steps}")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FLOWS))
def test_sigkill_from_outside_at_random_times(lab, name):
    tpl = lab(name)
    rng = random.Random(f"{RANDOM_SEED}-{name}")
    window_s = max(tpl.elapsed_ms, 5) * 1.5 / 1000
    delays = [rng.uniform(0, window_s) for _ in range(RANDOM_KILLS)]
    jobs = [partial(crash_and_recover, tpl, f"random-{i}", delay_s=d) for i, d in enumerate(delays)]
    print(f"{name}: random kills (decided, returncode): {run_all(jobs)}")


@pytest.mark.slow
@pytest.mark.parametrize("first_kill", ["exchange 0100", "bank pay"])
def test_sigkill_during_recovery(lab, first_kill):
    """A bank-card sale killed once the 0100 was sent (recovery reverses it, PF) or once the
    bank charged the card (recovery finds the payment and confirms it), then its recovery
    killed at every one of its own steps, before and after; then a recovery to the end."""
    tpl = lab("bank")
    n0 = tpl.steps.index(first_kill) + 1
    crash_at = f"{n0}:after"
    world = tpl.fresh(f"recovery-{first_kill.replace(' ', '-')}")
    with world.server() as club:
        run = run_agent("flow", world, club.port, tpl.spec, crash_at=crash_at)
        assert run.returncode == SIGKILLED, run
        records = world.journal()
        recovered = run_agent("recover", world, club.port, {"then": FOLLOW_UP})
    actions = [tuple(a) for a in recovered.result["report"]["actions"]]
    expected = "confirm" if first_kill == "bank pay" else "reverse"
    assert check_world(tpl, world, recovered, "recovery uncut", records, actions) == expected
    steps = recovered.result["steps"]
    assert "exchange 0220" in steps or "exchange 0420" in steps, steps
    points = kill_points(len(steps))
    jobs = [
        partial(crash_and_recover, tpl, f"recovery-{n0}-{n}-{w}", crash_at, None, f"{n}:{w}")
        for n, w in points
    ]
    decided = run_all(jobs)
    assert {d for d, _ in decided} == {expected}, decided
    print(f"recovery after {first_kill}: {len(steps)} steps, {len(points)} kill points: {steps}")
