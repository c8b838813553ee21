"""The harness of the randomized network-fault campaign (tests/e2e/test_fault_campaign.py says
what it runs and compares): the terminal wiring, the transaction draws, the journal tap, the
comparison of the terminal's beliefs with the club's database and the bank's journal, and the
counts it prints."""

import collections
import os
import time

from agent.engine import Engine
from agent.journal import decode_records
from agent.links.tcp import TcpClubLink
from agent.ports import Card, RecordingDisplay, RecordingPrinter, ScriptedKeypad, SystemClock
from agent.protocol import aes_cryptography
from agent.protocol.dukpt import TerminalDukpt, derive_initial_key
from agent.storage import BlobStore, FileStorage
from simulator.club_server import seed
from simulator.club_server.ledger import ledger_check
from simulator.crashlab.agent_main import (
    ENROLLMENT,
    INITIAL_KEY_ID,
    MERCHANT_ID,
    STORAGE_KEY,
    TERMINAL_ID,
    TEST_BDK,
    PersistentBank,
)
from simulator.netfault import FaultProxy, RandomPlan
from simulator.netfault.proxy import DOWN, UP
from tests.e2e.support import scan_for_pans

TXNS = int(os.environ.get("VAFA_CAMPAIGN_TXNS", "1200"))
SEED = os.environ.get("VAFA_CAMPAIGN_SEED", "8583")
RATE = float(os.environ.get("VAFA_CAMPAIGN_RATE", "0.15"))
TIMEOUT_MS = 200  # the terminal's response timer
DELAYS_S = (0.25, 0.5)  # past one timer; past the timers of a request and its repeat
# purchases that may carry a coupon (docs/protocol.md 5.10): the demo club's NOWRUZ10, and what
# its use must be for each state its sale ends in
COUPON = "NOWRUZ10"
COUPON_KINDS = ("bank", "club_credit", "store_credit", "cash")
COUPON_USE = {"confirmed": "consumed", "reversed": "released", "released": "released",
              "voided": "released"}  # fmt: skip
HOLD_WINDOW = 3600.0  # far longer than the campaign: only the terminal can close a hold
LEDGER_GRACE = 120.0
DRAIN_DEADLINE_S = 30.0

# fault weights per direction ("especially" the request delivered twice, first answer lost)
FAULTS = {
    UP: {
        "drop": 2,
        "delay": 2,
        "duplicate": 2,
        "truncate": 1,
        "reset": 1,
        "flip": 2,
        "twice_drop_answer": 4,
    },
    DOWN: {"drop": 2, "delay": 2, "duplicate": 2, "truncate": 1, "reset": 1, "flip": 2},
}
# transaction kind -> weight
KINDS = {
    "bank": 20,
    "club_credit": 14,
    "store_credit": 8,
    "cash": 12,
    "top_up": 10,
    "refund": 12,
    "void": 8,
    "balance": 10,
}
# the bank leg's answer to a bank-card purchase (simulator/bank outcomes) -> weight
BANK_OUTCOMES = {"approve": 70, "decline": 10, "cancel": 5, "timeout": 8, "timeout_charged": 7}
# kind -> the cards it uses
CARDS = {
    "bank": (seed.CARD_A, seed.BANK_CARD_A, seed.CARD_B),
    "club_credit": (seed.CARD_A, seed.CARD_B),
    "store_credit": (seed.CARD_A, seed.CARD_A, seed.CARD_B),
    "cash": (seed.CARD_A, seed.CARD_B, seed.CARD_C),
    "top_up": (seed.CARD_A, seed.CARD_B, seed.CARD_C),
    "balance": (seed.CARD_A, seed.CARD_B, seed.CARD_C),
}
# kind -> amount range in units of 10,000 rials (never a magic amount of the club's outcome
# table, docs/testing.md: those end in 0RR or 9PB)
AMOUNTS = {
    "bank": (5, 150),
    "club_credit": (1, 40),
    "store_credit": (1, 20),
    "cash": (1, 100),
    "top_up": (10, 80),
}
# purchase processing code -> refund account
REFUND_ACCOUNT = {"004000": "40", "006000": "60", "007000": "70", "000000": "00"}
FLOW_PC = {
    "bank": "004000",
    "club_credit": "006000",
    "store_credit": "007000",
    "cash": "000000",
    "top_up": "210060",
    "balance": "310000",
}
CLUB_CARDS = (seed.CARD_A, seed.CARD_B, seed.CARD_C)


