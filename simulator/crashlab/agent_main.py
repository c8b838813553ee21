"""A real agent process for the crash tests: `python -m simulator.crashlab.agent_main MODE ...`.

The agent engine (agent/engine.py) with FileStorage, the club link over TCP to a club server
on 127.0.0.1 and the bank simulator, wired as in simulator/demo.py. The bank simulator stands
for the PSP's own system, which survives the terminal: its journal (JSON lines) is reloaded at
start, so the status inquiry of a restarted agent sees the payments of the killed one.

Usage: `python -m simulator.crashlab.agent_main MODE CONFIG`, CONFIG a JSON object with "root"
(the storage folder), "port" (the club server's), "bank_journal", "spec" (the flow: {"flow",
"amount", "card", "rrn", "account", "tender"}; for recover, {"then": a flow run after it}) and
optionally "compact_bytes". The result is one JSON line on stdout:

flow     build, recover() (not counted), then print "ARMED", run the flow of "spec" with the kill
         switch armed and print {"result", "steps", "elapsed_ms"}. `steps` lists every counted
         step: each storage write_atomic / append / remove, each club link exchange and each
         bank pay, in order.
recover  build, recover(), then drain the store-and-forward queue until it is empty (bounded),
         optionally run the follow-up sale of "spec" {"then": {...}} and print the report
         (with the "steps" of recover() and the drain, which the kill switch counts too).

Kill switch: VAFA_CRASH_AT="N:before" or "N:after" kills the process with SIGKILL at the N-th
counted step (1-based) of the armed flow: before it starts, or once it returned. For a link
exchange "before" is before the request is sent and "after" is once it was sent, before the
response is read; for a storage write "after" is once the write (and its flush) returned; for a
bank pay "after" is once the bank has charged (and journaled) the card.
"""

import binascii
import json
import os
import signal
import sys
import time

from agent.engine import Engine
from agent.links.tcp import TcpClubLink
from agent.ports import Card, RecordingDisplay, RecordingPrinter, ScriptedKeypad, SystemClock
from agent.protocol import aes_cryptography
from agent.protocol.dukpt import TerminalDukpt, derive_initial_key
from agent.storage import BlobStore, FileStorage
from simulator.bank import BankSimulator
from simulator.club_server import seed

CRASH_ENV = "VAFA_CRASH_AT"
STORAGE_KEY = bytes(range(16))
# The club server's demo terminal 1 (docs/testing.md), spelled out rather than imported from
# simulator.club_server: that import (asyncio, sqlite3 ...) would double the process start.
TEST_BDK = binascii.unhexlify("FEDCBA9876543210F1F1F1F1F1F1F1F1")
TERMINAL_ID = "VT000001"
INITIAL_KEY_ID = "5641464100000001"
MERCHANT_ID = "VAFA00000000001"
ENROLLMENT = seed.ENROLLMENT
DRAIN_DEADLINE_S = 15.0


def die():
    os.kill(os.getpid(), signal.SIGKILL)


class KillSwitch:
    """Counts the steps of the armed flow and kills the process at the chosen one."""

    def __init__(self, spec=None):
        self.at = None
        self.when = None
        if spec:
            at, _, when = spec.partition(":")
            self.at = int(at)
            self.when = when or "before"
            if self.when not in ("before", "after"):
                raise ValueError(f"{CRASH_ENV}: 'N:before' or 'N:after', not {spec!r}")
        self.armed = False
        self.steps = []

    def before(self, label):
        if not self.armed:
            return 0
        self.steps.append(label)
        n = len(self.steps)
        if n == self.at and self.when == "before":
            die()
        return n

    def after(self, n):
        if n and n == self.at and self.when == "after":
            die()


def _record_kind(record):
    try:
        return json.loads(record[2:-4]).get("k", "?")
    except (ValueError, AttributeError):
        return "?"


class KillingStorage:
    """The storage port over FileStorage, with a kill point before and after every write."""

    def __init__(self, inner, switch):
        self.inner = inner
        self.switch = switch

    def read(self, name):
        return self.inner.read(name)

    def names(self):
        return self.inner.names()

    def write_atomic(self, name, data):
        n = self.switch.before(f"write {name}")
        self.inner.write_atomic(name, data)
        self.switch.after(n)

    def append(self, name, record):
        n = self.switch.before(f"append {name} {_record_kind(record)}")
        self.inner.append(name, record)
        self.switch.after(n)

    def remove(self, name):
        n = self.switch.before(f"remove {name}")
        self.inner.remove(name)
        self.switch.after(n)

    def store(self, name):
        return BlobStore(self, name)


class KillingLink(TcpClubLink):
    """TcpClubLink with a kill point before each request is sent and one after it was sent,
    before its response is read (TcpClubLink.exchange sends, then calls self.receive)."""

    def __init__(self, host, port, switch):
        super().__init__(host, port)
        self.switch = switch
        self._sent = 0

    def exchange(self, payload, timeout_ms):
        mti = bytes(payload[:4]).decode("ascii", "replace")
        self._sent = self.switch.before(f"exchange {mti}")
        try:
            return super().exchange(payload, timeout_ms)
        finally:
            self._sent = 0

    def receive(self, timeout_ms):
        if self._sent:
            n, self._sent = self._sent, 0
            self.switch.after(n)
        return super().receive(timeout_ms)


class PersistentBank(BankSimulator):
    """The bank simulator, reloading its journal: the bank's records outlive the terminal."""

    def __init__(self, journal_path):
        super().__init__(journal_path=journal_path)
        try:
            with open(journal_path) as f:
                for line in f:
                    if line.strip():
                        self.load(json.loads(line))
        except OSError:
            pass
        self._seq = len(self.charges())


