"""The ECR session over the real engine, across a power cut in a sale the cashier started.

The session writes ahead a "run" record with the last STAN handed out, and after the restart
gives the interrupted command the result of what recovery did to the transaction with the STAN
after it (docs/ecr.md 6.3). STANs are reserved in blocks on a terminal's storage (agent/club.py
StanCounter): the STAN blob holds the end of the block, not the last STAN handed out, so the
session must take the last STAN from the engine. Here the cut comes in the middle of a block.
"""

from agent.ecr.session import EcrSession
from agent.storage import RESERVE, MemoryStorage
from tests.portable.fakehost import Terminal, card
from tests.portable.test_powercut import CutStorage, PowerCut, write_with

SALE = 0x01
STATUS = 0x05


def command(msg_type, **fields):
    return {"seq": 1, "type": msg_type, "fields": fields}


def ecr_sale(cut_at=None, mode=None):
    """A terminal that sold once (STANs 1 and 2 of the block 1..64), then a sale started by
    the cashier over ECR, cut at write `cut_at` since the sale started; the storage, the
    terminal and the writes made (CutStorage.log)."""
    storage = MemoryStorage(None, RESERVE)
    cut = CutStorage(storage)
    t = Terminal(cut, cards=[card(), card()])
    t.engine.recover()
    assert t.engine.purchase_cash(20000)["confirmed"]
    session = EcrSession(t.engine)
    session.recover({"actions": []})
    cut.arm(cut_at, mode)
    try:
        session.handle(command(SALE, amount=1200000, invoice="INV-9", cashier="07"))
    except PowerCut:
        return storage, t, cut.log
    assert cut_at is None, "no cut"
    return storage, t, cut.log


def interrupted_sale(kind, mode):
    """The ECR sale cut at the write of its journal record `kind`: the status of the sale
    after the restart, and the terminal."""
    storage, t, _ = ecr_sale(write_with(ecr_sale()[2], kind), mode)
    assert storage.read("stan") == b"%06d" % RESERVE  # the block's end, not the last STAN
    t2 = t.restart()
    report = t2.engine.recover()
    session2 = EcrSession(t2.engine)
    assert len(session2.recover(report)) == 1
    return session2.handle(command(STATUS, invoice="INV-9"))[0][1], t2


def test_sale_charged_then_cut_is_reported_confirmed():
    status, t = interrupted_sale("q", "before")  # the bank charged; the 0220 not queued yet
    assert status["result"] == "00" and status["stan"] == "000003", status
    assert status["message"] == "Interrupted by a restart; recovery confirmed it"
    assert len(t.bank.charges()) == 1 and t.host.states().count("confirmed") == 2


def test_sale_cut_before_the_bank_is_reported_reversed():
    status, t = interrupted_sale("pay", "before")  # approved by the club, the bank not asked
    assert status["result"] == "03" and status["stan"] == "000003", status
    assert t.bank.charges() == [] and "held" not in t.host.states()