class JournalTap:
    """The storage port over FileStorage, keeping every journal record appended, decoded: the
    terminal's whole history, which compaction removes from the file."""

    def __init__(self, inner, history):
        self.inner = inner
        self.history = history

    def read(self, name):
        return self.inner.read(name)

    def names(self):
        return self.inner.names()

    def write_atomic(self, name, data):
        self.inner.write_atomic(name, data)

    def append(self, name, record):
        self.inner.append(name, record)
        if name == "journal":
            self.history.extend(decode_records(record)[0])

    def remove(self, name):
        self.inner.remove(name)

    def store(self, name):
        return BlobStore(self, name)


class CountingLink(TcpClubLink):
    """TcpClubLink counting the MTIs it sends (repeats are 0101, 0221, 0421)."""

    def __init__(self, host, port, sent):
        super().__init__(host, port)
        self.sent = sent

    def exchange(self, payload, timeout_ms):
        self.sent[bytes(payload[:4]).decode("ascii", "replace")] += 1
        return super().exchange(payload, timeout_ms)


class Terminal:
    """The engine over the world's storage folder, through the proxy, with the bank's journal."""

    def __init__(self, world, port, history, sent):
        aes_cryptography.install()
        plain = FileStorage(str(world.agent))
        dukpt = TerminalDukpt(BlobStore(plain, "dukpt"))
        if not dukpt.loaded:  # provisioning, once
            ikid = bytes.fromhex(INITIAL_KEY_ID)
            dukpt.load_initial_key(derive_initial_key(TEST_BDK, ikid), ikid)
        self.bank = PersistentBank(str(world.bank_journal))
        self.link = CountingLink("127.0.0.1", port, sent)
        self.engine = Engine(
            self.link,
            self.bank,
            None,
            ScriptedKeypad(ENROLLMENT),
            RecordingDisplay(),
            RecordingPrinter(),
            SystemClock(),
            JournalTap(plain, history),
            {
                "terminal_id": TERMINAL_ID,
                "merchant_id": MERCHANT_ID,
                "storage_key": STORAGE_KEY,
                "timeout_ms": TIMEOUT_MS,
            },
        )

    def close(self):
        self.link.close()


def weighted(rng, table):
    return rng.choices(list(table), list(table.values()))[0]


