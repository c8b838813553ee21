"""A split sale the cashier started over ECR, cut by a power cut (docs/ecr.md 3.6 and 6.3):
after the restart, the status inquiry answers what recovery did, and an approved answer names
both legs (from the terminal's journal). The real engine over the in-test club with split
payment (tests/portable/splithost.py), cut at one storage write (tests/portable/test_powercut).
"""

from agent.ecr.session import EcrSession
from agent.storage import RESERVE, MemoryStorage
from tests.portable.fakehost import PAN, START_CREDIT, Terminal, card
from tests.portable.splithost import SplitHost
from tests.portable.test_powercut import CutStorage, PowerCut, write_with

SALE, STATUS = 0x01, 0x05
AMOUNT = START_CREDIT + 385_000  # the club credit pays START_CREDIT, the bank leg the rest


def command(msg_type, **fields):
    return {"seq": 1, "type": msg_type, "fields": fields}


def ecr_split(cut_at=None, mode=None):
    storage = MemoryStorage(None, RESERVE)
    cut = CutStorage(storage)
    t = Terminal(cut, cards=[card()], host=SplitHost())
    t.engine.recover()
    session = EcrSession(t.engine)
    session.recover({"actions": []})
    cut.arm(cut_at, mode)
    sale = command(SALE, amount=AMOUNT, invoice="INV-S", cashier="07", method="C", split="B")
    try:
        answer = session.handle(sale)[0][1]
    except PowerCut:
        return storage, t, cut.log, None
    assert cut_at is None, "no cut"
    return storage, t, cut.log, answer


def after_cut(kind, mode):
    _storage, t, _log, _ = ecr_split(write_with(ecr_split()[2], kind), mode)
    t2 = t.restart()
    report = t2.engine.recover()
    session = EcrSession(t2.engine)
    assert len(session.recover(report)) == 1
    return session.handle(command(STATUS, invoice="INV-S"))[0][1], t2


def test_uncut_split_answers_both_legs():
    _storage, _t, _log, answer = ecr_split()
    assert answer["result"] == "00" and answer["response_code"] == "10", answer
    assert (answer["credit_account"], answer["credit_part"]) == ("60", START_CREDIT)
    assert (answer["remainder_account"], answer["remainder"]) == ("40", 385_000)


def test_split_cut_after_the_bank_charged_is_approved_with_its_legs():
    status, t = after_cut("q", "before")  # the bank charged the rest; the 0220 not queued yet
    assert status["result"] == "00", status
    assert (status["credit_account"], status["credit_part"]) == ("60", START_CREDIT)
    assert (status["remainder_account"], status["remainder"]) == ("40", 385_000)
    charges = t.bank.charges()
    assert len(charges) == 1 and status["bank_reference"] == charges[0]["reference"]
    assert t.host.credit[PAN] == 0  # the credit part was spent once


def test_split_cut_before_the_bank_leg_is_reversed_without_legs():
    status, t = after_cut("pay", "before")  # the club held the credit, the bank not asked
    assert status["result"] == "03" and "credit_part" not in status, status
    assert t.bank.charges() == [] and t.host.credit.get(PAN, START_CREDIT) == START_CREDIT
