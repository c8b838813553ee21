"""The ECR session (agent/ecr/session.py, docs/ecr.md section 6) over a recording engine:
commands to flows, answers, busy, one run per invoice, results kept across a restart, the
result of a command a power cut interrupted; and the server loop over an in-memory port.

Runs under pytest and under MicroPython.
"""

from agent.ecr import spec
from agent.ecr.frame import Scanner, ack, encode_frame
from agent.ecr.message import decode_message, encode_message
from agent.ecr.server import EcrServer
from agent.ecr.session import EcrSession, ReceiptTap
from agent.ports import ManualClock, MemoryStorage, RecordingDisplay, RecordingPrinter

SALE = 0x01
STATUS = 0x05
TOPUP = 0x09


class FakeLedger:
    def __init__(self):
        self.last = None


class FakeEngine:
    """The engine's API, recording calls; each flow hands out a STAN as the real one does."""

    def __init__(self, storage=None):
        self.storage = storage if storage is not None else MemoryStorage()
        self.clock = ManualClock(1700000000)
        self.terminal_id = "VT000001"
        self.offset_s = 12600
        self.printer = ReceiptTap(RecordingPrinter())
        self.display = RecordingDisplay()
        self.ledger = FakeLedger()
        self.calls = []
        self.outcome = "approved"
        self.fail_with = None

    def _stan(self):
        raw = self.storage.read("stan")
        stan = (int(raw) if raw else 0) % 999999 + 1
        self.storage.write_atomic("stan", b"%06d" % stan)
        return f"{stan:06d}"

    def _flow(self, call, flow, amount, **extra):
        self.calls.append((call, amount))
        if self.fail_with is not None:
            raise self.fail_with
        res = {"flow": flow, "outcome": self.outcome, "response_code": "00", "amount": amount,
               "discount": amount // 10, "fee": 5000, "payable": amount - amount // 10 + 5000,
               "points_earned": 12, "points_balance": 92, "balance_after": None,
               "stan": self._stan(), "rrn": "000000000042", "card_last4": "0014",
               "bank_reference": None, "tier": "A", "message": "Approved",
               "club_message": None, "reason": None}  # fmt: skip
        res.update(extra)
        if self.outcome == "approved":
            self.printer.print_lines(["MERCHANT COPY"])
            self.printer.print_lines(["CUSTOMER COPY", f"Payable {res['payable']}"])
        return res

    def purchase_bank(self, amount):
        return self._flow("purchase_bank", "bank", amount, bank_reference="PSP000000001")

    def purchase_club_credit(self, amount):
        return self._flow("purchase_club_credit", "club_credit", amount, balance_after=100)

    def purchase_store_credit(self, amount):
        return self._flow("purchase_store_credit", "store_credit", amount, balance_after=400)

    def purchase_cash(self, amount):
        return self._flow("purchase_cash", "cash", amount)

    def balance(self):
        return self._flow("balance", "balance", 0, balance_after=5000000, store_credit=600000)

    def top_up(self, amount):
        return self._flow("top_up", "top_up", amount, balance_after=12000000)

    def refund(self, amount, rrn, account):
        return self._flow("refund/" + rrn + "/" + account, "refund", amount, balance_after=777)

    def void_last(self):
        return self._flow("void_last", "void", 0)

    def close_day(self):
        totals = {"dn": 3, "da": 900, "cn": 1, "ca": 50, "drn": 1, "dra": 10, "crn": 0, "cra": 0}
        return self._flow("close_day", "close", 0, totals=totals, confirmed=False)


class ManualRunner:
    """Holds the work until run() (a command still running)."""

    def __init__(self):
        self.pending = []

    def start(self, work):
        self.pending.append(work)

    def run(self):
        while self.pending:
            self.pending.pop(0)()


def command(msg_type, **fields):
    return {"seq": 1, "type": msg_type, "fields": fields}


def sale(invoice="INV-1", amount=120000, **more):
    return command(SALE, amount=amount, invoice=invoice, cashier="07", **more)


