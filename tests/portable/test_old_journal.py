"""Journals written by the previous version (tests/portable/old_journals.jsonl, see its note):
recovered correctly by this one. That version saved the STAN and the DUKPT state at every
message (their blobs read as blocks that end there), wrote a "qs" record before an item's first
send and synced every record."""

import gc
import json

from agent.ports import ManualClock
from agent.storage import RESERVE, MemoryStorage
from simulator.bank import BankSimulator
from tests.portable.fakehost import FakeHost, Terminal, card
from tests.portable.support import unhex

# The engine, the scripted club host and its replay share the process and intern more names
# than one qstr pool holds: MicroPython then adds a pool of 1,280 entries (one ~14 KB block)
# late in a fragmented heap, as in test_engine.py (392 KB). Passes from 364 KB (fails at 360):
# 392 KB with a margin.
MICROPYTHON_HEAP = 401408
PATH = "tests/portable/old_journals.jsonl"  # a note, then one recorded terminal per line


def load(name):
    """One recorded terminal; only its line is parsed (the MicroPython heap is small)."""
    key = '{"name":"' + name + '",'
    for prefix in ("", "../../"):
        try:
            with open(prefix + PATH) as f:
                for line in f:
                    if line.startswith(key):
                        return json.loads(line)
        except OSError:
            continue
    raise OSError(f"{name} not found in {PATH}")


def restart_on(name):
    """The recorded terminal, powered up by this version over a copy of its storage, with a
    club host and a bank that saw what it had sent."""
    old = load(name)
    blobs = {key: unhex(value) for key, value in old["blobs"].items()}
    host = FakeHost()
    for frame in old["frames"]:
        host.handle(unhex(frame))
    bank = BankSimulator()
    for txn_id, amount, outcome in old["payments"]:
        bank.script = [outcome]
        bank.pay(amount, None, txn_id)
    clock = ManualClock(old["now"] - old["ticks"] // 1000, old["ticks"])
    sent = len(host.log)
    old = None
    gc.collect()  # the hex text, before the engine takes the heap (MicroPython)
    t = Terminal(MemoryStorage(blobs, RESERVE), host, bank, clock)
    return t, t.engine.recover(), sent


def test_bank_sale_cut_after_the_charge_is_confirmed():
    t, report, sent = restart_on("charged_then_cut")
    assert report["actions"] == [("confirmed", "000003")] and report["pending"] == 0
    # one 0220, under the STAN after the saved one; the completed first sale is not re-sent
    assert t.host.log[sent:] == [("0220", "000004", "06", None)]
    assert t.host.states() == ["confirmed", "confirmed"]
    charges = t.bank.charges()
    assert len(charges) == 2
    assert [x["bank_ref"] for x in t.host.txns.values()] == [c["reference"] for c in charges]
    assert t.engine.ledger.totals["dn"] == 2  # the first from its qd, the second now
    res = t.engine.purchase_cash(20000, card())  # a fresh STAN and KSN, taken by the club
    assert res["confirmed"] and res["stan"] == "000005", res


def test_unanswered_confirmation_after_a_compaction_goes_as_a_repeat():
    t, report, sent = restart_on("confirmation_unanswered")
    assert report["actions"] == [] and report["pending"] == 0
    # its "qs" said it had been sent: a repeat, answered as the original was
    assert t.host.log[sent:] == [("0221", "000004", None, None)]
    assert t.host.states() == ["confirmed", "confirmed"]
    ledger = t.engine.ledger
    assert ledger.totals["dn"] == 2 and ledger.totals["da"] == 500000  # the snapshot's + this
    assert ledger.last["state"] == "confirmed" and ledger.last["q"]["txn"] == "000003"
    res = t.engine.close_day()
    assert res["outcome"] == "approved" and res["response_code"] == "00", res
