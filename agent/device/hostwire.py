"""The device's connections over the host link (docs/hostlink.md): a board with one serial line
and no network stack (the QEMU MPS2 board) reaches the club, the bank leg, the cashier and,
in the firmware-in-the-loop rig, its peripherals through a gateway on the host.

vafa/config.json says so with "hostlink"; each peripheral is then "host:SERVICE", a channel to
the gateway's service of that name (docs/hostlink.md 4.1):

    "hostlink": {"line": "stdio"},
    "peripherals": {"display": "host:display", "printer": "host:printer",
                    "keypad": "host:keypad", "card": "host:card", "stripe": "host:stripe",
                    "bank": "host:bank", "ecr": "host:ecr"}

The device is single-threaded (the board has no `_thread`): a cashier's command runs on the
CooperativeRunner after the ECR server acknowledged it, and while it runs every wait of the
host link polls the ECR server (a cashier's status inquiry is answered "in progress", another
command "busy", docs/ecr.md 6.2), as the ThreadRunner's second thread does on the unix port.
"""

import gc

from agent.hostlink.mux import Mux
from agent.hostlink.services import (
    HostBankConn,
    HostClubLink,
    HostEcrPort,
    HostVpcdReader,
    PeripheralStream,
)

LINE_UP_MS = 30000  # the start waits this long for the gateway before it goes on without it


def open_mux(config, clock, rng, port=None):
    """The host link on the line named by config "hostlink" ("stdio": the REPL's line)."""
    if port is None:
        from agent.hostlink.stdio import StdioPort

        port = StdioPort()
    mux = Mux(port, clock, rng)
    mux.wait(lambda: mux.up, int(config.get("hostlink", {}).get("up_ms", LINE_UP_MS)))
    return mux


def club_link(mux):
    return HostClubLink(mux)


def service(endpoint):
    """The service of "host:SERVICE"."""
    kind, _, name = endpoint.partition(":")
    if kind != "host" or not name:
        raise ValueError("over the host link a peripheral is host:SERVICE, not " + endpoint)
    return name


class HostWiring:
    """What attach() plugged in, for close() and serve()."""

    def __init__(self, mux, spec):
        self.mux = mux
        self.spec = spec
        self.streams = []

    def stream(self, name):
        s = PeripheralStream(self.mux, service(self.spec[name]))
        self.streams.append(s)
        return s

    def close(self):
        for s in self.streams:
            s.close()

    def serve(self, terminal, report=None, until=None):
        return serve(terminal, self.mux, service(self.spec["ecr"]), report, until)


def attach(terminal, spec, mux):
    """Replace the terminal's in-memory ports by the peripherals of `spec` (config
    "peripherals", every one "host:SERVICE"); the HostWiring back."""
    from agent.device import streams

    wiring = HostWiring(mux, spec)
    config = terminal.config
    if "display" in spec:
        from agent.display.charlcd import CharLcd

        cols, rows = streams.LCD_SIZES.get(config.get("display"), (20, 4))
        bus = streams.FramedLcdBus(wiring.stream("display"))
        terminal.display = CharLcd(bus, cols, rows, "en")
    if "printer" in spec:
        from agent.ecr.session import ReceiptTap
        from agent.printing.printer import StreamPrinter

        profile = streams.PRINTER_PROFILES.get(config.get("printer"), "ascii-58")
        terminal.printer = ReceiptTap(StreamPrinter(wiring.stream("printer"), profile))
    chip = None
    if "card" in spec:
        from agent.card_io.clubcard import ClubCardReader

        reader = HostVpcdReader(mux, service(spec["card"]))
        terminal.reader = chip = ClubCardReader(reader, streams.issuer_key(), terminal.rng)
    if "stripe" in spec:
        from agent.card_io.serial_reader import SerialStripeReader

        stream = wiring.stream("stripe")
        stripe = SerialStripeReader(serial=streams.StreamUart(stream), clock=terminal.clock)
        terminal.reader = streams.ChipOrStripe(chip, stream, stripe, terminal.clock)
    if "keypad" in spec:
        # the display: a PIN entry shows a star per digit as it is typed
        terminal.keypad = streams.StreamKeypad(wiring.stream("keypad"), display=terminal.display)
    if "bank" in spec:
        from agent.links.bankleg import SocketBankLeg

        name = service(spec["bank"])
        terminal.bank = SocketBankLeg(lambda: HostBankConn(mux, name))
        wiring.streams.append(terminal.bank)
    return wiring


def heap_line():
    """ "VAFA-HEAP <bytes in use> <bytes free>" after a collection (MicroPython's gc)."""
    alloc = getattr(gc, "mem_alloc", None)
    free = getattr(gc, "mem_free", None)
    if alloc is None or free is None:
        return "VAFA-HEAP ? ?"
    return "VAFA-HEAP " + str(alloc()) + " " + str(free())


class CooperativeRunner:
    """The EcrSession's runner on a single-threaded device: start() keeps the work, run()
    does it (the serve loop calls it once the server's poll has acknowledged the command)."""

    def __init__(self):
        self.work = None

    def start(self, work):
        self.work = work

    def run(self):
        work, self.work = self.work, None
        if work is not None:
            work()


def serve(terminal, mux, ecr_service="ecr", report=None, until=None):
    """The ECR loop over the host link. Console lines (docs/hostlink.md section 6):
    "VAFA-READY ecr host:SERVICE" once serving, "VAFA-QUEUE N" when the store-and-forward
    queue's length changed, "VAFA-HEAP USED FREE" after each command. Between commands: the
    engine's idle work (the queue drains). `until()` True ends the loop."""
    from agent.device import guard
    from agent.ecr.server import EcrServer
    from agent.ecr.session import EcrSession

    engine = terminal.engine
    terminal.ecr = HostEcrPort(mux, ecr_service)
    receipts = terminal.printer if hasattr(terminal.printer, "take") else None
    runner = CooperativeRunner()
    session = EcrSession(engine, terminal.storage, runner, receipts=receipts)
    session.recover(report)
    server = EcrServer(terminal.ecr, session)
    gc.collect()
    mux.say("VAFA-READY ecr host:" + ecr_service)
    mux.say(heap_line())
    state = {"polls": 0, "queued": None, "running": False}
    while until is None or not until():
        try:
            _turn(engine, mux, server, session, runner, state)
        except Exception as e:  # a MemoryError must not end the loop (guard.py)
            mux.idle = None
            mux.say(guard.handled(engine, session, e, state["running"]))
            state["running"] = False


def _cashier(server):
    """The ECR server's poll while a sale waits on the host link: an error in it (the heap)
    is the cashier's line's, never the sale's (it would end it: agent/engine.py ER); the
    cashier is answered on the next poll."""

    def poll():
        try:
            server.poll(0)
        except Exception:
            gc.collect()

    return poll


def _turn(engine, mux, server, session, runner, state):
    """One turn of serve(); state["running"] stays True when the cashier's command ended with
    an error (the loop's guard answers it)."""
    server.poll(50)
    state["polls"] += 1
    polls = state["polls"]
    if runner.work is not None:
        mux.idle = _cashier(server)  # the cashier is answered while the sale waits
        state["running"] = True
        try:
            runner.run()
        finally:
            mux.idle = None
        state["running"] = False
        gc.collect()
        mux.say(heap_line())
        return
    if session.job is not None:
        return
    left = engine.idle() if not polls % 20 else len(engine.saf)
    if left != state["queued"]:
        state["queued"] = left
        mux.say("VAFA-QUEUE " + str(left))
    if not polls % 100:
        gc.collect()