def refund_with(**more):
    return command(0x03, amount=5, invoice="R", cashier="1", original_rrn="000000000001", **more)


def new_session(engine=None, runner=None):
    engine = engine or FakeEngine()
    session = EcrSession(engine, runner=runner, receipts=engine.printer)
    session.recover({"actions": []})
    return engine, session


def one(replies):
    assert len(replies) == 1, replies
    return replies[0]


def test_sale_runs_the_bank_flow_and_answers():
    engine, session = new_session()
    msg_type, fields = one(session.handle(sale()))
    assert msg_type == 0x81
    assert engine.calls == [("purchase_bank", 120000)]
    assert fields["result"] == "00" and fields["invoice"] == "INV-1"
    assert fields["amount"] == 120000 and fields["discount"] == 12000 and fields["fee"] == 5000
    assert fields["payable"] == 113000 and fields["points_earned"] == 12
    assert fields["card"] == "****0014" and fields["stan"] == "000001"
    assert fields["rrn"] == "000000000042" and fields["bank_reference"] == "PSP000000001"
    assert fields["receipt"] == "CUSTOMER COPY\nPayable 113000"
    assert fields["terminal_id"] == "VT000001" and fields["time"] == "20231115014320"
    assert fields["flow"] == "bank" and fields["message"] == "Approved"


def test_confirmed_says_whether_the_club_acknowledged_phase_two():
    engine, session = new_session()
    assert "confirmed" not in one(session.handle(sale(invoice="A")))[1]  # the engine said nothing
    for flag, shown in ((True, "Y"), (False, "N")):
        engine.purchase_bank = lambda amount, flag=flag: engine._flow(
            "purchase_bank", "bank", amount, confirmed=flag
        )
        assert one(session.handle(sale(invoice=shown)))[1]["confirmed"] == shown


def test_methods_pick_the_flow():
    for method, call in (("B", "purchase_bank"), ("C", "purchase_club_credit"),
                         ("S", "purchase_store_credit"), ("K", "purchase_cash")):  # fmt: skip
        engine, session = new_session()
        session.handle(sale(method=method))
        assert engine.calls == [(call, 120000)], method


def test_repeated_invoice_returns_the_stored_result_and_runs_nothing():
    engine, session = new_session()
    first = one(session.handle(sale()))
    again = one(session.handle(sale()))
    assert again == first
    assert len(engine.calls) == 1


def test_invoice_reused_for_other_content_is_refused():
    engine, session = new_session()
    session.handle(sale())
    for other in (sale(amount=130000), sale(method="K"), command(0x04, invoice="INV-1",
                                                                 cashier="07")):  # fmt: skip
        _msg_type, fields = one(session.handle(other))
        assert fields["result"] == "14" and fields["invoice"] == "INV-1"
    assert len(engine.calls) == 1


def test_status_inquiry():
    _engine, session = new_session()
    _, answer = one(session.handle(sale()))
    msg_type, status = one(session.handle(command(STATUS, invoice="INV-1")))
    assert msg_type == 0x85
    assert status["command"] == SALE
    status.pop("command")
    assert status == answer
    _, unknown = one(session.handle(command(STATUS, invoice="INV-404")))
    assert unknown["result"] == "12" and unknown["message"] == "unknown invoice"


def test_busy_while_a_command_runs_and_status_in_progress():
    runner = ManualRunner()
    engine, session = new_session(runner=runner)
    assert session.handle(sale("INV-1")) == []  # running: the answer comes later
    assert session.busy
    assert one(session.handle(sale("INV-2")))[1]["result"] == "10"
    assert one(session.handle(command(0x02)))[1]["result"] == "10"
    assert one(session.handle(command(0x08, text="hi")))[1]["result"] == "10"
    assert one(session.handle(sale("INV-1")))[1]["result"] == "11"  # the same one: in progress
    assert one(session.handle(command(STATUS, invoice="INV-1")))[1]["result"] == "11"
    assert one(session.handle(command(STATUS, invoice="INV-2")))[1]["result"] == "12"
    assert session.poll() == []
    runner.run()
    msg_type, fields = one(session.poll())
    assert msg_type == 0x81 and fields["invoice"] == "INV-1" and fields["result"] == "00"
    assert not session.busy
    assert session.handle(sale("INV-2")) == []  # runs now
    runner.run()
    assert one(session.poll())[1]["invoice"] == "INV-2"
    assert engine.calls == [("purchase_bank", 120000), ("purchase_bank", 120000)]