class Campaign:
    """The transactions, what the terminal said of each, and the faults around each."""

    def __init__(self, world, rng, plan=None):
        self.world = world
        self.rng = rng
        self.history = []  # every journal record, in order
        self.sent = collections.Counter()  # MTI -> messages the terminal sent
        self.txns = []
        # approved purchases a refund may name: {"rrn", "stan", "pc", "card", "left"}
        self.purchases = []
        self.plan = plan or RandomPlan(SEED, RATE, FAULTS, DELAYS_S)
        self.stats = collections.Counter()

    # -- running --------------------------------------------------------------------------

    def run(self, draws):
        """draws: how many random transactions, or a list of given ones ({"kind", "card",
        "amount", "bank"})."""
        given = None if isinstance(draws, int) else list(draws)
        club = self.world.server(hold_window=HOLD_WINDOW)
        proxy = FaultProxy("127.0.0.1", club.port, self.plan).start_in_thread()
        try:
            term = Terminal(self.world, proxy.port, self.history, self.sent)
            term.engine.recover()
            for n in range(draws if given is None else len(given)):
                self.one(term, n, given and given[n])
            self.stats.update(term.engine.club.stats)
            # as a later idle loop would, with the network healed
            self.plan.enabled = False
            time.sleep(max(DELAYS_S) * 2 + 0.2)  # late frames still held by the proxy arrive
            self.drained = drain(term.engine)
            self.parked_before_restart = len(term.engine.parked())
            term.close()
            term = Terminal(self.world, proxy.port, self.history, self.sent)
            self.restart = term.engine.recover()
            self.close = term.engine.close_day()
            term.close()
        finally:
            proxy.stop()
            club.stop()

    def one(self, term, n, given=None):
        if given is None:
            txn = self.draw(term.engine, n)
        else:
            txn = {"n": n, "log": len(self.plan.log), "bank": None, **given}
        term.bank.script[:] = [txn["bank"]] if txn["bank"] else []
        first = len(self.history)
        try:
            res = self.call(term.engine, txn)
        except Exception as e:  # a flow must never raise: noted, and the campaign goes on
            res = raised(txn, e, self.history[first:])
        term.bank.script[:] = []
        txn["res"] = res
        txn["end"] = len(self.plan.log)
        self.txns.append(txn)
        self.note(txn, res)

    def draw(self, eng, n):
        """The next transaction: its kind, card, amount, bank answer, refund's original."""
        rng = self.rng
        kind = weighted(rng, KINDS)
        if kind == "refund" and not self.purchases:
            kind = "cash"
        txn = {"n": n, "kind": kind, "log": len(self.plan.log), "bank": None}
        if kind == "void":
            last = eng.ledger.last
            txn["target"] = last["q"]["txn"] if last and last["state"] == "confirmed" else None
        elif kind == "refund":
            original = rng.choice(self.purchases)
            amount = min(original["left"], rng.randint(1, 40) * 10_000)
            txn.update(card=original["card"], amount=amount, original=original)
        else:
            low, high = AMOUNTS.get(kind, (0, 0))
            txn.update(card=rng.choice(CARDS[kind]), amount=rng.randint(low, high) * 10_000)
            if kind == "bank":
                txn["bank"] = weighted(rng, BANK_OUTCOMES)
        return txn

    def call(self, eng, txn):
        kind = txn["kind"]
        if kind == "void":
            return eng.void_last()
        card = Card(txn["card"], None, "051")
        if kind == "refund":
            account = REFUND_ACCOUNT[txn["original"]["pc"]]
            return eng.refund(txn["amount"], txn["original"]["rrn"], account, card)
        if kind == "balance":
            return eng.balance(card)
        flow = {
            "bank": eng.purchase_bank,
            "club_credit": eng.purchase_club_credit,
            "store_credit": eng.purchase_store_credit,
            "cash": eng.purchase_cash,
            "top_up": eng.top_up,
        }[kind]
        if kind in COUPON_KINDS and txn["n"] % 3 == 0:  # a third of the purchases: the coupon
            txn["coupon"] = COUPON
            return flow(txn["amount"], card, coupon=COUPON)
        return flow(txn["amount"], card)

    def note(self, txn, res):
        """What later refunds may name: approved purchases, less refunds and voids."""
        if res["outcome"] != "approved":
            return
        kind = txn["kind"]
        if kind == "void":  # a voided purchase cannot be refunded
            self.purchases = [p for p in self.purchases if p["stan"] != txn["target"]]
        elif kind == "refund":
            original = txn["original"]
            original["left"] -= txn["amount"]
            if original["left"] <= 0 and original in self.purchases:
                self.purchases.remove(original)
        elif kind in REFUND_KINDS and res.get("rrn"):
            self.purchases.append(
                {
                    "rrn": res["rrn"],
                    "stan": res["stan"],
                    "pc": FLOW_PC[kind],
                    "card": txn["card"],
                    "left": res["amount"] - res["discount"],
                }
            )

    # -- the terminal's view ----------------------------------------------------------------

    def journal_index(self):
        """From the history: txn records by STAN, queued items by their transaction, item
        completions (qd) and parkings (qp) by item id, closings (end) by STAN."""
        idx = {"txn": {}, "items": collections.defaultdict(list), "qd": {}, "qp": {}, "end": {}}
        for rec in self.history:
            k = rec.get("k")
            if k == "txn":
                idx["txn"][rec["s"]] = rec
            elif k == "q":
                idx["items"][rec.get("txn")].append(rec)
            elif k == "qd":
                idx["qd"][rec["id"]] = rec.get("rc")
            elif k == "qp":
                idx["qp"][rec["id"]] = rec.get("why")
            elif k == "end":
                idx["end"][rec["s"]] = rec.get("why")
        return idx

    def faults_of(self, txn):
        """The faults the proxy applied while the transaction's flow ran: "up#12 0100 drop" ...
        (a confirmation or reversal it left queued went later, among the next one's)."""
        out = []
        for at in range(txn["log"], txn["end"]):
            direction, index, action, _ = self.plan.log[at]
            if action != "pass":
                out.append(f"{direction}#{index} {self.plan.mtis[at]} {action}")
        return out

    def describe(self, txn):
        res = txn["res"]
        what = f"#{txn['n']} {txn['kind']}"
        if txn.get("card"):
            what += f" card ..{txn['card'][-4:]} amount {txn.get('amount')}"
        if txn["bank"]:
            what += f" bank {txn['bank']}"
        if txn.get("original"):
            what += f" of RRN {txn['original']['rrn']}"
        return (
            f"{what}: terminal {res['outcome']} rc {res['response_code']} reason {res['reason']}"
            f" stan {res['stan']} rrn {res['rrn']} payable {res['payable']}"
            f" confirmed {res['confirmed']}; faults {self.faults_of(txn) or 'none'}"
        )

    # -- the comparison ---------------------------------------------------------------------

    def compare(self, balances_before):
        """Every mismatch between the terminal, the club and the bank: [(category, text)]."""
        world = self.world
        idx = self.journal_index()
        items = {rec["id"]: rec for recs in idx["items"].values() for rec in recs}
        rows = {
            (r["stan"], r["f7"]): r
            for r in world.query("SELECT * FROM txns WHERE terminal_id = ?", TERMINAL_ID)
        }
        charges = collections.defaultdict(list)
        for charge in world.charges():
            charges[charge["txn_id"]].append(charge)
        problems = []

        def problem(category, txn, text):
            where = self.describe(txn) if txn is not None else ""
            problems.append((category, f"{category}: {text}. {where}".rstrip(". ")))

        # voids first: which originals the terminal believes voided
        voided = set()
        for txn in self.txns:
            res = txn["res"]
            if res["outcome"] == "raised":
                problem("flow raised", txn, res["message"])
            if txn["kind"] != "void" or res["stan"] is None:
                continue
            item = items.get(res["stan"])
            rc = idx["qd"].get(res["stan"])
            if rc == "00":
                voided.add(item["txn"])
            if res["outcome"] == "approved" and rc != "00":
                why = idx["qp"].get(res["stan"]) or f"answered {rc}"
                problem("void shown approved, not done", txn, f"the club's last word: {why}")

        expected_credit = {pan: balances_before[pan] for pan in CLUB_CARDS}
        for txn in self.txns:
            res = txn["res"]
            stan = res["stan"]
            if txn["kind"] == "void" or stan is None:
                continue
            trec = idx["txn"].get(stan)
            if trec is None:
                if res["outcome"] != "failed":
                    problem("no 0100 journaled", txn, "a result without a txn record")
                continue
            row = rows.pop((stan, trec["f7"]), None)
            state = row["state"] if row else None
            belief = believed(idx, stan)
            if belief == "confirmed":
                want = ("voided",) if stan in voided else ("confirmed",)
            elif belief == "reversed":
                want = (None, "reversed")
            elif belief == "done":
                want = ("done",)
            elif belief.startswith("closed") and trec.get("single"):
                want = (None, "done")  # an inquiry moves nothing: either view may do
            elif belief.startswith("closed"):
                want = (None,)
            elif belief.startswith("conflict"):
                want = ()  # paid or handed over, and the club refused the confirmation
                problem("confirmation refused", txn, f"{belief}; the club's state {state}")
            else:
                want = ()
                problem("unfinished at the terminal", txn, belief)
            if want and state not in want:
                problem(
                    f"terminal {belief.split(' (')[0]}, club {state}",
                    txn,
                    f"the terminal's journal says {belief}; the club's transaction is {state}",
                )
            shown = res["outcome"] == "approved"
            if shown != (belief in ("confirmed", "done")):
                problem(
                    f"result {res['outcome']}, journal {belief.split(' (')[0]}",
                    txn,
                    f"the result says {res['outcome']}, the journal {belief}",
                )
            if row is not None and shown and belief in ("confirmed", "done"):
                for key in ("payable", "rrn", "amount"):
                    if key == "payable" and belief == "done":
                        continue
                    if row[key] != res[key]:
                        problem(
                            f"{key} differs", txn, f"club {key} {row[key]}, terminal {res[key]}"
                        )
            due = self.bank_due(txn, res)
            if due is not None:  # a sale that asks the bank leg
                paid = charges.pop(TERMINAL_ID + stan + trec["f7"], [])
                if len(paid) > 1:
                    problem("double charge", txn, f"{len(paid)} charges")
                if paid and belief != "confirmed":
                    problem("charge not confirmed", txn, f"charged {paid[0]['reference']}")
                elif paid and row is not None and row["bank_ref"] != paid[0]["reference"]:
                    problem("bank reference differs", txn, f"club {row['bank_ref']}")
                if not paid and belief == "confirmed" and due > 0:
                    problem("confirmed without a charge", txn, "no charge at the bank")
            if belief == "confirmed" and stan not in voided and txn.get("card") in CLUB_CARDS:
                expected_credit[txn["card"]] += self.credit_move(txn, res)

        for row in rows.values():
            problem(
                "club transaction unknown to the terminal",
                None,
                f"{row['proc']} STAN {row['stan']} RRN {row['rrn']} state {row['state']}",
            )
        for bid, paid in charges.items():
            problem("charge of no bank sale", None, f"{bid}: {paid}")
        for rec in world.open_approvals():
            problem(
                "approval left open", None, f"{rec['proc']} STAN {rec['stan']} RRN {rec['rrn']}"
            )
        for hold in world.open_holds():
            problem("hold left open", None, f"hold {hold['id']} of {hold['amount']}")
        for use in world.query(
            "SELECT u.state AS use, t.state AS txn, t.proc, t.stan, t.rrn FROM coupon_uses u "
            "JOIN txns t ON t.id = u.txn_id WHERE u.terminal_id = ?",
            TERMINAL_ID,
        ):  # held with the 0110, consumed by the 0220, given back by a 0420 or a void
            if use["use"] != COUPON_USE.get(use["txn"]):
                problem(
                    "coupon use differs",
                    None,
                    f"{use['proc']} STAN {use['stan']} RRN {use['rrn']}: the sale is "
                    f"{use['txn']}, its coupon's use {use['use']}",
                )
        for pan in CLUB_CARDS:
            got = world.accounts(pan).get(("club", ""), (0, 0))
            if got != (expected_credit[pan], 0):
                problem(
                    "club credit differs",
                    None,
                    f"card ..{pan[-4:]}: club (balance, held) {got}, the terminal's approvals"
                    f" make it {expected_credit[pan]}",
                )
        now = time.time()
        for when, at in (("now", now), ("after the hold window", now + HOLD_WINDOW + 1)):
            for finding in ledger_check(str(world.db), now=at, grace=LEDGER_GRACE).findings:
                problem("ledger check", None, f"{when}: {finding}")
        for item_id, why in idx["qp"].items():
            problem("item parked", None, f"{items[item_id]['mti']} {item_id}: {why}")
        if not self.drained:
            problem("queue not drained", None, f"{self.parked_before_restart} parked")
        report = self.restart
        if (report["actions"], report["pending"], report["parked"]) != ([], 0, 0):
            problem("restart found work", None, str(report))
        if (self.close["outcome"], self.close["response_code"]) != ("approved", "00"):
            problem(
                "totals differ at the close",
                None,
                f"terminal {self.close.get('totals')}, club {self.close.get('host_totals')}",
            )
        for path, form in scan_for_pans(world.agent):
            problem("card number in clear", None, f"{path}: {form!r}")
        return problems

    def bank_due(self, txn, res):
        """What the bank leg charges for a confirmed `txn` (0: nothing, the club paid it all),
        or None for a transaction that never asks the bank leg (tests/e2e/campaign_split.py
        adds the split sales)."""
        return res["payable"] if txn["kind"] == "bank" else None

    def credit_move(self, txn, res):
        """How a confirmed transaction, not voided, moved its card's club credit."""
        if txn["kind"] == "refund" and txn["original"]["pc"] == "006000":
            return res["amount"]
        return {"club_credit": -res["payable"], "top_up": res["amount"]}.get(txn["kind"], 0)

    # -- the counts -------------------------------------------------------------------------

    def counts(self, elapsed, problems):
        lines = [f"fault campaign: seed {SEED}, {len(self.txns)} transactions, fault rate "]
        lines[0] += f"{RATE:.0%} per frame, {elapsed:.1f} s"
        outcomes = collections.defaultdict(collections.Counter)
        for txn in self.txns:
            outcomes[txn["kind"]][txn["res"]["outcome"]] += 1
        lines.append("transactions by kind and outcome:")
        for kind in KINDS:
            row = ", ".join(f"{k} {v}" for k, v in sorted(outcomes[kind].items()))
            lines.append(f"  {kind:<13} {sum(outcomes[kind].values()):>5}  {row}")
        why = collections.Counter()
        for txn in self.txns:
            res = txn["res"]
            if res["outcome"] in ("declined", "failed", "reversed", "cancelled"):
                detail = res["reason"] or res["response_code"] or res["message"]
                why[f"{txn['kind']} {res['outcome']} ({detail})"] += 1
        lines.append("not approved: " + ", ".join(f"{k} {v}" for k, v in sorted(why.items())))
        bank = collections.Counter(t["bank"] for t in self.txns if t["bank"])
        lines.append("bank leg: " + ", ".join(f"{k} {v}" for k, v in sorted(bank.items())))
        coupons = collections.Counter(t["res"]["outcome"] for t in self.txns if t.get("coupon"))
        lines.append(
            f"with coupon {COUPON}: " + ", ".join(f"{k} {v}" for k, v in sorted(coupons.items()))
        )
        faults = collections.Counter((d, a) for d, _, a, _ in self.plan.log if a != "pass")
        frames = collections.Counter(d for d, _, _, _ in self.plan.log)
        lines.append(f"frames: up {frames[UP]}, down {frames[DOWN]}; faults injected:")
        for direction in (UP, DOWN):
            row = ", ".join(f"{a} {n}" for (d, a), n in sorted(faults.items()) if d == direction)
            lines.append(f"  {direction:<4} {row}")
        reversals = collections.Counter(
            rec.get("reason")
            for rec in self.history
            if rec.get("k") == "q" and rec["mti"] == "0420"
        )
        lines.append(
            "0420 queued by reason: " + ", ".join(f"{k} {v}" for k, v in sorted(reversals.items()))
        )
        lines.append(
            "messages sent: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.sent.items()))
            + f"; repeats {sum(v for k, v in self.sent.items() if k.endswith('1'))}"
        )
        lines.append(
            "terminal discarded: "
            + ", ".join(f"{k} {self.stats[k]}" for k in ("late", "mac", "garbage"))
        )
        categories = collections.Counter(c for c, _ in problems)
        lines.append(f"mismatches: {len(problems)}")
        lines.extend(f"  {n:>4}  {c}" for c, n in categories.most_common())
        return "\n".join(lines)