class KillingBank:
    def __init__(self, inner, switch):
        self.inner = inner
        self.switch = switch

    def pay(self, amount, card, txn_id):
        n = self.switch.before("bank pay")
        outcome = self.inner.pay(amount, card, txn_id)
        self.switch.after(n)
        return outcome

    def status(self, txn_id):
        return self.inner.status(txn_id)

    def reverse(self, txn_id, amount):
        n = self.switch.before("bank reverse")
        outcome = self.inner.reverse(txn_id, amount)
        self.switch.after(n)
        return outcome


class Agent:
    """One terminal: the engine over FileStorage(root), TCP to the club, the bank journal."""

    def __init__(self, root, port, bank_journal, switch=None, timeout_ms=5000, compact_bytes=None):
        aes_cryptography.install()
        self.switch = switch or KillSwitch()
        plain = FileStorage(str(root))
        dukpt = TerminalDukpt(BlobStore(plain, "dukpt"))
        if not dukpt.loaded:  # provisioning, once, not counted
            ikid = binascii.unhexlify(INITIAL_KEY_ID)
            dukpt.load_initial_key(derive_initial_key(TEST_BDK, ikid), ikid)
        self.storage = KillingStorage(plain, self.switch)
        self.bank = PersistentBank(str(bank_journal))
        self.link = KillingLink("127.0.0.1", port, self.switch)
        self.display = RecordingDisplay()
        self.printer = RecordingPrinter()
        config = {
            "terminal_id": TERMINAL_ID,
            "merchant_id": MERCHANT_ID,
            "storage_key": STORAGE_KEY,
            "timeout_ms": timeout_ms,
        }
        if compact_bytes is not None:
            config["compact_bytes"] = compact_bytes
        self.engine = Engine(
            self.link,
            KillingBank(self.bank, self.switch),
            None,
            ScriptedKeypad(ENROLLMENT),
            self.display,
            self.printer,
            SystemClock(),
            self.storage,  # the engine's DUKPT blob store goes through it too
            config,
        )

    def run(self, spec):
        return run_flow(self.engine, spec)

    def drain(self, deadline_s=DRAIN_DEADLINE_S):
        """Send the queue until it is empty (True) or the deadline passes (False)."""
        end = time.monotonic() + deadline_s
        while self.engine.pending():
            if self.engine.saf.drain(force=True):
                break
            if time.monotonic() > end:
                return False
            time.sleep(0.05)
        self.engine.idle()
        return self.engine.pending() == 0

    def close(self):
        """A clean stop: the journal records still waiting for a synced one (agent/ledger.py
        DEFERRED) are written first; a kill loses them, which costs the terminal a repeat."""
        self.engine.ledger.flush()
        self.link.close()


def run_flow(engine, spec):
    """Run one flow of a spec {"flow", "amount", "card", "rrn", "account", "coupon", "tender"}
    (coupon: a code with a purchase, docs/protocol.md 5.10; tender: a split's remainder, "40"
    bank card or "00" cash, its credit from "account", default "60", docs/protocol.md 5.11);
    its result."""
    flow = spec["flow"]
    card = Card(spec["card"], None, "051") if spec.get("card") else None
    amount = spec.get("amount", 0)
    coupon = spec.get("coupon")
    if flow == "bank":
        return engine.purchase_bank(amount, card, coupon)
    if flow == "club_credit":
        return engine.purchase_club_credit(amount, card, coupon)
    if flow == "store_credit":
        return engine.purchase_store_credit(amount, card, coupon)
    if flow == "cash":
        return engine.purchase_cash(amount, card, coupon)
    if flow == "split":
        account = spec.get("account", "60")
        return engine.purchase_split(amount, account, spec["tender"], card, coupon)
    if flow == "top_up":
        return engine.top_up(amount, card)
    if flow == "refund":
        return engine.refund(amount, spec["rrn"], spec.get("account", "60"), card)
    if flow == "void":
        return engine.void_last()
    raise ValueError(f"unknown flow {flow!r}")


def _emit(obj):
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


def main(argv=None):
    """argv: MODE CONFIG, CONFIG a JSON object {"root", "port", "bank_journal", "spec",
    "compact_bytes"} (no argparse: every millisecond of start-up counts, hundreds of runs)."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in ("flow", "recover"):
        sys.stderr.write("usage: python -m simulator.crashlab.agent_main flow|recover CONFIG\n")
        return 2
    mode = argv[0]
    config = json.loads(argv[1])
    spec = config.get("spec") or {}
    switch = KillSwitch(os.environ.get(CRASH_ENV))
    agent = Agent(
        config["root"],
        config["port"],
        config["bank_journal"],
        switch,
        compact_bytes=config.get("compact_bytes"),
    )
    if mode == "flow":
        agent.engine.recover()
        _emit("ARMED")
        start = time.monotonic()
        switch.armed = True
        result = agent.run(spec)
        switch.armed = False
        elapsed = int((time.monotonic() - start) * 1000)
        _emit({"result": result, "steps": switch.steps, "elapsed_ms": elapsed})
        agent.close()
        return 0
    switch.armed = True  # recovery's steps are counted too (and killed at, when asked)
    report = agent.engine.recover()
    drained = agent.drain()
    switch.armed = False
    ledger = agent.engine.ledger
    out = {
        "report": report,
        "steps": switch.steps,
        "drained": drained,
        "pending": agent.engine.pending(),
        "open": len(ledger.open),
        "parked": len(ledger.parked),
        "conflicts": ledger.conflicts,
        "last": ledger.last and {"txn": ledger.last["q"]["txn"], "state": ledger.last["state"]},
    }
    if spec.get("then"):
        out["then"] = agent.run(spec["then"])
    _emit(out)
    agent.close()
    return 0 if drained else 3


if __name__ == "__main__":
    sys.exit(main())