def topup(invoice="T-1", amount=200000):
    return command(TOPUP, amount=amount, invoice=invoice, cashier="07")


def test_topup_runs_the_top_up_flow_and_answers():
    engine, session = new_session()
    msg_type, fields = one(session.handle(topup()))
    assert msg_type == 0x89 and engine.calls == [("top_up", 200000)]
    assert fields["result"] == "00" and fields["invoice"] == "T-1" and fields["flow"] == "top_up"
    assert fields["amount"] == 200000 and fields["club_balance"] == 12000000
    assert fields["card"] == "****0014" and fields["stan"] == "000001"
    assert fields["receipt"].startswith("CUSTOMER COPY")


def test_topup_is_kept_by_invoice():
    engine, session = new_session()
    _, first = one(session.handle(topup()))
    assert one(session.handle(topup()))[1] == first  # the same: the kept result, not run again
    _, status = one(session.handle(command(STATUS, invoice="T-1")))
    assert status.pop("command") == TOPUP and status == first
    for other in (topup(amount=300000), sale("T-1", 200000)):
        assert one(session.handle(other))[1]["result"] == "14"
    assert engine.calls == [("top_up", 200000)]


def test_topup_busy_rules():
    runner = ManualRunner()
    engine, session = new_session(runner=runner)
    assert session.handle(topup()) == []
    assert one(session.handle(topup()))[1]["result"] == "11"
    assert one(session.handle(command(STATUS, invoice="T-1")))[1]["result"] == "11"
    assert one(session.handle(sale("INV-2")))[1]["result"] == "10"
    runner.run()
    assert one(session.poll())[0] == 0x89
    assert session.handle(topup("T-2")) == []  # running: a sale meanwhile is busy
    assert one(session.handle(sale("INV-2")))[1]["result"] == "10"
    runner.run()
    assert one(session.poll())[1]["invoice"] == "T-2"
    assert engine.calls == [("top_up", 200000), ("top_up", 200000)]


def test_topup_bad_requests():
    _engine, session = new_session()
    for msg, problem in (
        (command(TOPUP, invoice="T", cashier="1"), "amount missing"),
        (command(TOPUP, amount=5, cashier="1"), "invoice missing"),
        (
            command(TOPUP, amount=5, invoice="T", cashier="1", method="K"),
            "method not allowed in topup",
        ),
        (command(TOPUP, amount=0, invoice="T", cashier="1"), "amount must be above 0"),
    ):
        _, fields = one(session.handle(msg))
        assert fields["result"] == "13" and fields["message"] == problem, (problem, fields)


def test_bad_requests():
    engine, session = new_session()
    cases = (
        (command(SALE, invoice="I", cashier="1"), "amount missing"),
        (command(SALE, amount=5, cashier="1"), "invoice missing"),
        (sale(method="X"), "method must be one of B, C, K, P, S"),
        (sale(amount=0), "amount must be above 0"),
        (sale(text="x"), "text not allowed in sale"),
        (refund_with(account="99"), "account must be one of 00, 40, 60, 70"),
        (command(STATUS), "invoice missing"),
    )
    for msg, message in cases:
        msg_type, fields = one(session.handle(msg))
        assert msg_type == msg["type"] | 0x80
        assert fields["result"] == "13" and fields["message"] == message, fields
    assert engine.calls == []


def test_unsupported_command_and_stray_responses():
    _engine, session = new_session()
    msg_type, fields = one(session.handle(command(0x42)))
    assert msg_type == 0xC2 and fields["result"] == "15"
    assert session.handle(command(0x81, result="00")) == []