def raised(txn, error, records):
    """A result for a flow that raised: outcome "raised", the STAN of the 0100 it journaled
    (or of the void's 0420), so that its transaction is still compared."""
    stan = None
    for rec in records:
        if rec.get("k") == "txn" or (rec.get("k") == "q" and rec.get("reason") == "VD"):
            stan = rec.get("s") or rec.get("id")
    return {
        "flow": txn["kind"],
        "outcome": "raised",
        "response_code": None,
        "reason": None,
        "amount": txn.get("amount", 0),
        "discount": 0,
        "payable": txn.get("amount", 0),
        "stan": stan,
        "rrn": None,
        "bank_reference": None,
        "confirmed": False,
        "message": f"{type(error).__name__}: {error}",
    }


def believed(idx, stan):
    """What the terminal's journal says became of the transaction of `stan`."""
    items = idx["items"].get(stan, [])
    confirms = [i for i in items if i["mti"] == "0220"]
    reversals = [i for i in items if i["mti"] == "0420" and i.get("reason") != "VD"]
    for found, done in ((confirms, "confirmed"), (reversals, "reversed")):
        if found:
            item_id = found[-1]["id"]
            rc = idx["qd"].get(item_id)
            if item_id in idx["qp"]:
                return f"{found[-1]['mti']} parked ({idx['qp'][item_id]})"
            if rc is None:
                return f"{found[-1]['mti']} still queued"
            if done == "confirmed" and rc != "00":
                return f"conflict ({rc})"
            return done
    if stan in idx["end"]:
        why = idx["end"][stan]
        return "done" if why == "single" else f"closed ({why})"
    return "open"


REFUND_KINDS = ("bank", "club_credit", "store_credit", "cash")


def drain(engine, deadline_s=DRAIN_DEADLINE_S):
    """The queue sent until empty, as the idle loop would (without waiting for the backoff)."""
    end = time.monotonic() + deadline_s
    while engine.pending() and time.monotonic() < end:
        if not engine.saf.drain(force=True):
            time.sleep(0.05)
    engine.idle()
    return engine.pending() == 0
