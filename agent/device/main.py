"""The device main: what agent/boot.py starts once the bundle verified.

    terminal = start(manifest, confirm)      # provisions on first start, recovers, confirms
    terminal.purchase("cash", 450000, "9879110000000014")

With "peripherals" in vafa/config.json each peripheral is bytes on a socket instead
(agent/device/peripherals.py, docs/flashing.md "Firmware in the loop"): an HD44780 display
stream, ESC/POS, a vpcd card link read by ClubCardReader, a stripe reader's track lines,
ASCII keys, the bank leg (agent/links/bankleg.py, docs/bank_leg.md), the ECR port;
`boot.run(serve=True)` then runs the ECR loop.

Ports on the device by default: the club link over TCP (agent/links/tcp.py, host and port from
vafa/config.json), file storage under vafa/data, a text display rendering the 20x4 screens
(kept in `screen`), a recording printer (receipt lines kept in `receipts`), a keypad that
accepts confirmations, the system clock, os.urandom. The card number comes in with the sale
(a card reader driver hands it over on a board). The bank leg is wired only when "peripherals"
names one ("bank"): the cash and credit sales need none, a bank-card sale without it fails.

With "hostlink" in vafa/config.json the club link, the bank leg, the ECR port and the
peripherals ("host:SERVICE") are channels of the host link on the device's serial line
(agent/device/hostwire.py, docs/hostlink.md): the board without a network stack. A board
hands in its own clock, random source and serial port (agent/device/board.py).

"Healthy" for the A/B loader: configuration read, keys provisioned, storage opened and the
journal recovered (every open transaction finished). Only then is confirm() called.
"""

from agent.device import ports
from agent.engine import Engine
from agent.firmware import provision
from agent.ports import Card, RecordingPrinter, ScriptedKeypad, SystemClock, default_rng
from agent.protocol import messages as m
from agent.storage import FileStorage

DATA = provision.ROOT + "/data"
CHIP = "051"
# config.json keys handed to the engine as they are when present (agent/engine.py lists them)
ENGINE_OPTIONS = ("card_wait_ms", "confirm_deadline_s", "compact_bytes", "merchant_name_fa")


class Terminal:
    def __init__(self, manifest, config, storage, rng=default_rng, clock=None, port=None):
        self.manifest = manifest
        self.config = config
        self.storage = storage
        self.rng = rng
        self.clock = clock if clock is not None else SystemClock()
        provision.load_key_block(storage.store("dukpt"))
        self.mux = None
        if config.get("hostlink"):  # one serial line to a gateway: no socket module needed
            from agent.device import hostwire

            self.mux = hostwire.open_mux(config, self.clock, rng, port)
            self.link = hostwire.club_link(self.mux)
        else:
            from agent.links.tcp import TcpClubLink

            self.link = TcpClubLink(config["club_host"], int(config["club_port"]))
        self.display = ports.ScreenKeeper(config["language"])
        self.printer = RecordingPrinter()
        self.reader = ports.HandedCard()
        self.keypad = ScriptedKeypad()
        self.bank = None
        self.wire = None
        self.signed_on = None  # the sign-on's answer: sign_on() below
        if config.get("peripherals") and self.mux is not None:
            self.wire = hostwire.attach(self, config["peripherals"], self.mux)
        elif config.get("peripherals"):  # bytes on sockets: imported only then (heap)
            from agent.device import peripherals

            self.wire = peripherals.attach(self, config["peripherals"])
        settings = {
            "terminal_id": config["terminal_id"],
            "merchant_id": config["merchant_id"],
            "merchant_name": config.get("merchant_name", ""),
            "storage_key": provision.storage_key(rng),
            "timeout_ms": config["timeout_ms"],
        }
        for key in ENGINE_OPTIONS:  # optional: the engine's defaults otherwise
            if key in config:
                settings[key] = config[key]
        self.engine = Engine(
            self.link,
            self.bank,
            self.reader,
            self.keypad,
            self.display,
            self.printer,
            self.clock,
            storage,
            settings,
            rng=rng,
        )

    def purchase(self, flow, amount, pan, expiry=None):
        """One sale: flow "cash", "club" or "store"; the result dict (docs/terminal.md)."""
        self.reader.card = Card(pan, expiry, CHIP)
        run = {
            "cash": self.engine.purchase_cash,
            "club": self.engine.purchase_club_credit,
            "store": self.engine.purchase_store_credit,
        }[flow]
        try:
            return run(amount)
        finally:
            self.reader.card = None

    def receipts(self):
        printed, self.printer.printed = self.printer.printed, []
        return printed

    def close(self):
        self.engine.close()
        self.link.close()
        if self.wire is not None:
            self.wire.close()


def sign_on(terminal):
    """The sign-on after power-up (docs/protocol.md 5.9: 0800, field 70 001), once the loader
    has confirmed the bundle: its health never waits on the club. The answer is kept in
    `signed_on` ("00", "03", ..., None when nothing came) and shown; no answer and a refusal
    both leave the terminal serving (every sale asks the club anyway, and a 03 there stops it)."""
    try:
        rc = terminal.engine.sign_on()
    except OSError:  # a link that fails outside its own NoResponse: as no answer
        rc = None
    terminal.signed_on = rc
    if rc == m.APPROVED:
        terminal.display.show("ready")
    elif rc is None:
        terminal.display.show("offline")
    else:
        message = m.RESPONSE_CODES.get(rc, ("", "Declined"))[1]
        terminal.display.show("declined", code=rc, message=message)
    return rc


def start(manifest, confirm, root=DATA, serve=False, rng=default_rng, clock=None, port=None):
    """The terminal, healthy and confirmed, then signed on (unless vafa/config.json says
    "sign_on": false); serve=True then runs the ECR loop
    (agent/device/peripherals.py serve, or agent/device/hostwire.py serve over the host link)
    on the configured peripherals. A board hands in its clock, random source and the serial
    port of its host link (None: the REPL's line)."""
    config = provision.load_config()
    terminal = Terminal(manifest, config, FileStorage(root), rng, clock, port)
    terminal.engine.recover()
    confirm()
    if config.get("sign_on", True):
        sign_on(terminal)
    if serve:
        terminal.wire.serve(terminal, terminal.engine.recovered)
    return terminal