def test_refund_void_settlement_balance_print_show():
    engine, session = new_session()
    refund = command(0x03, amount=5000, invoice="R-1", cashier="1", original_rrn="000000000042")
    assert one(session.handle(refund))[1]["result"] == "00"
    refund = command(0x03, amount=5000, invoice="R-2", cashier="1", original_rrn="000000000042",
                     account="70")  # fmt: skip
    session.handle(refund)
    assert engine.calls[:2] == [("refund/000000000042/60", 5000), ("refund/000000000042/70", 5000)]
    assert one(session.handle(command(0x04, invoice="V-1", cashier="1")))[1]["flow"] == "void"
    _, balance = one(session.handle(command(0x02, cashier="1")))
    assert balance["club_balance"] == 5000000 and balance["store_balance"] == 600000
    assert "amount" not in balance and "payable" not in balance
    _, close = one(session.handle(command(0x06, invoice="Z-1")))
    assert (close["debit_count"], close["debit_amount"]) == (3, 900)
    assert (close["credit_count"], close["credit_amount"]) == (1, 50)
    assert (close["reversal_count"], close["reversal_amount"]) == (1, 10)
    _, printed = one(session.handle(command(0x07, text="line 1\nline 2")))
    assert printed["result"] == "00" and "receipt" not in printed and printed["flow"] == "print"
    assert engine.printer.printer.printed[-1] == ["line 1", "line 2"]
    _, shown = one(session.handle(command(0x08, text="Welcome\nto Vafa", seconds=5)))
    assert shown["result"] == "00"
    assert engine.display.last == ("text", {"lines": ["Welcome", "to Vafa"], "seconds": 5})


# (command, what the engine reports as balance_after) -> the field that carries it, and the
# fields the answer must not carry (docs/ecr.md 3.4)
ANSWER_SHAPES = (
    (sale(invoice="S-C", method="C"), "club_balance", ("store_balance",)),
    (sale(invoice="S-S", method="S"), "store_balance", ("club_balance",)),
    (sale(invoice="S-B"), None, ("club_balance", "store_balance")),
    (command(0x03, amount=5, invoice="R-6", cashier="1", original_rrn="000000000042"),
     "club_balance", ("store_balance", "discount", "fee")),
    (command(0x03, amount=5, invoice="R-7", cashier="1", original_rrn="000000000042",
             account="70"), "store_balance", ("club_balance",)),
    (command(0x03, amount=5, invoice="R-0", cashier="1", original_rrn="000000000042",
             account="00"), None, ("club_balance", "store_balance")),
    (command(0x09, amount=5, invoice="T-1", cashier="1"), "club_balance", ("points_earned",)),
    (command(0x02), "club_balance", ("amount", "payable", "confirmed")),
    (command(0x06, invoice="Z-1"), None,
     ("amount", "discount", "fee", "payable", "points_earned", "card", "rrn", "confirmed")),
    (command(0x07, text="hi"), None, ("amount", "card", "stan", "response_code")),
)  # fmt: skip


def test_each_answer_names_its_balance_by_account_and_carries_only_its_fields():
    for msg, balance_field, absent in ANSWER_SHAPES:
        _engine, session = new_session()
        _, fields = one(session.handle(msg))
        assert fields["result"] == "00", (msg, fields)
        if balance_field is not None:
            assert balance_field in fields, (msg, fields)
        for name in absent:
            assert name not in fields, (msg, name, fields)
        carried = spec.ANSWERS[spec.COMMANDS[msg["type"]]]
        for name in fields:
            assert name in ("result", "message", "invoice") or name in carried, (msg, name)


def test_settlement_starts_a_new_window_for_invoices():
    engine, session = new_session()
    session.handle(sale("INV-1"))
    session.handle(command(0x06, invoice="Z-1"))
    assert one(session.handle(command(STATUS, invoice="INV-1")))[1]["result"] == "12"
    assert one(session.handle(command(STATUS, invoice="Z-1")))[1]["result"] == "00"
    # the same invoice number in the new window is a new sale
    session.handle(sale("INV-1"))
    assert [c for c, _ in engine.calls] == ["purchase_bank", "close_day", "purchase_bank"]


