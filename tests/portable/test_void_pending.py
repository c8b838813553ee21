"""A void whose 0420 got no final answer is not a void yet (docs/terminal.md "Voids",
docs/ecr.md 3.5 result 05): the result is "pending", no void receipt prints, and a refusal that
comes later from the queue is listed by the day report. Against the in-test host
(tests/portable/fakehost.py), under both interpreters."""

from tests.portable.fakehost import Terminal, card

# The scripted club host shares the process with the engine, as for test_engine.py: its heap.
MICROPYTHON_HEAP = 417792


def sold():
    """A terminal whose last transaction is a confirmed club credit sale of 90,000."""
    t = Terminal()
    t.engine.recover()
    res = t.engine.purchase_club_credit(90000, card())
    assert res["outcome"] == "approved" and res["confirmed"], res
    t.printer.printed = []
    return t


def test_a_void_left_in_the_queue_is_pending_not_approved():
    t = sold()
    t.link.script = ["lost"]  # the 0420 never reaches the club: it stays queued
    res = t.engine.void_last()
    assert res["outcome"] == "pending" and not res["confirmed"], res
    assert res["message"] == "Void queued: not confirmed yet"
    assert t.display.shown[-1][0] == "void_queued"
    assert t.printer.printed == []  # no void receipt: nothing goes back yet
    assert t.engine.pending() == 1
    assert t.host.states() == ["confirmed"]


def test_a_queued_void_refused_later_is_listed_by_the_day_report():
    t = sold()
    t.link.script = ["lost"]
    assert t.engine.void_last()["outcome"] == "pending"
    t.host.edit = lambda r: r.update({"39": "12"}) if r["t"] == "0430" else None
    assert t.engine.saf.drain(force=True)
    t.host.edit = None
    day = t.engine.close_day()
    voids = [e for e in day["exceptions"] if e.get("void")]
    assert len(voids) == 1 and voids[0]["amt"] == 90000 and voids[0]["rc"] == "12", day
    report = "\n".join(t.printer.printed[-1])
    assert "Voids refused" in report and "90,000" in report


def test_a_queued_void_confirmed_later_counts_as_a_void():
    t = sold()
    t.link.script = ["lost"]
    assert t.engine.void_last()["outcome"] == "pending"
    assert t.engine.saf.drain(force=True)
    assert t.engine.ledger.last["state"] == "voided"
    assert t.engine.close_day()["totals"]["drn"] == 1


class FailingDisplay:
    """A screen that breaks on the void's last screen."""

    def __init__(self, inner, screens):
        self.inner = inner
        self.screens = screens

    def show(self, screen, **params):
        if screen in self.screens:
            raise RuntimeError("display broke")
        self.inner.show(screen, **params)


def test_an_error_after_the_void_was_queued_answers_as_the_queue_has_it():
    for script, outcome, screens in (
        (["lost"], "pending", ("void_queued",)),
        ([], "approved", ("voided",)),
    ):
        t = sold()
        t.link.script = list(script)
        t.engine.display = FailingDisplay(t.display, screens)
        res = t.engine.void_last()
        assert res["outcome"] == outcome, (script, res)
        assert res["flow"] == "void" and res["amount"] == 90000 and "error" in res
        assert res["confirmed"] == (outcome == "approved")


def test_the_ecr_answers_a_queued_void_05_pending_without_a_receipt():
    from agent.ecr import spec
    from agent.ecr.session import EcrSession, ReceiptTap

    t = Terminal()
    t.engine.recover()
    tap = ReceiptTap(t.printer)
    t.engine.printer = tap
    session = EcrSession(t.engine, receipts=tap)
    session.recover({"actions": []})
    t.engine.reader.cards = [card()]
    sale = {"amount": 90000, "invoice": "S-1", "cashier": "07", "method": "C"}
    (_, sold_) = session.handle({"seq": 1, "type": 0x01, "fields": sale})[0]
    assert sold_["result"] == spec.APPROVED, sold_
    tap.take()
    t.link.script = ["lost"]
    void = {"seq": 2, "type": 0x04, "fields": {"invoice": "V-1", "cashier": "07"}}
    (_, voided) = session.handle(void)[0]
    assert voided["result"] == spec.PENDING == "05", voided
    assert voided["message"] == "Void queued: not confirmed yet"
    assert "receipt" not in voided, voided
    assert spec.RESULTS[spec.PENDING].startswith("pending")
