"""Split payment at the terminal (agent/split.py, docs/terminal.md "Split payment"): club
credit first, the remainder on the bank leg or in cash, against the in-test club with split
payment (tests/portable/splithost.py), under both interpreters.
"""

from agent.protocol import messages as m
from tests.portable.fakehost import Terminal
from tests.portable.splithost import SplitHost

# The scripted club host shares the process with the engine and every module is compiled from
# source in the heap, as for test_engine.py (see its note): the same heap.
MICROPYTHON_HEAP = 417792


def split_terminal():
    t = Terminal(host=SplitHost())
    t.engine.recover()
    return t


def mtis(t):
    return [e[0] for e in t.host.log]


def reasons(t):
    return [e[3] for e in t.host.log if e[0][:3] == "042"]


# -- 1. the money-safety trap: a 10 is an approval, never closed without a reversal ----------


def test_a_partial_approval_left_open_by_a_cut_is_reversed_not_closed():
    """A cut left a split sale's 0110 10 on flash with nothing after it (a torn "pay" record,
    or a cash split before the cashier confirmed): the club holds the credit part. Recovery
    must reverse it (0420 PF) like an approval, not close it like a decline."""
    t = split_terminal()
    ledger = t.engine.ledger
    txn = {"k": "txn", "s": "000001", "f7": "1205003000", "pc": m.PURCHASE_CLUB_CREDIT}
    txn.update({"amt": 6000000, "flow": "split", "card": "7890"})
    ledger.record(txn)
    ledger.record({"k": "rsp", "s": "000001", "rc": m.PARTIAL_APPROVAL, "rrn": "000000000001"})
    ledger.flush()
    t2 = t.restart()
    report = t2.engine.recover()
    assert report["actions"] == [("reversed", "000001")], report
    assert t.host.log[-1][0] == "0420" and t.host.log[-1][3] == "PF"
    assert t2.engine.ledger.open == [] and t2.engine.pending() == 0