def test_void_checks_the_original_invoice_is_the_last():
    engine, session = new_session()
    session.handle(sale("INV-1"))
    engine.ledger.last = {"q": {"txn": "000009", "f": {"37": "000000000077"}}, "state": "confirmed"}
    _, fields = one(session.handle(command(0x04, invoice="V-1", cashier="1",
                                           original_invoice="INV-1")))  # fmt: skip
    assert fields["result"] == "16"
    _, fields = one(session.handle(command(0x04, invoice="V-2", cashier="1",
                                           original_invoice="INV-9")))  # fmt: skip
    assert fields["result"] == "12" and fields["message"] == "unknown original invoice"
    engine.ledger.last["q"]["f"]["37"] = "000000000042"
    _, fields = one(session.handle(command(0x04, invoice="V-3", cashier="1",
                                           original_invoice="INV-1")))  # fmt: skip
    assert fields["result"] == "00"
    assert [c for c, _ in engine.calls] == ["purchase_bank", "void_last"]


def test_outcomes_map_to_result_codes():
    for outcome, code in (("declined", "01"), ("cancelled", "02"), ("reversed", "03"),
                          ("failed", "04")):  # fmt: skip
        engine, session = new_session()
        engine.outcome = outcome
        assert one(session.handle(sale()))[1]["result"] == code


def test_an_engine_error_costs_one_answer_not_the_session():
    engine, session = new_session()
    engine.fail_with = RuntimeError("boom")
    _, fields = one(session.handle(sale("INV-1")))
    assert fields["result"] == "04" and fields["message"] == "terminal error: boom"
    engine.fail_with = None
    assert one(session.handle(sale("INV-2")))[1]["result"] == "00"


def test_results_survive_a_restart():
    storage = MemoryStorage()
    _engine, session = new_session(FakeEngine(storage))
    _, first = one(session.handle(sale("INV-1")))
    engine2, session2 = new_session(FakeEngine(storage))
    _, status = one(session2.handle(command(STATUS, invoice="INV-1")))
    status.pop("command")
    assert status == first
    assert one(session2.handle(sale("INV-1")))[1] == first
    assert engine2.calls == []


def interrupted(report, last=None, prepare=None, make=sale):
    """A sale (or `make`'s command) cut by a power cut after its "run" record; the result
    after the restart."""
    storage = MemoryStorage()
    runner = ManualRunner()
    engine, session = new_session(FakeEngine(storage), runner)
    engine._stan()  # STAN 000001 went to an earlier transaction
    session.handle(make("INV-7", 250000))  # writes "run" (last STAN 000001), then the cut
    engine2 = FakeEngine(storage)
    engine2.ledger.last = last
    session2 = EcrSession(engine2)
    resolved = session2.recover(report)
    assert len(resolved) == 1
    _, status = one(session2.handle(command(STATUS, invoice="INV-7")))
    assert one(session2.handle(make("INV-7", 250000)))[1]["result"] == status["result"]
    assert engine2.calls == []  # never run twice
    return status


def test_interrupted_sale_confirmed_by_recovery_is_approved():
    status = interrupted({"actions": [("confirmed", "000002")]})
    assert status["result"] == "00" and status["amount"] == 250000 and status["stan"] == "000002"
    assert status["message"] == "Interrupted by a restart; recovery confirmed it"


def test_interrupted_topup_is_settled_by_recovery_as_a_sale_is():
    status = interrupted({"actions": [("reversed", "000002")]}, make=topup)
    assert status["result"] == "03" and status["flow"] == "topup" and status["amount"] == 250000


def test_interrupted_sale_reversed_by_recovery():
    status = interrupted({"actions": [("closed", "000001"), ("reversed", "000002")]})
    assert status["result"] == "03"


