"""The ECR session when an error (MemoryError first of all) strikes outside the engine's flow
(audit): the answer still goes out, a kept result is never lost (or the cashier's repeat of
the invoice would run the sale twice), and the session is not left "busy" for ever.

Runs under pytest and under MicroPython.
"""

from agent.ecr import spec
from tests.portable.support import raises
from tests.portable.test_ecr_session import (
    FakeEngine,
    ManualRunner,
    interrupted,
    new_session,
    one,
    sale,
)


class FailOnce:
    """Wraps a callable: the first call raises `error`, later ones go through."""

    def __init__(self, fn, error):
        self.fn = fn
        self.error = error

    def __call__(self, *args):
        error, self.error = self.error, None
        if error is not None:
            raise error
        return self.fn(*args)


def test_a_result_the_store_could_not_keep_is_answered_later_and_never_run_twice():
    engine, session = new_session(runner=ManualRunner())
    assert session.handle(sale("INV-1")) == []  # running
    session.runner.run()
    session.store.finish = FailOnce(session.store.finish, MemoryError("store"))
    raises(MemoryError, session.poll)  # the serve loop's guard logs it and polls again
    _, fields = one(session.poll())
    assert fields["result"] == spec.APPROVED and fields["invoice"] == "INV-1"
    assert one(session.handle(sale("INV-1")))[1] == fields  # kept: not run again
    assert len(engine.calls) == 1


def test_an_error_after_the_engine_answered_still_answers_its_outcome():
    engine, session = new_session()
    engine.printer.take = FailOnce(engine.printer.take, MemoryError("receipt"))
    _, fields = one(session.handle(sale("INV-1")))
    assert fields["result"] == spec.APPROVED and fields["invoice"] == "INV-1"
    assert not session.busy
    assert one(session.handle(sale("INV-1")))[1]["result"] == spec.APPROVED  # kept
    assert len(engine.calls) == 1
    assert one(session.handle(sale("INV-2")))[1]["result"] == spec.APPROVED


class OpenLedger:
    """The engine's journal with one transaction left open (an error escaped the flow and its
    own clean-up): the engine's abandon() finishes it."""

    def __init__(self):
        self.last = None
        self.open = [{"txn": {"s": "000001"}}]


class AbandoningEngine(FakeEngine):
    def __init__(self):
        super().__init__()
        self.ledger = OpenLedger()
        self.abandoned = []

    def abandon(self, error):
        self.abandoned.append(type(error).__name__)
        self.ledger.open = []
        return {"flow": "bank", "outcome": "reversed", "reason": "ER", "amount": 120000,
                "message": "Terminal error; reversed", "stan": "000001"}  # fmt: skip


def test_a_command_an_error_ended_with_a_transaction_open_is_finished_not_failed():
    engine = AbandoningEngine()
    engine.fail_with = MemoryError("flow")
    engine, session = new_session(engine)
    _, fields = one(session.handle(sale("INV-1")))
    assert engine.abandoned == ["MemoryError"] and engine.ledger.open == []
    assert fields["result"] == spec.REVERSED and fields["reason"] == "ER"


def test_abort_answers_a_command_whose_work_died():
    _engine, session = new_session(runner=ManualRunner())
    assert session.handle(sale("INV-1")) == []
    session.runner.pending = []  # the work ended with an error the runner could not catch
    assert session.abort(MemoryError("x")) is True
    _, fields = one(session.poll())
    assert fields["result"] == spec.FAILED and fields["invoice"] == "INV-1"
    assert fields["message"] == "terminal error: MemoryError"
    assert not session.busy and session.abort(MemoryError("y")) is False


def test_a_sale_a_restart_cut_whose_confirmation_the_club_refused_is_not_approved():
    # the 0220 went out before the cut; after the restart the club answered it 12 (the hold
    # had been released): the customer's sale did not happen at the club
    last = {"q": {"txn": "000002", "f": {"4": "000000250000", "37": "000000000042"},
                  "card": "0014"}, "state": "conflict"}  # fmt: skip
    status = interrupted({"actions": []}, last)
    assert status["result"] == spec.DECLINED and status["rrn"] == "000000000042"
    assert status["message"] == "Not completed: the club refused the confirmation"
