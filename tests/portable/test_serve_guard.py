"""The device's serve loop over the host link (agent/device/hostwire.py) when an exception
escapes everything (a MemoryError on a board): one console line without card data, the
command in progress answered (an error frame, kept for a status inquiry), the loop still
serving the next command (agent/device/guard.py). Under pytest and MicroPython."""

from agent.device import hostwire
from agent.ecr import spec
from agent.ecr.frame import Scanner, ack, encode_frame
from agent.ecr.message import decode_message, encode_message
from tests.portable.test_ecr_edges import AbandoningEngine, FailOnce
from tests.portable.test_ecr_session import FakeEngine
from tests.portable.test_hostlink_mux import rig

# the gateway's end of the link, the cashier and the session's fakes share the process with
# the device's loop (a device carries none of them)
MICROPYTHON_HEAP = 417792

SALE = 0x01
STATUS = 0x05


class IdleEngine(FakeEngine):
    """FakeEngine with the serve loop's idle work (an empty store-and-forward queue)."""

    def __init__(self):
        super().__init__()
        self.saf = []
        self.ledger.open = []

    def idle(self):
        return 0

    def abandon(self, error):
        return None


class Box:
    """The device's terminal as serve() takes it."""

    def __init__(self, engine):
        self.engine = engine
        self.storage = engine.storage
        self.printer = engine.printer


class Cashier:
    """The cashier's software on an ecr channel the gateway opened; a script of steps run
    between the loop's turns (serve's `until`)."""

    def __init__(self, host, steps):
        self.host = host
        self.channel = host.link.open("ecr", 16384)
        self.steps = steps
        self.scanner = Scanner()
        self.answers = []
        self.seq = 0
        self.turns = 0

    def send(self, msg_type, fields):
        self.seq += 1
        self.host.link.send(self.channel, encode_frame(encode_message(self.seq, msg_type, fields)))

    def until(self):
        self.turns += 1
        if self.channel.accepted:
            for kind, value in self.scanner.feed(self.host.link.read(self.channel, 8192), 0):
                if kind == "frame":
                    msg = decode_message(value)
                    self.answers.append(msg)
                    self.host.link.send(self.channel, ack(msg["seq"]))
            if self.steps and self.steps[0](self):
                self.steps.pop(0)
        return not self.steps or self.turns > 400


def sale(invoice):
    return {"amount": 120000, "invoice": invoice, "cashier": "07"}


def said(mux):
    lines = []
    mux.say = lines.append
    return lines


def run(engine, steps):
    mux, host, _ = rig()
    lines = said(mux)
    cashier = Cashier(host, steps)
    hostwire.serve(Box(engine), mux, until=cashier.until)
    return cashier, lines


def test_an_error_between_commands_is_one_line_and_the_loop_goes_on():
    engine = IdleEngine()
    engine.idle = FailOnce(engine.idle, MemoryError("memory allocation failed"))

    def wait_error(c):
        return c.turns > 30

    def ask(c):
        c.send(SALE, sale("INV-1"))
        return True

    def answered(c):
        return len(c.answers) == 1

    cashier, lines = run(engine, [wait_error, ask, answered])
    assert [a["fields"]["result"] for a in cashier.answers] == [spec.APPROVED]
    errors = [line for line in lines if line.startswith("VAFA-ERROR")]
    assert errors == ["VAFA-ERROR MemoryError outside a command: still serving"]


def test_a_command_an_error_ended_in_the_loop_is_answered_and_kept():
    engine = IdleEngine()

    def ask(c):
        engine.clock.ticks_ms = FailOnce(engine.clock.ticks_ms, MemoryError("x"))
        c.send(SALE, sale("INV-1"))
        return True

    def answered(c):
        if len(c.answers) == 1:
            c.send(STATUS, {"invoice": "INV-1"})
            return True
        return False

    def status(c):
        if len(c.answers) == 2:
            c.send(SALE, sale("INV-2"))
            return True
        return False

    def second(c):
        return len(c.answers) == 3

    cashier, lines = run(engine, [ask, answered, status, second])
    first, kept, after = [a["fields"] for a in cashier.answers]
    assert first["result"] == spec.FAILED and first["invoice"] == "INV-1"
    assert first["message"] == "terminal error: MemoryError"
    assert kept["result"] == spec.FAILED  # a status inquiry finds it
    assert after["result"] == spec.APPROVED
    assert engine.calls == [("purchase_bank", 120000)]  # INV-2 only: INV-1's work never ran
    assert "VAFA-ERROR MemoryError in a command: answered, still serving" in lines


def test_a_transaction_an_error_left_open_is_finished_before_the_answer():
    engine = AbandoningEngine()
    engine.saf = []
    engine.idle = lambda: 0

    def ask(c):
        engine.clock.ticks_ms = FailOnce(engine.clock.ticks_ms, MemoryError("x"))
        c.send(SALE, sale("INV-1"))
        return True

    def answered(c):
        return len(c.answers) == 1

    cashier, _ = run(engine, [ask, answered])
    fields = cashier.answers[0]["fields"]
    assert engine.abandoned == ["MemoryError"] and engine.ledger.open == []
    assert fields["result"] == spec.REVERSED


class WaitingEngine(IdleEngine):
    """A sale that waits on the host link (as the club's answer or the bank leg's payment is
    waited for), during which the cashier's port fails once."""

    def __init__(self):
        super().__init__()
        self.box = None
        self.mux = None

    def purchase_bank(self, amount):
        ecr = self.box.ecr
        ecr.read = FailOnce(ecr.read, MemoryError("cashier's line"))
        self.mux.wait(lambda: False, 300)  # the cashier is polled meanwhile (mux.idle)
        return super().purchase_bank(amount)


def test_an_error_on_the_cashiers_line_during_a_sale_does_not_end_the_sale():
    engine = WaitingEngine()
    mux, host, _ = rig()
    said(mux)
    engine.box, engine.mux = Box(engine), mux

    def ask(c):
        c.send(SALE, sale("INV-1"))
        return True

    def answered(c):
        return len(c.answers) == 1

    cashier = Cashier(host, [ask, answered])
    hostwire.serve(engine.box, mux, until=cashier.until)
    assert cashier.answers[0]["fields"]["result"] == spec.APPROVED
    assert engine.calls == [("purchase_bank", 120000)]