def test_interrupted_sale_that_had_finished_is_approved():
    last = {"q": {"txn": "000002", "f": {"4": "000000250000", "37": "000000000042"},
                  "card": "0014"}, "state": "confirmed"}  # fmt: skip
    status = interrupted({"actions": []}, last)
    assert status["result"] == "00" and status["rrn"] == "000000000042"
    assert status["card"] == "****0014" and status["message"] == "Completed before a restart"


def test_interrupted_sale_that_never_reached_the_club_failed():
    old = {"q": {"txn": "000001", "f": {"4": "000000001000"}}, "state": "confirmed"}
    status = interrupted({"actions": []}, old)
    assert status["result"] == "04"
    assert status["message"] == "Interrupted by a restart before the club answered"


def test_kept_results_are_bounded():
    engine = FakeEngine()
    session = EcrSession(engine, keep=10, receipts=engine.printer)
    session.recover()
    for n in range(25):
        session.handle(sale(f"INV-{n}"))
    assert len(session.store.results) <= 10
    newest = one(session.handle(command(STATUS, invoice="INV-24")))[1]
    assert newest["result"] == "00" and newest["receipt"].startswith("CUSTOMER COPY")
    older = one(session.handle(command(STATUS, invoice="INV-20")))[1]
    assert older["result"] == "00" and "receipt" not in older and older["payable"] == 113000
    session2 = EcrSession(FakeEngine(engine.storage), keep=10)
    session2.recover()
    assert session2.store.order == session.store.order


# -- the server loop over an in-memory port ---------------------------------------------------


class MemoryPort:
    def __init__(self):
        self.inbox = b""
        self.written = b""
        self.generation = 0

    def read(self, timeout_ms):
        data, self.inbox = self.inbox, b""
        return data

    def write(self, data):
        self.written += data


def test_server_answers_a_framed_command():
    _engine, session = new_session()
    port = MemoryPort()
    clock = ManualClock()
    server = EcrServer(port, session, ticks_ms=clock.ticks_ms)
    port.inbox = b"noise" + encode_frame(encode_message(1, SALE, sale()["fields"]))
    server.poll(0)
    scanner = Scanner()
    events = scanner.feed(port.written, 0)
    assert events[0] == ("ack", 1)
    answer = decode_message(events[1][1])
    assert answer["type"] == 0x81 and answer["fields"]["result"] == "00"
    # no ACK from the cashier: the answer goes out 3 times in all, then is kept for status
    for ms in (1000, 1000, 1000):
        clock.advance(ms)
        port.written = b""
        server.poll(0)
    assert server.lost == 1
    port.inbox = encode_frame(encode_message(2, STATUS, {"invoice": "INV-1"}))
    port.written = b""
    server.poll(0)
    events = Scanner().feed(port.written, 0)
    status = decode_message(events[1][1])
    assert status["type"] == 0x85 and status["fields"]["payable"] == 113000
    port.inbox = ack(status["seq"])
    server.poll(0)
    assert server.link.idle


def test_server_answers_bad_messages_with_13():
    engine, session = new_session()
    port = MemoryPort()
    server = EcrServer(port, session, ticks_ms=ManualClock().ticks_ms)
    port.inbox = encode_frame(b"\x01\x01\x01\x00\x021x")
    server.poll(0)
    events = Scanner().feed(port.written, 0)
    answer = decode_message(events[1][1])
    assert answer["type"] == 0x81 and answer["fields"]["result"] == spec.BAD_REQUEST
    assert answer["fields"]["message"] == "amount is not digits (tag 01, offset 5)"
    assert engine.calls == []


def test_thread_runner_answers_from_another_thread():
    import time

    from agent.ecr.session import ThreadRunner

    _engine, session = new_session(runner=ThreadRunner())
    woken = []
    session.notify = lambda: woken.append(1)
    replies = session.handle(sale("INV-T"))
    for _ in range(500):
        if replies:
            break
        time.sleep(0.01)
        replies = session.poll()
    assert one(replies)[1]["result"] == "00"
    assert woken == [1] and not session.busy
